"""The parsed store: sharded, memory-mapped columns of dependency parses.

Layout of a store directory::

    manifest.json          format version, source, pipeline, tables, counts, shards, state
    shard-000000/          one folder per shard, renamed into place only when complete
        words.npy          int32  [N]    id of the word form in the store's string table
        heads.npy          int32  [N]    absolute head index in the shard (root: itself)
        labels.npy         uint8  [N]    dependency label id (manifest "labels")
        pos.npy            uint8  [N]    coarse (universal) tag id (manifest "pos")
        tags.npy           uint8  [N]    fine tag id (manifest "tags")
        spaces.npy         uint8  [N/8]  packed bits: token is followed by a space
        sent_offsets.npy   int64  [S+1]  token offset of each sentence in the shard
        doc_offsets.npy    int64  [Dc+1] sentence offset of each document in the shard
        strings.bin        utf-8 bytes of the word forms this shard added to the table
        string_offsets.npy int64  [n+1]  byte offsets into strings.bin

The string table is append-only: shard k holds the forms first seen in shard k, so the global id
of a form never changes once written. Lowercasing is a view (``ParsedStore.lower``), not a loss.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import StoreError
from ..io import atomic_write_json, dir_bytes, fsync_dir, sha256_file

log = logging.getLogger(__name__)

FORMAT_NAME = "gramfast-parsed-store"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
COLUMNS: dict[str, np.dtype] = {
    "words": np.dtype(np.int32),
    "heads": np.dtype(np.int32),
    "labels": np.dtype(np.uint8),
    "pos": np.dtype(np.uint8),
    "tags": np.dtype(np.uint8),
}
SHARD_FILES = (
    *(f"{c}.npy" for c in COLUMNS),
    "spaces.npy",
    "sent_offsets.npy",
    "doc_offsets.npy",
    "strings.bin",
    "string_offsets.npy",
)
TABLE_LIMIT = 256  # labels, pos and tags are stored as uint8


def shard_name(index: int) -> str:
    return f"shard-{index:06d}"


@dataclass
class DocArrays:
    """One parsed document before it enters a shard (ids already interned by the writer).

    Attributes:
        words: int32 [N] global word ids.
        heads: int64 [N] absolute head index within the document (root points to itself).
        labels, pos, tags: int [N] table ids.
        spaces: bool [N] trailing whitespace.
        sent_starts: int64 [S] token offset of each sentence in the document, starting at 0.
    """

    words: np.ndarray
    heads: np.ndarray
    labels: np.ndarray
    pos: np.ndarray
    tags: np.ndarray
    spaces: np.ndarray
    sent_starts: np.ndarray

    @property
    def n_tokens(self) -> int:
        return int(self.words.shape[0])


@dataclass
class _Table:
    """Append-only string -> id table (labels, tags, word forms)."""

    items: list[str] = field(default_factory=list)
    index: dict[str, int] = field(default_factory=dict)
    limit: int | None = None
    what: str = "table"

    def __post_init__(self) -> None:
        self.index = {s: i for i, s in enumerate(self.items)}

    def get(self, s: str) -> int:
        i = self.index.get(s)
        if i is None:
            i = len(self.items)
            if self.limit is not None and i >= self.limit:
                raise StoreError(
                    f"the {self.what} table would exceed {self.limit} entries (adding {s!r}); "
                    "the store keeps them as uint8: check that the input uses one tag set"
                )
            self.items.append(s)
            self.index[s] = i
        return i


class StoreWriter:
    """Builds a store shard by shard; every shard and manifest write is atomic.

    The writer is resumable: opened on a store whose manifest says "incomplete", it keeps the
    shards the manifest lists, deletes anything else, and reports how many input documents
    those shards already hold (``docs_done``) so that the caller can skip them.
    """

    def __init__(self, root: Path, header: dict[str, Any], shard_size: int) -> None:
        self.root = Path(root)
        self.header = header
        self.shard_size = int(shard_size)
        self.labels = _Table(limit=TABLE_LIMIT, what="dependency label")
        self.pos = _Table(limit=TABLE_LIMIT, what="coarse tag")
        self.tags = _Table(limit=TABLE_LIMIT, what="fine tag")
        self.strings = _Table(what="string")
        self.shards: list[dict[str, Any]] = []
        self._pending: list[DocArrays] = []
        self._pending_tokens = 0
        self._shard_first_string = 0
        self.root.mkdir(parents=True, exist_ok=True)

    # -- resume ---------------------------------------------------------------------------
    def load_existing(self, manifest: dict[str, Any]) -> None:
        """Adopt the shards listed in an incomplete manifest and drop everything else."""
        self.labels = _Table(list(manifest["labels"]), limit=TABLE_LIMIT, what="dependency label")
        self.pos = _Table(list(manifest["pos"]), limit=TABLE_LIMIT, what="coarse tag")
        self.tags = _Table(list(manifest["tags"]), limit=TABLE_LIMIT, what="fine tag")
        self.shards = list(manifest["shards"])
        keep = {s["name"] for s in self.shards}
        for p in self.root.iterdir():
            if p.name != MANIFEST and p.name not in keep:
                log.info("resume: removing unfinished %s", p.name)
                shutil.rmtree(p) if p.is_dir() else p.unlink()
        forms: list[str] = []
        for s in self.shards:
            forms.extend(_read_strings(self.root / s["name"]))
        self.strings = _Table(forms, what="string")
        self._shard_first_string = len(forms)

    @property
    def docs_done(self) -> int:
        return sum(s["documents"] for s in self.shards)

    # -- writing --------------------------------------------------------------------------
    def add(self, doc: DocArrays) -> None:
        self._pending.append(doc)
        self._pending_tokens += doc.n_tokens
        if self._pending_tokens >= self.shard_size:
            self.flush()

    def flush(self) -> None:
        """Write the pending documents as one shard (no-op when nothing is pending)."""
        if not self._pending:
            return
        docs, self._pending, self._pending_tokens = self._pending, [], 0
        name = shard_name(len(self.shards))
        tmp = self.root / f".{name}.tmp"
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir()
        arrays = _assemble(docs)
        # Ids are given in order of first occurrence, so the forms first used in this shard are
        # the table's entries up to its largest id (later ones belong to later shards).
        words = arrays["words"]
        end = max(self._shard_first_string, int(words.max()) + 1 if words.size else 0)
        forms = self.strings.items[self._shard_first_string : end]
        encoded = [s.encode("utf-8") for s in forms]
        offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum([len(b) for b in encoded], out=offsets[1:])
        with open(tmp / "strings.bin", "wb") as f:
            f.write(b"".join(encoded))
        arrays["string_offsets"] = offsets
        for key, arr in arrays.items():
            np.save(tmp / f"{key}.npy", arr, allow_pickle=False)
        checksums = {fn: sha256_file(tmp / fn) for fn in SHARD_FILES}
        tmp.rename(self.root / name)
        fsync_dir(self.root)
        self._shard_first_string = end
        n_tok = int(arrays["words"].shape[0])
        self.shards.append(
            {
                "name": name,
                "tokens": n_tok,
                "sentences": int(arrays["sent_offsets"].shape[0] - 1),
                "documents": len(docs),
                "strings": len(forms),
                "sha256": checksums,
            }
        )
        self.write_manifest(complete=False)
        log.info("wrote %s: %d documents, %d tokens", name, len(docs), n_tok)

    def finish(self, stats: dict[str, Any] | None = None) -> dict[str, Any]:
        self.flush()
        return self.write_manifest(complete=True, stats=stats)

    def write_manifest(self, complete: bool, stats: dict[str, Any] | None = None) -> dict:
        manifest = {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            **self.header,
            "labels": self.labels.items,
            "pos": self.pos.items,
            "tags": self.tags.items,
            "counts": {
                "shards": len(self.shards),
                "documents": sum(s["documents"] for s in self.shards),
                "sentences": sum(s["sentences"] for s in self.shards),
                "tokens": sum(s["tokens"] for s in self.shards),
                "strings": self._shard_first_string,
            },
            "shards": self.shards,
            "stats": stats or {},
            "complete": complete,
        }
        atomic_write_json(self.root / MANIFEST, manifest)
        return manifest


def _assemble(docs: list[DocArrays]) -> dict[str, np.ndarray]:
    """Concatenate documents into shard columns with shard-absolute heads."""
    n_tokens = [d.n_tokens for d in docs]
    tok_base = np.zeros(len(docs) + 1, dtype=np.int64)
    np.cumsum(n_tokens, out=tok_base[1:])
    out: dict[str, np.ndarray] = {}
    for key, dtype in COLUMNS.items():
        parts = [getattr(d, key) for d in docs]
        out[key] = np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype)
    heads = np.concatenate([d.heads.astype(np.int64) + b for d, b in zip(docs, tok_base)])
    out["heads"] = heads.astype(np.int32)
    spaces = np.concatenate([d.spaces.astype(bool) for d in docs])
    out["spaces"] = np.packbits(spaces)
    sent_starts = [d.sent_starts.astype(np.int64) + b for d, b in zip(docs, tok_base)]
    out["sent_offsets"] = np.concatenate([*sent_starts, tok_base[-1:]])
    doc_sents = np.zeros(len(docs) + 1, dtype=np.int64)
    np.cumsum([d.sent_starts.shape[0] for d in docs], out=doc_sents[1:])
    out["doc_offsets"] = doc_sents
    return out


def _read_strings(shard_dir: Path) -> list[str]:
    data = (shard_dir / "strings.bin").read_bytes()
    offsets = np.load(shard_dir / "string_offsets.npy")
    return [data[a:b].decode("utf-8") for a, b in zip(offsets[:-1].tolist(), offsets[1:].tolist())]


def read_manifest(root: Path) -> dict[str, Any]:
    """Read a store's manifest; a clear StoreError when ``root`` is not a store."""
    path = Path(root) / MANIFEST
    if not path.is_file():
        raise StoreError(
            f"{root} is not a gramfast store (no {MANIFEST}); create one with `gramfast parse`"
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise StoreError(
            f"{path} is not valid JSON ({e}); the store is damaged: parse again"
        ) from e
    if manifest.get("format") != FORMAT_NAME:
        raise StoreError(
            f"{path} is not a gramfast store manifest (format {manifest.get('format')})"
        )
    if manifest.get("format_version") != FORMAT_VERSION:
        raise StoreError(
            f"{root} has store format {manifest.get('format_version')}, this gramfast reads "
            f"{FORMAT_VERSION}: parse the input again with this version"
        )
    return manifest


@dataclass
class Shard:
    """Memory-mapped columns of one shard (see the module docstring for shapes)."""

    path: Path
    info: dict[str, Any]

    def _load(self, key: str) -> np.ndarray:
        return np.load(self.path / f"{key}.npy", mmap_mode="r")

    @cached_property
    def words(self) -> np.ndarray:
        return self._load("words")

    @cached_property
    def heads(self) -> np.ndarray:
        return self._load("heads")

    @cached_property
    def labels(self) -> np.ndarray:
        return self._load("labels")

    @cached_property
    def pos(self) -> np.ndarray:
        return self._load("pos")

    @cached_property
    def tags(self) -> np.ndarray:
        return self._load("tags")

    @cached_property
    def spaces(self) -> np.ndarray:
        bits = np.load(self.path / "spaces.npy")
        return np.unpackbits(bits, count=self.n_tokens).astype(bool)

    @cached_property
    def sent_offsets(self) -> np.ndarray:
        return np.load(self.path / "sent_offsets.npy")

    @cached_property
    def doc_offsets(self) -> np.ndarray:
        return np.load(self.path / "doc_offsets.npy")

    @property
    def n_tokens(self) -> int:
        return int(self.info["tokens"])

    @property
    def n_sentences(self) -> int:
        return int(self.info["sentences"])


@dataclass
class SentenceBatch:
    """Whole sentences from one shard, as arrays; heads are relative to the batch start."""

    words: np.ndarray  # int32 [N]
    heads: np.ndarray  # int32 [N] absolute within the batch
    labels: np.ndarray  # uint8 [N]
    pos: np.ndarray  # uint8 [N]
    tags: np.ndarray  # uint8 [N]
    sent_offsets: np.ndarray  # int64 [S+1], starting at 0


class ParsedStore:
    """Read-only view of a complete store; shards are memory-mapped on first use.

    Example:
        >>> store = ParsedStore("corpus.store")            # doctest: +SKIP
        >>> for batch in store.iter_batches(1 << 16):      # doctest: +SKIP
        ...     print(batch.words.shape, batch.sent_offsets.shape)
    """

    def __init__(self, root: str | Path, *, allow_incomplete: bool = False) -> None:
        self.root = Path(root)
        self.manifest = read_manifest(self.root)
        if not self.manifest.get("complete") and not allow_incomplete:
            raise StoreError(
                f"{self.root} is an incomplete store ({len(self.manifest['shards'])} shards "
                "written so far): run the same `gramfast parse` command again to resume it"
            )
        self.labels: list[str] = list(self.manifest["labels"])
        self.pos: list[str] = list(self.manifest["pos"])
        self.tags: list[str] = list(self.manifest["tags"])
        self.shards = [Shard(self.root / s["name"], s) for s in self.manifest["shards"]]

    @property
    def n_tokens(self) -> int:
        return int(self.manifest["counts"]["tokens"])

    @property
    def n_sentences(self) -> int:
        return int(self.manifest["counts"]["sentences"])

    @property
    def n_documents(self) -> int:
        return int(self.manifest["counts"]["documents"])

    @property
    def has_parse(self) -> bool:
        return bool(self.manifest.get("has_parse", True))

    @cached_property
    def strings(self) -> list[str]:
        """All word forms, indexed by word id."""
        forms: list[str] = []
        for shard in self.shards:
            forms.extend(_read_strings(shard.path))
        return forms

    @cached_property
    def lower(self) -> tuple[np.ndarray, list[str]]:
        """(lower_ids int32 [n_strings], lower_forms): the lowercase view of the string table."""
        table: dict[str, int] = {}
        ids = np.empty(len(self.strings), dtype=np.int32)
        for i, s in enumerate(self.strings):
            ids[i] = table.setdefault(s.lower(), len(table))
        return ids, list(table)

    def nbytes(self) -> int:
        return dir_bytes(self.root)

    def sentence_spans(self, max_tokens: int) -> list[tuple[int, int, int]]:
        """(shard, first sentence, one past the last): runs of whole sentences of at most
        ``max_tokens`` tokens within one shard (a longer sentence forms a run alone)."""
        if max_tokens < 1:
            raise ValueError(f"max_tokens must be >= 1; got {max_tokens}")
        spans: list[tuple[int, int, int]] = []
        for k, shard in enumerate(self.shards):
            so = shard.sent_offsets
            s, n_sent = 0, so.shape[0] - 1
            while s < n_sent:
                e = int(np.searchsorted(so, so[s] + max_tokens, side="right")) - 1
                e = min(max(e, s + 1), n_sent)
                spans.append((k, s, e))
                s = e
        return spans

    def batch(self, shard_index: int, start: int, stop: int) -> SentenceBatch:
        """Sentences [start, stop) of one shard as arrays, heads relative to the batch."""
        shard = self.shards[shard_index]
        so = shard.sent_offsets
        a, b = int(so[start]), int(so[stop])
        return SentenceBatch(
            words=np.asarray(shard.words[a:b]),
            heads=np.asarray(shard.heads[a:b]) - np.int32(a),
            labels=np.asarray(shard.labels[a:b]),
            pos=np.asarray(shard.pos[a:b]),
            tags=np.asarray(shard.tags[a:b]),
            sent_offsets=np.asarray(so[start : stop + 1]) - a,
        )

    def iter_batches(self, max_tokens: int = 1 << 20) -> Iterator[SentenceBatch]:
        """Yield runs of whole sentences of at most ``max_tokens`` tokens (longer ones alone)."""
        for span in self.sentence_spans(max_tokens):
            yield self.batch(*span)

    def release_pages(self, shard_index: int | None = None) -> None:
        """Drop the memory maps of one shard (default: all); they map again on next use, and
        the pages read so far stop counting as this process's resident memory once no array
        viewing them is left."""
        shards = self.shards if shard_index is None else [self.shards[shard_index]]
        for shard in shards:
            for key in [k for k, v in vars(shard).items() if isinstance(v, np.ndarray)]:
                del vars(shard)[key]

    def document_text(self, shard_index: int, doc_index: int) -> str:
        """Rebuild one document's text from forms and trailing spaces."""
        shard = self.shards[shard_index]
        s0, s1 = shard.doc_offsets[doc_index], shard.doc_offsets[doc_index + 1]
        a, b = int(shard.sent_offsets[s0]), int(shard.sent_offsets[s1])
        forms = self.strings
        return "".join(
            forms[w] + (" " if sp else "")
            for w, sp in zip(shard.words[a:b].tolist(), shard.spaces[a:b].tolist())
        )


def store_bytes(root: str | Path) -> dict[str, int]:
    """Bytes on disk: all files, the string table, and everything else (the token columns)."""
    root = Path(root)
    total = dir_bytes(root)
    strings = sum(
        (d / fn).stat().st_size
        for d in root.glob("shard-*")
        for fn in ("strings.bin", "string_offsets.npy")
        if (d / fn).is_file()
    )
    return {"total": total, "strings": strings, "columns": total - strings}


def verify_store(root: str | Path) -> list[str]:
    """Check every shard's checksums and structure; return the problems found (empty: sound)."""
    root = Path(root)
    manifest = read_manifest(root)
    problems: list[str] = []
    if not manifest.get("complete"):
        problems.append(f"{root}: the store is incomplete; run the parse command again to resume")
    n_strings = 0
    for s in manifest["shards"]:
        d = root / s["name"]
        n_strings += int(s["strings"])
        if not d.is_dir():
            problems.append(f"{s['name']}: missing")
            continue
        bad = [
            fn
            for fn, h in s["sha256"].items()
            if not (d / fn).is_file() or sha256_file(d / fn) != h
        ]
        if bad:
            problems.append(f"{s['name']}: checksum mismatch in {', '.join(bad)}")
            continue
        problems.extend(_check_shard(Shard(d, s), manifest, n_strings))
    return problems


def _check_shard(shard: Shard, manifest: dict[str, Any], n_strings: int) -> list[str]:
    name = shard.info["name"]
    so, do = shard.sent_offsets, shard.doc_offsets
    n = shard.n_tokens
    out: list[str] = []
    if so.shape[0] == 0 or so[0] != 0 or so[-1] != n or np.any(np.diff(so) < 0):
        return [f"{name}: sentence offsets are not a monotone cover of {n} tokens"]
    if do.shape[0] == 0 or do[0] != 0 or do[-1] != so.shape[0] - 1 or np.any(np.diff(do) < 0):
        return [f"{name}: document offsets are not a monotone cover of the sentences"]
    for key, table in (("labels", "labels"), ("pos", "pos"), ("tags", "tags")):
        col = getattr(shard, key)
        if n and int(col.max()) >= max(len(manifest[table]), 1):
            out.append(f"{name}: {key} id {int(col.max())} outside its table")
    words = shard.words
    if n and (int(words.min()) < 0 or int(words.max()) >= n_strings):
        out.append(f"{name}: word id outside the string table ({n_strings} strings so far)")
    sent_of = np.repeat(np.arange(so.shape[0] - 1), np.diff(so))
    heads = np.asarray(shard.heads, dtype=np.int64)
    inside = (heads >= 0) & (heads < n)
    if not inside.all():
        first = int(np.flatnonzero(~inside)[0])
        return [*out, f"{name}: token {first} has head {int(heads[first])} outside the shard"]
    cross = sent_of[heads] != sent_of
    if cross.any():
        first = int(np.flatnonzero(cross)[0])
        out.append(
            f"{name}: token {first} (sentence {int(sent_of[first])}) has head {int(heads[first])} "
            f"in sentence {int(sent_of[heads[first]])}"
        )
    return out
