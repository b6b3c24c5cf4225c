"""The device feed (``gramfast/pretrain/resident.py``) against the host pair stream.

ResidentPairs is plain torch, so these tests run on the CPU; on a CUDA machine they also run
there. Pairs are compared as multisets (the two feeds order them differently by design).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

from gramfast.contexts.stream import PairStream
from gramfast.corpus.store import ParsedStore
from gramfast.pretrain import PretrainConfig
from gramfast.pretrain.resident import ResidentPairs
from gramfast.pretrain.trainer import BLOCK_TOKENS, _build_space
from tests.helpers import synthetic_store

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> ParsedStore:
    return ParsedStore(synthetic_store(tmp_path_factory.mktemp("res") / "store", n_sentences=800))


def _space(store: ParsedStore, **kw):
    opts = {"dim": 8, "min_count": 2, "sample": 0.0, "batch_pairs": 256, **kw}
    cfg = PretrainConfig(input=(str(store.root),), out=Path("unused"), **opts)
    return cfg, _build_space("word", store, cfg, cfg.seed)


def _host_pairs(space, epoch: int = 0) -> Counter:
    got: Counter = Counter()
    for w, c in space.stream.epoch(epoch):
        got.update(zip(w.tolist(), c.tolist(), strict=True))
    return got


def _device_pairs(res: ResidentPairs, epoch: int, batch: int = 256) -> tuple[Counter, list[int]]:
    got: Counter = Counter()
    sizes = []
    for w, c in res.epoch(epoch, batch, seed=0):
        assert w.dtype == torch.int32 and c.dtype == torch.int32
        sizes.append(int(w.shape[0]))
        got.update(zip(w.cpu().tolist(), c.cpu().tolist(), strict=True))
    return got, sizes


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("segment_pairs", [300, 1 << 25], ids=["segments", "one-segment"])
def test_dependency_pairs_equal_the_host_stream(store, device: str, segment_pairs: int) -> None:
    _, space = _space(store, contexts="deps")
    res = ResidentPairs(space, torch.device(device), segment_pairs=segment_pairs)
    assert (len(res.segments) > 3) == (segment_pairs == 300)
    want = _host_pairs(space)
    got, sizes = _device_pairs(res, 0, 256)
    assert got == want and sum(want.values()) == res.n_pairs
    assert all(s == 256 for s in sizes[:-1]) and 0 < sizes[-1] <= 256
    again, _ = _device_pairs(res, 0, 256)
    order = [torch.cat([w, c]) for w, c in res.epoch(0, 256, seed=0)]
    same = [torch.cat([w, c]) for w, c in res.epoch(0, 256, seed=0)]
    other = [torch.cat([w, c]) for w, c in res.epoch(1, 256, seed=0)]
    assert all(torch.equal(a, b) for a, b in zip(order, same, strict=True))  # resumable
    assert not all(torch.equal(a, b) for a, b in zip(order, other, strict=False))  # reshuffled


def test_window_pairs_at_full_width_equal_the_host_stream(store) -> None:
    _, space = _space(store, contexts="window", window=3)
    res = ResidentPairs(space, torch.device("cpu"), segment_pairs=1000)
    got, _ = _device_pairs(res, 0, 500)
    assert got == _host_pairs(space)


def test_shrinking_window_keeps_the_expected_share_and_only_window_pairs(store) -> None:
    k = 4
    _, space = _space(store, contexts="window", window=k, dynamic_window=True)
    res = ResidentPairs(space, torch.device("cpu"), dynamic_window=True, segment_pairs=2000)
    full = Counter()
    for w, c, *_ in res.segments:
        full.update(zip(w.tolist(), c.tolist(), strict=True))
    dist = torch.cat([s[3] for s in res.segments]).long()
    p = (k - dist + 1).double() / k  # a pair at distance d survives a span drawn in 1..k
    expected, sd = float(p.sum()), float((p * (1 - p)).sum().sqrt())
    epochs = 12
    totals = []
    for epoch in range(epochs):
        got, _ = _device_pairs(res, epoch, 512)
        assert not (got - full)  # every pair is a full-width window pair
        totals.append(sum(got.values()))
    assert abs(np.mean(totals) - expected) < 5 * sd / np.sqrt(epochs), (totals, expected)
    host = [sum(_host_pairs(space, e).values()) for e in range(epochs)]
    assert abs(np.mean(host) - expected) < 5 * sd / np.sqrt(epochs), (host, expected)


def test_subsampling_drops_whole_occurrences_at_the_keep_rate(store) -> None:
    _, space = _space(store, contexts="deps", sample=2e-3)
    keep_prob = torch.from_numpy(space.stream.keep_prob)
    assert float(keep_prob.min()) < 0.5  # the test needs words that are often dropped
    res = ResidentPairs(space, torch.device("cpu"), segment_pairs=1 << 25)
    words, _, tokens, _, _ = res.segments[0]
    p = keep_prob[words.long()]
    expected = float(p.sum())
    gen = torch.Generator().manual_seed(5)
    kept_counts = []
    for _ in range(10):
        index = res.select(0, gen)
        assert index.unique().numel() == index.numel()
        kept_tokens = tokens[index].unique()
        # a surviving occurrence keeps every one of its pairs
        assert int(torch.isin(tokens, kept_tokens).sum()) == index.numel()
        kept_counts.append(index.numel())
    # token draws are shared by a token's pairs: bound the spread by whole tokens (generous)
    sd = float((p * (1 - p)).sum().sqrt()) * 3
    assert abs(np.mean(kept_counts) - expected) < 5 * sd / np.sqrt(10), (kept_counts, expected)


def test_the_trainer_uses_the_device_feed_only_when_asked(store) -> None:
    from gramfast.pretrain.gpu import DeviceSpace

    cfg, space = _space(store, contexts="deps")
    assert DeviceSpace(space, torch.device("cpu"), cfg).resident is not None
    thread = PretrainConfig(**{**cfg.__dict__, "gpu_feed": "thread"})
    assert DeviceSpace(space, torch.device("cpu"), thread).resident is None
    with pytest.raises(Exception, match="--gpu-feed must be device or thread"):
        PretrainConfig(**{**cfg.__dict__, "gpu_feed": "disk"})
    assert isinstance(space.stream, PairStream) and BLOCK_TOKENS > 0
