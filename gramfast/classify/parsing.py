"""Parse labelled sentences with the corpus's spaCy pipeline; parses cached by content hash.

A text becomes one document: its tokens, heads (absolute within the ``ParsedTexts``), relation
labels and coarse tags, kept as strings tables plus small integer arrays. Whitespace tokens are
dropped, as the context extractor drops them from pretraining.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import multiprocessing
import os
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..corpus import pipeline as pl
from ..io import atomic_write_bytes

log = logging.getLogger(__name__)

CACHE_VERSION = 1


@dataclass
class ParsedTexts:
    """Parsed documents, one per text.

    Attributes:
        forms, label_names, pos_names: string tables.
        words: int32 [N] into ``forms``; labels, pos: int32 [N] into their tables.
        heads: int64 [N] absolute token index (a root points at itself).
        sent_offsets: int64 [S+1]; doc_offsets: int64 [n_docs+1] token offsets.
    """

    forms: list[str]
    label_names: list[str]
    pos_names: list[str]
    words: np.ndarray
    heads: np.ndarray
    labels: np.ndarray
    pos: np.ndarray
    sent_offsets: np.ndarray
    doc_offsets: np.ndarray

    @property
    def n_docs(self) -> int:
        return int(self.doc_offsets.shape[0] - 1)

    @classmethod
    def from_raw(cls, raw: pl.RawBatch) -> ParsedTexts:
        a = raw.arrays
        tables = []
        ids = []
        for col in (0, 2, 3):
            uniq, inverse = np.unique(a[:, col], return_inverse=True)
            tables.append([raw.strings.get(int(h), "") for h in uniq.tolist()])
            ids.append(inverse.reshape(-1).astype(np.int32))
        n = a.shape[0]
        doc_offsets = np.zeros(raw.lengths.shape[0] + 1, dtype=np.int64)
        np.cumsum(raw.lengths, out=doc_offsets[1:])
        heads = np.arange(n, dtype=np.int64) + a[:, 1].view(np.int64)
        starts = a[:, 5].view(np.int64) == 1
        starts[doc_offsets[:-1][raw.lengths > 0]] = True
        parsed = cls(
            forms=tables[0],
            label_names=tables[1],
            pos_names=tables[2],
            words=ids[0],
            heads=heads,
            labels=ids[1],
            pos=ids[2],
            sent_offsets=np.append(np.flatnonzero(starts), n).astype(np.int64),
            doc_offsets=doc_offsets,
        )
        return parsed.without_space()

    def without_space(self) -> ParsedTexts:
        """Drop whitespace tokens (pos SPACE); heads that pointed at one become roots."""
        if "SPACE" not in self.pos_names:
            return self
        keep = self.pos != self.pos_names.index("SPACE")
        if keep.all():
            return self
        new_index = np.cumsum(keep) - 1
        heads = np.where(keep[self.heads], new_index[self.heads], -1)[keep]
        own = np.flatnonzero(keep)
        heads = np.where(heads < 0, np.arange(own.shape[0]), heads)

        def remap(offsets: np.ndarray) -> np.ndarray:
            return np.concatenate([[0], np.cumsum(keep)])[offsets].astype(np.int64)

        sent = np.unique(remap(self.sent_offsets))
        return ParsedTexts(
            self.forms,
            self.label_names,
            self.pos_names,
            self.words[keep],
            heads.astype(np.int64),
            self.labels[keep],
            self.pos[keep],
            sent,
            remap(self.doc_offsets),
        )

    # -- cache -------------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        buf = io.BytesIO()
        tables = json.dumps([self.forms, self.label_names, self.pos_names]).encode("utf-8")
        np.savez(
            buf,
            tables=np.frombuffer(tables, dtype=np.uint8),
            words=self.words,
            heads=self.heads,
            labels=self.labels,
            pos=self.pos,
            sent_offsets=self.sent_offsets,
            doc_offsets=self.doc_offsets,
        )
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> ParsedTexts:
        with np.load(io.BytesIO(data)) as z:
            forms, label_names, pos_names = json.loads(z["tables"].tobytes().decode("utf-8"))
            return cls(
                forms,
                label_names,
                pos_names,
                *(z[k] for k in ("words", "heads", "labels", "pos", "sent_offsets")),
                z["doc_offsets"],
            )


def concat(parts: list[ParsedTexts]) -> ParsedTexts:
    """One ParsedTexts from several, documents in order (tables merged)."""
    tables: list[dict[str, int]] = [{}, {}, {}]
    arrays: dict[str, list[np.ndarray]] = {k: [] for k in ("words", "labels", "pos", "heads")}
    sent, docs = [np.zeros(1, np.int64)], [np.zeros(1, np.int64)]
    base = 0
    for p in parts:
        for t, (names, key) in enumerate(
            ((p.forms, "words"), (p.label_names, "labels"), (p.pos_names, "pos"))
        ):
            table = tables[t]
            lut = np.array([table.setdefault(s, len(table)) for s in names], dtype=np.int32)
            values = getattr(p, key)
            arrays[key].append(lut[values] if values.size else values.astype(np.int32))
        arrays["heads"].append(p.heads + base)
        sent.append(p.sent_offsets[1:] + base)
        docs.append(p.doc_offsets[1:] + base)
        base += int(p.doc_offsets[-1])
    return ParsedTexts(
        *(list(t) for t in tables),
        words=np.concatenate(arrays["words"]) if parts else np.zeros(0, np.int32),
        heads=np.concatenate(arrays["heads"]) if parts else np.zeros(0, np.int64),
        labels=np.concatenate(arrays["labels"]) if parts else np.zeros(0, np.int32),
        pos=np.concatenate(arrays["pos"]) if parts else np.zeros(0, np.int32),
        sent_offsets=np.concatenate(sent),
        doc_offsets=np.concatenate(docs),
    )


def _cache_dir() -> Path:
    from ..pretrain.inputs import cache_root

    return cache_root() / "classify"


def _cache_key(texts: list[str], model_id: str) -> str:
    h = hashlib.sha256(f"v{CACHE_VERSION}\0{model_id}\0".encode())
    for t in texts:
        h.update(t.encode("utf-8", errors="replace"))
        h.update(b"\0")
    return h.hexdigest()[:24]


class TextParser:
    """Parses batches of texts in this process or in a pool of worker processes.

    Use as a context manager; the pool (and each worker's pipeline) lives until exit, so a
    stream of batches pays the pipeline's start-up once.
    """

    def __init__(self, model: str | None = None, processes: int = 1, batch_size: int = 256):
        self.model, self.processes, self.batch_size = model, processes, batch_size
        self._nlp: Any = None
        self._pool: ProcessPoolExecutor | None = None
        self.info: dict[str, Any] = {}

    def __enter__(self) -> TextParser:
        self._nlp = pl.load_pipeline(self.model)
        self.info = pl.pipeline_info(self._nlp, self.model)
        if self.processes > 1:
            ctx = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(
                self.processes, mp_context=ctx, initializer=pl.worker_init, initargs=(self.model,)
            )
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

    @property
    def model_id(self) -> str:
        i = self.info
        return f"{i.get('model')}|{i.get('name')}|{i.get('version')}|{i.get('spacy_version')}"

    def parse(self, texts: list[str]) -> ParsedTexts:
        """Parse ``texts`` (one document each, in order)."""
        clean = [t.replace("\n", " ").replace("\r", " ") for t in texts]
        if self._pool is None:
            docs = list(self._nlp.pipe(clean, batch_size=self.batch_size))
            return ParsedTexts.from_raw(pl.docs_to_batch(docs))
        size = max(1, -(-len(clean) // (self.processes * 4)))
        chunks = [clean[i : i + size] for i in range(0, len(clean), size)]
        raws = self._pool.map(pl.worker_parse, chunks, [self.batch_size] * len(chunks))
        return concat([ParsedTexts.from_raw(r) for r in raws])

    def parse_cached(self, texts: list[str]) -> ParsedTexts:
        """Parse ``texts``, or load the parse of the same texts with the same pipeline."""
        path = _cache_dir() / f"{_cache_key(texts, self.model_id)}.npz"
        if path.is_file():
            try:
                parsed = ParsedTexts.from_bytes(path.read_bytes())
                if parsed.n_docs == len(texts):
                    log.info("using the cached parse %s", path)
                    return parsed
            except (OSError, ValueError, KeyError) as e:
                log.warning("ignoring the unreadable cached parse %s (%s)", path, e)
        parsed = self.parse(texts)
        try:
            os.makedirs(path.parent, exist_ok=True)
            atomic_write_bytes(path, parsed.to_bytes())
        except OSError as e:
            log.warning("could not cache the parse in %s (%s)", path, e)
        return parsed


def parse_texts(
    texts: list[str], model: str | None = None, processes: int = 1, cache: bool = True
) -> tuple[ParsedTexts, dict[str, Any]]:
    """Parse ``texts`` with one pipeline; returns the parse and the pipeline's description."""
    with TextParser(model, processes) as parser:
        parsed = parser.parse_cached(texts) if cache else parser.parse(texts)
        return parsed, parser.info


def batched(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for x in items:
        batch.append(x)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
