"""Fused Triton SGNS updates against the PyTorch reference on one CUDA GPU.

Run from the repository root: ``pytest benchmarks/bench_sgns_fused.py --benchmark-only``.
Batches of 2**20 Zipf-distributed pairs over 100k words and 300k contexts, the shapes of
``conftest.SHAPES`` (D = 300, K = 5 and 15), float32 and bfloat16 storage. GB/s comes from a
traffic model (DESIGN.md): each pair reads and writes its word, context and K negative rows once
(shared variant: negatives once per block), beside the card's measured copy bandwidth
(``test_device_copy_bandwidth``).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

pytestmark = pytest.mark.skipif(
    not torch.cuda.is_available(), reason="the fused SGNS kernels need a CUDA GPU; none found"
)

N_WORDS, N_CONTEXTS, N_PAIRS, LR = 100_000, 300_000, 1 << 20, 0.025
DTYPES = [pytest.param(torch.float32, id="fp32"), pytest.param(torch.bfloat16, id="bf16")]
# provider -> (function name, device-drawn negatives, block_p or None for the default)
PROVIDERS = {
    "reference": ("sgns_step", False, None),
    "fused": ("sgns_update", False, None),
    "fused_bp2": ("sgns_update", False, 2),
    "fused_sampled": ("sgns_update", True, None),
    "shared": ("sgns_update_shared", False, 16),
    "shared_bp32": ("sgns_update_shared", False, 32),
    "shared_sampled": ("sgns_update_shared", True, 16),
}
_RATES: dict[tuple, float] = {}


@pytest.fixture(scope="module")
def zipf_data() -> dict:
    from gramfast.kernels.sgns.fused import sample_negatives
    from gramfast.kernels.sgns.sampler import build_alias_table

    gen = torch.Generator(device="cuda").manual_seed(0)
    word_p = 1.0 / torch.arange(1, N_WORDS + 1, device="cuda", dtype=torch.float64)
    ctx_counts = 1e9 / np.arange(1, N_CONTEXTS + 1)
    prob, index = build_alias_table(ctx_counts)
    prob = torch.tensor(prob, dtype=torch.float32, device="cuda")
    index = torch.tensor(index, dtype=torch.int32, device="cuda")
    ctx_p = torch.tensor(ctx_counts, device="cuda")
    words = torch.multinomial(word_p, N_PAIRS, replacement=True, generator=gen).int()
    ctx = torch.multinomial(ctx_p, N_PAIRS, replacement=True, generator=gen).int()
    neg15 = sample_negatives(prob, index, N_PAIRS, 15, seed=1).int()
    return dict(words=words, ctx=ctx, neg15=neg15, prob=prob, index=index)


def _params(dim: int, dtype: torch.dtype, seed: int = 0):
    gen = torch.Generator(device="cuda").manual_seed(seed)
    w = (torch.rand(N_WORDS, dim, device="cuda", generator=gen) - 0.5) / dim
    c = torch.randn(N_CONTEXTS, dim, device="cuda", generator=gen) * 0.01
    return w.to(dtype), c.to(dtype)


def _step_fn(provider: str, w, c, data: dict, n_neg: int, dim: int, n_pairs: int):
    from gramfast.kernels.sgns import fused
    from gramfast.kernels.sgns.reference import sgns_step

    name, sampled, block_p = PROVIDERS[provider]
    words, ctx = data["words"][:n_pairs], data["ctx"][:n_pairs]
    if provider == "reference":
        neg = data["neg15"][:n_pairs, :n_neg]
        return lambda: sgns_step(w, c, words, ctx, neg, LR)
    fn = getattr(fused, name)
    rows = n_pairs if name == "sgns_update" else -(-n_pairs // block_p)
    loss = torch.empty(n_pairs, device="cuda")
    kw = dict(lr=LR, loss_out=loss, block_p=block_p) if block_p else dict(lr=LR, loss_out=loss)
    if sampled:
        kw.update(num_negatives=n_neg, alias_prob=data["prob"], alias_index=data["index"])
        return lambda: fn(w, c, words, ctx, **kw)
    neg = data["neg15"][:rows, :n_neg]
    return lambda: fn(w, c, words, ctx, neg, **kw)


def _check_once(provider: str, data: dict, n_neg: int, dim: int, dtype: torch.dtype) -> None:
    """Correctness gate: a duplicate-free batch equals the reference before any timing."""
    from gramfast.kernels.sgns.reference import sgns_step

    n_pairs = 2048
    perm_w = torch.randperm(N_WORDS, device="cuda")[:n_pairs].int()
    perm_c = torch.randperm(N_CONTEXTS, device="cuda")[: n_pairs * (1 + n_neg)].int()
    gate = dict(words=perm_w, ctx=perm_c[:n_pairs], neg15=perm_c[n_pairs:].reshape(n_pairs, n_neg))
    gate.update(prob=data["prob"], index=data["index"])
    _, sampled, block_p = PROVIDERS[provider]
    if sampled or provider == "reference":
        return  # sampled draws: checked against sample_negatives in tests/kernels (Zipf repeats)
    if block_p and provider.startswith("shared"):
        gate["neg15"] = gate["neg15"][: n_pairs // block_p]
    w, c = _params(dim, dtype, seed=1)
    w_ref, c_ref = w.float(), c.float()
    loss = _step_fn(provider, w, c, gate, n_neg, dim, n_pairs)()
    neg = gate["neg15"]
    full = neg.repeat_interleave(block_p, 0) if provider.startswith("shared") else neg
    ref = sgns_step(w_ref, c_ref, gate["words"], gate["ctx"], full, LR)
    atol = 1e-4 if dtype == torch.float32 else 2e-2
    torch.testing.assert_close(loss, ref, atol=atol, rtol=1e-3)
    torch.testing.assert_close(w.float(), w_ref, atol=atol, rtol=1e-2)
    torch.testing.assert_close(c.float(), c_ref, atol=atol, rtol=1e-2)


def _model_bytes(provider: str, dim: int, n_neg: int, elem: int) -> float:
    row = dim * elem
    _, sampled, block_p = PROVIDERS[provider]
    ids = 8 + (0 if sampled else 4 * n_neg) + 4  # word, context, negatives, loss
    if provider.startswith("shared"):
        return 2 * (2 * row + n_neg * row / block_p) + ids
    return 2 * (2 + n_neg) * row + ids


def _time_ms(fn, reps: int = 5) -> float:
    fn()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(reps):
        fn()
    end.record()
    torch.cuda.synchronize()
    return start.elapsed_time(end) / reps


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("provider", list(PROVIDERS))
def test_sgns_fused(benchmark, zipf_data, env_info, provider, shape, dtype):
    """One batch step per round; shapes from conftest.SHAPES (D = 300, K = 5 and 15)."""
    dim, n_neg = shape.dim, shape.n_neg
    _check_once(provider, zipf_data, n_neg, dim, dtype)
    key = (dim, n_neg, dtype)
    if key not in _RATES:
        w, c = _params(dim, dtype)
        ref = _step_fn("reference", w, c, zipf_data, n_neg, dim, N_PAIRS)
        _RATES[key] = N_PAIRS / (_time_ms(ref, reps=3) / 1e3)
        del w, c
    w, c = _params(dim, dtype)
    step = _step_fn(provider, w, c, zipf_data, n_neg, dim, N_PAIRS)

    def run():
        step()
        torch.cuda.synchronize()

    rounds = 5 if provider == "reference" else 30
    benchmark.group = f"sgns D={dim} K={n_neg} {str(dtype).removeprefix('torch.')}"
    benchmark.pedantic(run, rounds=rounds, iterations=1, warmup_rounds=2)
    rate = N_PAIRS / benchmark.stats.stats.median
    model = _model_bytes(provider, dim, n_neg, torch.finfo(dtype).bits // 8)
    benchmark.extra_info.update(env_info)
    benchmark.extra_info.update(
        gpu=torch.cuda.get_device_name(),
        provider=provider,
        pairs_per_s=rate,
        model_bytes_per_pair=model,
        model_gb_per_s=rate * model / 1e9,
        ratio_vs_reference=rate / _RATES[key],
        reference_pairs_per_s=_RATES[key],
        n_pairs=N_PAIRS,
    )


def test_device_copy_bandwidth(benchmark, env_info):
    """The card's achievable bandwidth: a 2 GiB device-to-device copy (read + write)."""
    src = torch.empty(1 << 29, device="cuda")  # 2 GiB of float32
    dst = torch.empty_like(src)

    def run():
        dst.copy_(src)
        torch.cuda.synchronize()

    benchmark.group = "device copy"
    benchmark.pedantic(run, rounds=10, iterations=1, warmup_rounds=2)
    moved = 2 * src.numel() * src.element_size()
    benchmark.extra_info.update(env_info)
    benchmark.extra_info.update(
        gpu=torch.cuda.get_device_name(), copy_gb_per_s=moved / benchmark.stats.stats.median / 1e9
    )
