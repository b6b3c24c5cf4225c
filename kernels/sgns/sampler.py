"""Negative sampling: an alias table over context counts ** 0.75 and a counter-based generator.

The table (Walker 1977, built with Vose's worklists) turns one uniform number into a draw from
the smoothed unigram distribution q_i ∝ count_i ** power in O(1):

    u ~ U[0, 1),  t = u * V,  j = floor(t)
    draw = j if t - j < prob[j] else index[j]

so q_i = (prob[i] + Σ_{j: index[j] = i} (1 - prob[j])) / V. The table is built in float64.

Random numbers come from a counter, not a stream: draw number ``n`` under key ``seed`` is the
SplitMix64 finaliser of ``seed_key(seed) + (n + 1) * γ`` (γ the 64-bit golden ratio). Negative
``k`` of the pair with global index ``g`` is draw number ``g * K + k``, so the negatives do not
depend on how pairs are split into batches or threads, and ``draw_negatives`` reproduces exactly
what the compiled trainer draws inside its threads.
"""

from __future__ import annotations

import numba
import numpy as np

_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)
_KEY_SALT = np.uint64(0xD1B54A32D192ED03)
_TO_UNIT = 2.0**-53


@numba.njit(cache=True, nogil=True, inline="always")
def _mix64(z: np.uint64) -> np.uint64:
    """SplitMix64's output function: a bijective 64-bit avalanche."""
    z = (z ^ (z >> np.uint64(30))) * _MIX_1
    z = (z ^ (z >> np.uint64(27))) * _MIX_2
    return z ^ (z >> np.uint64(31))


@numba.njit(cache=True, nogil=True)
def seed_key(seed: np.uint64) -> np.uint64:
    """The 64-bit key of a seed (uint64; callers pass ``np.uint64(seed & (2**64 - 1))``)."""
    return _mix64(seed ^ _KEY_SALT)


@numba.njit(cache=True, nogil=True, inline="always")
def alias_draw(alias_prob, alias_index, key, counter) -> np.int64:
    """Draw number ``counter`` (uint64) under ``key``: one row id from the alias table."""
    x = _mix64(key + (counter + np.uint64(1)) * _GAMMA)
    n = alias_prob.shape[0]
    t = np.float64(np.int64(x >> np.uint64(11))) * _TO_UNIT * n
    j = np.int64(t)
    if j >= n:  # (1 - 2**-53) * n can round up to n
        j = n - 1
    # NOTE: a select instead of a branch: the comparison is a coin flip the CPU cannot predict.
    other = np.int64(alias_index[j])
    return j if t - j < alias_prob[j] else other


@numba.njit(cache=True, nogil=True)
def _build_alias_kernel(q, prob, index):
    """Vose's construction. q [V] float64 sums to 1; fills prob [V] float64, index [V] int64."""
    n = q.shape[0]
    scaled = q * n
    small = np.empty(n, np.int64)
    large = np.empty(n, np.int64)
    n_small = 0
    n_large = 0
    for i in range(n):
        index[i] = i
        if scaled[i] < 1.0:
            small[n_small] = i
            n_small += 1
        else:
            large[n_large] = i
            n_large += 1

    while n_small > 0 and n_large > 0:
        n_small -= 1
        s = small[n_small]
        g = large[n_large - 1]
        prob[s] = scaled[s]
        index[s] = g
        # NOTE: subtracting (1 - p_s) rather than adding p_s - 1 keeps the rounding error small.
        scaled[g] = scaled[g] - (1.0 - scaled[s])
        if scaled[g] < 1.0:
            n_large -= 1
            small[n_small] = g
            n_small += 1

    # Leftovers are 1 up to rounding error: they keep all their mass.
    for i in range(n_large):
        prob[large[i]] = 1.0
    for i in range(n_small):
        prob[small[i]] = 1.0


def build_alias_table(counts: np.ndarray, power: float = 0.75) -> tuple[np.ndarray, np.ndarray]:
    """Build the alias table of the distribution q_i ∝ counts[i] ** power.

    Args:
        counts: [V] non-negative counts (any integer or float dtype); at least one positive.
        power: the smoothing exponent (word2vec's 0.75); must be finite.

    Returns:
        ``(alias_prob, alias_index)``: [V] float64 and [V] int64, for ``alias_draw`` and the
        compiled trainer.

    Raises:
        ValueError: counts not 1-D, empty, negative, not finite or all zero; power not finite.

    Example:
        >>> prob, index = build_alias_table(np.array([10, 1, 0, 5]))
    """
    counts = np.asarray(counts)
    if counts.ndim != 1 or counts.size == 0:
        raise ValueError(
            f"counts must be a non-empty 1-D array of context counts; got shape {counts.shape}"
        )
    if not np.issubdtype(counts.dtype, np.number) or np.issubdtype(
        counts.dtype, np.complexfloating
    ):
        raise TypeError(f"counts must be integer or float; got {counts.dtype}")
    if not np.isfinite(power):
        raise ValueError(f"power must be finite (word2vec uses 0.75); got {power}")
    c = counts.astype(np.float64)
    if not np.isfinite(c).all() or (c < 0).any():
        raise ValueError("counts must be finite and >= 0; drop or fix the offending entries")
    weights = np.where(c > 0, c**power, 0.0)
    total = weights.sum()
    if not total > 0 or not np.isfinite(total):
        raise ValueError(
            "counts must contain at least one positive entry (and counts ** power must be "
            f"finite); got sum {total} with power {power}"
        )

    prob = np.empty(c.size, np.float64)
    index = np.empty(c.size, np.int64)
    _build_alias_kernel(weights / total, prob, index)
    return prob, index


def alias_distribution(alias_prob: np.ndarray, alias_index: np.ndarray) -> np.ndarray:
    """The exact distribution [V] float64 that an alias table samples from."""
    n = alias_prob.shape[0]
    q = alias_prob.astype(np.float64).copy()
    np.add.at(q, alias_index, 1.0 - alias_prob)
    return q / n


@numba.njit(cache=True, nogil=True)
def _draw_kernel(alias_prob, alias_index, key, start, out):
    for i in range(out.shape[0]):
        out[i] = alias_draw(alias_prob, alias_index, key, np.uint64(start + i))


def _check_table(alias_prob: np.ndarray, alias_index: np.ndarray) -> None:
    if not isinstance(alias_prob, np.ndarray) or alias_prob.dtype != np.float64:
        got = getattr(alias_prob, "dtype", type(alias_prob).__name__)
        raise TypeError(f"alias_prob must be a float64 NumPy array; got {got}")
    if not isinstance(alias_index, np.ndarray) or alias_index.dtype != np.int64:
        got = getattr(alias_index, "dtype", type(alias_index).__name__)
        raise TypeError(f"alias_index must be an int64 NumPy array; got {got}")
    if alias_prob.ndim != 1 or alias_prob.shape != alias_index.shape or alias_prob.size == 0:
        raise ValueError(
            "alias_prob and alias_index must be non-empty 1-D arrays of the same length "
            f"(from build_alias_table); got shapes {alias_prob.shape} and {alias_index.shape}"
        )
    if alias_index.min() < 0 or alias_index.max() >= alias_index.size:
        raise ValueError(
            f"alias_index must lie in [0, {alias_index.size}); got values in "
            f"[{alias_index.min()}, {alias_index.max()}] (rebuild it with build_alias_table)"
        )


def draw(
    alias_prob: np.ndarray, alias_index: np.ndarray, n: int, seed: int, start: int = 0
) -> np.ndarray:
    """Draws number ``start .. start + n - 1`` under ``seed``: [n] int64 row ids.

    Example:
        >>> ids = draw(*build_alias_table(np.array([3, 1])), n=5, seed=0)
    """
    _check_table(alias_prob, alias_index)
    if n < 0 or start < 0:
        raise ValueError(f"n and start must be >= 0; got n={n}, start={start}")
    out = np.empty(n, np.int64)
    key = np.uint64(seed_key(np.uint64(seed & 0xFFFFFFFFFFFFFFFF)))
    with np.errstate(over="ignore"):  # uint64 wraps on purpose (matters only without the JIT)
        _draw_kernel(alias_prob, alias_index, key, start, out)
    return out


def draw_negatives(
    alias_prob: np.ndarray,
    alias_index: np.ndarray,
    n_pairs: int,
    n_neg: int,
    seed: int,
    pairs_done: int = 0,
) -> np.ndarray:
    """The negatives [n_pairs, n_neg] int64 that the compiled trainer draws for these pairs.

    Pair ``p`` of a batch is global pair ``pairs_done + p``; its negative ``k`` is draw number
    ``(pairs_done + p) * n_neg + k``.
    """
    if n_pairs < 0 or n_neg < 0 or pairs_done < 0:
        raise ValueError(
            f"n_pairs, n_neg and pairs_done must be >= 0; got {n_pairs}, {n_neg}, {pairs_done}"
        )
    flat = draw(alias_prob, alias_index, n_pairs * n_neg, seed, start=pairs_done * n_neg)
    return flat.reshape(n_pairs, n_neg)
