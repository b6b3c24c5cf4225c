"""Counting, vocabularies, subsampling and the shuffled pair stream."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from gramfast.contexts import (
    ContextsConfig,
    KeyCounter,
    PairStream,
    Vocab,
    block_spans,
    count_contexts,
    keep_probabilities,
    read_block,
    subsample_mask,
)
from gramfast.contexts.stream import block_pairs
from gramfast.corpus.store import ParsedStore
from tests.test_contexts_store import make_store


def _two_word_store(root: Path, rng: np.random.Generator, n: int = 2000) -> ParsedStore:
    """n sentences "the <w>", w among 50 words: 'the' has frequency 1/2."""
    sents = [
        (["the", f"w{int(rng.integers(50))}"], [1, 1], ["det", "ROOT"], ["DET", "NOUN"])
        for _ in range(n)
    ]
    return ParsedStore(
        make_store(root, [sents[i : i + 100] for i in range(0, n, 100)], shard_size=700)
    )


def test_key_counter_exact(rng: np.random.Generator) -> None:
    counter = KeyCounter(merge_every=50)
    parts = [rng.integers(-5, 200, size=int(rng.integers(0, 300))) for _ in range(20)]
    for p in parts:
        counter.add(p.astype(np.int64))
    keys, counts = counter.result()
    ref_keys, ref_counts = np.unique(np.concatenate(parts), return_counts=True)
    np.testing.assert_array_equal(keys, ref_keys)
    np.testing.assert_array_equal(counts, ref_counts)


def test_vocab_lookup_and_tsv(tmp_path: Path) -> None:
    keys = np.array([10, 3, 7, 99], dtype=np.int64)
    counts = np.array([5, 9, 5, 1])
    vocab = Vocab.build(keys, counts, lambda k: [f"t{x}" for x in k.tolist()], min_count=2)
    assert vocab.tokens == ["t3", "t10", "t7"]  # 9, then the tie 5/5 by string
    np.testing.assert_array_equal(vocab.lookup(np.array([7, 99, 3, 10, -1])), [2, -1, 0, 1, -1])
    vocab.save_tsv(tmp_path / "v.tsv")
    back = Vocab.load_tsv(tmp_path / "v.tsv")
    assert back.tokens == vocab.tokens and back.counts.tolist() == [9, 5, 5]


def test_keep_probabilities_formula() -> None:
    counts = np.array([500, 50, 1])
    got = keep_probabilities(counts, 1e-2, total=1000)
    f = counts / 1000
    np.testing.assert_allclose(got, np.minimum(1, (np.sqrt(f / 1e-2) + 1) * 1e-2 / f))
    assert keep_probabilities(counts, 0.0).tolist() == [1.0, 1.0, 1.0]
    with pytest.raises(ValueError, match="threshold t must be >= 0"):
        keep_probabilities(counts, -1.0)


def test_subsample_keep_rate(rng: np.random.Generator) -> None:
    p = np.array([0.05, 0.5, 1.0])
    ids = np.repeat(np.arange(3), 20000)
    kept = subsample_mask(ids, p, rng)
    for i in range(3):
        n = 20000
        sd = np.sqrt(n * p[i] * (1 - p[i]))
        assert abs(kept[ids == i].sum() - n * p[i]) <= 5 * sd + 1e-9


def test_stream_covers_every_pair_once(tmp_path: Path, rng: np.random.Generator) -> None:
    store = _two_word_store(tmp_path / "s", rng)
    counts = count_contexts(store, ContextsConfig(kind="deps"))
    expected: Counter = Counter()
    for block in block_spans(store, 64):
        w, c, _ = block_pairs(counts, read_block(store, block))
        expected.update(zip(w.tolist(), c.tolist()))
    stream = PairStream(store, counts, batch_size=96, block_tokens=64, seed=3)
    batches = list(stream.epoch(0))
    assert all(w.dtype == c.dtype == np.int32 for w, c in batches)
    assert [w.shape[0] for w, _ in batches[:-1]] == [96] * (len(batches) - 1)
    assert 0 < batches[-1][0].shape[0] <= 96
    got = Counter(zip(*(np.concatenate(x).tolist() for x in zip(*batches))))
    assert got == expected
    again = list(PairStream(store, counts, batch_size=96, block_tokens=64, seed=3).epoch(0))
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(batches, again))
    other = list(stream.epoch(1))
    assert not all(np.array_equal(a[0], b[0]) for a, b in zip(batches, other))
    dropped = list(PairStream(store, counts, 96, block_tokens=64, drop_last=True).epoch(0))
    assert all(w.shape[0] == 96 for w, _ in dropped)


def test_stream_subsampling_keep_rates(tmp_path: Path, rng: np.random.Generator) -> None:
    store = _two_word_store(tmp_path / "s", rng)
    counts = count_contexts(store, ContextsConfig(kind="window", window=1))
    t = 1e-3
    stream = PairStream(store, counts, batch_size=1000, block_tokens=300, subsample=t, seed=1)
    kept = Counter(np.concatenate([w for w, _ in stream.epoch(0)]).tolist())
    p = keep_probabilities(counts.words.counts, t, counts.n_tokens)
    for i, n in enumerate(counts.words.counts.tolist()):  # one window pair per occurrence
        sd = np.sqrt(n * p[i] * (1 - p[i]))
        assert abs(kept.get(i, 0) - n * p[i]) <= 5 * sd + 1e-9, counts.words.tokens[i]
    assert counts.words.tokens[0] == "the" and p[0] < 0.05


def test_stream_bad_batch_size(tmp_path: Path, rng: np.random.Generator) -> None:
    from gramfast.errors import InputError

    store = _two_word_store(tmp_path / "s", rng, n=10)
    counts = count_contexts(store, ContextsConfig())
    with pytest.raises(InputError, match="batch_size must be >= 1"):
        PairStream(store, counts, 0)


def test_chain_ids_do_not_depend_on_batch_padding(tmp_path) -> None:
    """One chain seen in batches of different longest-chain widths keeps one id and name."""
    from gramfast.contexts.extract import ContextsConfig, Extractor
    from tests.helpers import synthetic_store

    store = ParsedStore(synthetic_store(tmp_path / "s", n_sentences=40))
    ex = Extractor(store, ContextsConfig(kind="deps"))
    of = 3
    a = ex._chain_id((-1, of))
    b = ex._chain_id((-1, of, -1))
    c = ex._chain_id((-1, of, -1, -1))
    assert a == b == c
    assert len(ex.chain_names) == 1
