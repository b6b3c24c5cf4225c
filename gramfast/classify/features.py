"""Per-token feature ids: the word, its construction (``NOUN:nsubj``) and its head context.

Each feature has a ``Lexicon``: row 0 pads, row 1 is UNK, then ``extra`` rows (training words
the vectors lack, always trainable), then ``vocab`` rows (from the pretrained vectors, or from the
training data for ``--init random``). The strings match what pretraining wrote: lowercased forms
with whitespace replaced by ``_``, ``POS:label`` constructions, and dependency contexts rendered
by the same extractor (``nsubjI_discovers``, ``prep_withI_discovers``).
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..contexts.extract import ContextKind, ContextsConfig, Extractor, form_key
from ..corpus.store import SentenceBatch
from .parsing import ParsedTexts

log = logging.getLogger(__name__)

FEATURES = ("words", "grammar", "contexts")
SPACES = {"words": "word", "grammar": "grammar", "contexts": "context"}
PAD, UNK, N_SPECIAL = 0, 1, 2


@dataclass
class Lexicon:
    """String -> row of one embedding table (see the module docstring for the layout)."""

    vocab: list[str]
    extra: list[str] = field(default_factory=list)
    index: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.index = {}
        for i, s in enumerate([*self.extra, *self.vocab]):
            self.index.setdefault(s, N_SPECIAL + i)

    @property
    def n_rows(self) -> int:
        return N_SPECIAL + len(self.extra) + len(self.vocab)

    @property
    def first_vocab_row(self) -> int:
        return N_SPECIAL + len(self.extra)

    def lookup(self, strings: list[str]) -> np.ndarray:
        return np.array([self.index.get(s, UNK) for s in strings], dtype=np.int64)

    def to_json(self) -> dict:
        return {"vocab": self.vocab, "extra": self.extra}

    @classmethod
    def from_json(cls, obj: dict) -> Lexicon:
        return cls(list(obj["vocab"]), list(obj["extra"]))


@dataclass
class Encoded:
    """Feature ids of a set of documents, truncated to ``max_tokens``.

    ``ids[feature]`` is int64 [N] (flat), ``offsets`` int64 [n_docs+1]. A document with no
    tokens gets one padding token, so that every sequence has length >= 1.
    """

    ids: dict[str, np.ndarray]
    offsets: np.ndarray
    truncated: int = 0
    all_unknown: int = 0
    unknown_tokens: int = 0
    truncated_mask: np.ndarray | None = None  # bool [n_docs], set by ``encode``

    @property
    def n_docs(self) -> int:
        return int(self.offsets.shape[0] - 1)

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def subset(self, index: np.ndarray | list[int]) -> Encoded:
        index = np.asarray(index, dtype=np.int64)
        starts, lengths = self.offsets[index], self.lengths[index]
        take = np.repeat(starts - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
        take = take + np.arange(int(lengths.sum()), dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        return Encoded({k: v[take] for k, v in self.ids.items()}, offsets)


def token_strings(parsed: ParsedTexts, feature: str, lowercase: bool = True) -> list[str | None]:
    """The string of ``feature`` for every token (None: the token has no such feature)."""
    if feature == "words":
        table = [form_key(f, lowercase) for f in parsed.forms]
        return [table[i] for i in parsed.words.tolist()]
    if feature == "grammar":
        labels = [x or "-" for x in parsed.label_names]
        table = [[f"{p}:{lab}" for lab in labels] for p in parsed.pos_names]
        return [table[p][lab] for p, lab in zip(parsed.pos.tolist(), parsed.labels.tolist())]
    if feature == "contexts":
        return _head_contexts(parsed, lowercase)
    raise ValueError(f"feature must be one of {', '.join(FEATURES)}; got {feature!r}")


class _ParsedView:
    """The few store attributes the context extractor reads, over a ParsedTexts."""

    def __init__(self, parsed: ParsedTexts) -> None:
        self.strings = parsed.forms
        self.labels = parsed.label_names
        self.pos = parsed.pos_names
        self.manifest = {"label_scheme": "spacy"}
        self.n_tokens = int(parsed.words.shape[0])
        self.has_parse = True
        self.root = Path("<sentences>")


def _head_contexts(parsed: ParsedTexts, lowercase: bool) -> list[str | None]:
    out: list[str | None] = [None] * int(parsed.words.shape[0])
    if not out or len(parsed.label_names) > 255 or len(parsed.pos_names) > 255:
        return out
    ex = Extractor(_ParsedView(parsed), ContextsConfig(ContextKind.deps, lowercase=lowercase))
    batch = SentenceBatch(
        words=parsed.words.astype(np.int32),
        heads=parsed.heads.astype(np.int32),
        labels=parsed.labels.astype(np.uint8),
        pos=parsed.pos.astype(np.uint8),
        tags=np.zeros_like(parsed.pos, dtype=np.uint8),
        sent_offsets=parsed.sent_offsets.astype(np.int64),
    )
    _, contexts, targets = ex.pairs(batch, where="sentences")
    inverse = (contexts // ex.n_forms) % 2 == 1
    names = ex.context_strings(contexts[inverse])
    for t, name in zip(targets[inverse].tolist(), names):
        out[t] = name
    return out


def training_lexicon(strings: list[str | None], min_count: int, exclude: Lexicon | None) -> list:
    """Strings seen at least ``min_count`` times, by falling count (ties by first sighting),
    minus those ``exclude`` already has."""
    counts = Counter(s for s in strings if s is not None)
    known = exclude.index if exclude is not None else {}
    return [s for s, c in counts.most_common() if c >= min_count and s not in known]


def encode(
    parsed: ParsedTexts,
    lexicons: dict[str, Lexicon],
    max_tokens: int,
    lowercase: bool = True,
    strings: dict[str, list[str | None]] | None = None,
) -> Encoded:
    """Feature ids of every document, truncated to its first ``max_tokens`` tokens."""
    offsets = parsed.doc_offsets
    lengths = np.diff(offsets)
    kept = np.clip(lengths, 1, max_tokens)
    ids: dict[str, np.ndarray] = {}
    for feature, lex in lexicons.items():
        s = strings[feature] if strings and feature in strings else None
        s = token_strings(parsed, feature, lowercase) if s is None else s
        token_ids = np.array(
            [PAD if x is None else lex.index.get(x, UNK) for x in s], dtype=np.int64
        )
        ids[feature] = _truncate(token_ids, offsets, kept)
    new_offsets = np.concatenate([[0], np.cumsum(kept)]).astype(np.int64)
    mask = lengths > max_tokens
    enc = Encoded(ids, new_offsets, truncated=int(mask.sum()), truncated_mask=mask)
    if "words" in ids:
        unk = ids["words"] == UNK
        enc.unknown_tokens = int(unk.sum())
        per_doc = np.add.reduceat(unk.astype(np.int64), new_offsets[:-1]) if unk.size else unk
        enc.all_unknown = int((per_doc == kept).sum()) if unk.size else 0
    return enc


def _truncate(token_ids: np.ndarray, offsets: np.ndarray, kept: np.ndarray) -> np.ndarray:
    lengths = np.diff(offsets)
    out = np.full(int(kept.sum()), PAD, dtype=np.int64)
    dst = np.concatenate([[0], np.cumsum(kept)[:-1]])
    n = np.minimum(lengths, kept)  # 0 for an empty document: its one slot stays PAD
    src_idx = np.repeat(offsets[:-1] - np.concatenate([[0], np.cumsum(n)[:-1]]), n)
    src_idx = src_idx + np.arange(int(n.sum()))
    dst_idx = np.repeat(dst - np.concatenate([[0], np.cumsum(n)[:-1]]), n) + np.arange(int(n.sum()))
    out[dst_idx] = token_ids[src_idx]
    return out
