"""The numba SGNS trainer and its negative sampler against the PyTorch reference."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from gramfast.kernels.sgns.compiled import sgns_lr, sgns_train_pairs
from gramfast.kernels.sgns.reference import sgns_step
from gramfast.kernels.sgns.sampler import (
    alias_distribution,
    build_alias_table,
    draw,
    draw_negatives,
)
from scipy import stats

from tests.helpers import ROOT, TOLERANCES, assert_close

ATOL, RTOL = TOLERANCES["float32"]


def _matrices(rng, n_words, n_contexts, dim):
    word = rng.uniform(-0.5, 0.5, (n_words, dim)).astype(np.float32)
    context = rng.uniform(-0.5, 0.5, (n_contexts, dim)).astype(np.float32)
    return word, context


def _reference(word, context, word_ids, context_ids, negatives, lrs, pairwise=False):
    """The reference on copies: one batch, or pair by pair; returns W, C and per-pair losses."""
    w_ref, c_ref = torch.from_numpy(word.copy()), torch.from_numpy(context.copy())
    ids = [torch.from_numpy(np.asarray(x, np.int64)) for x in (word_ids, context_ids, negatives)]
    lr = torch.from_numpy(lrs)
    if not pairwise:
        return w_ref.numpy(), c_ref.numpy(), sgns_step(w_ref, c_ref, *ids, lr).numpy()
    losses = [
        sgns_step(w_ref, c_ref, *(x[p : p + 1] for x in ids), lr[p : p + 1])
        for p in range(len(word_ids))
    ]
    return w_ref.numpy(), c_ref.numpy(), torch.cat(losses).numpy()


@pytest.mark.parametrize(
    "n_pairs, n_neg, dim, pairs_done, n_threads",
    [
        pytest.param(1, 0, 1, 0, 1, id="P1-K0-D1"),
        pytest.param(1, 1, 63, 5, 3, id="P1-K1-D63-3thr"),
        pytest.param(100, 5, 300, 0, 1, id="P100-K5-D300"),
        pytest.param(100, 5, 300, 0, 2, id="P100-K5-D300-2thr"),
        pytest.param(37, 15, 17, 990, 1, id="P37-K15-D17-floor"),
    ],
)
def test_sgns_train_pairs(n_pairs, n_neg, dim, pairs_done, n_threads):
    # Duplicate-free batch: every word row and every context row (positive or negative) occurs
    # once, so pair-by-pair updates, on any number of threads, equal the reference's batch-start
    # gradients.
    rng = np.random.default_rng(0)
    n_words, n_contexts = n_pairs + 7, n_pairs * (n_neg + 1) + 9
    word, context = _matrices(rng, n_words, n_contexts, dim)
    word_ids = rng.permutation(n_words)[:n_pairs].astype(np.int32)
    rows = rng.permutation(n_contexts)[: n_pairs * (n_neg + 1)]
    context_ids, negatives = rows[:n_pairs], rows[n_pairs:].reshape(n_pairs, n_neg)
    lrs = sgns_lr(pairs_done + np.arange(n_pairs), 0.5, 0.0, 1000)
    ref_w, ref_c, ref_loss = _reference(word, context, word_ids, context_ids, negatives, lrs)

    out_w, out_c = word.copy(), context.copy()
    out_loss = np.full(n_pairs, np.nan, np.float32)
    total = sgns_train_pairs(
        out_w,
        out_c,
        word_ids,
        context_ids,
        lr_start=0.5,
        pairs_done=pairs_done,
        pairs_total=1000,
        negatives=negatives,
        pair_losses=out_loss,
        n_threads=n_threads,
    )

    assert_close(out_loss, ref_loss, atol=ATOL, rtol=RTOL, name="pair_losses")
    assert total == pytest.approx(float(ref_loss.sum()), rel=RTOL, abs=ATOL)
    assert_close(out_w, ref_w, atol=ATOL, rtol=RTOL, name="word_vectors")
    assert_close(out_c, ref_c, atol=ATOL, rtol=RTOL, name="context_vectors")
    untouched_w = np.setdiff1d(np.arange(n_words), word_ids)
    untouched_c = np.setdiff1d(np.arange(n_contexts), rows)
    assert np.array_equal(out_w[untouched_w], word[untouched_w])
    assert np.array_equal(out_c[untouched_c], context[untouched_c])


def test_sgns_train_pairs_repeated_ids(torch_one_thread):
    # Repeated words, repeated negatives and negatives equal to the positive: one thread equals
    # the reference applied one pair at a time (each pair reads its rows at its start).
    rng = np.random.default_rng(1)
    word, context = _matrices(rng, 6, 5, 24)
    word_ids = rng.integers(0, 6, 80)
    context_ids = rng.integers(0, 5, 80)
    negatives = rng.integers(0, 5, (80, 4))
    negatives[:10, 0] = context_ids[:10]
    negatives[10:20, 1] = negatives[10:20, 2]
    lrs = sgns_lr(np.arange(80), 0.1, 0.01, 80)
    ref_w, ref_c, ref_loss = _reference(
        word, context, word_ids, context_ids, negatives, lrs, pairwise=True
    )

    out_w, out_c = word.copy(), context.copy()
    out_loss = np.full(80, np.nan, np.float32)
    sgns_train_pairs(
        out_w,
        out_c,
        word_ids,
        context_ids,
        lr_start=0.1,
        lr_end=0.01,
        negatives=negatives,
        pair_losses=out_loss,
    )

    assert_close(out_loss, ref_loss, atol=1e-4, rtol=1e-4, name="pair_losses")
    assert_close(out_w, ref_w, atol=1e-4, rtol=1e-4, name="word_vectors")
    assert_close(out_c, ref_c, atol=1e-4, rtol=1e-4, name="context_vectors")


def _sampling_problem(seed=0, n_words=40, n_contexts=60, dim=16, n_pairs=2000):
    rng = np.random.default_rng(seed)
    word, context = _matrices(rng, n_words, n_contexts, dim)
    context *= 0.1
    counts = rng.integers(1, 200, n_contexts)
    prob, index = build_alias_table(counts)
    # A planted structure: word i prefers contexts near 1.5 i, so the loss can fall.
    word_ids = rng.integers(0, n_words, n_pairs)
    context_ids = (word_ids * 3 // 2 + rng.integers(0, 3, n_pairs)) % n_contexts
    return word, context, word_ids, context_ids, prob, index


def test_sgns_train_pairs_sampled():
    word, context, word_ids, context_ids, prob, index = _sampling_problem()
    kw = dict(lr_start=0.05, pairs_done=300, pairs_total=5000, seed=7)
    negatives = draw_negatives(prob, index, len(word_ids), 5, seed=7, pairs_done=300)
    ref_w, ref_c = word.copy(), context.copy()
    ref_total = sgns_train_pairs(ref_w, ref_c, word_ids, context_ids, negatives=negatives, **kw)

    out_w, out_c = word.copy(), context.copy()
    out_total = sgns_train_pairs(
        out_w, out_c, word_ids, context_ids, alias_prob=prob, alias_index=index, n_neg=5, **kw
    )

    assert out_total == ref_total
    assert np.array_equal(out_w, ref_w) and np.array_equal(out_c, ref_c)


def test_sgns_train_pairs_deterministic_and_resumable():
    word, context, word_ids, context_ids, prob, index = _sampling_problem()
    kw = dict(alias_prob=prob, alias_index=index, n_neg=3, lr_start=0.05, pairs_total=2000)
    runs = []
    for seed in (3, 3, 4):
        w, c = word.copy(), context.copy()
        runs.append((w, c, sgns_train_pairs(w, c, word_ids, context_ids, seed=seed, **kw)))
    split_w, split_c = word.copy(), context.copy()
    first = sgns_train_pairs(split_w, split_c, word_ids[:700], context_ids[:700], seed=3, **kw)
    second = sgns_train_pairs(
        split_w, split_c, word_ids[700:], context_ids[700:], seed=3, pairs_done=700, **kw
    )

    (w0, c0, l0), (w1, c1, l1), (w2, c2, _) = runs
    assert l0 == l1 and np.array_equal(w0, w1) and np.array_equal(c0, c1)
    assert not np.array_equal(w0, w2)
    assert np.array_equal(split_w, w0) and np.array_equal(split_c, c0)
    assert first + second == pytest.approx(l0, rel=1e-12)


@pytest.fixture
def torch_one_thread():
    """Torch's intra-op threads would fight the trainer's for the cores: use one meanwhile."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_sgns_train_pairs_two_threads(torch_one_thread):
    # Hogwild on 2 threads against the reference's batch-start semantics, with repeated ids
    # everywhere; the same negatives on both sides. Stated tolerance: every 50-step mean loss
    # within 5% of the reference's (measured: 2.3%), and the loss falls by more than 20%.
    word, context, word_ids, context_ids, prob, index = _sampling_problem(n_pairs=64 * 300)
    n_steps, batch = 300, 64
    negatives = draw_negatives(prob, index, n_steps * batch, 5, seed=11)
    lrs = sgns_lr(np.arange(n_steps * batch), 0.05, 0.0, n_steps * batch)
    w_ref, c_ref = torch.from_numpy(word.copy()), torch.from_numpy(context.copy())
    out_w, out_c = word.copy(), context.copy()
    ref_curve, out_curve = [], []
    for step in range(n_steps):
        s = slice(step * batch, (step + 1) * batch)
        ref_curve.append(
            sgns_step(
                w_ref,
                c_ref,
                torch.from_numpy(word_ids[s]),
                torch.from_numpy(context_ids[s]),
                torch.from_numpy(negatives[s]),
                torch.from_numpy(lrs[s]),
            )
            .sum()
            .item()
        )
        out_curve.append(
            sgns_train_pairs(
                out_w,
                out_c,
                word_ids[s],
                context_ids[s],
                lr_start=0.05,
                pairs_done=step * batch,
                pairs_total=n_steps * batch,
                negatives=negatives[s],
                n_threads=2,
            )
        )

    ref_means = np.array(ref_curve).reshape(6, 50).mean(1)
    out_means = np.array(out_curve).reshape(6, 50).mean(1)
    assert_close(out_means, ref_means, atol=0.0, rtol=0.05, name="50-step mean loss")
    assert ref_means[-1] < 0.8 * ref_means[0]


def test_sgns_lr():
    idx = np.array([0, 1, 50, 99, 100, 150])
    out = sgns_lr(idx, 0.025, 0.0, 100)
    ref = np.maximum(0.025 * (1 - np.minimum(idx / 100, 1.0)), 0.025 * 1e-4).astype(np.float32)
    assert out.dtype == np.float32
    assert_close(out, ref, atol=0.0, rtol=1e-6, name="lr")
    ramp = sgns_lr(np.arange(10), 0.1, 0.05, 10)
    assert_close(ramp, 0.1 - 0.005 * np.arange(10), atol=1e-8, rtol=1e-6, name="lr to lr_end")


def test_sgns_train_pairs_empty():
    rng = np.random.default_rng(2)
    word, context = _matrices(rng, 4, 5, 8)
    out_w, out_c = word.copy(), context.copy()
    empty = np.empty(0, np.int64)
    total = sgns_train_pairs(
        out_w, out_c, empty, empty, lr_start=0.1, negatives=np.empty((0, 3), np.int64)
    )
    assert total == 0.0
    assert np.array_equal(out_w, word) and np.array_equal(out_c, context)


def _bad_inputs():
    w, c = np.zeros((4, 8), np.float32), np.zeros((5, 8), np.float32)
    ids, neg = np.array([0, 1]), np.array([[2], [3]])
    prob, index = build_alias_table(np.ones(5))
    base = dict(
        word_vectors=w,
        context_vectors=c,
        word_ids=ids,
        context_ids=ids,
        negatives=neg,
        lr_start=0.1,
    )
    cases = [
        ({"word_vectors": w.astype(np.float64)}, TypeError, "word_vectors must be float32"),
        ({"context_vectors": [[0.0]]}, TypeError, "context_vectors must be a NumPy array"),
        ({"word_vectors": w[:, :0]}, ValueError, r"word_vectors must be 2-D \[V, D\] with D >= 1"),
        ({"word_vectors": np.zeros(8, np.float32)}, ValueError, "must be 2-D"),
        ({"context_vectors": np.zeros((8, 5), np.float32).T}, ValueError, "C-contiguous"),
        ({"context_vectors": np.zeros((5, 7), np.float32)}, ValueError, "same D; got 8 and 7"),
        ({"word_ids": ids.astype(np.float32)}, TypeError, "word_ids must be int32 or int64"),
        ({"word_ids": np.array([0, 4])}, ValueError, r"word_ids must lie in \[0, 4\)"),
        ({"context_ids": np.array([-1, 0])}, ValueError, r"context_ids must lie in \[0, 5\)"),
        ({"context_ids": np.arange(4)[::2]}, ValueError, "context_ids must be C-contiguous"),
        ({"context_ids": np.array([0])}, ValueError, "same length P; got 2 and 1"),
        ({"negatives": np.array([2, 3])}, ValueError, "negatives must be 2-D"),
        ({"negatives": np.array([[2]])}, ValueError, r"negatives must be \[P=2, K\]"),
        ({"negatives": np.array([[2], [5]])}, ValueError, r"negatives must lie in \[0, 5\)"),
        ({"negatives": None}, ValueError, "pass either negatives"),
        (
            {"negatives": None, "alias_prob": prob, "alias_index": index, "n_neg": -1},
            ValueError,
            r"n_neg \(K\) must be an int >= 0; got -1",
        ),
        (
            {"negatives": None, "alias_prob": prob[:4], "alias_index": index[:4]},
            ValueError,
            "must cover the 5 rows",
        ),
        (
            {"negatives": None, "alias_prob": prob, "alias_index": index + 1},
            ValueError,
            r"alias_index must lie in \[0, 5\)",
        ),
        (
            {"negatives": None, "alias_prob": prob.astype(np.float32), "alias_index": index},
            TypeError,
            "alias_prob must be a float64",
        ),
        ({"lr_start": 0.0}, ValueError, "lr_start must be finite and > 0"),
        ({"lr_start": float("nan")}, ValueError, "lr_start must be finite and > 0"),
        ({"lr_end": 0.2}, ValueError, r"lr_end must be in \[0, lr_start=0.1\]"),
        ({"pairs_done": -1}, ValueError, "pairs_done must be >= 0"),
        ({"pairs_total": 0}, ValueError, "pairs_total must be >= 1"),
        ({"n_threads": 0}, ValueError, "n_threads must be an int >= 1"),
        ({"pair_losses": np.zeros(3, np.float32)}, ValueError, r"pair_losses must be .* \(2,\)"),
    ]
    return [
        pytest.param({**base, **change}, exc, match, id=match[:30]) for change, exc, match in cases
    ]


@pytest.mark.parametrize("kwargs, exc, match", _bad_inputs())
def test_sgns_train_pairs_errors(kwargs, exc, match):
    before = kwargs["word_vectors"].copy() if hasattr(kwargs["word_vectors"], "copy") else None
    with pytest.raises(exc, match=match):
        sgns_train_pairs(**kwargs)
    if before is not None:
        assert np.array_equal(kwargs["word_vectors"], before)


def test_build_alias_table():
    rng = np.random.default_rng(3)
    counts = rng.integers(0, 1000, 500)
    counts[:5] = 0
    counts[5] = 10**9
    for power in (0.75, 1.0):
        prob, index = build_alias_table(counts, power=power)
        ref = counts.astype(np.float64) ** power
        ref /= ref.sum()
        assert prob.dtype == np.float64 and index.dtype == np.int64
        assert ((prob >= 0) & (prob <= 1)).all() and ((index >= 0) & (index < 500)).all()
        assert_close(alias_distribution(prob, index), ref, atol=1e-15, rtol=1e-9, name="q")


def test_draw_frequencies():
    rng = np.random.default_rng(4)
    counts = rng.integers(1, 5000, 60)
    counts[[3, 17]] = 0
    prob, index = build_alias_table(counts)
    out = draw(prob, index, 300_000, seed=5)
    observed = np.bincount(out, minlength=60)
    expected = counts**0.75 / (counts**0.75).sum() * out.size
    assert observed[[3, 17]].sum() == 0
    keep = counts > 0
    result = stats.chisquare(observed[keep], expected[keep])
    assert result.pvalue > 1e-3, f"chi-square {result.statistic:.1f}, p = {result.pvalue:.2e}"


def test_draw_counters():
    prob, index = build_alias_table(np.arange(1, 30))
    full = draw(prob, index, 40, seed=-3)
    assert np.array_equal(draw(prob, index, 25, seed=-3, start=15), full[15:])
    assert not np.array_equal(draw(prob, index, 40, seed=-2), full)
    neg = draw_negatives(prob, index, 6, 4, seed=-3, pairs_done=2)
    assert np.array_equal(neg, full[8:32].reshape(6, 4))


@pytest.mark.parametrize(
    "counts, exc, match",
    [
        pytest.param(np.ones((2, 3)), ValueError, "non-empty 1-D", id="2-D"),
        pytest.param(np.array([]), ValueError, "non-empty 1-D", id="empty"),
        pytest.param(np.array([1, -1]), ValueError, "finite and >= 0", id="negative"),
        pytest.param(np.array([1, np.nan]), ValueError, "finite and >= 0", id="nan"),
        pytest.param(np.zeros(3), ValueError, "at least one positive", id="zeros"),
        pytest.param(np.array(["a"]), TypeError, "integer or float", id="strings"),
    ],
)
def test_build_alias_table_errors(counts, exc, match):
    with pytest.raises(exc, match=match):
        build_alias_table(counts)


def test_sgns_train_pairs_without_jit():
    # The kernels run as plain Python under NUMBA_DISABLE_JIT=1 and still match the reference.
    code = (
        "import numpy as np, torch\n"
        "from gramfast.kernels.sgns.compiled import sgns_train_pairs\n"
        "from gramfast.kernels.sgns.reference import sgns_step\n"
        "from gramfast.kernels.sgns.sampler import build_alias_table, draw_negatives\n"
        "rng = np.random.default_rng(0)\n"
        "W = rng.uniform(-0.5, 0.5, (5, 6)).astype(np.float32); C = W[::-1].copy()\n"
        "prob, index = build_alias_table(np.arange(1, 6))\n"
        "neg = draw_negatives(prob, index, 3, 2, seed=1)\n"
        "Wr, Cr = torch.tensor(W), torch.tensor(C)\n"
        "for p in range(3):\n"
        "    sgns_step(Wr, Cr, torch.tensor([p]), torch.tensor([p + 1]),\n"
        "              torch.tensor(neg[p:p + 1]), 0.25 * (1 - p / 3))\n"
        "sgns_train_pairs(W, C, np.arange(3), np.arange(1, 4), lr_start=0.25,\n"
        "                 alias_prob=prob, alias_index=index, n_neg=2, seed=1)\n"
        "assert np.allclose(W, Wr.numpy(), atol=1e-6) and np.allclose(C, Cr.numpy(), atol=1e-6)\n"
    )
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    run = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr[-2000:]


@pytest.mark.parametrize("stride, pairs_done", [(1, 0), (7, 0), (16, 5), (1000, 3)])
def test_loss_stride_estimates_the_loss_and_leaves_updates_alone(stride, pairs_done):
    rng = np.random.default_rng(stride)
    word, context = _matrices(rng, 40, 60, 24)
    word_ids = rng.integers(0, 40, 500)
    context_ids = rng.integers(0, 60, 500)
    prob, index = build_alias_table(rng.integers(1, 50, 60))
    kw = dict(lr_start=0.1, pairs_done=pairs_done, pairs_total=2000, alias_prob=prob,
              alias_index=index, n_neg=4, seed=9)  # fmt: skip
    all_w, all_c = word.copy(), context.copy()
    losses = np.full(500, np.nan, np.float32)
    exact = sgns_train_pairs(all_w, all_c, word_ids, context_ids, pair_losses=losses, **kw)
    assert np.isfinite(losses).all() and exact == pytest.approx(losses.sum(dtype=np.float64))
    out_w, out_c = word.copy(), context.copy()
    est = sgns_train_pairs(out_w, out_c, word_ids, context_ids, loss_stride=stride, **kw)
    np.testing.assert_array_equal(out_w, all_w)  # one thread: the same updates, bit for bit
    np.testing.assert_array_equal(out_c, all_c)
    counted = (pairs_done + np.arange(500)) % stride == 0
    want = stride * losses[counted].sum(dtype=np.float64)
    assert est == pytest.approx(want, rel=1e-5)


def test_loss_stride_must_be_positive():
    w, c = np.zeros((3, 4), np.float32), np.zeros((3, 4), np.float32)
    with pytest.raises(ValueError, match="loss_stride must be an int >= 1; got 0"):
        sgns_train_pairs(w, c, np.arange(2), np.arange(2), lr_start=0.1,
                         negatives=np.zeros((2, 1), np.int64), loss_stride=0)  # fmt: skip


def _two_halves(rng, n_pairs, n_neg):
    """Pairs whose first half uses words 0-19 and contexts 0-29, the second words 20-39 and
    contexts 30-59: two threads (one half each) then share no row."""
    half = n_pairs // 2
    words = np.concatenate([rng.integers(0, 20, half), rng.integers(20, 40, n_pairs - half)])
    ctx = np.concatenate([rng.integers(0, 30, half), rng.integers(30, 60, n_pairs - half)])
    neg = np.concatenate([rng.integers(0, 30, (half, n_neg)),
                          rng.integers(30, 60, (n_pairs - half, n_neg))])  # fmt: skip
    return words, ctx, neg, half


@pytest.mark.parametrize("sync_every", [1, 7, 1000])
def test_hot_rows_merge_exactly_when_threads_share_nothing(sync_every):
    # Two threads on disjoint rows, hot rows in both halves: the merged result must equal the
    # two halves trained one after the other, bit for bit; rows 0-4 are never used and stay NaN.
    rng = np.random.default_rng(sync_every)
    word, context = _matrices(rng, 40, 60, 33)
    context[:5] = np.nan
    words, ctx, neg, half = _two_halves(rng, 400, 3)
    ctx, neg = np.where(ctx < 5, ctx + 5, ctx), np.where(neg < 5, neg + 5, neg)
    kw = dict(lr_start=0.2, pairs_total=400)
    want_w, want_c = word.copy(), context.copy()
    sgns_train_pairs(want_w, want_c, words[:half], ctx[:half], negatives=neg[:half], **kw)
    sgns_train_pairs(want_w, want_c, words[half:], ctx[half:], negatives=neg[half:],
                     pairs_done=half, **kw)  # fmt: skip
    got_w, got_c = word.copy(), context.copy()
    hot = np.array([5, 6, 7, 8, 9, 30, 31, 32, 45, 59])
    sgns_train_pairs(got_w, got_c, words, ctx, negatives=neg, n_threads=2, hot_rows=hot,
                     sync_every=sync_every, **kw)  # fmt: skip
    np.testing.assert_array_equal(got_w, want_w)
    np.testing.assert_array_equal(got_c, want_c)
    assert np.isnan(got_c[:5]).all() and np.isfinite(got_c[5:]).all()


def test_hot_rows_with_shared_rows_track_one_thread():
    rng = np.random.default_rng(5)
    n_words, n_ctx, dim, n_pairs = 300, 400, 32, 60_000
    zipf_ctx = 1 / np.arange(1, n_ctx + 1)
    zipf_words = 1 / np.arange(1, n_words + 1)
    prob, index = build_alias_table((zipf_ctx / zipf_ctx.sum() * 1e6).astype(np.int64) + 1)
    words = rng.choice(n_words, n_pairs, p=zipf_words / zipf_words.sum())
    ctx = rng.choice(n_ctx, n_pairs, p=zipf_ctx / zipf_ctx.sum())
    word, context = rng.uniform(-0.5 / dim, 0.5 / dim, (n_words, dim)).astype(np.float32), \
        np.zeros((n_ctx, dim), np.float32)  # fmt: skip
    kw = dict(lr_start=0.025, alias_prob=prob, alias_index=index, n_neg=5, seed=2,
              pairs_total=4 * n_pairs)  # fmt: skip
    losses = {}
    for name, extra in (("one", {}), ("hot", {"n_threads": 2, "hot_rows": np.arange(32),
                                              "sync_every": 64})):  # fmt: skip
        w, c = word.copy(), context.copy()
        curve = [sgns_train_pairs(w, c, words, ctx, pairs_done=e * n_pairs, **kw, **extra)
                 / n_pairs for e in range(4)]  # fmt: skip
        assert np.isfinite(w).all() and np.isfinite(c).all()
        losses[name] = np.array(curve)
    assert losses["one"][-1] < losses["one"][0] - 0.1  # it learns
    np.testing.assert_allclose(losses["hot"], losses["one"], rtol=0.02)


def test_hot_rows_are_ignored_on_one_thread_and_checked():
    rng = np.random.default_rng(1)
    word, context = _matrices(rng, 10, 12, 8)
    words, ctx = rng.integers(0, 10, 50), rng.integers(0, 12, 50)
    neg = rng.integers(0, 12, (50, 2))
    a_w, a_c, b_w, b_c = word.copy(), context.copy(), word.copy(), context.copy()
    sgns_train_pairs(a_w, a_c, words, ctx, lr_start=0.1, negatives=neg)
    sgns_train_pairs(b_w, b_c, words, ctx, lr_start=0.1, negatives=neg, hot_rows=np.arange(4))
    np.testing.assert_array_equal(a_w, b_w)
    np.testing.assert_array_equal(a_c, b_c)
    kw = dict(lr_start=0.1, negatives=neg, n_threads=2)
    with pytest.raises(ValueError, match="hot_rows must not repeat a row"):
        sgns_train_pairs(a_w, a_c, words, ctx, hot_rows=np.array([1, 1]), **kw)
    with pytest.raises(ValueError, match=r"hot_rows must lie in \[0, 12\)"):
        sgns_train_pairs(a_w, a_c, words, ctx, hot_rows=np.array([12]), **kw)
    with pytest.raises(ValueError, match="sync_every must be an int >= 1; got 0"):
        sgns_train_pairs(a_w, a_c, words, ctx, hot_rows=np.arange(2), sync_every=0, **kw)
