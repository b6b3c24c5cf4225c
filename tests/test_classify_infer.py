"""The projected CPU inference path against the model it was built from."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gramfast.classify.features import Encoded
from gramfast.classify.infer import ProjectedLSTM
from gramfast.classify.model import SentenceLSTM
from gramfast.classify.train import batch_tensors, predict_proba

CPU = torch.device("cpu")


def _model(rng: np.random.Generator, tables: dict, layers: int = 1) -> SentenceLSTM:
    torch.manual_seed(int(rng.integers(1 << 30)))
    m = SentenceLSTM(tables, n_labels=int(rng.integers(2, 6)), hidden=int(rng.integers(3, 17)),
                     layers=layers, dropout=0.5)  # fmt: skip
    gen = torch.Generator().manual_seed(int(rng.integers(1 << 30)))
    for e in m.embed.values():
        e.reset(gen)
    with torch.no_grad():  # non-zero biases, so that folding them into a cache is exercised
        for name, p in m.lstm.named_parameters():
            if name.startswith("bias"):
                p.uniform_(-0.5, 0.5, generator=gen)
    return m.eval()


def _tables(rng: np.random.Generator) -> dict:
    names = ["words", "grammar", "contexts"][: int(rng.integers(1, 4))]
    return {f: (int(rng.integers(2, 6)), int(rng.integers(0, 60)), int(rng.integers(1, 20)))
            for f in names}  # fmt: skip


def _encoded(rng: np.random.Generator, tables: dict, n_docs: int, max_len: int) -> Encoded:
    lengths = rng.integers(1, max_len + 1, size=n_docs)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    ids = {f: rng.integers(0, nf + nv, size=int(offsets[-1])).astype(np.int64)
           for f, (nf, nv, _) in tables.items()}  # fmt: skip
    return Encoded(ids, offsets)


def _direct(model: SentenceLSTM, enc: Encoded, index: np.ndarray) -> torch.Tensor:
    ids, lengths = batch_tensors(enc, index, CPU)
    with torch.no_grad():
        return model(ids, lengths)


def _poison(fast: ProjectedLSTM, capacity: int = 4096) -> None:
    """Fill every cache with NaN rows ahead of use: a row read before it is written shows."""
    for cache in fast.caches.values():
        cache.rows = torch.full((capacity, cache.rows.shape[1]), float("nan"))


@pytest.mark.parametrize("trial", range(6))
def test_projected_equals_the_model(rng: np.random.Generator, trial: int) -> None:
    tables = _tables(rng)
    model = _model(rng, tables)
    enc = _encoded(rng, tables, int(rng.integers(1, 40)), int(rng.integers(1, 25)))
    fast = ProjectedLSTM(model)
    _poison(fast)
    index = rng.permutation(enc.n_docs)[: int(rng.integers(1, enc.n_docs + 1))]
    got = fast.logits(enc, index)
    assert torch.isfinite(got).all()
    torch.testing.assert_close(got, _direct(model, enc, index), rtol=1e-5, atol=1e-5)


def test_edge_shapes(rng: np.random.Generator) -> None:
    tables = {"words": (3, 20, 7), "grammar": (2, 5, 3)}
    model = _model(rng, tables)
    fast = ProjectedLSTM(model)
    _poison(fast)
    for lengths in ([1], [1, 1, 1], [5, 5, 5, 5], [1, 12, 1, 7, 12], [30]):
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        ids = {f: rng.integers(0, nf + nv, size=int(offsets[-1])) for f, (nf, nv, _) in
               tables.items()}  # fmt: skip
        enc = Encoded(ids, offsets)
        index = np.arange(len(lengths))
        torch.testing.assert_close(
            fast.logits(enc, index), _direct(model, enc, index), rtol=1e-5, atol=1e-5
        )
    empty = fast.logits(enc, np.zeros(0, np.int64))
    assert empty.shape == (0, model.out.out_features)
    pad_only = Encoded({f: np.zeros(3, np.int64) for f in tables}, np.array([0, 1, 3]))
    torch.testing.assert_close(
        fast.logits(pad_only, np.arange(2)), _direct(model, pad_only, np.arange(2)),
        rtol=1e-5, atol=1e-5,
    )  # fmt: skip


def test_cache_projects_each_row_once_and_stays_right(rng: np.random.Generator) -> None:
    tables = {"words": (2, 500, 16), "grammar": (2, 30, 6)}
    model = _model(rng, tables)
    fast = ProjectedLSTM(model)
    seen = {f: set() for f in tables}
    for _ in range(4):  # a stream of chunks: the cache grows past its first capacity
        enc = _encoded(rng, tables, 60, 15)
        got = fast.logits(enc, np.arange(enc.n_docs))
        torch.testing.assert_close(got, _direct(model, enc, np.arange(60)), rtol=1e-5, atol=1e-5)
        for f in tables:
            seen[f] |= set(enc.ids[f].tolist())
            assert len(fast.caches[f]) == len(seen[f])


def test_predict_proba_uses_it_and_matches(rng: np.random.Generator) -> None:
    tables = {"words": (4, 80, 10), "grammar": (2, 12, 5)}
    model = _model(rng, tables)
    enc = _encoded(rng, tables, 300, 20)
    probs = predict_proba(model, enc, 64, CPU)
    want = torch.softmax(_direct(model, enc, np.arange(300)), -1).numpy()
    np.testing.assert_allclose(probs, want, rtol=1e-5, atol=1e-6)
    fast = ProjectedLSTM(model)
    again = predict_proba(model, enc, 64, CPU, projected=fast)
    np.testing.assert_allclose(again, probs, rtol=0, atol=1e-6)
    assert len(fast.caches["words"]) == len(np.unique(enc.ids["words"]))


def test_two_layers_fall_back_to_the_model(rng: np.random.Generator) -> None:
    tables = {"words": (2, 30, 6)}
    model = _model(rng, tables, layers=2)
    assert not ProjectedLSTM.supports(model)
    with pytest.raises(ValueError, match="one-layer"):
        ProjectedLSTM(model)
    enc = _encoded(rng, tables, 20, 8)
    probs = predict_proba(model, enc, 8, CPU)
    want = torch.softmax(_direct(model, enc, np.arange(20)), -1).numpy()
    np.testing.assert_allclose(probs, want, rtol=1e-5, atol=1e-6)
