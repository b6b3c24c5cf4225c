"""word2vec's subsampling of frequent words.

A word with corpus frequency f = count / total is kept with probability
``min(1, (sqrt(f / t) + 1) * t / f)``, the formula of word2vec's C code (threshold ``t``,
typically 1e-3 to 1e-5); ``t = 0`` keeps everything.
"""

from __future__ import annotations

import numpy as np


def keep_probabilities(counts: np.ndarray, t: float, total: int | None = None) -> np.ndarray:
    """float64 [V] probability of keeping one occurrence of each word.

    Args:
        counts: int [V] word counts.
        t: threshold; 0 disables subsampling (all ones).
        total: corpus size in tokens (default: counts.sum()).

    Example:
        >>> keep_probabilities(np.array([1000, 10]), 1e-2).round(3).tolist()
        [0.111, 1.0]
    """
    if t < 0:
        raise ValueError(f"subsampling threshold t must be >= 0; got {t}: use 0 to disable")
    counts = np.asarray(counts, dtype=np.float64)
    if t == 0 or counts.size == 0:
        return np.ones(counts.shape, dtype=np.float64)
    total = float(counts.sum() if total is None else total)
    f = np.maximum(counts, 1.0) / total
    return np.minimum(1.0, (np.sqrt(f / t) + 1.0) * t / f)


def subsample_mask(
    word_ids: np.ndarray, keep_prob: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """bool [N]: one independent keep draw per occurrence in ``word_ids`` (ids >= 0)."""
    return rng.random(word_ids.shape[0]) < keep_prob[word_ids]
