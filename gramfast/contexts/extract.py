"""From store batches to numeric (target key, context key) pairs, and keys back to strings.

The kernels (``gramfast.kernels.contexts``) return batch token indices and relation codes; this
module maps them to keys that stay valid over a whole store:

* words: the id of the token's form in ``form_table`` (lowercased by default, whitespace inside a
  form replaced by ``_``, so that no target or context string holds whitespace);
* grammar constructions: ``pos * n_labels + label`` (``NOUN:nsubj``);
* dependency contexts: ``(relation * 2 + inverse) * n_forms + form``, where relations below
  ``n_labels`` are label ids and the rest index collapsed chains (``prep_out_of``, ``obl_with``),
  interned the first time they are seen;
* window contexts: the form id; grammar contexts: ``construction * 2 + (1 if head)``.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from enum import Enum

import numpy as np

from ..corpus.store import ParsedStore, SentenceBatch
from ..errors import InputError
from ..kernels.contexts import (
    ROLE_CASE,
    ROLE_FIXED,
    ROLE_NOMINAL,
    ROLE_PLAIN,
    ROLE_POBJ,
    ROLE_PREP,
    ROLE_SKIP,
    TreeError,
    dependency_pairs,
    relation_chains,
    window_pairs,
)

log = logging.getLogger(__name__)

SPACY_ROLES = {
    "prep": ROLE_PREP,
    "agent": ROLE_PREP,
    "dative": ROLE_PREP,
    "pobj": ROLE_POBJ,
    "pcomp": ROLE_POBJ,
    "punct": ROLE_SKIP,
}
UD_ROLES = {"obl": ROLE_NOMINAL, "nmod": ROLE_NOMINAL, "case": ROLE_CASE, "fixed": ROLE_FIXED}
UD_PLAIN_SUBTYPES = {"nmod:poss"}  # a possessor's "'s" stays a plain case arc
_WHITESPACE = re.compile(r"\s+")


class ContextKind(str, Enum):
    deps = "deps"
    window = "window"
    grammar = "grammar"


@dataclass(frozen=True)
class ContextsConfig:
    """What pairs to extract and which survive (one field per `gramfast contexts` option).

    Attributes:
        kind: deps (Levy & Goldberg), window (k words each side) or grammar (constructions).
        window: k for window contexts (the paper's baselines use 2 and 5).
        dynamic_window: word2vec's shrinking window (k drawn uniformly in 1..window per token).
        lowercase: lowercase words and context words.
        min_count: words (and constructions) seen fewer times are dropped.
        min_context_count: contexts seen fewer times are dropped (None: same as min_count).
        max_words, max_contexts: keep only the most frequent (None: no limit).
        seed: seeds the shrinking-window draws.
    """

    kind: ContextKind = ContextKind.deps
    window: int = 5
    dynamic_window: bool = False
    lowercase: bool = True
    min_count: int = 1
    min_context_count: int | None = None
    max_words: int | None = None
    max_contexts: int | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", ContextKind(self.kind))
        if self.window < 1:
            raise InputError(f"window must be >= 1; got {self.window}: pass --window 2 or 5")
        for name in ("min_count", "min_context_count", "max_words", "max_contexts"):
            value = getattr(self, name)
            if value is not None and value < 1:
                flag = "--" + name.replace("_", "-")
                raise InputError(f"{name} must be >= 1; got {value}: pass {flag} 1 or more")

    @property
    def context_min_count(self) -> int:
        return self.min_count if self.min_context_count is None else self.min_context_count


def label_roles(labels: list[str], scheme: str) -> np.ndarray:
    """int8 [n_labels]: the kernel role of each label for a "spacy" or "ud" label scheme."""
    if scheme == "spacy":
        return np.array([SPACY_ROLES.get(x, ROLE_PLAIN) for x in labels], dtype=np.int8)
    if scheme == "ud":
        out = []
        for x in labels:
            base = x.split(":")[0]
            plain = x in UD_PLAIN_SUBTYPES or x.lower() == "root"
            out.append(
                ROLE_SKIP if base == "punct" else ROLE_PLAIN if plain else UD_ROLES.get(base, 0)
            )
        return np.array(out, dtype=np.int8)
    raise InputError(
        f"unknown label scheme {scheme!r} in the store manifest; expected 'spacy' or 'ud': "
        "parse the input again with this gramfast"
    )


def form_key(form: str, lowercase: bool = True) -> str:
    """A form as targets and contexts spell it: lowercased, whitespace inside replaced by ``_``."""
    return _WHITESPACE.sub("_", form.lower() if lowercase else form) or "_"


def form_table(strings: list[str], lowercase: bool) -> tuple[np.ndarray, list[str]]:
    """(form_ids int32 [n_strings], forms): word ids of the store mapped to cleaned forms."""
    table: dict[str, int] = {}
    ids = np.empty(len(strings), dtype=np.int32)
    for i, s in enumerate(strings):
        ids[i] = table.setdefault(form_key(s, lowercase), len(table))
    return ids, list(table)


class Extractor:
    """Turns store batches into numeric pairs for one ContextsConfig; renders keys as strings."""

    def __init__(self, store: ParsedStore, cfg: ContextsConfig) -> None:
        if store.n_tokens == 0:
            raise InputError(f"{store.root} holds no tokens: parse a non-empty input first")
        if cfg.kind != ContextKind.window and not store.has_parse:
            raise InputError(
                f"{store.root} has no dependency parse (tokenizer-only pipeline), so --kind "
                f"{cfg.kind.value} has nothing to read: use --kind window, or parse with a "
                "pipeline that has a parser"
            )
        self.store, self.cfg = store, cfg
        self.form_ids, self.forms = form_table(store.strings, cfg.lowercase)
        self.n_forms = len(self.forms)
        self.n_labels = max(len(store.labels), 1)
        scheme = store.manifest.get("label_scheme", "spacy")
        self.roles = label_roles(store.labels, scheme)
        self.plain_roles = np.zeros(max(len(store.labels), 1), dtype=np.int8)
        self.space_pos = store.pos.index("SPACE") if "SPACE" in store.pos else -1
        self.chain_ids: dict[tuple[int, ...], int] = {}
        self.chain_names: list[str] = []
        self.rng = np.random.default_rng(cfg.seed)

    # -- extraction ----------------------------------------------------------------------
    def word_keys(self, batch: SentenceBatch) -> np.ndarray:
        """int64 [N] target key of every token (form or construction); -1 for whitespace."""
        if self.cfg.kind == ContextKind.grammar:
            keys = batch.pos.astype(np.int64) * self.n_labels + batch.labels
        else:
            keys = self.form_ids[batch.words].astype(np.int64)
        if self.space_pos >= 0:
            keys[batch.pos == self.space_pos] = -1
        return keys

    def pairs(
        self, batch: SentenceBatch, where: str = "batch", rng: np.random.Generator | None = None
    ) -> tuple[np.ndarray, ...]:
        """(target keys int64 [P], context keys int64 [P], target tokens int32 [P]).

        ``rng`` draws the shrinking-window spans (default: the extractor's own generator); the
        pair stream passes one per (seed, epoch, block) so that an epoch's pairs do not depend
        on what was extracted before it (a resumed run equals an uninterrupted one).
        """
        try:
            if self.cfg.kind == ContextKind.window:
                return self._window(batch, self.rng if rng is None else rng)
            return self._dependency(batch)
        except TreeError as e:
            raise InputError(
                f"{self.store.root}: {where} token {e.token} has head {e.head} outside its "
                f"sentence (tokens {e.start}..{e.end - 1}); the store is damaged: parse the "
                "input again (`gramfast parse`)"
            ) from e

    def _window(self, batch: SentenceBatch, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
        n, k = batch.words.shape[0], self.cfg.window
        if self.cfg.dynamic_window:
            spans = rng.integers(1, k + 1, size=n, dtype=np.int32)
        else:
            spans = np.full(n, k, dtype=np.int32)
        t, c = window_pairs(batch.pos, batch.sent_offsets, spans, self.space_pos)
        fw = self.form_ids[batch.words].astype(np.int64)
        return fw[t], fw[c], t

    def window_distances(self, batch: SentenceBatch) -> tuple[np.ndarray, ...]:
        """Window pairs at the full width k with their distance: (target keys int64 [P],
        context keys int64 [P], target tokens int32 [P], distance [P] in 1..k (uint8), counted in
        words, whitespace left out). word2vec's shrinking window keeps a pair when its distance
        is at most the span drawn for its target, so a consumer that holds these pairs can
        redraw the spans each epoch without extracting again."""
        n, k = batch.words.shape[0], self.cfg.window
        t, c = window_pairs(
            batch.pos, batch.sent_offsets, np.full(n, k, dtype=np.int32), self.space_pos
        )
        rank = np.cumsum(batch.pos != self.space_pos, dtype=np.int64)
        dist = np.abs(rank[t] - rank[c]).astype(np.uint8 if k <= 255 else np.uint16)
        fw = self.form_ids[batch.words].astype(np.int64)
        return fw[t], fw[c], t, dist

    def _dependency(self, batch: SentenceBatch) -> tuple[np.ndarray, ...]:
        grammar = self.cfg.kind == ContextKind.grammar
        roles = self.plain_roles if grammar else self.roles
        p = dependency_pairs(
            batch.heads, batch.labels, batch.pos, batch.sent_offsets, roles, self.space_pos
        )
        inv = p.inverse.astype(np.int64)
        if grammar:
            cons = batch.pos.astype(np.int64) * self.n_labels + batch.labels
            return cons[p.targets], cons[p.contexts] * 2 + inv, p.targets
        rel = p.relations.astype(np.int64)
        neg = rel < 0
        if neg.any():
            codes, where = np.unique(rel[neg], return_inverse=True)
            rel[neg] = self.n_labels + self._intern_chains(-1 - codes, batch, roles)[where]
        fw = self.form_ids[batch.words].astype(np.int64)
        return fw[p.targets], (rel * 2 + inv) * self.n_forms + fw[p.contexts], p.targets

    def _intern_chains(self, anchors: np.ndarray, batch: SentenceBatch, roles) -> np.ndarray:
        """Global chain index of each anchor, interning new chains (few per batch)."""
        flat, off = relation_chains(
            anchors, batch.heads, batch.labels, batch.pos, batch.sent_offsets, roles, self.space_pos
        )
        lens = np.diff(off)
        mat = np.full((anchors.shape[0], int(lens.max()) + 1), -1, dtype=np.int64)
        is_nominal = roles[batch.labels[anchors]] == ROLE_NOMINAL
        mat[:, 0] = np.where(is_nominal, batch.labels[anchors].astype(np.int64), -1)
        rows = np.repeat(np.arange(anchors.shape[0]), lens)
        cols = np.arange(flat.shape[0]) - np.repeat(off[:-1], lens) + 1
        mat[rows, cols] = self.form_ids[batch.words[flat]]
        unique, where = np.unique(mat, axis=0, return_inverse=True)
        ids = np.array([self._chain_id(tuple(r)) for r in unique.tolist()], dtype=np.int64)
        return ids[where.reshape(-1)]

    def _chain_id(self, row: tuple[int, ...]) -> int:
        # NOTE: rows are padded with -1 to the longest chain of their batch; the key must not
        # depend on that width, or one chain gets two ids (and two contexts with one name).
        row = (row[0], *(w for w in row[1:] if w >= 0))
        i = self.chain_ids.get(row)
        if i is None:
            i = self.chain_ids[row] = len(self.chain_names)
            kind = "prep" if row[0] < 0 else self.store.labels[row[0]]
            self.chain_names.append("_".join([kind, *(self.forms[w] for w in row[1:])]))
        return i

    # -- rendering -----------------------------------------------------------------------
    def word_strings(self, keys: np.ndarray) -> list[str]:
        if self.cfg.kind == ContextKind.grammar:
            return [self._construction(int(k)) for k in keys.tolist()]
        return [self.forms[k] for k in keys.tolist()]

    def context_strings(self, keys: np.ndarray) -> list[str]:
        kind = self.cfg.kind
        if kind == ContextKind.window:
            return [self.forms[k] for k in keys.tolist()]
        if kind == ContextKind.grammar:
            side = ("child=", "head=")
            return [side[k & 1] + self._construction(k >> 1) for k in keys.tolist()]
        out = []
        for k in keys.tolist():
            rel_inv, form = divmod(k, self.n_forms)
            rel, inv = divmod(rel_inv, 2)
            name = (
                self.store.labels[rel]
                if rel < self.n_labels
                else self.chain_names[rel - self.n_labels]
            )
            out.append(f"{name}{'I' if inv else ''}_{self.forms[form]}")
        return out

    def _construction(self, key: int) -> str:
        p, label = divmod(key, self.n_labels)
        return f"{self.store.pos[p]}:{self.store.labels[label] if self.store.labels else '-'}"
