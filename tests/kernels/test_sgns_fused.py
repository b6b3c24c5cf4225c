"""Fused Triton SGNS updates against the PyTorch reference (interpreter on CPU, or CUDA)."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from gramfast.kernels.sgns.fused import sample_negatives, sgns_update, sgns_update_shared
from gramfast.kernels.sgns.reference import sgns_step

from tests.helpers import TOLERANCES, assert_close

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
INTERPRETED = os.environ.get("TRITON_INTERPRET") == "1"
ATOL, RTOL = TOLERANCES["float32"]


def _params(vw: int, vc: int, dim: int, dtype: torch.dtype, gen: torch.Generator):
    """W, C with dots of order 1, so sigmoids and gradients are far from saturation."""
    w = torch.randn(vw, dim, generator=gen) / dim**0.5
    c = torch.randn(vc, dim, generator=gen) / dim**0.5
    return w.to(DEVICE, dtype), c.to(DEVICE, dtype)


def _unique_batch(vw, vc, n_pairs, n_neg_rows, n_neg, gen):
    """Ids with no repeats: distinct words, and contexts disjoint from all negatives."""
    words = torch.randperm(vw, generator=gen)[:n_pairs]
    ctx = torch.randperm(vc, generator=gen)[: n_pairs + n_neg_rows * n_neg]
    neg = ctx[n_pairs:].reshape(n_neg_rows, n_neg)
    return words.to(DEVICE), ctx[:n_pairs].to(DEVICE), neg.to(DEVICE)


def _expand(neg: torch.Tensor, shared: bool, block_p: int, n_pairs: int) -> torch.Tensor:
    return neg.repeat_interleave(block_p, 0)[:n_pairs] if shared else neg


def _fused(shared: bool):
    return sgns_update_shared if shared else sgns_update


def _ref_blocks(w, c, words, ctx, neg, lr, block_p, mask=None):
    """sgns_step applied block after block: what the interpreter's sequential programs compute."""
    out = []
    for i in range(0, words.shape[0], block_p):
        m = None if mask is None else mask[i : i + block_p]
        s = slice(i, i + block_p)
        out.append(sgns_step(w, c, words[s], ctx[s], neg[s], lr, mask=m))
    return torch.cat(out) if out else torch.zeros(0, device=w.device)


def _assert_update(out, ref32, ref_same, ids, name):
    """fp32: the reference's tolerance. bf16: 2x the bf16 reference's error, plus one rounding
    (2**-9 relative) per atomic add into the most updated row, since bf16 atomics round each add."""
    if out.dtype == torch.float32:
        assert_close(out, ref32, atol=ATOL, rtol=RTOL, name=name)
    else:
        err = (ref_same.float() - ref32.float()).abs().max().item()
        adds = int(torch.bincount(ids.reshape(-1).long()).max())
        assert_close(out, ref32, atol=2 * err + 1e-6, rtol=adds * 2.0**-9, name=name)


def _assert_matches_reference(out_w, out_c, out_loss, w0, c0, words, ctx, full_neg, lr):
    """Fused results against sgns_step in fp32 (and the same-dtype step for the tolerance)."""
    ref_w, ref_c = w0.float(), c0.float()
    ref_loss = sgns_step(ref_w, ref_c, words, ctx, full_neg, lr)
    same_w, same_c = w0.clone(), c0.clone()
    sgns_step(same_w, same_c, words, ctx, full_neg, lr)

    assert_close(out_loss, ref_loss, atol=ATOL, rtol=RTOL, name="loss")
    _assert_update(out_w, ref_w, same_w, words, "word_vectors")
    _assert_update(out_c, ref_c, same_c, torch.cat([ctx, full_neg.reshape(-1)]), "context_vectors")


def _untouched(before, after, touched, name):
    """Rows no id points at keep their exact bits."""
    keep = torch.ones(before.shape[0], dtype=torch.bool, device=before.device)
    keep[touched.reshape(-1).long()] = False
    bits = torch.int16 if before.dtype == torch.bfloat16 else torch.int32
    assert torch.equal(before[keep].view(bits), after[keep].view(bits)), name


CASES = [
    pytest.param(1, 1, 1, torch.float32, id="P1-K1-D1-fp32"),
    pytest.param(40, 5, 63, torch.float32, id="P40-K5-D63-fp32"),
    pytest.param(16, 0, 300, torch.float32, id="P16-K0-D300-fp32"),
    pytest.param(24, 5, 63, torch.bfloat16, id="P24-K5-D63-bf16"),
    pytest.param(16, 1, 300, torch.bfloat16, id="P16-K1-D300-bf16"),
]


@pytest.mark.parametrize("shared", [False, True], ids=["pair", "shared"])
@pytest.mark.parametrize(("n_pairs", "n_neg", "dim", "dtype"), CASES)
def test_sgns_update_unique(n_pairs, n_neg, dim, dtype, shared):
    gen = torch.Generator().manual_seed(0)
    block_p = 16 if shared else 8
    n_rows = -(-n_pairs // block_p) if shared else n_pairs
    w0, c0 = _params(n_pairs + 3, n_pairs + n_rows * n_neg + 4, dim, dtype, gen)
    words, ctx, neg = _unique_batch(w0.shape[0], c0.shape[0], n_pairs, n_rows, n_neg, gen)
    lr = torch.rand(n_pairs, generator=gen).to(DEVICE) * 0.1

    out_w, out_c = w0.clone(), c0.clone()
    out_loss = torch.full((n_pairs,), float("nan"), device=DEVICE)
    _fused(shared)(out_w, out_c, words, ctx, neg, lr=lr, loss_out=out_loss, block_p=block_p)
    full_neg = _expand(neg, shared, block_p, n_pairs)
    _assert_matches_reference(out_w, out_c, out_loss, w0, c0, words, ctx, full_neg, lr)
    _untouched(w0, out_w, words, "untouched word rows")
    _untouched(c0, out_c, torch.cat([ctx, neg.reshape(-1)]), "untouched context rows")


@pytest.mark.parametrize("shared", [False, True], ids=["pair", "shared"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=["fp32", "bf16"])
def test_sgns_update_repeated_ids(dtype, shared):
    """One block: repeated words, a negative equal to the positive, repeated negatives sum."""
    gen = torch.Generator().manual_seed(1)
    n_pairs, n_neg, dim = 16, 3, 20
    w0, c0 = _params(6, 8, dim, dtype, gen)
    words = torch.randint(0, 6, (n_pairs,), generator=gen).to(DEVICE)
    ctx = torch.randint(0, 8, (n_pairs,), generator=gen).to(DEVICE)
    neg = torch.randint(0, 8, (1 if shared else n_pairs, n_neg), generator=gen).to(DEVICE)
    words[:4] = 2
    neg[0, 1] = ctx[0]
    neg[0, 2] = neg[0, 0]

    out_w, out_c = w0.clone(), c0.clone()
    out_loss = torch.full((n_pairs,), float("nan"), device=DEVICE)
    _fused(shared)(out_w, out_c, words, ctx, neg, lr=0.05, loss_out=out_loss, block_p=16)
    full_neg = _expand(neg, shared, 16, n_pairs)
    _assert_matches_reference(out_w, out_c, out_loss, w0, c0, words, ctx, full_neg, 0.05)


@pytest.mark.skipif(not INTERPRETED, reason="programs run in order only under the interpreter")
@pytest.mark.parametrize("shared", [False, True], ids=["pair", "shared"])
def test_sgns_update_repeats_across_blocks(shared):
    """Several blocks with shared ids: each block sees the rows its predecessors updated."""
    gen = torch.Generator().manual_seed(2)
    n_pairs, n_neg, dim, block_p = 48, 4, 24, 16
    w0, c0 = _params(10, 12, dim, torch.float32, gen)
    words = torch.randint(0, 10, (n_pairs,), generator=gen)
    ctx = torch.randint(0, 12, (n_pairs,), generator=gen)
    neg = torch.randint(0, 12, (3 if shared else n_pairs, n_neg), generator=gen)

    out_w, out_c = w0.clone(), c0.clone()
    out_loss = _fused(shared)(out_w, out_c, words, ctx, neg, lr=0.1, block_p=block_p)
    ref_w, ref_c = w0.clone(), c0.clone()
    full_neg = _expand(neg, shared, block_p, n_pairs)
    ref_loss = _ref_blocks(ref_w, ref_c, words, ctx, full_neg, 0.1, block_p)

    assert_close(out_loss, ref_loss, atol=ATOL, rtol=RTOL, name="loss")
    assert_close(out_w, ref_w, atol=ATOL, rtol=RTOL, name="word_vectors")
    assert_close(out_c, ref_c, atol=ATOL, rtol=RTOL, name="context_vectors")


@pytest.mark.parametrize("shared", [False, True], ids=["pair", "shared"])
def test_sgns_update_masked_tail(shared):
    """mask=False pairs and pairs past n_valid change nothing; tail ids are never read."""
    gen = torch.Generator().manual_seed(3)
    n_pairs, n_valid, n_neg, dim = 32, 27, 2, 8
    w0, c0 = _params(40, 50, dim, torch.float32, gen)
    words = torch.randint(0, 40, (n_pairs,), generator=gen).to(DEVICE)
    ctx = torch.randint(0, 50, (n_pairs,), generator=gen).to(DEVICE)
    neg = torch.randint(0, 50, (2 if shared else n_pairs, n_neg), generator=gen).to(DEVICE)
    mask = (torch.rand(n_pairs, generator=gen) < 0.7).to(DEVICE)
    bad_words, bad_ctx = words.clone(), ctx.clone()
    bad_words[n_valid:], bad_ctx[n_valid:] = 10**9, -(10**9)
    if not shared:
        neg[n_valid:] = 10**9

    out_w, out_c = w0.clone(), c0.clone()
    out_loss = torch.full((n_pairs,), float("nan"), device=DEVICE)
    fn = _fused(shared)
    fn(
        out_w,
        out_c,
        bad_words,
        bad_ctx,
        neg,
        lr=0.05,
        mask=mask,
        n_valid=n_valid,
        loss_out=out_loss,
        block_p=16,
    )
    ref_w, ref_c = w0.clone(), c0.clone()
    full_neg = _expand(neg, shared, 16, n_pairs).clamp(max=49)
    ref_mask = mask & (torch.arange(n_pairs, device=DEVICE) < n_valid)
    ref_loss = _ref_blocks(ref_w, ref_c, words, ctx, full_neg, 0.05, 16, mask=ref_mask)

    assert_close(out_loss, ref_loss, atol=ATOL, rtol=RTOL, name="loss")
    assert torch.all(out_loss[~ref_mask] == 0)
    assert_close(out_w, ref_w, atol=ATOL, rtol=RTOL, name="word_vectors")
    assert_close(out_c, ref_c, atol=ATOL, rtol=RTOL, name="context_vectors")


@pytest.mark.parametrize("sampled", [False, True], ids=["given", "sampled"])
@pytest.mark.parametrize("shared", [False, True], ids=["pair", "shared"])
def test_sgns_update_empty_batch(shared, sampled):
    w0, c0 = _params(5, 6, 4, torch.float32, torch.Generator().manual_seed(4))
    out_w, out_c = w0.clone(), c0.clone()
    empty = torch.zeros(0, dtype=torch.int64, device=DEVICE)
    kw = dict(lr=0.1, num_negatives=3)
    if sampled:
        kw.update(alias_prob=torch.ones(6, device=DEVICE), alias_index=torch.arange(6).to(DEVICE))
        neg = None
    else:
        neg = torch.zeros((0, 3), dtype=torch.int64, device=DEVICE)
    loss = _fused(shared)(out_w, out_c, empty, empty, neg, **kw)
    assert loss.shape == (0,) and loss.dtype == torch.float32
    assert torch.equal(out_w, w0) and torch.equal(out_c, c0)


def _alias_table(n_contexts: int):
    from gramfast.kernels.sgns.sampler import alias_distribution, build_alias_table

    counts = 1000.0 / np.arange(1, n_contexts + 1)  # Zipf
    prob, index = build_alias_table(counts)
    table = (torch.tensor(prob, dtype=torch.float32, device=DEVICE), torch.tensor(index).to(DEVICE))
    return table, alias_distribution(prob.astype(np.float32).astype(np.float64), index)


@pytest.mark.parametrize("shared", [False, True], ids=["pair", "shared"])
def test_sgns_update_device_negatives(shared):
    """Drawn on the device, the negatives are sample_negatives' rows, whatever the batch split."""
    gen = torch.Generator().manual_seed(5)
    n_pairs, n_neg, dim, pairs_done, seed = 32, 5, 12, 64, 11
    (prob, alias), _ = _alias_table(30)
    w0, c0 = _params(20, 30, dim, torch.float32, gen)
    words = torch.randint(0, 20, (n_pairs,), generator=gen).to(DEVICE)
    ctx = torch.randint(0, 30, (n_pairs,), generator=gen).to(DEVICE)

    out_w, out_c = w0.clone(), c0.clone()
    kw = dict(lr=0.05, num_negatives=n_neg, seed=seed, pairs_done=pairs_done, block_p=16)
    out_loss = _fused(shared)(out_w, out_c, words, ctx, alias_prob=prob, alias_index=alias, **kw)
    drawn = sample_negatives(prob, alias, pairs_done + n_pairs, n_neg, seed=seed)[pairs_done:]
    later = sample_negatives(prob, alias, n_pairs, n_neg, seed=seed, pairs_done=pairs_done)
    assert torch.equal(drawn, later)
    full_neg = drawn[::16].repeat_interleave(16, 0) if shared else drawn
    ref_w, ref_c = w0.clone(), c0.clone()
    ref_loss = _ref_blocks(ref_w, ref_c, words, ctx, full_neg, 0.05, 16)

    assert_close(out_loss, ref_loss, atol=ATOL, rtol=RTOL, name="loss")
    assert_close(out_w, ref_w, atol=ATOL, rtol=RTOL, name="word_vectors")
    assert_close(out_c, ref_c, atol=ATOL, rtol=RTOL, name="context_vectors")


def test_sample_negatives_distribution():
    from scipy.stats import chisquare

    (prob, alias), q = _alias_table(40)
    draws = sample_negatives(prob, alias, 4000, 5, seed=3).cpu().numpy()
    assert draws.min() >= 0 and draws.max() < 40
    for sample in (draws.reshape(-1), draws[:, 4]):
        observed = np.bincount(sample, minlength=40)
        assert chisquare(observed, q * sample.size).pvalue > 1e-3
    smoothed = (1.0 / np.arange(1, 41)) ** 0.75
    assert_close(q, smoothed / smoothed.sum(), atol=1e-6, rtol=1e-4, name="table")
    other = sample_negatives(prob, alias, 4000, 5, seed=4).cpu().numpy()
    assert (other != draws).mean() > 0.5


@pytest.mark.parametrize(("shared", "block_p"), [(False, 64), (True, 64)], ids=["pair", "shared"])
def test_sgns_update_loss_curve(shared, block_p):
    """Fused and reference updates on the same batches give the same loss curve (300 steps on
    CUDA, 40 under the interpreter, where each launch costs tens of milliseconds)."""
    gen = torch.Generator().manual_seed(6)
    n_pairs, n_neg, dim, steps = 64, 5, 16, 40 if INTERPRETED else 300
    w0 = ((torch.rand(30, dim, generator=gen) - 0.5) / dim).to(DEVICE)
    c0 = torch.zeros(40, dim, device=DEVICE)
    out_w, out_c, ref_w, ref_c = w0.clone(), c0.clone(), w0.clone(), c0.clone()
    n_rows = n_pairs // block_p if shared else n_pairs
    out_curve, ref_curve = [], []
    for step in range(steps):
        words = torch.randint(0, 30, (n_pairs,), generator=gen).to(DEVICE)
        ctx = (words + torch.randint(0, 3, (n_pairs,), generator=gen).to(DEVICE)) % 40
        neg = torch.randint(0, 40, (n_rows, n_neg), generator=gen).to(DEVICE)
        lr = 0.1 * (1 - step / steps)
        loss = _fused(shared)(out_w, out_c, words, ctx, neg, lr=lr, block_p=block_p)
        out_curve.append(loss.mean())
        full_neg = _expand(neg, shared, block_p, n_pairs)
        ref_curve.append(sgns_step(ref_w, ref_c, words, ctx, full_neg, lr).mean())
    out_curve, ref_curve = torch.stack(out_curve), torch.stack(ref_curve)
    assert ref_curve[-10:].mean() < 0.8 * ref_curve[:10].mean()
    assert_close(out_curve, ref_curve, atol=1e-4, rtol=1e-3, name="loss curve")


def _error_cases():
    w = torch.zeros(4, 8, device=DEVICE)
    ids = torch.zeros(3, dtype=torch.int64, device=DEVICE)
    neg = torch.zeros((3, 2), dtype=torch.int64, device=DEVICE)
    prob, alias = torch.ones(4, device=DEVICE), torch.arange(4, device=DEVICE)
    base = dict(
        word_vectors=w,
        context_vectors=w.clone(),
        word_ids=ids,
        context_ids=ids,
        negatives=neg,
        lr=0.1,
    )
    cases = [
        (dict(word_vectors=w.double()), TypeError, "word_vectors must be a float32 or bfloat16"),
        (dict(context_vectors=w.T), ValueError, "contiguous rows"),
        (dict(context_vectors=w.bfloat16()), TypeError, "context_vectors must have word_vectors'"),
        (dict(context_vectors=torch.zeros(4, 9, device=DEVICE)), ValueError, "dim D = 8"),
        (dict(word_ids=ids.float()), TypeError, "word_ids must be a 1-D int32/int64"),
        (dict(context_ids=ids[:2]), ValueError, "one entry per pair"),
        (dict(negatives=neg[:, 0]), TypeError, "negatives must be a 2-D"),
        (dict(negatives=neg[:2]), ValueError, r"negatives must be \[3, K\]"),
        (dict(num_negatives=3), ValueError, "K = num_negatives"),
        (dict(alias_prob=prob, alias_index=alias), ValueError, "not both"),
        (dict(negatives=None), ValueError, "pass num_negatives and the alias table"),
        (
            dict(negatives=None, num_negatives=2, alias_prob=prob.double(), alias_index=alias),
            TypeError,
            "alias_prob must be a float32",
        ),
        (
            dict(negatives=None, num_negatives=2, alias_prob=prob[:3], alias_index=alias[:3]),
            ValueError,
            "one entry per context row",
        ),
        (dict(lr=float("nan")), TypeError, "lr must be a finite float"),
        (dict(lr=torch.ones(2, device=DEVICE)), TypeError, r"shape \[\] or \[P\] = \[3\]"),
        (dict(mask=torch.ones(3, device=DEVICE)), TypeError, "mask must be a contiguous bool"),
        (dict(n_valid=4), ValueError, r"n_valid must be an int in \[0, P = 3\]"),
        (dict(loss_out=torch.zeros(3, 1, device=DEVICE)), TypeError, "loss_out must be"),
        (dict(seed=-1), ValueError, "seed must be an int"),
        (dict(block_p=3), ValueError, "block_p must be a power of two"),
        (dict(num_warps=3), ValueError, "num_warps must be one of"),
        (dict(bf16_atomics="fast"), ValueError, "bf16_atomics must be"),
        (dict(negatives=neg + 4, debug=True), ValueError, r"negatives must lie in \[0, 4\)"),
        (
            dict(
                word_vectors=torch.zeros(4, 1025, device=DEVICE),
                context_vectors=torch.zeros(4, 1025, device=DEVICE),
            ),
            NotImplementedError,
            "dims above 1024",
        ),
    ]
    return [pytest.param({**base, **kw}, exc, match, id=match[:24]) for kw, exc, match in cases]


@pytest.mark.parametrize(("kwargs", "exc", "match"), _error_cases())
def test_sgns_update_errors(kwargs, exc, match):
    w0 = kwargs["word_vectors"].clone()
    with pytest.raises(exc, match=match):
        sgns_update(**kwargs)
    assert torch.equal(kwargs["word_vectors"], w0)


def test_sgns_update_shared_errors():
    w = torch.zeros(4, 8, device=DEVICE)
    ids = torch.zeros(20, dtype=torch.int64, device=DEVICE)
    with pytest.raises(ValueError, match="block_p must be a power of two >= 16"):
        sgns_update_shared(w, w.clone(), ids, ids, ids[:, None], lr=0.1, block_p=8)
    with pytest.raises(ValueError, match=r"negatives must be \[2, K\]"):
        sgns_update_shared(w, w.clone(), ids, ids, ids[:, None], lr=0.1, block_p=16)
    with pytest.raises(ValueError, match="n_rows must be an int >= 0"):
        sample_negatives(torch.ones(4, device=DEVICE), ids[:4], -1, 2)
    if INTERPRETED:
        wb = w.bfloat16()
        with pytest.raises(ValueError, match="does not run under TRITON_INTERPRET=1"):
            sgns_update(wb, wb.clone(), ids, ids, ids[:, None], lr=0.1, bf16_atomics="native")


@pytest.mark.gpu
@pytest.mark.parametrize("bf16_atomics", ["auto", "native", "cas"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=["fp32", "bf16"])
@pytest.mark.parametrize("n_neg", [5, 15])
@pytest.mark.parametrize("shared", [False, True], ids=["pair", "shared"])
def test_sgns_update_gpu_large_unique(shared, n_neg, dtype, bf16_atomics):
    """P = 4096, D = 300 with default launch settings: equal to the reference without repeats."""
    if dtype == torch.float32 and bf16_atomics != "auto":
        pytest.skip("bf16_atomics only matters for bfloat16")
    gen = torch.Generator().manual_seed(7)
    n_pairs, dim = 4096, 300
    n_rows = n_pairs // 16 if shared else n_pairs
    w0, c0 = _params(n_pairs, n_pairs + n_rows * n_neg, dim, dtype, gen)
    words, ctx, neg = _unique_batch(w0.shape[0], c0.shape[0], n_pairs, n_rows, n_neg, gen)

    out_w, out_c = w0.clone(), c0.clone()
    out_loss = torch.full((n_pairs,), float("nan"), device=DEVICE)
    _fused(shared)(
        out_w, out_c, words, ctx, neg, lr=0.05, loss_out=out_loss, bf16_atomics=bf16_atomics
    )
    full_neg = _expand(neg, shared, 16, n_pairs)
    _assert_matches_reference(out_w, out_c, out_loss, w0, c0, words, ctx, full_neg, 0.05)
    _untouched(c0, out_c, torch.cat([ctx, neg.reshape(-1)]), "untouched context rows")


@pytest.mark.gpu
def test_sample_negatives_gpu_distribution():
    from scipy.stats import chisquare

    (prob, alias), q = _alias_table(1000)
    draws = sample_negatives(prob, alias, 200_000, 10, seed=9, pairs_done=2**40).cpu().numpy()
    observed = np.bincount(draws.reshape(-1), minlength=1000)
    assert chisquare(observed, q * draws.size).pvalue > 1e-3


@pytest.mark.gpu
def test_sgns_update_gpu_zipf_converges():
    """Heavy repeats across blocks (Hogwild): finite values and a falling loss, not exactness.
    NOTE: summed gradients of hot rows grow with the batch: at lr 0.01 and P = 65536 the
    reference itself diverges on this data, so the check uses P = 8192 and lr 0.002."""
    gen = torch.Generator().manual_seed(8)
    (prob, alias), _ = _alias_table(3000)
    w = ((torch.rand(1000, 300, generator=gen) - 0.5) / 300).cuda()
    c = torch.zeros(3000, 300, device="cuda")
    zipf = 1.0 / torch.arange(1, 1001, dtype=torch.float64)
    curve = []
    for step in range(50):
        words = torch.multinomial(zipf, 8192, replacement=True, generator=gen).cuda()
        ctx = (words * 3 + torch.randint(0, 3, (8192,), generator=gen).cuda()) % 3000
        loss = sgns_update(
            w,
            c,
            words,
            ctx,
            lr=0.002,
            num_negatives=5,
            alias_prob=prob,
            alias_index=alias,
            seed=1,
            pairs_done=step * 8192,
        )
        curve.append(loss.mean().item())
    assert torch.isfinite(w).all() and torch.isfinite(c).all()
    assert np.mean(curve[-5:]) < 0.97 * np.mean(curve[:5])


def test_sgns_update_needs_cuda(monkeypatch):
    """Outside the interpreter, CPU tensors are refused (no silent fallback)."""
    from gramfast.kernels.sgns import fused

    monkeypatch.setattr(fused, "_interpreted", lambda: False)
    w, ids = torch.zeros(4, 8), torch.zeros(3, dtype=torch.int64)
    with pytest.raises(ValueError, match="word_vectors must be on a CUDA device; got cpu"):
        sgns_update(w, w.clone(), ids, ids, ids[:, None], lr=0.1)
    with pytest.raises(ValueError, match="alias_prob must be on a CUDA device"):
        sample_negatives(torch.ones(4), torch.arange(4), 2, 2)


_COMPILE_SM90 = """
import sys
import triton
from triton.backends.compiler import GPUTarget
from triton.compiler import ASTSource
from gramfast.kernels.sgns import fused

def sig(dtype, sampled):
    ptrs = ["w_ptr", "c_ptr", "word_ptr", "context_ptr", "neg_ptr", "prob_ptr", "alias_ptr",
            "lr_ptr", "mask_ptr", "loss_ptr"]
    s = {p: "*i32" for p in ptrs}
    s.update(w_ptr=f"*{dtype}", c_ptr=f"*{dtype}", prob_ptr="*fp32", lr_ptr="*fp32",
             mask_ptr="*u8", loss_ptr="*fp32")
    for a in ["w_stride_v", "c_stride_v", "word_stride", "context_stride", "neg_stride_p",
              "neg_stride_k", "lr_stride", "n_pairs", "n_valid", "dim", "n_contexts"]:
        s[a] = "i32"
    s.update(lr="fp32", seed="i64", pairs_done="i64")
    return s

for name, dtype, k, bp, bk, bd, sampled, cas, atom in [
    ("_sgns_update_kernel", "fp32", 5, 1, 8, 512, False, False, "add.f32"),
    ("_sgns_update_kernel", "bf16", 15, 1, 16, 512, True, False, "add.noftz.bf16"),
    ("_sgns_update_shared_kernel", "bf16", 5, 16, 16, 64, False, True, "cas.b16"),
]:
    consts = dict(NUM_NEG=k, BLOCK_P=bp, BLOCK_K=bk, BLOCK_D=bd, SAMPLE_NEG=sampled,
                  HAS_LR_TENSOR=True, HAS_MASK=True, IS_BF16=dtype == "bf16", CAS_BF16=cas)
    s = sig(dtype, sampled)
    s.update({c: "constexpr" for c in consts})
    src = ASTSource(getattr(fused, name), s, constexprs=consts)
    ptx = triton.compile(src, target=GPUTarget("cuda", 90, 32), options={"num_warps": 8}).asm["ptx"]
    if atom not in ptx:
        sys.exit(f"{name} {dtype}: no {atom} atomics in the PTX")
"""


@pytest.mark.slow
@pytest.mark.skipif(torch.cuda.is_available(), reason="the CUDA tests compile the kernels anyway")
def test_kernels_compile_for_sm90(tmp_path):
    """Without a GPU: the kernels compile for sm_90 (ptxas ships with triton), with the intended
    atomics; the interpreter alone would miss compile-only errors."""
    import subprocess
    import sys
    from pathlib import Path

    import triton

    if not (Path(triton.__file__).parent / "backends" / "nvidia" / "bin" / "ptxas").exists():
        pytest.skip("this triton wheel ships no ptxas")
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    env["TRITON_CACHE_DIR"] = str(tmp_path)
    run = subprocess.run(
        [sys.executable, "-c", _COMPILE_SM90], env=env, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr[-3000:] or run.stdout[-3000:]
