"""SGNS on CPU: pairs/s of the numba trainer, the PyTorch reference and gensim's skip-gram.

Run from the repository root: ``pytest benchmarks/bench_sgns.py --benchmark-only``.

The corpus is the first ``N_TOKENS`` tokens (1M; ``GRAMFAST_BENCH_SGNS_TOKENS`` changes it) of
``<data>/corpus/nltk_brown/brown.txt`` (one sentence a line, split on whitespace) when the shared
data is present, else a seeded Zipf corpus of the same size. (The first version timed 60k
tokens: 1,697 words, so few that two Hogwild threads kept writing the same rows.) Words under
``MIN_COUNT`` are dropped, as gensim does. Pairs are skip-gram
(centre, context) pairs with word2vec's shrinking window: each centre draws b uniform in
1..window and pairs with the words within b of it in its sentence. gensim trains the same
sentences (sg=1, the same D, K, window and min_count, sample=0, one epoch, ``threads`` workers);
its (centre, context) pairs are counted exactly in expectation over its window draws. The numba
trainer runs on the pairs drawn here, in corpus order, with negatives drawn from the context
counts ** 0.75. ``extra_info`` holds pairs/s, GB/s from a traffic model (every pair reads and
writes its word, context and K negative rows once: 2 (K + 2) D 4 bytes) and, for numba, the
ratio to gensim measured in the same run (target: >= 1.5 on 2 threads).

Providers are parametrised; a new one (the Triton trainer) is a function in ``PROVIDERS``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import numpy as np
import pytest
import torch
from gramfast.kernels.sgns.compiled import sgns_lr, sgns_train_pairs
from gramfast.kernels.sgns.reference import sgns_step
from gramfast.kernels.sgns.sampler import build_alias_table, draw_negatives

from gramfast.pretrain.trainer import HOT_ROWS, HOT_SYNC_PAIRS, LOSS_STRIDE
from tests.helpers import data_dir

N_TOKENS = int(os.environ.get("GRAMFAST_BENCH_SGNS_TOKENS", 1_000_000))
MIN_COUNT, LR, SEED = 5, 0.025, 0
REFERENCE_PAIRS, REFERENCE_BATCH = 20_000, 1024
THREADS = [pytest.param(1, id="1thr"), pytest.param(2, id="2thr")]
_RATES: dict[tuple[str, int, int], float] = {}  # (provider, K, threads) -> pairs/s


def _sentences() -> tuple[list[list[str]], str]:
    root = data_dir()
    path = None if root is None else root / "corpus" / "nltk_brown" / "brown.txt"
    if path is not None and path.is_file():
        out, n = [], 0
        with open(path, encoding="utf-8") as f:
            for line in f:
                words = line.split()
                if words and n < N_TOKENS:
                    out.append(words)
                    n += len(words)
        return out, "brown"
    rng = np.random.default_rng(SEED)
    lengths = rng.integers(5, 40, N_TOKENS // 20)
    words = rng.zipf(1.1, int(lengths.sum())) % 20_000
    cut = np.cumsum(lengths)[:-1]
    return [[f"w{i}" for i in s] for s in np.split(words, cut)], "zipf"


def _window_pairs(sentences: list[np.ndarray], window: int, rng) -> tuple[np.ndarray, ...]:
    """(centre, context) pairs with word2vec's shrinking window, in corpus order (each centre's
    contexts left to right); and the expected pair count over the window draws."""
    ids = np.concatenate(sentences)
    lengths = np.array([len(s) for s in sentences])
    first = np.repeat(np.cumsum(lengths) - lengths, lengths)  # sentence start of each token
    pos = np.arange(ids.size) - first  # position in its sentence
    after = np.repeat(lengths, lengths) - 1 - pos  # tokens after it in its sentence
    reach = rng.integers(1, window + 1, ids.size)
    expected = sum(
        float((np.minimum(pos, b) + np.minimum(after, b)).sum()) / window
        for b in range(1, window + 1)
    )
    centre, offset = [], []
    for b in [*range(-window, 0), *range(1, window + 1)]:
        ok = (reach >= abs(b)) & (pos + b >= 0) & (b <= after)
        centre.append(np.flatnonzero(ok))
        offset.append(np.full(centre[-1].size, b))
    centre, offset = np.concatenate(centre), np.concatenate(offset)
    order = np.argsort(centre * (2 * window + 1) + offset + window, kind="stable")
    centre, offset = centre[order], offset[order]
    return ids[centre], ids[centre + offset], expected


@pytest.fixture(scope="module")
def corpus() -> dict:
    sentences, source = _sentences()
    vocab, counts = np.unique(np.concatenate([np.array(s) for s in sentences]), return_counts=True)
    keep = counts >= MIN_COUNT
    index = {w: i for i, w in enumerate(vocab[keep])}
    kept = [[w for w in s if w in index] for s in sentences]
    kept = [s for s in kept if len(s) > 1]
    ids = [np.array([index[w] for w in s], np.int64) for s in kept]
    centres, contexts, expected = _window_pairs(ids, 5, np.random.default_rng(SEED))
    word_counts = np.bincount(np.concatenate(ids), minlength=len(index))
    return {
        "source": source,
        "sentences": kept,
        "tokens": int(sum(map(len, kept))),
        "n_words": len(index),
        "word_ids": centres.astype(np.int32),
        "context_ids": contexts.astype(np.int32),
        "expected_pairs": expected,
        "table": build_alias_table(word_counts),
        "hot_rows": np.argsort(-word_counts, kind="stable")[:HOT_ROWS],
    }


def _matrices(n_words: int, dim: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(SEED)
    word = rng.uniform(-0.5 / dim, 0.5 / dim, (n_words, dim)).astype(np.float32)
    context = rng.uniform(-0.5 / dim, 0.5 / dim, (n_words, dim)).astype(np.float32)
    return word, context


def _check_numba(corpus: dict, dim: int, n_neg: int) -> None:
    """Before timing: one thread equals the reference applied pair by pair on 200 pairs."""
    word, context = _matrices(corpus["n_words"], dim)
    w_ids, c_ids = corpus["word_ids"][:200], corpus["context_ids"][:200]
    negatives = draw_negatives(*corpus["table"], 200, n_neg, seed=SEED)
    lrs = torch.from_numpy(sgns_lr(np.arange(200), LR, 0.0, 200))
    w_ref, c_ref = torch.from_numpy(word.copy()), torch.from_numpy(context.copy())
    ids = [torch.from_numpy(np.asarray(x, np.int64)) for x in (w_ids, c_ids, negatives)]
    for p in range(200):
        sgns_step(w_ref, c_ref, *(x[p : p + 1] for x in ids), lrs[p : p + 1])
    sgns_train_pairs(word, context, w_ids, c_ids, lr_start=LR, negatives=negatives)
    np.testing.assert_allclose(word, w_ref.numpy(), atol=1e-6, rtol=1e-4)
    np.testing.assert_allclose(context, c_ref.numpy(), atol=1e-6, rtol=1e-4)


def _numba(benchmark, corpus: dict, dim: int, n_neg: int, threads: int) -> float:
    _check_numba(corpus, dim, n_neg)
    w_ids, c_ids = corpus["word_ids"], corpus["context_ids"]
    prob, index = corpus["table"]
    word, context = _matrices(corpus["n_words"], dim)

    def run() -> None:
        sgns_train_pairs(
            word,
            context,
            w_ids,
            c_ids,
            lr_start=LR,
            alias_prob=prob,
            alias_index=index,
            n_neg=n_neg,
            seed=SEED,
            n_threads=threads,
            loss_stride=LOSS_STRIDE,  # as `gramfast pretrain` runs it (gensim computes no loss)
            hot_rows=corpus["hot_rows"],  # the most frequent rows, per thread, as the trainer
            sync_every=HOT_SYNC_PAIRS,
        )

    benchmark.pedantic(run, rounds=3, warmup_rounds=1)
    return len(w_ids) / benchmark.stats.stats.min


def _reference(benchmark, corpus: dict, dim: int, n_neg: int, threads: int) -> float:
    w_ids = torch.from_numpy(corpus["word_ids"][:REFERENCE_PAIRS].astype(np.int64))
    c_ids = torch.from_numpy(corpus["context_ids"][:REFERENCE_PAIRS].astype(np.int64))
    neg = torch.from_numpy(draw_negatives(*corpus["table"], len(w_ids), n_neg, seed=SEED))
    word, context = (torch.from_numpy(m) for m in _matrices(corpus["n_words"], dim))
    before = torch.get_num_threads()

    def run() -> None:
        for s in range(0, len(w_ids), REFERENCE_BATCH):
            b = slice(s, s + REFERENCE_BATCH)
            sgns_step(word, context, w_ids[b], c_ids[b], neg[b], LR)

    torch.set_num_threads(threads)
    try:
        benchmark.pedantic(run, rounds=2, warmup_rounds=1)
    finally:
        torch.set_num_threads(before)
    return len(w_ids) / benchmark.stats.stats.min


def _gensim_model(corpus: dict, dim: int, n_neg: int, threads: int):
    from gensim.models import Word2Vec

    model = Word2Vec(
        vector_size=dim,
        window=5,
        min_count=MIN_COUNT,
        sg=1,
        negative=n_neg,
        sample=0,
        workers=threads,
        seed=SEED + 1,
        alpha=LR,
        min_alpha=LR * 1e-4,
    )
    model.build_vocab(corpus["sentences"])
    return model


def _gensim(benchmark, corpus: dict, dim: int, n_neg: int, threads: int) -> float:
    pytest.importorskip("gensim", reason="gensim is the peer; install the dev extra")
    model = _gensim_model(corpus, dim, n_neg, threads)
    n = len(corpus["sentences"])
    benchmark.pedantic(
        lambda: model.train(corpus["sentences"], total_examples=n, epochs=1), rounds=2
    )
    return corpus["expected_pairs"] / benchmark.stats.stats.min


def _gensim_rate(corpus: dict, dim: int, n_neg: int, threads: int) -> float:
    """gensim's pairs/s for the ratio, timed here when its own benchmark has not run yet."""
    if ("gensim", n_neg, threads) not in _RATES:
        model = _gensim_model(corpus, dim, n_neg, threads)
        start = time.perf_counter()
        model.train(corpus["sentences"], total_examples=len(corpus["sentences"]), epochs=1)
        _RATES["gensim", n_neg, threads] = corpus["expected_pairs"] / (time.perf_counter() - start)
    return _RATES["gensim", n_neg, threads]


PROVIDERS: dict[str, Callable[..., float]] = {
    "gensim": _gensim,
    "reference": _reference,
    "numba": _numba,
}


@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize("provider", list(PROVIDERS))
def test_sgns_cpu(benchmark, corpus: dict, env_info: dict, shape, provider: str, threads: int):
    benchmark.group = f"sgns cpu D={shape.dim} K={shape.n_neg} threads={threads}"
    rate = PROVIDERS[provider](benchmark, corpus, shape.dim, shape.n_neg, threads)
    _RATES[provider, shape.n_neg, threads] = rate

    info = benchmark.extra_info
    info.update(env_info)
    info.update(corpus=corpus["source"], tokens=corpus["tokens"], words=corpus["n_words"])
    info["pairs_per_s"] = round(rate)
    info["gb_per_s"] = round(rate * 2 * (shape.n_neg + 2) * shape.dim * 4 / 1e9, 3)
    if provider == "numba":
        info["pairs"] = len(corpus["word_ids"])
        if ("reference", shape.n_neg, threads) in _RATES:
            info["ratio_to_reference"] = round(rate / _RATES["reference", shape.n_neg, threads], 2)
        try:
            peer = _gensim_rate(corpus, shape.dim, shape.n_neg, threads)
        except ImportError:
            return
        info["gensim_pairs_per_s"] = round(peer)
        info["ratio_to_gensim"] = round(rate / peer, 2)
