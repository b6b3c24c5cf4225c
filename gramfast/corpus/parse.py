"""``gramfast parse``: text or CoNLL-U into a resumable, sharded store.

A parse is resumable because its output is a deterministic function of the inputs and the
options that shape the store (pipeline, shard size, document splitting): shards end on document
boundaries, each is renamed into place when complete, and the manifest lists the finished ones.
Started again with the same command, ``parse`` re-reads the input, skips the documents the
finished shards hold and goes on, so that the finished store is byte for byte the one an
uninterrupted run writes.
"""

from __future__ import annotations

import logging
import multiprocessing
import shutil
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from itertools import chain, islice
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from . import pipeline as pl
from .conllu import read_conllu
from .inputs import ReadStats, Source, iter_texts, resolve_inputs
from .store import MANIFEST, DocArrays, StoreWriter, read_manifest

log = logging.getLogger(__name__)

ProgressFn = Callable[[int, int, int, float], None]  # (bytes read, total, tokens, parse seconds)


@dataclass(frozen=True)
class ParseConfig:
    """Options of ``gramfast parse`` (one field per CLI option)."""

    inputs: tuple[str, ...]
    out: Path
    model: str | None = None
    processes: int = 1
    batch_size: int = 256
    shard_size: int = 1_000_000
    max_doc_chars: int = 100_000
    text_field: str = "text"
    overwrite: bool = False

    def __post_init__(self) -> None:
        checks = {
            "processes": (self.processes, 1),
            "batch_size": (self.batch_size, 1),
            "shard_size": (self.shard_size, 1),
            "max_doc_chars": (self.max_doc_chars, 100),
        }
        for name, (value, low) in checks.items():
            if value < low:
                opt = "--" + name.replace("_", "-")
                raise InputError(f"{opt} must be at least {low}; got {value}")


@dataclass
class ParseResult:
    manifest: dict[str, Any]
    seconds: float  # whole run, pipeline loading included
    parse_seconds: float  # from the first document to the last shard written
    tokens_parsed: int  # tokens parsed in this run (excludes shards kept from an earlier run)
    resumed_documents: int
    stats: dict[str, int] = field(default_factory=dict)

    @property
    def words_per_second(self) -> float:
        return self.tokens_parsed / max(self.parse_seconds, 1e-9)


def parse(cfg: ParseConfig, progress: ProgressFn | None = None) -> ParseResult:
    """Parse ``cfg.inputs`` into the store ``cfg.out``, resuming an unfinished one.

    Raises:
        InputError: missing or empty input, unknown pipeline, an output folder that holds
            another store (without ``overwrite``), malformed CoNLL-U.
    """
    start = time.perf_counter()
    sources = resolve_inputs(list(cfg.inputs))
    gold = sources[0].kind == "conllu"
    stats = ReadStats()
    nlp = None
    if gold:
        header = _header(cfg, sources, {"model": "gold (CoNLL-U)"}, "conllu", "ud", True)
    else:
        nlp = pl.load_pipeline(cfg.model)
        info = pl.pipeline_info(nlp, cfg.model)
        header = _header(cfg, sources, info, "spacy", "spacy", pl.has_parser(nlp))
    if gold:
        docs: Iterator[Any] = (d for s in sources for d in read_conllu(s, stats))
    else:
        docs = iter_texts(
            sources, stats, text_field=cfg.text_field, max_doc_chars=cfg.max_doc_chars
        )
    first = next(docs, None)
    if first is None:
        names = ", ".join(s.name for s in sources)
        raise InputError(f"the input holds no documents ({names}): every line is empty")
    docs = chain([first], docs)

    writer = _open_writer(cfg, header)
    skip = writer.docs_done
    if skip:
        log.info("resuming: %d documents already in %d shards", skip, len(writer.shards))
        docs = _skip(docs, skip)
    total_bytes = sum(s.nbytes for s in sources)
    intern = _HashInterner(writer)
    tokens = 0
    parse_start = time.perf_counter()

    def tick(n: int) -> None:
        nonlocal tokens
        tokens += n
        if progress is not None:
            progress(stats.bytes_read, total_bytes, tokens, time.perf_counter() - parse_start)

    if gold:
        for doc in docs:
            writer.add(_conllu_doc(writer, doc))
            tick(sum(len(s.forms) for s in doc))
    elif cfg.processes == 1:
        batch: list[Any] = []
        for doc in nlp.pipe(docs, batch_size=cfg.batch_size):
            batch.append(doc)
            if len(batch) >= cfg.batch_size:
                tick(_add_batch(writer, intern, pl.docs_to_batch(batch)))
                batch = []
        tick(_add_batch(writer, intern, pl.docs_to_batch(batch)))
    else:
        for raw in _parallel(docs, cfg):
            tick(_add_batch(writer, intern, raw))
    manifest = writer.finish(stats=stats.as_dict())
    end = time.perf_counter()
    return ParseResult(manifest, end - start, end - parse_start, tokens, skip, stats.as_dict())


def _header(
    cfg: ParseConfig, sources: list[Source], info: dict, source: str, scheme: str, parsed: bool
) -> dict[str, Any]:
    return {
        "source": source,
        "label_scheme": scheme,
        "has_parse": parsed,
        "pipeline": info,
        "inputs": [{"path": s.name, "bytes": s.nbytes} for s in sources],
        "options": {
            "shard_size": cfg.shard_size,
            "max_doc_chars": cfg.max_doc_chars,
            "text_field": cfg.text_field,
        },
    }


def _open_writer(cfg: ParseConfig, header: dict[str, Any]) -> StoreWriter:
    out = Path(cfg.out)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} is a file; give a folder for the store")
    if out.is_dir() and any(out.iterdir()):
        if not (out / MANIFEST).is_file():
            raise InputError(
                f"--out {out} is a non-empty folder that is not a gramfast store; "
                "choose a new or empty folder"
            )
        old = read_manifest(out)
        same = all(old.get(k) == v for k, v in header.items())
        if cfg.overwrite:
            log.info("--overwrite: removing the store in %s", out)
            shutil.rmtree(out)
        elif old.get("complete"):
            raise InputError(
                f"--out {out} already holds a complete store ({old['counts']['tokens']:,} tokens); "
                "pass --overwrite to replace it or choose another folder"
            )
        elif not same:
            raise InputError(
                f"--out {out} holds an unfinished store from a different command (other inputs, "
                "pipeline or options); rerun that command to resume it, or pass --overwrite"
            )
        else:
            writer = StoreWriter(out, header, cfg.shard_size)
            writer.load_existing(old)
            return writer
    writer = StoreWriter(out, header, cfg.shard_size)
    writer.write_manifest(complete=False)
    return writer


def _skip(docs: Iterator[Any], n: int) -> Iterator[Any]:
    skipped = sum(1 for _ in islice(docs, n))
    if skipped < n:
        raise InputError(
            f"the store holds {n} documents but the input now has only {skipped}: the input "
            "changed since the first run; pass --overwrite to parse it afresh"
        )
    return docs


class _HashInterner:
    """Maps spaCy hashes of forms, labels and tags to the store's ids, caching each hash once."""

    def __init__(self, writer: StoreWriter) -> None:
        self.tables = (writer.strings, writer.labels, writer.pos, writer.tags)
        self.caches: tuple[dict[int, int], ...] = ({}, {}, {}, {})

    def __call__(self, which: int, values: np.ndarray, strings: dict[int, str]) -> np.ndarray:
        return _intern(self.caches[which], self.tables[which], values, strings)


def _intern(cache: dict[int, int], table: Any, values: np.ndarray, strings: dict[int, str]):
    # New entries are interned in order of first occurrence, so that ids do not depend on how
    # the stream was cut into batches (1 process and N processes write the same store).
    uniq, first, inverse = np.unique(values, return_index=True, return_inverse=True)
    ids = np.empty(uniq.shape[0], dtype=np.int64)
    for i in np.argsort(first, kind="stable").tolist():
        h = int(uniq[i])
        gid = cache.get(h)
        if gid is None:
            gid = cache[h] = table.get(strings[h])
        ids[i] = gid
    return ids[inverse.reshape(-1)]


def _add_batch(writer: StoreWriter, intern: _HashInterner, raw: pl.RawBatch) -> int:
    """Intern a RawBatch's hashes and hand its documents to the writer; returns its tokens."""
    n = int(raw.lengths.sum())
    if raw.lengths.shape[0] == 0:
        return 0
    a = raw.arrays
    words = intern(0, a[:, 0], raw.strings)
    labels = intern(1, a[:, 2], raw.strings)
    pos = intern(2, a[:, 3], raw.strings)
    tags = intern(3, a[:, 4], raw.strings)
    rel_heads = a[:, 1].view(np.int64)
    sent_start = a[:, 5].view(np.int64)
    spaces = a[:, 6] != 0
    base = 0
    for length in raw.lengths.tolist():
        s = slice(base, base + length)
        local = np.arange(length, dtype=np.int64)
        starts = np.flatnonzero(sent_start[s] == 1)
        if length and (starts.shape[0] == 0 or starts[0] != 0):
            starts = np.concatenate([[0], starts])
        writer.add(
            DocArrays(
                words=words[s],
                heads=local + rel_heads[s],
                labels=labels[s],
                pos=pos[s],
                tags=tags[s],
                spaces=spaces[s],
                sent_starts=starts.astype(np.int64),
            )
        )
        base += length
    return n


def _conllu_doc(writer: StoreWriter, doc: list[Any]) -> DocArrays:
    words, heads, labels, pos, tags, spaces, starts = [], [], [], [], [], [], []
    for sent in doc:
        base = len(words)
        starts.append(base)
        words.extend(writer.strings.get(f) for f in sent.forms)
        heads.extend(base + h for h in sent.heads)
        labels.extend(writer.labels.get(x) for x in sent.labels)
        pos.extend(writer.pos.get(x) for x in sent.upos)
        tags.extend(writer.tags.get(x) for x in sent.xpos)
        spaces.extend(sent.spaces)
    return DocArrays(
        words=np.asarray(words, dtype=np.int32),
        heads=np.asarray(heads, dtype=np.int64),
        labels=np.asarray(labels, dtype=np.int64),
        pos=np.asarray(pos, dtype=np.int64),
        tags=np.asarray(tags, dtype=np.int64),
        spaces=np.asarray(spaces, dtype=bool),
        sent_starts=np.asarray(starts, dtype=np.int64),
    )


def _chunks(texts: Iterable[str], max_docs: int, max_chars: int) -> Iterator[list[str]]:
    chunk: list[str] = []
    chars = 0
    for t in texts:
        chunk.append(t)
        chars += len(t)
        if len(chunk) >= max_docs or chars >= max_chars:
            yield chunk
            chunk, chars = [], 0
    if chunk:
        yield chunk


def _parallel(texts: Iterator[str], cfg: ParseConfig) -> Iterator[pl.RawBatch]:
    """Parse chunks in worker processes; results come back in input order."""
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=cfg.processes, mp_context=ctx, initializer=pl.worker_init, initargs=(cfg.model,)
    ) as pool:
        pending: deque[Future] = deque()
        for chunk in _chunks(texts, max_docs=cfg.batch_size * 4, max_chars=200_000):
            pending.append(pool.submit(pl.worker_parse, chunk, cfg.batch_size))
            while len(pending) > 2 * cfg.processes:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
