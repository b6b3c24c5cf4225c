"""Input discovery and document streams: text, gzip, JSONL, CoNLL-U, folders, globs, stdin."""

from __future__ import annotations

import glob
import gzip
import io
import json
import logging
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from ..errors import InputError

log = logging.getLogger(__name__)

KNOWN_SUFFIXES = (".txt", ".txt.gz", ".jsonl", ".jsonl.gz", ".conllu", ".conllu.gz")
REPLACEMENT = "\ufffd"


@dataclass(frozen=True)
class Source:
    """One input: a file path (or ``-`` for standard input) and its kind."""

    path: str
    kind: str  # "text" | "jsonl" | "conllu"
    nbytes: int  # size on disk (0 for stdin)

    @property
    def name(self) -> str:
        return "<stdin>" if self.path == "-" else self.path


@dataclass
class ReadStats:
    """What the readers saw; deterministic for a given input, so a resumed run reports the same."""

    lines: int = 0
    empty_skipped: int = 0
    invalid_utf8: int = 0
    invalid_utf8_lines: int = 0
    long_documents: int = 0
    long_pieces: int = 0
    bytes_read: int = 0
    by_source: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, int]:
        return {
            "lines": self.lines,
            "empty_skipped": self.empty_skipped,
            "invalid_utf8_replaced": self.invalid_utf8,
            "invalid_utf8_lines": self.invalid_utf8_lines,
            "long_documents_split": self.long_documents,
            "long_document_pieces": self.long_pieces,
        }


def _kind_of(path: str) -> str | None:
    low = path.lower()
    if low.endswith((".conllu", ".conllu.gz")):
        return "conllu"
    if low.endswith((".jsonl", ".jsonl.gz")):
        return "jsonl"
    if low.endswith((".txt", ".txt.gz")):
        return "text"
    return None


def resolve_inputs(specs: list[str]) -> list[Source]:
    """Expand paths, folders (recursively, sorted) and globs into sources.

    Raises:
        InputError: a path that does not exist, a folder or glob with no input files.
    """
    if not specs:
        raise InputError("no INPUT given: name files, folders, globs or - for standard input")
    sources: list[Source] = []
    for spec in specs:
        if spec == "-":
            sources.append(Source("-", "text", 0))
            continue
        path = Path(spec)
        if any(ch in spec for ch in "*?["):
            matches = sorted(m for m in glob.glob(spec, recursive=True) if Path(m).is_file())
            if not matches:
                raise InputError(f"input glob {spec!r} matches no files: check the pattern")
            sources.extend(_file_source(Path(m), explicit=False) for m in matches)
            sources = [s for s in sources if s is not None]
        elif path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and _kind_of(p.name))
            if not files:
                raise InputError(
                    f"input folder {spec} holds no input files ({', '.join(KNOWN_SUFFIXES)})"
                )
            sources.extend(_file_source(p, explicit=False) for p in files)
        elif path.is_file():
            sources.append(_file_source(path, explicit=True))
        else:
            raise InputError(f"input path {spec} does not exist: check the spelling")
    sources = [s for s in sources if s is not None]
    kinds = {s.kind == "conllu" for s in sources}
    if len(kinds) > 1:
        raise InputError(
            "inputs mix CoNLL-U (gold parses) with raw text; a store holds one kind of parse: "
            "parse them into two stores"
        )
    return sources


def _file_source(path: Path, explicit: bool) -> Source | None:
    kind = _kind_of(path.name)
    if kind is None:
        if not explicit:
            return None
        kind = "text"  # a file named explicitly is read as one document per line
    return Source(str(path.resolve()), kind, path.stat().st_size)


def _open_binary(source: Source) -> BinaryIO:
    if source.path == "-":
        return sys.stdin.buffer
    if source.path.endswith(".gz"):
        return gzip.open(source.path, "rb")  # type: ignore[return-value]
    return open(source.path, "rb")


def decode_line(raw: bytes, stats: ReadStats) -> str:
    """Decode UTF-8, replacing invalid bytes with U+FFFD and counting them."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("utf-8", errors="replace")
        bad = text.count(REPLACEMENT) - raw.count(REPLACEMENT.encode("utf-8"))
        stats.invalid_utf8 += max(bad, 1)
        stats.invalid_utf8_lines += 1
        return text


def split_long(text: str, max_chars: int) -> list[str]:
    """Split text longer than ``max_chars`` at whitespace (hard split when a piece has none)."""
    if len(text) <= max_chars:
        return [text]
    pieces: list[str] = []
    start = 0
    n = len(text)
    while n - start > max_chars:
        window = text[start + max_chars // 2 : start + max_chars]
        cut = max(window.rfind(" "), window.rfind("\n"), window.rfind("\t"))
        end = start + max_chars // 2 + cut + 1 if cut >= 0 else start + max_chars
        pieces.append(text[start:end])
        start = end
    pieces.append(text[start:])
    return [p for p in pieces if p.strip()]


def _text_lines(source: Source, stats: ReadStats) -> Iterator[tuple[int, str]]:
    f = _open_binary(source)
    # Progress counts bytes on disk: for gzip, the position in the compressed file.
    raw_file = getattr(f, "fileobj", None)
    base = stats.bytes_read
    try:
        for lineno, raw in enumerate(f, 1):
            stats.lines += 1
            if raw_file is not None:
                stats.bytes_read = base + raw_file.tell()
            else:
                stats.bytes_read += len(raw)
            yield lineno, decode_line(raw.rstrip(b"\r\n"), stats)
    finally:
        if source.path != "-":
            f.close()


def iter_texts(
    sources: list[Source], stats: ReadStats, *, text_field: str = "text", max_doc_chars: int
) -> Iterator[str]:
    """Yield the documents of text and JSONL sources, long ones split, empty ones skipped."""
    for source in sources:
        for lineno, line in _text_lines(source, stats):
            if source.kind == "jsonl":
                if not line.strip():
                    stats.empty_skipped += 1
                    continue
                text = _jsonl_text(source, lineno, line, text_field)
            else:
                text = line
            if not text.strip():
                stats.empty_skipped += 1
                continue
            pieces = split_long(text, max_doc_chars)
            if len(pieces) > 1:
                stats.long_documents += 1
                stats.long_pieces += len(pieces)
            yield from pieces


def _jsonl_text(source: Source, lineno: int, line: str, text_field: str) -> str:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as e:
        raise InputError(
            f"{source.name}:{lineno}: not valid JSON ({e.msg}); fix or remove the line"
        ) from None
    if not isinstance(obj, dict) or text_field not in obj:
        keys = ", ".join(sorted(obj)) if isinstance(obj, dict) else type(obj).__name__
        raise InputError(
            f"{source.name}:{lineno}: no field {text_field!r} (found: {keys}); "
            "name the text field with --text-field"
        )
    text = obj[text_field]
    if not isinstance(text, str):
        raise InputError(f"{source.name}:{lineno}: field {text_field!r} is not a string")
    return text


def open_text_stream(source: Source) -> io.TextIOBase:
    """A text stream over a source (used by the CoNLL-U reader); invalid bytes are replaced."""
    return io.TextIOWrapper(_open_binary(source), encoding="utf-8", errors="replace")
