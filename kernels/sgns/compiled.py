"""Skip-gram with negative sampling on CPU: Hogwild numba threads, pair by pair.

For pair p (word w, positive context t_0 = c, negatives t_1..t_K) at learning rate lr_p:

    x_k = W[w]·C[t_k],  a_k = lr_p (σ(x_k) - [k = 0]),  loss_p = softplus(-x_0) + Σ_k softplus(x_k)
    W[w]   -= Σ_k a_k C[t_k]          (k = 0..K)
    C[t_k] -= a_k W[w]                (k = 0..K, repeated t_k summed)

Each pair reads its rows as they are at its start and writes at its end: it is exactly
``reference.sgns_step`` on a batch of one, also when a negative equals the positive or another
negative (word2vec instead updates each context row as soon as its dot is known). One thread applies
the pairs in order, which equals the reference's batch-start result wherever no row is shared by
two pairs of the batch. Several threads split the batch into contiguous chunks and update the
shared matrices without locks (Hogwild), as word2vec does.

The learning rate of global pair g = pairs_done + p decays linearly from lr_start to lr_end over
pairs_total pairs, floored at lr_start * 1e-4 as in word2vec (``sgns_lr``). Negative k of global
pair g is alias-table draw g * K + k (``sampler``), so ``sampler.draw_negatives`` reproduces the
draws, which depend neither on the batch split nor on the threads. Rows and arithmetic are
float32, losses are summed in float64; one thread and one seed give bit-identical vectors.

Hot rows: with several threads, the most frequent context rows (drawn as negatives by every
thread) would move between the cores on every write. Given ``hot_rows``, each thread keeps a
private copy of those rows and merges its change (copy - base) into the shared rows every
``sync_every`` pairs and at the end of its chunk; where no other thread changed a value in
between, the copy is stored as it is, so threads that share no row give the sequential result
bit for bit. One thread ignores ``hot_rows``.

Hot loop: each thread draws the next pair's negatives and prefetches its rows while the current
pair computes; a row that occurs once in its pair is read for the word's gradient and updated in
one sweep, a pair with a repeated row takes two. Id ranges are checked on every call (cheap next
to the update; a bad id would write outside the matrices).

NOTE: ``DOT_FASTMATH`` lets LLVM reassociate (and contract) the dot-product reduction so that it
vectorises; nothing else uses fast math. The order is fixed by the compiled code, so results stay
deterministic; ``set()`` gives strictly sequential dots (each about 2.5x slower on AVX2).
"""

from __future__ import annotations

import functools
import math
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic

from .sampler import _check_table, alias_draw, seed_key

DOT_FASTMATH: set[str] = {"reassoc", "contract"}
LR_FLOOR = 1e-4  # word2vec: the learning rate never falls below lr_start * 1e-4

_MASK64 = (1 << 64) - 1
_LINE = 16  # float32 per 64-byte cache line
_F0 = np.float32(0.0)
_EMPTY_IDS = np.zeros(0, np.int64)
_F1 = np.float32(1.0)


@intrinsic
def _prefetch(typingctx, matrix, row, col):
    """Hint the cache line of matrix[row, col] into L1 for writing (llvm.prefetch, rw=1)."""

    def codegen(context, builder, sig, args):
        mat = context.make_array(sig.args[0])(context, builder, args[0])
        inds = [context.cast(builder, v, t, types.intp) for v, t in zip(args[1:], sig.args[1:])]
        ptr = cgutils.get_item_pointer(context, builder, sig.args[0], mat, inds, wraparound=False)
        i8p, i32 = ir.IntType(8).as_pointer(), ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
        builder.call(fn, [builder.bitcast(ptr, i8p), i32(1), i32(3), i32(1)])
        return context.get_dummy_value()

    return types.void(matrix, row, col), codegen


if numba.config.DISABLE_JIT:  # NUMBA_DISABLE_JIT=1 runs the kernels as Python: no hint needed

    def _prefetch(matrix, row, col):  # noqa: F811
        return None


@numba.njit(cache=True, nogil=True, fastmath=DOT_FASTMATH)
def _dot(a, i, b, j, dim):
    """Row i of a [V, D] float32 dotted with row j of b: float32."""
    s = _F0
    for d in range(dim):
        s += a[i, d] * b[j, d]
    return s


@numba.njit(cache=True, nogil=True)
def _lr_at(pair_index, lr_start, lr_end, pairs_total):
    """float64 learning rate of global pair pair_index (linear decay, clipped, floored)."""
    progress = min(pair_index / pairs_total, 1.0)
    return max(lr_start + (lr_end - lr_start) * progress, lr_start * LR_FLOOR)


@numba.njit(cache=True, nogil=True)
def _fill_targets(targets, b, p, g, context_ids, negatives, alias_prob, alias_index, key, sample):
    """targets[b] = [context_ids[p], negatives of pair p (global index g), ...]."""
    n_neg = targets.shape[1] - 1
    targets[b, 0] = context_ids[p]
    for k in range(n_neg):
        if sample:
            targets[b, k + 1] = alias_draw(alias_prob, alias_index, key, np.uint64(g * n_neg + k))
        else:
            targets[b, k + 1] = negatives[p, k]


@numba.njit(cache=True, nogil=True)
def _has_repeat(targets, b):
    """Whether a row occurs twice among targets[b] (positive and negatives)."""
    n = targets.shape[1]
    for i in range(1, n):
        for j in range(i):
            if targets[b, i] == targets[b, j]:
                return True
    return False


@numba.njit(cache=True, nogil=True)
def _add_row(grad, mat, t, a, dim):
    """grad += a * mat[t]."""
    for d in range(dim):
        grad[d] += a * mat[t, d]


@numba.njit(cache=True, nogil=True)
def _sub_from_row(mat, t, word_vectors, w, a, dim):
    """mat[t] -= a * word_vectors[w]."""
    for d in range(dim):
        mat[t, d] -= a * word_vectors[w, d]


@numba.njit(cache=True, nogil=True)
def _add_and_update(grad, mat, t, word_vectors, w, a, dim):
    """grad += a * mat[t], then mat[t] -= a * word_vectors[w], in one sweep."""
    for d in range(dim):
        grad[d] += a * mat[t, d]
        mat[t, d] -= a * word_vectors[w, d]


@numba.njit(cache=True, nogil=True)
def _merge_hot(context_vectors, hot_rows, local, base, dirty, load):
    """Bring this thread's copies of the hot rows up to date with the shared rows, first adding
    its changes (local - base) to the shared rows it wrote since the last merge (dirty); with
    load, only copy the shared rows in. Where no other thread changed a value since the last
    merge, the copy's value is stored as it is (bit-exact)."""
    dim = context_vectors.shape[1]
    for i in range(hot_rows.shape[0]):
        t = hot_rows[i]
        if dirty[i] and not load:
            for d in range(dim):
                shared, b, mine = context_vectors[t, d], base[i, d], local[i, d]
                value = mine if shared == b else shared + (mine - b)
                context_vectors[t, d] = value
                local[i, d] = value
                base[i, d] = value
            dirty[i] = False
        else:
            for d in range(dim):
                value = context_vectors[t, d]
                local[i, d] = value
                base[i, d] = value


@numba.njit(cache=True, nogil=True)
def _sgns_chunk_kernel(
    word_vectors,
    context_vectors,
    word_ids,
    context_ids,
    negatives,
    alias_prob,
    alias_index,
    pair_losses,
    start,
    stop,
    n_neg,
    sample,
    lr_start,
    lr_end,
    pairs_done,
    pairs_total,
    key,
    want_losses,
    loss_stride,
    hot_rows,
    hot_slot,
    sync_every,
):
    """Train pairs [start, stop) in order; return their summed loss (float64), summed over the
    pairs whose global index is a multiple of loss_stride, times loss_stride (1: every pair).

    hot_rows [H] int64 context rows this call keeps a private copy of (H may be 0), hot_slot [Vc]
    int64 their slots (-1 elsewhere; unused when H = 0): the copies are read and written
    instead of the shared rows and merged back every sync_every pairs and at the end.

    word_vectors [Vw, D] / context_vectors [Vc, D] float32 C-contiguous, updated in place;
    word_ids / context_ids [P] int64; negatives [P, K] int64 (unused when sample);
    alias_prob [Vc] float64 / alias_index [Vc] int64 (unused unless sample);
    pair_losses [P] float32 written when want_losses.
    """
    dim = word_vectors.shape[1]
    grad = np.empty(dim, np.float32)  # [D] the word row's update
    targets = np.empty((2, n_neg + 1), np.int64)  # [2, K + 1] this pair's and the next one's
    coef = np.empty(n_neg + 1, np.float32)  # [K + 1] lr * (σ(x) - label)
    total = 0.0
    n_hot = hot_rows.shape[0]
    local = np.empty((n_hot, dim), np.float32)  # [H, D] this thread's copies of the hot rows
    base = np.empty((n_hot, dim), np.float32)  # [H, D] the shared rows at the last merge
    dirty = np.zeros(n_hot, np.bool_)  # [H] copies written since the last merge
    _merge_hot(context_vectors, hot_rows, local, base, dirty, True)
    since_merge = 0

    for p in range(start - 1, stop):
        b = (p - start) & 1
        if p + 1 < stop:
            # Draw the next pair's rows and start moving them to L1 while this pair computes.
            _fill_targets(
                targets,
                1 - b,
                p + 1,
                pairs_done + p + 1,
                context_ids,
                negatives,
                alias_prob,
                alias_index,
                key,
                sample,
            )
            for d in range(0, dim, _LINE):
                _prefetch(word_vectors, word_ids[p + 1], d)
            for k in range(n_neg + 1):
                if n_hot == 0 or hot_slot[targets[1 - b, k]] < 0:
                    for d in range(0, dim, _LINE):
                        _prefetch(context_vectors, targets[1 - b, k], d)
        if p < start:
            continue

        g = pairs_done + p
        lr = np.float32(_lr_at(g, lr_start, lr_end, pairs_total))
        w = word_ids[p]
        loss = _F0
        counted = want_losses or g % loss_stride == 0
        for k in range(n_neg + 1):
            t = targets[b, k]
            slot = hot_slot[t] if n_hot else -1
            if slot >= 0:
                x = _dot(word_vectors, w, local, slot, dim)
            else:
                x = _dot(word_vectors, w, context_vectors, t, dim)
            e = np.float32(math.exp(-abs(x)))  # σ and softplus from one exp, stable both ways
            sig = _F1 / (_F1 + e) if x >= _F0 else e / (_F1 + e)
            label = _F1 if k == 0 else _F0
            coef[k] = (sig - label) * lr
            if counted:
                loss += max(x if k else -x, _F0) + np.float32(math.log1p(e))
        if counted:
            total += loss
        if want_losses:
            pair_losses[p] = loss

        for d in range(dim):
            grad[d] = _F0
        if _has_repeat(targets, b):
            # A repeated row must feed the word's gradient with its value at the pair's start.
            for k in range(n_neg + 1):
                t, a = targets[b, k], coef[k]
                slot = hot_slot[t] if n_hot else -1
                if slot >= 0:
                    _add_row(grad, local, slot, a, dim)
                else:
                    _add_row(grad, context_vectors, t, a, dim)
            for k in range(n_neg + 1):
                t, a = targets[b, k], coef[k]
                slot = hot_slot[t] if n_hot else -1
                if slot >= 0:
                    _sub_from_row(local, slot, word_vectors, w, a, dim)
                    dirty[slot] = True
                else:
                    _sub_from_row(context_vectors, t, word_vectors, w, a, dim)
        else:
            for k in range(n_neg + 1):
                t, a = targets[b, k], coef[k]
                slot = hot_slot[t] if n_hot else -1
                if slot >= 0:
                    _add_and_update(grad, local, slot, word_vectors, w, a, dim)
                    dirty[slot] = True
                else:
                    _add_and_update(grad, context_vectors, t, word_vectors, w, a, dim)
        for d in range(dim):
            word_vectors[w, d] -= grad[d]
        if n_hot:
            since_merge += 1
            if since_merge == sync_every:
                _merge_hot(context_vectors, hot_rows, local, base, dirty, False)
                since_merge = 0
    if n_hot:
        _merge_hot(context_vectors, hot_rows, local, base, dirty, False)
    return total * loss_stride


def sgns_lr(
    pair_index: int | np.ndarray, lr_start: float, lr_end: float, pairs_total: int
) -> np.ndarray:
    """The float32 learning rate(s) the trainer uses for global pair index(es) ``pair_index``.

    lr = max(lr_start + (lr_end - lr_start) * min(g / pairs_total, 1), lr_start * 1e-4).

    Example:
        >>> sgns_lr(np.arange(3), 0.025, 0.0, 3)
        array([0.025     , 0.01666667, 0.00833333], dtype=float32)
    """
    idx = np.atleast_1d(np.asarray(pair_index, dtype=np.int64))
    out = np.array([_lr_at(int(g), lr_start, lr_end, pairs_total) for g in idx.ravel()])
    return out.astype(np.float32).reshape(idx.shape)


def _is_int(x: object) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, bool)


def _check_matrix(name: str, x: object) -> None:
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name} must be a NumPy array; got {type(x).__name__}")
    if x.dtype != np.float32:
        raise TypeError(f"{name} must be float32; got {x.dtype} (convert once with .astype)")
    if x.ndim != 2 or x.shape[1] == 0:
        raise ValueError(f"{name} must be 2-D [V, D] with D >= 1; got shape {x.shape}")
    if not x.flags.c_contiguous or not x.flags.writeable:
        raise ValueError(
            f"{name} must be C-contiguous and writeable (it is updated in place); pass "
            "np.ascontiguousarray(x) once and keep using the returned array"
        )


def _check_ids(name: str, x: object, n_rows: int, ndim: int) -> np.ndarray:
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name} must be a NumPy array; got {type(x).__name__}")
    if x.dtype not in (np.int32, np.int64):
        raise TypeError(f"{name} must be int32 or int64; got {x.dtype}")
    if x.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D; got shape {x.shape}")
    if not x.flags.c_contiguous:
        raise ValueError(f"{name} must be C-contiguous; pass np.ascontiguousarray({name})")
    if x.size and (x.min() < 0 or x.max() >= n_rows):
        raise ValueError(f"{name} must lie in [0, {n_rows}); got values in [{x.min()}, {x.max()}]")
    return x.astype(np.int64, copy=False)


def sgns_train_pairs(
    word_vectors: np.ndarray,
    context_vectors: np.ndarray,
    word_ids: np.ndarray,
    context_ids: np.ndarray,
    *,
    lr_start: float,
    lr_end: float = 0.0,
    pairs_done: int = 0,
    pairs_total: int | None = None,
    negatives: np.ndarray | None = None,
    alias_prob: np.ndarray | None = None,
    alias_index: np.ndarray | None = None,
    n_neg: int = 5,
    seed: int = 0,
    n_threads: int = 1,
    pair_losses: np.ndarray | None = None,
    loss_stride: int = 1,
    hot_rows: np.ndarray | None = None,
    sync_every: int = 1024,
) -> float:
    """Train a batch of (word, context) pairs in place with Hogwild threads; return the summed loss.

    Args:
        word_vectors: W [Vw, D] float32, C-contiguous, updated in place.
        context_vectors: C [Vc, D] float32, C-contiguous, updated in place.
        word_ids: [P] int32/int64 rows of W.
        context_ids: [P] int32/int64 rows of C (the positive contexts).
        lr_start: learning rate at global pair 0 (> 0).
        lr_end: learning rate at pairs_total (0 <= lr_end <= lr_start); floored at lr_start*1e-4.
        pairs_done: global index of this batch's first pair (pairs trained before it).
        pairs_total: pairs in the whole run, the length of the decay; default pairs_done + P.
        negatives: [P, K] int32/int64 rows of C to use instead of sampling; alias_* and n_neg
            are then ignored.
        alias_prob, alias_index: the [Vc] table from ``sampler.build_alias_table`` (sampling).
        n_neg: K, negatives drawn per pair when sampling (>= 0).
        seed: the sampling seed; negatives depend only on (seed, global pair index, k).
        n_threads: Hogwild threads (>= 1); 1 is deterministic.
        pair_losses: optional [P] float32 output for each pair's loss before its update.
        hot_rows: context rows (the most frequent, drawn as negatives by every thread) of which
            each thread keeps a private copy when n_threads > 1, merged into the shared rows every
            sync_every pairs and at the end: two threads then stop moving these rows between
            their cores on every write. Ignored with one thread, whose result stays exact.
        sync_every: pairs between merges of the hot rows (>= 1).
        loss_stride: S >= 1; the loss (a log1p per row) is computed only for pairs whose global
            index is a multiple of S, and the returned sum is theirs times S: an estimate of the
            batch's loss that leaves the updates unchanged. 1 (and any pair_losses) counts all.

    Returns:
        The summed loss of the batch (float), each pair's loss taken before its update; with
        loss_stride S > 1, S times the sum over the counted pairs.

    Raises:
        TypeError: wrong array type or dtype.
        ValueError: bad shape, layout, id range, K, learning rates, counts or threads.

    Example:
        >>> W = np.random.default_rng(0).uniform(-0.5 / 4, 0.5 / 4, (10, 4)).astype(np.float32)
        >>> C = np.zeros((20, 4), np.float32)
        >>> prob, index = build_alias_table(np.arange(1, 21))
        >>> loss = sgns_train_pairs(W, C, np.array([1, 2]), np.array([3, 4]), lr_start=0.025,
        ...                         alias_prob=prob, alias_index=index, n_neg=5, seed=1)
    """
    _check_matrix("word_vectors", word_vectors)
    _check_matrix("context_vectors", context_vectors)
    if word_vectors.shape[1] != context_vectors.shape[1]:
        raise ValueError(
            "word_vectors and context_vectors must have the same D; got "
            f"{word_vectors.shape[1]} and {context_vectors.shape[1]}"
        )
    n_words, n_contexts = word_vectors.shape[0], context_vectors.shape[0]
    wid = _check_ids("word_ids", word_ids, n_words, 1)
    cid = _check_ids("context_ids", context_ids, n_contexts, 1)
    n_pairs = wid.shape[0]
    if cid.shape[0] != n_pairs:
        raise ValueError(
            f"word_ids and context_ids must have the same length P; got {n_pairs} and "
            f"{cid.shape[0]}"
        )
    if not (math.isfinite(lr_start) and lr_start > 0):
        raise ValueError(f"lr_start must be finite and > 0 (word2vec: 0.025); got {lr_start}")
    if not (math.isfinite(lr_end) and 0 <= lr_end <= lr_start):
        raise ValueError(f"lr_end must be in [0, lr_start={lr_start}]; got {lr_end}")
    if pairs_done < 0:
        raise ValueError(f"pairs_done must be >= 0; got {pairs_done}")
    total = max(pairs_done + n_pairs, 1) if pairs_total is None else pairs_total
    if total < 1:
        raise ValueError(f"pairs_total must be >= 1 (pairs in the whole run); got {pairs_total}")
    if not _is_int(sync_every) or sync_every < 1:
        raise ValueError(f"sync_every must be an int >= 1; got {sync_every!r}")
    if not _is_int(loss_stride) or loss_stride < 1:
        raise ValueError(f"loss_stride must be an int >= 1; got {loss_stride!r}")
    if not _is_int(n_threads) or n_threads < 1:
        raise ValueError(f"n_threads must be an int >= 1; got {n_threads!r}")
    want = pair_losses is not None
    losses = pair_losses if want else np.empty(0, np.float32)
    if want and (getattr(losses, "dtype", None) != np.float32 or losses.shape != (n_pairs,)):
        got = f"{getattr(losses, 'dtype', type(losses).__name__)} {getattr(losses, 'shape', '')}"
        raise ValueError(f"pair_losses must be a float32 array of shape ({n_pairs},); got {got}")

    if negatives is not None:
        neg = _check_ids("negatives", negatives, n_contexts, 2)
        if neg.shape[0] != n_pairs:
            raise ValueError(f"negatives must be [P={n_pairs}, K]; got shape {negatives.shape}")
        n_neg, sample = neg.shape[1], False
        alias_prob, alias_index = np.ones(1), np.zeros(1, np.int64)
    else:
        if alias_prob is None or alias_index is None:
            raise ValueError(
                "pass either negatives [P, K] or the sampler table alias_prob, alias_index "
                "(from sampler.build_alias_table(context_counts))"
            )
        _check_table(alias_prob, alias_index)
        if alias_prob.shape[0] != n_contexts:
            raise ValueError(
                f"the alias table must cover the {n_contexts} rows of context_vectors; got "
                f"{alias_prob.shape[0]} entries (build it from the context counts)"
            )
        if not _is_int(n_neg) or n_neg < 0:
            raise ValueError(f"n_neg (K) must be an int >= 0; got {n_neg!r}")
        neg, sample = np.empty((0, 0), np.int64), True
    if n_pairs == 0:
        return 0.0

    hot, slot = _EMPTY_IDS, _EMPTY_IDS
    if hot_rows is not None and n_threads > 1:
        hot = _check_ids("hot_rows", np.ascontiguousarray(hot_rows), n_contexts, 1)
        if np.unique(hot).shape[0] != hot.shape[0]:
            raise ValueError("hot_rows must not repeat a row")
        slot = np.full(n_contexts, -1, np.int64)
        slot[hot] = np.arange(hot.shape[0])
    key = np.uint64(seed_key(np.uint64(seed & _MASK64)))
    bounds = [n_pairs * i // n_threads for i in range(n_threads + 1)]

    def run(i: int) -> float:
        with np.errstate(over="ignore"):  # uint64 counters wrap on purpose (NUMBA_DISABLE_JIT)
            return _sgns_chunk_kernel(
                word_vectors,
                context_vectors,
                wid,
                cid,
                neg,
                alias_prob,
                alias_index,
                losses,
                bounds[i],
                bounds[i + 1],
                int(n_neg),
                sample,
                float(lr_start),
                float(lr_end),
                int(pairs_done),
                int(total),
                key,
                want,
                1 if want else int(loss_stride),
                hot,
                slot,
                int(sync_every),
            )

    if n_threads == 1:
        return float(run(0))
    return float(sum(_pool(n_threads).map(run, range(n_threads))))


@functools.cache
def _pool(n_threads: int) -> ThreadPoolExecutor:
    """A process-wide pool of n_threads workers, kept between batches."""
    return ThreadPoolExecutor(max_workers=n_threads, thread_name_prefix="sgns")
