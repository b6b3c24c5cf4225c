"""The classifier's parts without spaCy: embeddings, the LSTM, batching, encoding, metrics, I/O."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from gramfast.classify.features import PAD, UNK, Encoded, Lexicon, _truncate
from gramfast.classify.metrics import scores
from gramfast.classify.model import SentenceLSTM, SplitEmbedding
from gramfast.classify.saved import load_model, save_model
from gramfast.classify.train import batch_tensors, make_batches
from gramfast.errors import InputError
from tests.helpers import PAPER_CONTEXTS

TABLES = {"words": (5, 40, 12), "grammar": (2, 9, 4)}


def _model(seed: int = 0, freeze: bool = False) -> SentenceLSTM:
    torch.manual_seed(seed)
    m = SentenceLSTM(TABLES, n_labels=3, hidden=8, dropout=0.3, freeze=freeze)
    gen = torch.Generator().manual_seed(seed)
    for e in m.embed.values():
        e.reset(gen)
    return m


def _random_encoded(rng: np.random.Generator, n_docs: int, max_len: int = 9) -> Encoded:
    lengths = rng.integers(1, max_len + 1, size=n_docs)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    n = int(offsets[-1])
    ids = {
        f: rng.integers(0, nf + nv, size=n).astype(np.int64) for f, (nf, nv, _) in TABLES.items()
    }
    return Encoded(ids, offsets)


def test_padded_batch_equals_each_sentence_alone(rng: np.random.Generator) -> None:
    model = _model().eval()
    enc = _random_encoded(rng, 7)
    index = np.arange(7)
    ids, lengths = batch_tensors(enc, index, torch.device("cpu"))
    assert ids["words"].shape == (7, int(enc.lengths.max()))
    out = torch.full((7, 3), float("nan"))
    with torch.no_grad():
        out = model(ids, lengths)
        for i in range(7):
            one_ids, one_len = batch_tensors(enc, np.array([i]), torch.device("cpu"))
            alone = model(one_ids, one_len)
            torch.testing.assert_close(out[i : i + 1], alone, rtol=1e-5, atol=1e-6)
    assert torch.isfinite(out).all()


def test_batch_tensors_matches_a_loop(rng: np.random.Generator) -> None:
    enc = _random_encoded(rng, 11)
    index = rng.permutation(11)[:6]
    ids, lengths = batch_tensors(enc, index, torch.device("cpu"))
    for row, doc in enumerate(index.tolist()):
        a, b = enc.offsets[doc], enc.offsets[doc + 1]
        assert lengths[row] == b - a
        for f in TABLES:
            got = ids[f][row].numpy()
            assert np.array_equal(got[: b - a], enc.ids[f][a:b])
            assert (got[b - a :] == PAD).all()


@pytest.mark.parametrize("n", [1, 49, 50, 51, 777])
def test_make_batches_cover_every_sentence_once(rng: np.random.Generator, n: int) -> None:
    lengths = rng.integers(1, 40, size=n)
    for r in (rng, None):
        batches = make_batches(lengths, 50, r)
        assert all(1 <= len(b) <= 50 for b in batches)
        assert np.array_equal(np.sort(np.concatenate(batches)), np.arange(n))
    ordered = np.concatenate(make_batches(lengths, 50, None))
    assert (np.diff(lengths[ordered]) >= 0).all()


def test_truncate_and_empty_documents() -> None:
    token_ids = np.arange(10, 20, dtype=np.int64)
    offsets = np.array([0, 4, 4, 10])  # the second document has no tokens
    kept = np.clip(np.diff(offsets), 1, 3)
    out = _truncate(token_ids, offsets, kept)
    assert out.tolist() == [10, 11, 12, PAD, 14, 15, 16]


def test_encoded_subset(rng: np.random.Generator) -> None:
    enc = _random_encoded(rng, 9)
    index = np.array([8, 0, 3])
    sub = enc.subset(index)
    for j, i in enumerate(index.tolist()):
        for f in TABLES:
            a, b = enc.offsets[i], enc.offsets[i + 1]
            assert np.array_equal(sub.ids[f][sub.offsets[j] : sub.offsets[j + 1]], enc.ids[f][a:b])


def test_lexicon_layout() -> None:
    lex = Lexicon(["the", "cat"], extra=["zyx"])
    assert lex.lookup(["zyx", "the", "cat", "dog"]).tolist() == [2, 3, 4, UNK]
    assert lex.n_rows == 5 and lex.first_vocab_row == 3


def test_pretrained_rows_land_and_stay_frozen(rng: np.random.Generator) -> None:
    vocab = torch.from_numpy(rng.standard_normal((6, 5)).astype(np.float32))
    for freeze in (True, False):
        emb = SplitEmbedding(n_free=3, n_vocab=6, dim=5, freeze=freeze)
        emb.reset(torch.Generator().manual_seed(1), vocab)
        ids = torch.tensor([[0, 1, 2, 3, 8]])
        got = emb(ids)[0]
        assert torch.equal(got[0], torch.zeros(5))
        assert torch.equal(got[3], vocab[0]) and torch.equal(got[4], vocab[5])
        opt = torch.optim.AdamW([p for p in emb.parameters() if p.requires_grad], lr=0.1)
        free_before = emb.free.detach().clone()
        for _ in range(3):
            opt.zero_grad()
            emb(ids).pow(2).sum().backward()
            opt.step()
        assert torch.equal(emb.vocab.detach(), vocab) == freeze
        assert not torch.equal(emb.free.detach()[1:], free_before[1:])  # UNK and extra learn


def test_rescaled_rows_keep_direction_and_take_a_random_rows_length(
    rng: np.random.Generator,
) -> None:
    from gramfast.classify.train import rescale

    dim = int(rng.integers(2, 400))
    rows = torch.from_numpy(
        (rng.standard_normal((50, dim)) * rng.uniform(1e-3, 10, (50, 1))).astype(np.float32)
    )
    rows[7] = 0.0
    out = rescale(rows)
    norms = out.norm(dim=1)
    random_rows = torch.empty(4000, dim).uniform_(-0.25, 0.25, generator=torch.Generator())
    target = 0.25 * (dim / 3) ** 0.5
    assert abs(random_rows.pow(2).sum(1).mean().sqrt().item() - target) < 0.02 * target
    keep = torch.arange(50) != 7
    torch.testing.assert_close(norms[keep], torch.full((49,), target), rtol=1e-5, atol=0)
    cos = torch.nn.functional.cosine_similarity(out[keep], rows[keep], dim=1)
    torch.testing.assert_close(cos, torch.ones(49), rtol=0, atol=1e-5)
    assert torch.equal(out[7], torch.zeros(dim))


def test_rescale_rows_needs_pretrained_rows(tmp_path: Path) -> None:
    from gramfast.classify.config import ClassifierConfig

    with pytest.raises(InputError, match="--rescale-rows rescales pretrained rows"):
        ClassifierConfig(train=tmp_path / "t.tsv", out=tmp_path / "m", init="random",
                         rescale_rows=True)  # fmt: skip


def _reference_scores(gold: list[int], pred: list[int], n: int) -> tuple[float, float]:
    f1s = []
    for c in range(n):
        tp = sum(g == c and p == c for g, p in zip(gold, pred))
        fp = sum(g != c and p == c for g, p in zip(gold, pred))
        fn = sum(g == c and p != c for g, p in zip(gold, pred))
        if tp + fp + fn == 0:
            continue
        f1s.append(2 * tp / (2 * tp + fp + fn))
    acc = sum(g == p for g, p in zip(gold, pred)) / len(gold)
    return acc, sum(f1s) / len(f1s)


@pytest.mark.parametrize("n_labels", [2, 6])
def test_scores_match_a_direct_count(rng: np.random.Generator, n_labels: int) -> None:
    gold = rng.integers(0, n_labels, 300)
    pred = np.where(rng.random(300) < 0.6, gold, rng.integers(0, n_labels, 300))
    s = scores(gold, pred, [f"c{i}" for i in range(n_labels)])
    acc, f1 = _reference_scores(gold.tolist(), pred.tolist(), n_labels)
    assert s["accuracy"] == pytest.approx(acc) and s["macro_f1"] == pytest.approx(f1)
    m = np.array(s["confusion"])
    assert m.sum() == 300 and np.trace(m) == int((gold == pred).sum())


def _meta() -> dict:
    return {
        "config": {"dropout": 0.3, "max_tokens": 50},
        "labels": ["a", "b", "c"],
        "features": ["words", "grammar"],
        "lexicons": {
            "words": {"vocab": [f"w{i}" for i in range(40)], "extra": ["x1", "x2", "x3"]},
            "grammar": {"vocab": [f"g{i}" for i in range(9)], "extra": []},
        },
        "lowercase": True,
    }


def test_save_load_same_predictions(tmp_path: Path, rng: np.random.Generator) -> None:
    model = _model(3).eval()
    enc = _random_encoded(rng, 5)
    ids, lengths = batch_tensors(enc, np.arange(5), torch.device("cpu"))
    save_model(tmp_path / "m", model, _meta())
    loaded = load_model(tmp_path / "m")
    with torch.no_grad():
        assert torch.equal(model(ids, lengths), loaded.model(ids, lengths))
    assert loaded.labels == ["a", "b", "c"]


def test_weights_of_another_model_are_refused(tmp_path: Path) -> None:
    save_model(tmp_path / "a", _model(1), _meta())
    save_model(tmp_path / "b", _model(2), _meta())
    (tmp_path / "a" / "weights.pt").write_bytes((tmp_path / "b" / "weights.pt").read_bytes())
    with pytest.raises(InputError, match="different models"):
        load_model(tmp_path / "a")
    with pytest.raises(InputError, match="not a gramfast model folder"):
        load_model(tmp_path)


def _paper_sentence(with_space: bool = False):
    from gramfast.classify.parsing import ParsedTexts

    forms = ["Australian", "scientist", "discovers", "star", "with", "telescope", "."]
    heads = [1, 2, 2, 2, 2, 4, 2]
    labels = ["amod", "nsubj", "ROOT", "dobj", "prep", "pobj", "punct"]
    pos = ["ADJ", "NOUN", "VERB", "NOUN", "ADP", "NOUN", "PUNCT"]
    if with_space:  # a whitespace token after "star", attached to it, as spaCy does
        forms.insert(4, "  ")
        heads = [h + (h >= 4) for h in heads]
        heads.insert(4, 3)
        labels.insert(4, "dep")
        pos.insert(4, "SPACE")
    names = sorted(set(labels)), sorted(set(pos))
    return ParsedTexts(
        forms=forms,
        label_names=names[0],
        pos_names=names[1],
        words=np.arange(len(forms), dtype=np.int32),
        heads=np.array(heads, dtype=np.int64),
        labels=np.array([names[0].index(x) for x in labels], dtype=np.int32),
        pos=np.array([names[1].index(x) for x in pos], dtype=np.int32),
        sent_offsets=np.array([0, len(forms)]),
        doc_offsets=np.array([0, len(forms)]),
    )


@pytest.mark.parametrize("with_space", [False, True])
def test_token_features_of_the_paper_sentence(with_space: bool) -> None:
    from gramfast.classify.features import token_strings

    parsed = _paper_sentence(with_space).without_space()
    assert parsed.words.shape[0] == 7
    assert token_strings(parsed, "words") == [
        "australian", "scientist", "discovers", "star", "with", "telescope", ".",
    ]  # fmt: skip
    assert token_strings(parsed, "grammar")[:3] == ["ADJ:amod", "NOUN:nsubj", "VERB:ROOT"]
    contexts = token_strings(parsed, "contexts")
    expected = {w: c for w, c in PAPER_CONTEXTS if "I_" in c}
    words = token_strings(parsed, "words")
    for word, ctx in zip(words, contexts):
        assert ctx == expected.get(word), word  # root, preposition and punctuation get none


def _step_model(lazy: bool, seed: int = 3) -> tuple[SentenceLSTM, list, list]:
    from gramfast.classify.config import ClassifierConfig
    from gramfast.classify.train import optimizers

    model = _model(seed)
    cfg = ClassifierConfig(train=Path("t.tsv"), out=Path("m"), init="random", lazy_rows=lazy)
    opts, params = optimizers(model, cfg)
    return model, opts, params


def _batch(word_ids: np.ndarray, rng: np.random.Generator) -> tuple[dict, torch.Tensor]:
    """One padded batch of sentences whose vocabulary word ids are ``word_ids`` (rows after the
    free rows), grammar ids random."""
    nf, nv, _ = TABLES["words"]
    lengths = rng.integers(1, 6, size=len(word_ids) // 3 + 1)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    n = int(offsets[-1])
    words = np.resize(word_ids + nf, n).astype(np.int64)
    grammar = rng.integers(1, sum(TABLES["grammar"][:2]), size=n).astype(np.int64)
    enc = Encoded({"words": words, "grammar": grammar}, offsets)
    return batch_tensors(enc, np.arange(len(lengths)), torch.device("cpu"))


def _train_step(model, opts, params, batch, labels, clip: float = 5.0) -> None:
    from gramfast.classify.train import clip_grad_norm

    model.eval()  # no dropout: both models see the same function
    for opt in opts:
        opt.zero_grad(set_to_none=True)
    ids, lengths = batch
    torch.nn.functional.cross_entropy(model(ids, lengths), labels).backward()
    clip_grad_norm(params, clip)
    for opt in opts:
        opt.step()


@pytest.mark.parametrize("max_norm", [1e-3, 1e3], ids=["clipped", "unclipped"])
def test_clip_grad_norm_matches_torch_on_dense_and_sparse_grads(
    rng: np.random.Generator, max_norm: float
) -> None:
    from gramfast.classify.train import clip_grad_norm

    dense, sparse = _model(5), _model(5)
    for e in sparse.embed.values():
        e.sparse = True
    batch = _batch(rng.integers(0, 40, size=30), rng)  # ids repeat: the sparse grad is uncoalesced
    labels = torch.from_numpy(rng.integers(0, 3, size=batch[1].shape[0]))
    for m in (dense, sparse):
        m.eval()
        torch.nn.functional.cross_entropy(m(*batch), labels).backward()
    assert sparse.embed["words"].vocab.grad.is_sparse
    want = torch.nn.utils.clip_grad_norm_(list(dense.parameters()), max_norm)
    got = clip_grad_norm(list(sparse.parameters()), max_norm)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=0)
    for (name, p), q in zip(dense.named_parameters(), sparse.parameters(), strict=True):
        g = q.grad.to_dense() if q.grad.is_sparse else q.grad
        torch.testing.assert_close(g, p.grad, rtol=1e-5, atol=1e-9, msg=name)


def test_lazy_rows_step_like_adam_and_leave_unused_rows_alone(rng: np.random.Generator) -> None:
    lazy, lazy_opts, lazy_params = _step_model(lazy=True)
    dense, dense_opts, dense_params = _step_model(lazy=False)
    assert lazy.embed["words"].sparse and not dense.embed["words"].sparse
    assert any(isinstance(o, torch.optim.SparseAdam) for o in lazy_opts)
    start = lazy.embed["words"].vocab.detach().clone()
    first, later = np.arange(1, 15), np.arange(15, 25)  # vocabulary rows 25..39 never used
    batches = [_batch(first, rng)] + [_batch(later, rng) for _ in range(4)]
    labels = [torch.from_numpy(rng.integers(0, 3, size=b[1].shape[0])) for b in batches]
    _train_step(lazy, lazy_opts, lazy_params, batches[0], labels[0])
    _train_step(dense, dense_opts, dense_params, batches[0], labels[0])
    for (name, p), q in zip(dense.named_parameters(), lazy.parameters(), strict=True):
        # Step 1 is plain Adam on both sides (an element moves by about lr = 1e-3); SparseAdam
        # adds eps before the bias correction, so elements with tiny gradients differ by a few
        # percent of a step.
        atol = 5e-5 if name == "embed.words.vocab" else 1e-7
        torch.testing.assert_close(q, p, rtol=1e-5, atol=atol, msg=name)
    after_first = lazy.embed["words"].vocab.detach().clone()
    assert not torch.equal(after_first[first], start[first])
    for b, y in zip(batches[1:], labels[1:], strict=True):
        _train_step(lazy, lazy_opts, lazy_params, b, y)
        _train_step(dense, dense_opts, dense_params, b, y)
    lazy_rows = lazy.embed["words"].vocab.detach()
    dense_rows = dense.embed["words"].vocab.detach()
    assert torch.equal(lazy_rows[25:], start[25:]) and torch.equal(dense_rows[25:], start[25:])
    assert not torch.equal(lazy_rows[later], after_first[later])
    # rows of the first batch only: lazy Adam leaves them; dense Adam moves them on momentum
    assert torch.equal(lazy_rows[first], after_first[first])
    assert not torch.equal(dense_rows[first], after_first[first])
