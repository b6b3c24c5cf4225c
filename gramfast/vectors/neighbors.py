"""Vectors in memory and their nearest neighbours by cosine, found with batched matrix products."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError

# Score matrices are at most this many float32 elements (64 MiB) per batch of queries.
_MAX_BATCH_ELEMENTS = 1 << 24


@dataclass(eq=False)
class Vectors:
    """Words and their vectors: row ``i`` of ``matrix`` belongs to ``words[i]``.

    Args:
        words: ``[V]`` distinct tokens, usually by falling frequency.
        matrix: ``[V, D]`` float32 (other float dtypes are converted); kept as a read-only view,
            so that the cached unit-length rows cannot go stale.
        counts: ``[V]`` int64 corpus counts, or None.

    Raises:
        ValueError: shapes disagree, V or D is 0, or a word repeats.

    Example:
        >>> v = Vectors(["a", "b"], np.eye(2, dtype=np.float32))
        >>> v.most_similar("a", topn=1)
        [('b', 0.0)]
    """

    words: list[str]
    matrix: np.ndarray
    counts: np.ndarray | None = None
    index: dict[str, int] = field(init=False, repr=False)
    _unit: np.ndarray | None = field(init=False, default=None, repr=False)

    def __post_init__(self) -> None:
        m = np.asarray(self.matrix)
        if m.ndim != 2 or not np.issubdtype(m.dtype, np.floating):
            raise ValueError(f"matrix must be a float [V, D] array; got {m.dtype} {m.shape}")
        if m.shape[0] != len(self.words) or m.shape[0] == 0 or m.shape[1] == 0:
            raise ValueError(
                f"matrix must be [V, D] with V = len(words) = {len(self.words)} > 0 and D > 0; "
                f"got {m.shape}"
            )
        m = m.astype(np.float32, copy=False).view()
        m.flags.writeable = False
        self.matrix = m
        self.words = list(self.words)
        if self.counts is not None:
            self.counts = np.asarray(self.counts, dtype=np.int64)
            if self.counts.shape != (len(self.words),):
                raise ValueError(f"counts must be [V={len(self.words)}]; got {self.counts.shape}")
        self.index = {}
        for i, w in enumerate(self.words):
            j = self.index.setdefault(w, i)
            if j != i:
                raise ValueError(
                    f"words must be distinct; {w!r} is at rows {j} and {i}: keep one row per word"
                )

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: object) -> bool:
        return word in self.index

    @property
    def dim(self) -> int:
        return int(self.matrix.shape[1])

    def vector(self, word: str) -> np.ndarray:
        """The ``[D]`` vector of ``word``; KeyError if it is not in the vocabulary."""
        return self.matrix[self._row(word)]

    def unit(self) -> np.ndarray:
        """``[V, D]`` rows scaled to unit length (all-zero rows stay zero); computed once."""
        if self._unit is None:
            m = np.asarray(self.matrix, dtype=np.float32)
            norms = np.linalg.norm(m, axis=1, keepdims=True)
            unit = m / np.maximum(norms, np.finfo(np.float32).tiny)
            unit.flags.writeable = False
            self._unit = unit
        return self._unit

    def similarity(self, a: str, b: str) -> float:
        """Cosine similarity of two words."""
        u = self.unit()
        return float(u[self._row(a)] @ u[self._row(b)])

    def most_similar(
        self, positive: str | Sequence[str], negative: Sequence[str] = (), topn: int = 10
    ) -> list[tuple[str, float]]:
        """The ``topn`` words nearest by cosine to the mean of the unit vectors of ``positive``
        minus those of ``negative``, excluding the query words (gensim's ``most_similar``)."""
        pos = [positive] if isinstance(positive, str) else list(positive)
        rows = [self._row(w) for w in pos] + [self._row(w) for w in negative]
        if not rows:
            raise ValueError("most_similar needs at least one word in positive or negative")
        signs = np.array([1.0] * len(pos) + [-1.0] * len(negative), dtype=np.float32)
        query = (signs[:, None] * self.unit()[rows]).mean(axis=0, keepdims=True)
        ids, scores = top_cosine(query, self.unit(), topn, exclude=[rows])
        return [(self.words[i], float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def head(self, n: int) -> Vectors:
        """The first ``n`` rows (the ``n`` most frequent words when sorted by count)."""
        if n >= len(self):
            return self
        counts = None if self.counts is None else self.counts[:n]
        return Vectors(self.words[:n], self.matrix[:n], counts)

    def _row(self, word: str) -> int:
        try:
            return self.index[word]
        except KeyError:
            raise KeyError(f"{word!r} is not in the vocabulary of {len(self)} words") from None


def top_cosine(
    queries: np.ndarray,
    targets_unit: np.ndarray,
    topn: int,
    *,
    exclude: Sequence[Sequence[int]] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The ``topn`` target rows most cosine-similar to each query.

    Args:
        queries: ``[Q, D]`` float; scaled to unit length here (zero rows score 0 everywhere).
        targets_unit: ``[V, D]`` float32 rows of unit length (``Vectors.unit()``).
        topn: neighbours per query, >= 1.
        exclude: for each query, target rows to leave out (e.g. the query word itself).

    Returns:
        ``ids`` ``[Q, k]`` int64 and ``scores`` ``[Q, k]`` float32 with ``k = min(topn, V)``,
        by falling score, ties broken by row; where fewer than k rows remain after exclusion the
        tail holds id -1 and score NaN.

    Example:
        >>> ids, scores = top_cosine(v.unit()[[3]], v.unit(), 5, exclude=[[3]])
    """
    queries = np.atleast_2d(np.asarray(queries, dtype=np.float32))
    if topn < 1:
        raise ValueError(f"topn must be >= 1; got {topn}")
    if queries.shape[1] != targets_unit.shape[1]:
        raise ValueError(
            f"queries are [Q, {queries.shape[1]}] but targets [V, {targets_unit.shape[1]}]: "
            "D must agree (neighbours across spaces need vectors trained together)"
        )
    if exclude is not None and len(exclude) != len(queries):
        raise ValueError(
            f"exclude must hold one list per query ({len(queries)}); got {len(exclude)}"
        )

    n_q, v = len(queries), targets_unit.shape[0]
    k = min(topn, v)
    norms = np.linalg.norm(queries, axis=1, keepdims=True)
    queries = queries / np.maximum(norms, np.finfo(np.float32).tiny)
    ids = np.full((n_q, k), -1, dtype=np.int64)
    scores = np.full((n_q, k), np.nan, dtype=np.float32)
    batch = max(1, _MAX_BATCH_ELEMENTS // v)

    for lo in range(0, n_q, batch):
        sims = queries[lo : lo + batch] @ targets_unit.T  # [B, V]
        if exclude is not None:
            for j, rows in enumerate(exclude[lo : lo + batch]):
                sims[j, list(rows)] = -np.inf
        cand = (
            np.argpartition(-sims, k - 1, axis=1)[:, :k]
            if k < v
            else np.tile(np.arange(v), (len(sims), 1))
        )
        cand_scores = np.take_along_axis(sims, cand, axis=1)
        order = np.lexsort((cand, -cand_scores), axis=1)
        cand = np.take_along_axis(cand, order, axis=1)
        cand_scores = np.take_along_axis(cand_scores, order, axis=1)
        valid = np.isfinite(cand_scores)
        ids[lo : lo + batch] = np.where(valid, cand, -1)
        scores[lo : lo + batch] = np.where(valid, cand_scores, np.nan)
    return ids, scores


def neighbors(
    vectors: Vectors, words: Sequence[str], topn: int = 10, *, targets: Vectors | None = None
) -> dict[str, list[tuple[str, float]]]:
    """Top-``topn`` cosine neighbours of each word.

    Args:
        vectors: the space the query words are looked up in.
        words: query words, all in ``vectors``.
        topn: neighbours per word (default 10).
        targets: the space searched (default ``vectors`` itself, leaving out the query word);
            e.g. the context vectors of the same run to list a word's most typical contexts.

    Returns:
        ``{word: [(neighbour, cosine), ...]}`` by falling cosine, in the order of ``words``.

    Raises:
        InputError: a word is not in the vocabulary (all such words are named).

    Example:
        >>> neighbors(load_output_vectors("run1"), ["discovers"], topn=5)
    """
    missing = [w for w in words if w not in vectors]
    if missing:
        raise InputError(
            f"not in the vocabulary of {len(vectors)} words: {', '.join(map(repr, missing))}"
        )
    rows = [vectors.index[w] for w in words]
    same = targets is None or targets is vectors
    space = vectors if targets is None else targets
    exclude = [[r] for r in rows] if same else None
    ids, scores = top_cosine(vectors.unit()[rows], space.unit(), topn, exclude=exclude)
    return {
        w: [(space.words[i], float(s)) for i, s in zip(ids[q], scores[q], strict=True) if i >= 0]
        for q, w in enumerate(words)
    }
