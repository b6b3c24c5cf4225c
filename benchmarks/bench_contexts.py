"""Context extraction: numba kernels against the Python reference, tokens/s and pairs/s.

Run: ``pytest --benchmark-only benchmarks/bench_contexts.py``. The data is the first shard of a
real parsed store of at least 1M tokens (``$GRAMFAST_BENCH_STORE``), loaded into memory;
without one, a synthetic 1M-token
forest with a spaCy-like label mix (``extra_info["data"]`` says which). Target for dependency
contexts: 30M tokens/s per core and at least 100x the reference. The reference is timed once
on the first 50k tokens of the same data (it is linear in tokens).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numba
import numpy as np
import pytest
from gramfast.kernels.contexts import (
    ROLE_PLAIN,
    ROLE_POBJ,
    ROLE_PREP,
    ROLE_SKIP,
    dependency_pairs,
    dependency_pairs_ref,
    window_pairs,
    window_pairs_ref,
)

N_TOKENS = 1 << 20
REF_TOKENS = 50_000


def _synthetic(rng: np.random.Generator) -> dict:
    """Random recursive trees, sentence lengths 5..40, labels: 10% prep, 10% pobj, 12% punct."""
    lengths = rng.integers(5, 41, size=N_TOKENS // 20)
    lengths = lengths[np.cumsum(lengths) <= N_TOKENS]
    offsets = np.zeros(lengths.shape[0] + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    n = int(offsets[-1])
    start = np.repeat(offsets[:-1], lengths)
    local = np.arange(n) - start
    heads = (start + np.floor(rng.random(n) * local)).astype(np.int32)  # token 0 is the root
    roles = np.array([ROLE_PLAIN] * 10 + [ROLE_PREP, ROLE_POBJ, ROLE_SKIP], dtype=np.int8)
    weights = np.array([6.8] * 10 + [10, 10, 12]) / 100
    labels = rng.choice(roles.shape[0], size=n, p=weights / weights.sum()).astype(np.uint8)
    pos = rng.integers(0, 16, size=n).astype(np.uint8)
    return {"heads": heads, "labels": labels, "pos": pos, "offsets": offsets, "roles": roles,
            "space": -1, "data": "synthetic"}  # fmt: skip


def _real(path: Path) -> dict | None:
    from gramfast.contexts import label_roles
    from gramfast.corpus.store import ParsedStore

    store = ParsedStore(path)
    if store.n_tokens < N_TOKENS:
        return None
    batch = next(store.iter_batches(N_TOKENS))
    return {
        "heads": np.array(batch.heads),
        "labels": np.array(batch.labels),
        "pos": np.array(batch.pos),
        "offsets": np.array(batch.sent_offsets),
        "roles": label_roles(store.labels, store.manifest.get("label_scheme", "spacy")),
        "space": store.pos.index("SPACE") if "SPACE" in store.pos else -1,
        "data": f"{path} (first {batch.words.shape[0]} tokens)",
    }


@pytest.fixture(scope="module")
def data() -> dict:
    env = os.environ.get("GRAMFAST_BENCH_STORE")
    path = Path(env) if env else None
    found = _real(path) if path is not None and (path / "manifest.json").is_file() else None
    return found or _synthetic(np.random.default_rng(0))


def _head(d: dict, n_tok: int) -> dict:
    """The first whole sentences of at most n_tok tokens."""
    so = d["offsets"]
    e = int(np.searchsorted(so, n_tok, side="right")) - 1
    b = int(so[e])
    return d | {"heads": d["heads"][:b], "labels": d["labels"][:b], "pos": d["pos"][:b],
                "offsets": so[: e + 1]}  # fmt: skip


def _deps(fn, d):
    return fn(d["heads"], d["labels"], d["pos"], d["offsets"], d["roles"], d["space"])


def _window(fn, d, k=5):
    spans = np.full(d["pos"].shape[0], k, dtype=np.int32)
    return fn(d["pos"], d["offsets"], spans, d["space"])


OPS = {"deps": (_deps, dependency_pairs, dependency_pairs_ref),
       "window": (_window, window_pairs, window_pairs_ref)}  # fmt: skip


@pytest.mark.parametrize("threads", ["1", "all"])
@pytest.mark.parametrize("op", ["deps", "window"])
def test_contexts_numba(benchmark, data: dict, op: str, threads: str) -> None:
    call, fast, ref = OPS[op]
    small = _head(data, REF_TOKENS)
    # Correctness gate: numba equals the reference on the slice the reference is timed on.
    ref_out = call(ref, small)
    for r, o in zip(ref_out, call(fast, small)):
        np.testing.assert_array_equal(o, r)
    t0 = time.perf_counter()
    call(ref, small)
    ref_rate = small["pos"].shape[0] / (time.perf_counter() - t0)

    n_threads = 1 if threads == "1" else numba.config.NUMBA_NUM_THREADS
    numba.set_num_threads(n_threads)
    try:
        out = benchmark.pedantic(lambda: call(fast, data), rounds=5, warmup_rounds=1)
    finally:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    n_tok = data["pos"].shape[0]
    rate = n_tok / benchmark.stats.stats.min
    benchmark.group = f"contexts {op}"
    benchmark.extra_info.update(
        {
            "data": data["data"],
            "tokens": n_tok,
            "threads": n_threads,
            "tokens_per_s": rate,
            "tokens_per_s_per_thread": rate / n_threads,
            "pairs_per_s": out[0].shape[0] / benchmark.stats.stats.min,
            "reference_tokens_per_s": ref_rate,
            "speedup_vs_reference": rate / ref_rate,
            "numba": numba.__version__,
        }
    )
