"""Labelled sentences from TSV (``label<TAB>text``), CSV (named columns) and JSONL files.

Bad lines never vanish silently: an empty line is skipped and counted (``ReadReport``), a line
without a label column or with an empty label is an error that names the file and line.
"""

from __future__ import annotations

import csv
import json
import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError

log = logging.getLogger(__name__)

FORMATS = ("tsv", "csv", "jsonl", "txt")


@dataclass
class ReadReport:
    """What reading skipped or changed, reported as counted warnings."""

    lines: int = 0
    empty_skipped: int = 0

    def warn(self, name: str) -> None:
        if self.empty_skipped:
            log.warning("%s: %d empty lines skipped", name, self.empty_skipped)


@dataclass
class Examples:
    """Texts with their labels (``None`` when unlabelled); ``lines`` are 1-based source lines."""

    texts: list[str]
    labels: list[str | None]
    lines: list[int]
    source: str
    report: ReadReport = field(default_factory=ReadReport)

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, index: list[int]) -> Examples:
        return Examples(
            [self.texts[i] for i in index],
            [self.labels[i] for i in index],
            [self.lines[i] for i in index],
            self.source,
        )

    def label_counts(self) -> Counter[str]:
        return Counter(x for x in self.labels if x is not None)


def data_format(path: Path, fmt: str | None = None) -> str:
    """The format named by ``fmt`` or by the file's extension (``.tsv``, ``.csv``, ``.jsonl``)."""
    if fmt:
        if fmt not in FORMATS:
            raise InputError(f"--format must be one of {', '.join(FORMATS)}; got {fmt!r}")
        return fmt
    suffixes = [s.lower() for s in Path(path).suffixes]
    for s in reversed(suffixes):
        name = {".tsv": "tsv", ".csv": "csv", ".jsonl": "jsonl", ".json": "jsonl", ".txt": "txt"}
        if s in name:
            return name[s]
    raise InputError(
        f"{path}: cannot tell the format from the name; use .tsv (label<TAB>text), .csv or "
        ".jsonl, or pass --format"
    )


def read_examples(
    path: str | Path,
    *,
    fmt: str | None = None,
    text_column: str = "text",
    label_column: str = "label",
    labelled: bool = True,
) -> Examples:
    """Read a whole labelled (or, with ``labelled=False``, unlabelled) data file.

    Raises:
        InputError: a missing file, a line without its label column, an empty label, a missing
            CSV/JSONL column, a file with no examples.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"data file {path} does not exist: check the path")
    kind = data_format(path, fmt)
    texts: list[str] = []
    labels: list[str | None] = []
    lines: list[int] = []
    report = ReadReport()
    for lineno, text, label in iter_records(
        path, kind, text_column, label_column, labelled, report
    ):
        if text is None:
            continue
        texts.append(text)
        labels.append(label)
        lines.append(lineno)
    report.warn(str(path))
    if not texts:
        raise InputError(f"{path} holds no examples: every line is empty")
    return Examples(texts, labels, lines, str(path), report)


def iter_records(
    path: Path,
    kind: str,
    text_column: str,
    label_column: str,
    labelled: bool,
    report: ReadReport,
    skip: int = 0,
) -> Iterator[tuple[int, str | None, str | None]]:
    """Yield (line number, text or None when empty, label) for every record after ``skip``.

    Streams the file: nothing but the current line is held in memory. Every line (every CSV
    record) yields one tuple, empty ones included, so that ``skip`` counts records.
    """
    with open(path, encoding="utf-8", errors="replace", newline="") as f:
        if kind == "csv":
            yield from _csv(path, f, text_column, label_column, labelled, report, skip)
            return
        for lineno, raw in enumerate(f, 1):
            if lineno <= skip:
                continue  # a resumed stream: records are lines
            report.lines += 1
            line = raw.rstrip("\r\n")
            if not line.strip():
                report.empty_skipped += 1
                yield lineno, None, None
                continue
            if kind == "jsonl":
                text, label = _json_record(path, lineno, line, text_column, label_column, labelled)
            elif kind == "tsv":
                text, label = _tsv_record(path, lineno, line, labelled)
            else:
                text, label = line, None
            if not text.strip():
                report.empty_skipped += 1
                yield lineno, None, label
                continue
            yield lineno, text, label


def _tsv_record(path: Path, lineno: int, line: str, labelled: bool) -> tuple[str, str | None]:
    label, tab, text = line.partition("\t")
    if not tab:
        if not labelled:
            return line, None
        raise InputError(
            f"{path}:{lineno}: no tab, so no label column; a TSV line is label<TAB>text"
        )
    label = label.strip()
    if labelled and not label:
        raise InputError(f"{path}:{lineno}: the label before the tab is empty")
    return text, label or None


def _json_record(
    path: Path, lineno: int, line: str, text_column: str, label_column: str, labelled: bool
) -> tuple[str, str | None]:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as e:
        raise InputError(f"{path}:{lineno}: not valid JSON ({e.msg}); fix the line") from None
    if not isinstance(obj, dict) or text_column not in obj:
        keys = ", ".join(sorted(obj)) if isinstance(obj, dict) else type(obj).__name__
        raise InputError(
            f"{path}:{lineno}: no field {text_column!r} (found: {keys}); name it with --text-column"
        )
    label = obj.get(label_column)
    if labelled and (label is None or str(label).strip() == ""):
        keys = ", ".join(sorted(obj))
        raise InputError(
            f"{path}:{lineno}: no label in field {label_column!r} (found: {keys}); name it "
            "with --label-column"
        )
    return str(obj[text_column]), None if label is None else str(label).strip()


def _csv(path, f, text_column, label_column, labelled, report, skip):
    reader = csv.reader(f)
    header = next(reader, None)
    if header is None:
        return
    names = [h.strip() for h in header]
    for col, opt in ((text_column, "--text-column"), (label_column, "--label-column")):
        if col not in names and (labelled or col == text_column):
            raise InputError(
                f"{path}: no column {col!r} in the header (found: {', '.join(names)}); name it "
                f"with {opt}"
            )
    ti = names.index(text_column)
    li = names.index(label_column) if label_column in names else None
    for record, row in enumerate(reader, 1):
        lineno = reader.line_num
        if record <= skip:
            continue
        report.lines += 1
        if not any(c.strip() for c in row):
            report.empty_skipped += 1
            yield lineno, None, None
            continue
        if ti >= len(row) or (li is not None and li >= len(row)):
            raise InputError(f"{path}:{lineno}: {len(row)} columns, the header has {len(names)}")
        label = row[li].strip() if li is not None else None
        if labelled and not label:
            raise InputError(f"{path}:{lineno}: the {label_column!r} column is empty")
        text = row[ti]
        if not text.strip():
            report.empty_skipped += 1
            yield lineno, None, label
            continue
        yield lineno, text, label


def check_classes(examples: Examples) -> list[str]:
    """The sorted label set of training data; one class is an error."""
    counts = examples.label_counts()
    if len(counts) < 2:
        only = ", ".join(counts) or "none"
        raise InputError(
            f"{examples.source}: training needs at least two classes; found {len(counts)} "
            f"({only}): check the label column"
        )
    return sorted(counts)
