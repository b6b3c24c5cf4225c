"""The input of ``pretrain``: a parsed store, or raw text parsed first into a cached store."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

from ..corpus.store import MANIFEST, ParsedStore, read_manifest
from .config import PretrainConfig

log = logging.getLogger(__name__)


def cache_root() -> Path:
    """``$GRAMFAST_CACHE`` or ``~/.cache/gramfast``: where parses of raw text are kept."""
    env = os.environ.get("GRAMFAST_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "gramfast"


def open_input(cfg: PretrainConfig) -> ParsedStore:
    """Open ``cfg.input`` as a store; raw text is parsed once into a cache keyed by its content.

    The cache key covers each input's resolved path, size and modification time and the
    pipeline, so an edited file is parsed again and an unchanged one is not; an interrupted
    parse resumes.
    """
    if len(cfg.input) == 1 and (Path(cfg.input[0]) / MANIFEST).is_file():
        return ParsedStore(cfg.input[0])
    from ..corpus.inputs import resolve_inputs
    from ..corpus.parse import ParseConfig, parse

    sources = resolve_inputs(list(cfg.input))
    key_src = [(s.name, s.nbytes, _mtime(s.path)) for s in sources] + [cfg.model or "default"]
    key = hashlib.sha256(json.dumps(key_src).encode()).hexdigest()[:20]
    store_dir = cache_root() / "stores" / key
    if (store_dir / MANIFEST).is_file() and read_manifest(store_dir).get("complete"):
        log.info("using the cached parse %s", store_dir)
    else:
        log.info("parsing %d inputs into %s", len(sources), store_dir)
        parse(ParseConfig(inputs=tuple(cfg.input), out=store_dir, model=cfg.model))
    return ParsedStore(store_dir)


def _mtime(path: str) -> float:
    return 0.0 if path == "-" else os.stat(path).st_mtime
