"""CoNLL-U reader: gold parses into store documents, without spaCy.

Multi-word token lines (``1-2``) and empty nodes (``8.1``) are skipped: the store holds the
syntactic words. Documents are ``# newdoc`` blocks; a file without such markers gives one
document per sentence. ``SpaceAfter=No`` in MISC sets the trailing-space bit.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field

from ..errors import InputError
from .inputs import ReadStats, Source, _text_lines

log = logging.getLogger(__name__)


@dataclass
class ConlluSentence:
    forms: list[str] = field(default_factory=list)
    heads: list[int] = field(default_factory=list)  # 0-based within the sentence, root: itself
    labels: list[str] = field(default_factory=list)
    upos: list[str] = field(default_factory=list)
    xpos: list[str] = field(default_factory=list)
    spaces: list[bool] = field(default_factory=list)


ConlluDoc = list[ConlluSentence]


def _bad(source: Source, lineno: int, why: str) -> InputError:
    return InputError(f"malformed CoNLL-U at {source.name}:{lineno}: {why}; fix the line")


def _finish(sent: ConlluSentence, raw_heads: list[tuple[int, int]], source: Source) -> None:
    n = len(sent.forms)
    for i, (head, lineno) in enumerate(raw_heads):
        if head < 0 or head > n:
            raise _bad(source, lineno, f"HEAD {head} is outside the sentence of {n} words")
        sent.heads.append(i if head == 0 else head - 1)


def read_conllu(source: Source, stats: ReadStats) -> Iterator[ConlluDoc]:
    """Yield documents (lists of sentences) from one CoNLL-U source.

    Raises:
        InputError: a malformed line; the message names the file and the line number.
    """
    saw_newdoc = False
    doc: ConlluDoc = []
    sent = ConlluSentence()
    raw_heads: list[tuple[int, int]] = []
    for lineno, line in _text_lines(source, stats):
        if not line.strip():
            if sent.forms:
                _finish(sent, raw_heads, source)
                doc.append(sent)
                if not saw_newdoc:
                    yield doc
                    doc = []
            sent, raw_heads = ConlluSentence(), []
            continue
        if line.startswith("#"):
            if line.startswith("# newdoc") and not sent.forms:
                saw_newdoc = True
                if doc:
                    yield doc
                    doc = []
            continue
        cols = line.split("\t")
        if len(cols) != 10:
            raise _bad(source, lineno, f"expected 10 tab-separated columns, found {len(cols)}")
        tid = cols[0]
        if "-" in tid or "." in tid:
            continue
        if not tid.isdigit() or int(tid) != len(sent.forms) + 1:
            raise _bad(source, lineno, f"ID {tid!r} where {len(sent.forms) + 1} was expected")
        if not cols[6].isdigit():
            raise _bad(source, lineno, f"HEAD {cols[6]!r} is not a number")
        if not cols[7] or cols[7] == "_":
            raise _bad(source, lineno, "DEPREL is empty")
        sent.forms.append(cols[1])
        sent.labels.append(cols[7])
        sent.upos.append(cols[3])
        sent.xpos.append(cols[4])
        sent.spaces.append("SpaceAfter=No" not in cols[9].split("|"))
        raw_heads.append((int(cols[6]), lineno))
    if sent.forms:
        _finish(sent, raw_heads, source)
        doc.append(sent)
    if doc:
        yield doc
