"""A random share of a store's documents, written as a store of its own (``gramfast store sample``).

Learning curves and quick experiments need the same corpus at several sizes without parsing it
again. Each document of the source is kept independently with probability ``fraction``, drawn
from ``seed`` over the documents in store order, so the sample keeps the corpus's mix of sources
and its document order, and the same (source, fraction, seed) always gives the same documents.

Tokens keep their parse (heads, labels, tags, spaces); the label and tag tables are the
source's, so label ids mean the same in both stores. The string table holds only the forms the
sample uses. The sample is written into a hidden folder beside ``out`` and renamed into place
when complete: an interrupted run leaves no half store behind (running it again starts over; it
only copies arrays, about 10M source tokens a second).
"""

from __future__ import annotations

import logging
import math
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..io import fsync_dir
from .parse import ParseConfig
from .store import MANIFEST, TABLE_LIMIT, DocArrays, ParsedStore, StoreWriter, _Table

log = logging.getLogger(__name__)


def sample_store(
    source: ParsedStore,
    out: Path,
    fraction: float,
    *,
    seed: int = 0,
    overwrite: bool = False,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Write the documents of ``source`` kept with probability ``fraction`` as a store at ``out``.

    Args:
        source: a complete store.
        out: the new store's folder (must not exist, unless ``overwrite`` and it is a store).
        fraction: share of documents kept, in (0, 1].
        seed: seeds the keep draws.
        overwrite: replace a store already at ``out``.
        progress: called with the number of source tokens done after each shard.

    Returns:
        The new store's manifest.

    Raises:
        InputError: a fraction outside (0, 1], ``out`` is the source or holds files (without
            ``overwrite``) or is not a store, or the draw keeps no document.
    """
    out = Path(out)
    if not (isinstance(fraction, float | int) and math.isfinite(fraction) and 0 < fraction <= 1):
        raise InputError(
            f"--fraction must lie in (0, 1]; got {fraction}: pass 0.25 to keep a quarter of the "
            "documents"
        )
    if out.resolve() == source.root.resolve():
        raise InputError(f"--out {out} is the source store itself: choose a new folder")
    if out.exists():
        if not overwrite:
            raise InputError(
                f"--out {out} already exists; pass --overwrite to replace it or choose another "
                "folder"
            )
        if not (out / MANIFEST).is_file():
            raise InputError(
                f"--out {out} is not a gramfast store (no {MANIFEST}); --overwrite replaces "
                "stores only: choose a new folder"
            )
    keep = np.random.default_rng(seed).random(source.n_documents) < fraction
    if not keep.any():
        raise InputError(
            f"--fraction {fraction} keeps none of the {source.n_documents} documents of "
            f"{source.root} (seed {seed}): pass a larger fraction"
        )

    tmp = out.parent / f".{out.name}.sampling"
    if tmp.exists():
        shutil.rmtree(tmp)  # an earlier run that stopped: start over
    m = source.manifest
    header = {
        k: m[k]
        for k in ("source", "pipeline", "label_scheme", "has_parse", "inputs", "options")
        if k in m
    }
    header["sampled_from"] = {
        "store": str(source.root),
        "documents": source.n_documents,
        "tokens": source.n_tokens,
        "fraction": fraction,
        "seed": seed,
    }
    shard_tokens = int(m.get("options", {}).get("shard_size", ParseConfig.shard_size))
    writer = StoreWriter(tmp, header, shard_size=shard_tokens)
    writer.labels = _Table(list(source.labels), limit=TABLE_LIMIT, what="dependency label")
    writer.pos = _Table(list(source.pos), limit=TABLE_LIMIT, what="coarse tag")
    writer.tags = _Table(list(source.tags), limit=TABLE_LIMIT, what="fine tag")

    strings = source.strings
    new_id = np.full(len(strings), -1, dtype=np.int64)  # source word id -> sample word id
    first_doc = 0
    for shard in source.shards:
        n_docs = shard.doc_offsets.shape[0] - 1
        chosen = np.flatnonzero(keep[first_doc : first_doc + n_docs])
        first_doc += n_docs
        if chosen.size:
            _copy_documents(shard, chosen, writer, strings, new_id)
        source.release_pages()
        if progress is not None:
            progress(shard.n_tokens)
    manifest = writer.finish()
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)
    fsync_dir(out.parent)
    log.info(
        "sampled %d of %d documents (%d of %d tokens) into %s",
        manifest["counts"]["documents"],
        source.n_documents,
        manifest["counts"]["tokens"],
        source.n_tokens,
        out,
    )
    return manifest


def _copy_documents(shard, chosen, writer: StoreWriter, strings, new_id: np.ndarray) -> None:
    """Hand the chosen documents of one shard to the writer, word ids re-interned in order."""
    words = np.asarray(shard.words)
    heads = np.asarray(shard.heads).astype(np.int64)
    labels, pos, tags = np.asarray(shard.labels), np.asarray(shard.pos), np.asarray(shard.tags)
    spaces = shard.spaces
    so, do = np.asarray(shard.sent_offsets), np.asarray(shard.doc_offsets)
    for d in chosen.tolist():
        s0, s1 = int(do[d]), int(do[d + 1])
        a, b = int(so[s0]), int(so[s1])
        w = words[a:b]
        # New forms get sample ids in order of first use, as the writer's table requires.
        unseen, first = np.unique(w[new_id[w] < 0], return_index=True)
        for src in unseen[np.argsort(first)].tolist():
            new_id[src] = writer.strings.get(strings[src])
        writer.add(
            DocArrays(
                words=new_id[w].astype(np.int32),
                heads=heads[a:b] - a,
                labels=labels[a:b],
                pos=pos[a:b],
                tags=tags[a:b],
                spaces=spaces[a:b],
                sent_starts=so[s0:s1] - a,
            )
        )
