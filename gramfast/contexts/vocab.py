"""Vocabularies with counts: numeric keys counted in bulk, then ranked, cut and saved as TSV."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..io import atomic_write_bytes

log = logging.getLogger(__name__)


class KeyCounter:
    """Counts int64 keys batch by batch; memory grows with the distinct keys, not the input."""

    def __init__(self, merge_every: int = 1 << 22) -> None:
        self.keys = np.zeros(0, dtype=np.int64)
        self.counts = np.zeros(0, dtype=np.int64)
        self._pending: list[tuple[np.ndarray, np.ndarray]] = []
        self._pending_size = 0
        self.merge_every = merge_every

    def add(self, keys: np.ndarray) -> None:
        if keys.size == 0:
            return
        k, c = np.unique(keys, return_counts=True)
        self._pending.append((k, c.astype(np.int64)))
        self._pending_size += k.shape[0]
        if self._pending_size >= self.merge_every:
            self._merge()

    def add_counts(self, keys: np.ndarray, counts: np.ndarray) -> None:
        keep = counts > 0
        self._pending.append((keys[keep].astype(np.int64), counts[keep].astype(np.int64)))
        self._pending_size += int(keep.sum())

    def _merge(self) -> None:
        if not self._pending:
            return
        keys = np.concatenate([self.keys, *(k for k, _ in self._pending)])
        counts = np.concatenate([self.counts, *(c for _, c in self._pending)])
        self.keys, where = np.unique(keys, return_inverse=True)
        self.counts = np.zeros(self.keys.shape[0], dtype=np.int64)
        np.add.at(self.counts, where.reshape(-1), counts)
        self._pending, self._pending_size = [], 0

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        """(keys int64 [V] sorted, counts int64 [V])."""
        self._merge()
        return self.keys, self.counts


@dataclass
class Vocab:
    """Tokens ranked by count (ties by token string); id = position.

    Attributes:
        tokens: the strings, id order.
        counts: int64 [V] counts, non-increasing.
        keys: int64 [V] numeric key of each id (None for a vocabulary read from TSV).
    """

    tokens: list[str]
    counts: np.ndarray
    keys: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.tokens)

    @classmethod
    def build(
        cls,
        keys: np.ndarray,
        counts: np.ndarray,
        render: Callable[[np.ndarray], list[str]],
        min_count: int = 1,
        max_size: int | None = None,
        what: str = "words",
        option: str = "--min-count",
    ) -> Vocab:
        """Keep keys counted at least ``min_count`` times, rank them and keep ``max_size``.

        Raises:
            InputError: nothing survives the minimum count.
        """
        keep = counts >= min_count
        if not keep.any():
            top = int(counts.max()) if counts.size else 0
            raise InputError(
                f"{option} {min_count} leaves no {what}: the most frequent occurs {top} times; "
                f"lower {option} (or give a larger corpus)"
            )
        keys, counts = keys[keep], counts[keep]
        tokens = np.array(render(keys), dtype=object)
        order = np.lexsort((tokens.astype(str), -counts))
        if max_size is not None:
            order = order[:max_size]
        vocab = cls([str(t) for t in tokens[order]], counts[order].copy(), keys[order].copy())
        log.info("%s: %d kept (min count %d, max %s)", what, len(vocab), min_count, max_size)
        return vocab

    def lookup(self, keys: np.ndarray) -> np.ndarray:
        """int32 ids of ``keys`` (-1 where a key is not in the vocabulary)."""
        if self.keys is None:
            raise ValueError("this vocabulary has no numeric keys (read from TSV): rebuild it")
        if not hasattr(self, "_sorted"):
            self._order = np.argsort(self.keys, kind="stable").astype(np.int32)
            self._sorted = self.keys[self._order]
        if self._sorted.size == 0:
            return np.full(keys.shape, -1, dtype=np.int32)
        i = np.minimum(np.searchsorted(self._sorted, keys), self._sorted.shape[0] - 1)
        return np.where(self._sorted[i] == keys, self._order[i], -1).astype(np.int32)

    def save_tsv(self, path: Path) -> None:
        """``token<TAB>count`` per line, id order (word2vecf reads it as a count file)."""
        lines = "".join(f"{t}\t{c}\n" for t, c in zip(self.tokens, self.counts.tolist()))
        atomic_write_bytes(Path(path), lines.encode("utf-8"))

    @classmethod
    def load_tsv(cls, path: Path) -> Vocab:
        tokens, counts = [], []
        for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
            token, sep, count = line.rpartition("\t")
            if not sep or not count.isdigit():
                raise InputError(f"{path}:{n}: expected 'token<TAB>count', got {line[:60]!r}")
            tokens.append(token)
            counts.append(int(count))
        return cls(tokens, np.array(counts, dtype=np.int64))
