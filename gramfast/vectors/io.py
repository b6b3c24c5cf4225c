"""Vectors on disk: word2vec text and binary formats, a native format, pretraining outputs.

Formats:
- word2vec text: a header line ``N D``, then one line per word: ``word v1 ... vD``. Values are
  written with 9 significant digits, which reproduces every float32 exactly.
- word2vec binary: the same header line, then per word its UTF-8 bytes, a space, D little-endian
  float32 and a newline (as word2vec writes; gensim's files without the newline also load).
- native: a folder with ``vectors.npy`` (float32 ``[V, D]``, memory-mapped on load) and
  ``vocab.tsv`` (``token<TAB>count`` per row, or ``token`` alone when there are no counts).

Words that contain whitespace cannot be written in the word2vec formats (a reader would split
them): the writers raise InputError unless ``replace_whitespace`` names a replacement. Every
writer writes a temporary name and renames it when complete. ``Vectors`` (the in-memory form)
lives in ``neighbors.py`` and is re-exported here and by ``gramfast.vectors``.
"""

from __future__ import annotations

import logging
import mmap
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import numpy as np

from ..errors import InputError
from ..io import fsync_dir
from .neighbors import Vectors

log = logging.getLogger(__name__)

SPACES = ("word", "context", "grammar")
OUTPUT_STEMS = {"word": "words", "context": "contexts", "grammar": "grammar"}
_WHITESPACE = re.compile(r"[ \t\n\r]")
_ROWS_PER_WRITE = 512  # rows formatted at a time: bounds the transient Python floats


def read_word2vec_text(
    path: str | Path, *, limit: int | None = None, unicode_errors: str = "replace"
) -> Vectors:
    """Read a word2vec text file (header ``N D``, then ``word v1 ... vD`` per line).

    Args:
        path: the file.
        limit: read only the first ``limit`` rows (default: all).
        unicode_errors: ``"replace"`` (default) decodes bad UTF-8 bytes in words as U+FFFD and logs
            how many words had them; ``"strict"`` raises InputError instead.

    Raises:
        InputError: empty file, a header that is not two positive integers, a row without D
            values, a bad number, or a row count that differs from N; the message names the file
            and the line.
    """
    path = Path(path)
    with open(path, "rb") as f:
        n, d, n_read = _parse_header(f.readline(), path, limit)
        words: list[str] = []
        matrix = np.empty((n_read, d), dtype=np.float32)
        bad = _BadUtf8(path, unicode_errors)
        for i in range(n_read):
            line_no = i + 2
            raw = f.readline()
            if not raw:
                raise InputError(
                    f"{path}: line {line_no}: file ends after {i} rows; header says {n}"
                )
            parts = bad.decode(raw, f"line {line_no}").rstrip("\r\n \t").split(" ")
            if len(parts) != d + 1:
                raise InputError(
                    f"{path}: line {line_no}: expected a word and {d} values (header 'N D'), "
                    f"got {len(parts) - 1} values"
                )
            try:
                matrix[i] = np.asarray(parts[1:], dtype=np.float32)
            except ValueError as e:
                raise InputError(f"{path}: line {line_no}: bad number ({e})") from None
            words.append(parts[0])
        if limit is None:
            rest = f.read()
            if rest.strip():
                line_no = n + 2 + rest[: len(rest) - len(rest.lstrip())].count(b"\n")
                raise InputError(
                    f"{path}: line {line_no}: more rows than the header's N={n}; fix the header"
                )
    bad.report()
    _warn_not_finite(matrix, path, "line", 2)
    return _dedupe(words, matrix, None, path)


def read_word2vec_binary(
    path: str | Path, *, limit: int | None = None, unicode_errors: str = "replace"
) -> Vectors:
    """Read a word2vec binary file; arguments and errors as ``read_word2vec_text``, except that
    rows are named by number and byte offset (a binary file has no lines)."""
    path = Path(path)
    with open(path, "rb") as f:
        n, d, n_read = _parse_header(f.readline(), path, limit)
        start = f.tell()
        size = os.fstat(f.fileno()).st_size
        if size == start:
            raise InputError(f"{path}: header says {n} rows of {d} values, but no rows follow")
        buf = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    words: list[str] = []
    matrix = np.empty((n_read, d), dtype=np.float32)
    bad = _BadUtf8(path, unicode_errors)
    pos, width = start, 4 * d
    try:
        for i in range(n_read):
            while pos < size and buf[pos] == 0x0A:
                pos += 1
            space = buf.find(b" ", pos)
            if space < 0 or space + 1 + width > size:
                raise InputError(
                    f"{path}: row {i + 1} (byte {pos}): file ends inside the row; the header says "
                    f"{n} rows of {d} float32 values"
                )
            words.append(bad.decode(buf[pos:space], f"row {i + 1} (byte {pos})"))
            matrix[i] = np.frombuffer(buf, dtype="<f4", count=d, offset=space + 1)
            pos = space + 1 + width
        if limit is None and buf[pos:].strip():
            raise InputError(
                f"{path}: {size - pos} bytes follow row {n}, the header's last: its N or D is wrong"
            )
    finally:
        buf.close()
    bad.report()
    _warn_not_finite(matrix, path, "row", 1)
    return _dedupe(words, matrix, None, path)


def write_word2vec_text(
    vectors: Vectors,
    path: str | Path,
    *,
    precision: int = 9,
    replace_whitespace: str | None = None,
) -> None:
    """Write word2vec text; 9 significant digits (the default) keep every float32 exactly.

    Raises:
        InputError: a word is empty or contains whitespace and ``replace_whitespace`` is None.
    """
    words = _word2vec_words(vectors, replace_whitespace)
    fmt = " ".join([f"%.{precision}g"] * vectors.dim)
    with _atomic_file(Path(path)) as f:
        f.write(f"{len(words)} {vectors.dim}\n".encode())
        for lo in range(0, len(words), _ROWS_PER_WRITE):
            rows = vectors.matrix[lo : lo + _ROWS_PER_WRITE].tolist()
            text = "".join(
                f"{w} {fmt % tuple(r)}\n" for w, r in zip(words[lo:], rows, strict=False)
            )
            f.write(text.encode("utf-8"))


def write_word2vec_binary(
    vectors: Vectors, path: str | Path, *, replace_whitespace: str | None = None
) -> None:
    """Write word2vec binary; errors as ``write_word2vec_text``."""
    words = _word2vec_words(vectors, replace_whitespace)
    m = np.ascontiguousarray(vectors.matrix, dtype="<f4")
    with _atomic_file(Path(path)) as f:
        f.write(f"{len(words)} {vectors.dim}\n".encode())
        for lo in range(0, len(words), _ROWS_PER_WRITE):
            block = m[lo : lo + _ROWS_PER_WRITE]
            f.write(
                b"".join(w.encode() + b" " + r.tobytes() + b"\n" for w, r in zip(words[lo:], block))
            )


def save_native(vectors: Vectors, path: str | Path, *, overwrite: bool = False) -> None:
    """Write the native folder (``vectors.npy`` + ``vocab.tsv``) through a temporary folder.

    Raises:
        InputError: ``path`` exists and ``overwrite`` is False, or a word is empty or contains a
            tab or a line break (``vocab.tsv`` cannot hold it).
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise InputError(f"{path} exists; pass overwrite=True to replace it")
    for i, w in enumerate(vectors.words):
        if not w or re.search(r"[\t\n\r]", w):
            raise InputError(f"word {i} ({w!r}) is empty or holds a tab or line break")
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    np.save(tmp / "vectors.npy", np.ascontiguousarray(vectors.matrix, dtype=np.float32))
    if vectors.counts is None:
        lines = [f"{w}\n" for w in vectors.words]
    else:
        lines = [f"{w}\t{c}\n" for w, c in zip(vectors.words, vectors.counts.tolist(), strict=True)]
    (tmp / "vocab.tsv").write_text("".join(lines), encoding="utf-8")
    for name in ("vectors.npy", "vocab.tsv"):
        with open(tmp / name, "rb") as f:
            os.fsync(f.fileno())
    old = path.with_name(f".{path.name}.old-{os.getpid()}")
    if path.exists():
        os.replace(path, old)
    os.replace(tmp, path)
    shutil.rmtree(old, ignore_errors=True)
    fsync_dir(path.parent)


def load_native(path: str | Path, *, mmap: bool = True) -> Vectors:
    """Load a native folder; the matrix is memory-mapped read-only unless ``mmap`` is False.

    Raises:
        InputError: a file is missing, the matrix is not float32 ``[V, D]``, or ``vocab.tsv`` has
            a bad line or a row count other than V (the message names the file and line).
    """
    path = Path(path)
    npy, tsv = path / "vectors.npy", path / "vocab.tsv"
    for p in (npy, tsv):
        if not p.is_file():
            raise InputError(f"{p} not found: {path} is not a native vectors folder")
    matrix = np.load(npy, mmap_mode="r" if mmap else None, allow_pickle=False)
    if matrix.dtype != np.float32 or matrix.ndim != 2 or 0 in matrix.shape:
        raise InputError(
            f"{npy}: expected float32 [V, D] with V, D > 0; got {matrix.dtype} {matrix.shape}"
        )
    lines = tsv.read_text(encoding="utf-8").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if len(lines) != matrix.shape[0]:
        raise InputError(f"{tsv}: {len(lines)} lines for {matrix.shape[0]} rows in {npy.name}")
    has_counts = "\t" in lines[0]
    words, counts = [], []
    for i, line in enumerate(lines):
        parts = line.split("\t")
        if len(parts) != (2 if has_counts else 1) or not parts[0]:
            layout = "token<TAB>count" if has_counts else "token"
            raise InputError(f"{tsv}: line {i + 1}: expected {layout} like line 1; got {line!r}")
        words.append(parts[0])
        if has_counts:
            try:
                counts.append(int(parts[1]))
            except ValueError:
                raise InputError(
                    f"{tsv}: line {i + 1}: count {parts[1]!r} is not an integer"
                ) from None
    return _dedupe(words, matrix, np.array(counts, dtype=np.int64) if has_counts else None, tsv)


def load_vectors(path: str | Path, *, format: str = "auto", limit: int | None = None) -> Vectors:
    """Load vectors in any format: ``"native"`` (a folder), ``"text"``, ``"binary"`` or
    ``"auto"`` (folders are native; ``.bin`` is binary, ``.txt``/``.vec`` text, others sniffed).

    Raises:
        InputError: ``path`` does not exist, or as the readers.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"vectors not found: {path}")
    if format == "auto":
        format = "native" if path.is_dir() else _sniff(path)
    if format == "native":
        v = load_native(path)
        return v if limit is None else v.head(limit)
    if format == "text":
        return read_word2vec_text(path, limit=limit)
    if format == "binary":
        return read_word2vec_binary(path, limit=limit)
    raise ValueError(f"format must be 'auto', 'native', 'text' or 'binary'; got {format!r}")


def write_output_vectors(out_dir: str | Path, space: str, vectors: Vectors) -> None:
    """Write one space of a pretraining output folder in all three formats; the file names are
    those ``load_output_vectors`` looks for."""
    stem = Path(out_dir) / _stem(space)
    save_native(vectors, stem, overwrite=True)
    write_word2vec_binary(vectors, stem.with_suffix(".bin"))
    write_word2vec_text(vectors, stem.with_suffix(".txt"))


def load_output_vectors(out_dir: str | Path, space: str = "word") -> Vectors:
    """Load the vectors of ``space`` from a ``gramfast pretrain`` output folder.

    The folder holds, for each space (``word``, ``context``, ``grammar``) with stem ``words``,
    ``contexts`` and ``grammar`` respectively:
    ``<stem>/`` (native: ``vectors.npy`` + ``vocab.tsv`` with counts), ``<stem>.bin`` (word2vec
    binary) and ``<stem>.txt`` (word2vec text). They are tried in that order.

    Raises:
        InputError: ``space`` is unknown or none of its files exists.
    """
    out_dir = Path(out_dir)
    stem = out_dir / _stem(space)
    if (stem / "vectors.npy").is_file():
        return load_native(stem)
    for suffix, fmt in ((".bin", "binary"), (".txt", "text")):
        if stem.with_suffix(suffix).is_file():
            return load_vectors(stem.with_suffix(suffix), format=fmt)
    raise InputError(
        f"no {space} vectors in {out_dir}: looked for {stem.name}/, {stem.name}.bin and "
        f"{stem.name}.txt; is it a `gramfast pretrain` output folder?"
    )


def _stem(space: str) -> str:
    if space not in OUTPUT_STEMS:
        raise InputError(f"space must be one of {', '.join(SPACES)}; got {space!r}")
    return OUTPUT_STEMS[space]


def _parse_header(raw: bytes, path: Path, limit: int | None) -> tuple[int, int, int]:
    """N and D from a word2vec header line, and how many rows to read."""
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be >= 1 or None; got {limit}")
    if not raw:
        raise InputError(f"{path}: file is empty; expected a header line 'N D' and N rows")
    parts = raw.split()
    try:
        n, d = (int(p) for p in parts) if len(parts) == 2 else (None, None)
    except ValueError:
        n = d = None
    if n is None or d is None or n <= 0 or d <= 0:
        shown = raw[:60].decode("utf-8", "replace").rstrip()
        raise InputError(
            f"{path}: line 1: expected a header 'N D' (two positive integers: rows and "
            f"dimensions); got {shown!r}. Files without one (GloVe) need that line added"
        )
    return n, d, n if limit is None else min(n, limit)


class _BadUtf8:
    """Decodes words, counting those with bad UTF-8 (``unicode_errors='replace'``)."""

    def __init__(self, path: Path, errors: str) -> None:
        if errors not in ("replace", "strict"):
            raise ValueError(f"unicode_errors must be 'replace' or 'strict'; got {errors!r}")
        self.path, self.errors, self.count, self.first = path, errors, 0, ""

    def decode(self, raw: bytes, where: str) -> str:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as e:
            if self.errors == "strict":
                raise InputError(f"{self.path}: {where}: not UTF-8 ({e.reason})") from None
            self.count += 1
            self.first = self.first or where
            return raw.decode("utf-8", "replace")

    def report(self) -> None:
        if self.count:
            log.warning(
                "%s: %d rows had bad UTF-8, replaced by U+FFFD (first: %s)",
                self.path,
                self.count,
                self.first,
            )


def _warn_not_finite(matrix: np.ndarray, path: Path, unit: str, first: int) -> None:
    bad = ~np.isfinite(matrix).all(axis=1)
    if bad.any():
        where = f"{unit} {int(bad.argmax()) + first}"
        log.warning("%s: %d rows hold NaN or infinite values (first: %s)", path, bad.sum(), where)


def _dedupe(words: list[str], matrix: np.ndarray, counts: np.ndarray | None, path: Path) -> Vectors:
    first: dict[str, int] = {}
    keep = [first.setdefault(w, i) == i for i, w in enumerate(words)]
    if not all(keep):
        i = keep.index(False)
        log.warning(
            "%s: %d repeated words; kept the first row of each (e.g. %r at rows %d and %d)",
            path,
            len(words) - len(first),
            words[i],
            first[words[i]] + 1,
            i + 1,
        )
        mask = np.array(keep)
        words = [w for w, k in zip(words, keep, strict=True) if k]
        matrix = np.asarray(matrix)[mask]
        counts = None if counts is None else counts[mask]
    return Vectors(words, matrix, counts)


def _word2vec_words(vectors: Vectors, replace_whitespace: str | None) -> list[str]:
    words = vectors.words
    if replace_whitespace is not None:
        if _WHITESPACE.search(replace_whitespace):
            raise ValueError(
                f"replace_whitespace must hold no whitespace; got {replace_whitespace!r}"
            )
        words = [_WHITESPACE.sub(replace_whitespace, w) for w in words]
        if len(set(words)) != len(words):
            raise InputError(f"replace_whitespace={replace_whitespace!r} makes two words equal")
    for i, w in enumerate(words):
        if not w or _WHITESPACE.search(w):
            raise InputError(
                f"word {i} ({w!r}) is empty or contains whitespace, which the word2vec formats "
                "cannot hold; pass replace_whitespace='_' or save the native format"
            )
    return words


@contextmanager
def _atomic_file(path: Path) -> Iterator[BinaryIO]:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(path.parent)


def _sniff(path: Path) -> str:
    if path.suffix == ".bin":
        return "binary"
    if path.suffix in (".txt", ".vec"):
        return "text"
    with open(path, "rb") as f:
        _, d, _ = _parse_header(f.readline(), path, None)
        row = f.readline(1 << 16)
    try:
        parts = row.decode("utf-8").rstrip("\r\n \t").split(" ")
        np.asarray(parts[1:], dtype=np.float32)
        return "text" if len(parts) == d + 1 else "binary"
    except (UnicodeDecodeError, ValueError):
        return "binary"
