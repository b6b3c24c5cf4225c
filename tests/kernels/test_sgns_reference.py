"""The PyTorch SGNS reference against autograd and a plain float64 loop."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from gramfast.kernels.sgns.reference import sgns_step

from tests.helpers import TOLERANCES, assert_close


def _problem(n_pairs, n_neg, dim, n_words=7, n_contexts=9, seed=0):
    gen = torch.Generator().manual_seed(seed)
    word = torch.rand(n_words, dim, generator=gen, dtype=torch.float64) - 0.5
    context = torch.rand(n_contexts, dim, generator=gen, dtype=torch.float64) - 0.5
    word_ids = torch.randint(0, n_words, (n_pairs,), generator=gen)
    context_ids = torch.randint(0, n_contexts, (n_pairs,), generator=gen)
    negatives = torch.randint(0, n_contexts, (n_pairs, n_neg), generator=gen)
    if n_pairs and n_neg:
        negatives[0, 0] = context_ids[0]  # a negative equal to the positive
    return word, context, word_ids, context_ids, negatives


def _np(t: torch.Tensor) -> np.ndarray:
    # NOTE: tests.helpers.assert_close casts tensors to float32; compare float64 as NumPy.
    return t.detach().double().numpy()


def _loop_loss(word, context, word_ids, context_ids, negatives):
    """-log σ(w·c) - Σ_k log σ(-w·n_k), pair by pair in float64."""
    w, c = word.numpy(), context.numpy()
    word_ids, context_ids, negatives = word_ids.numpy(), context_ids.numpy(), negatives.numpy()
    out = []
    for p in range(len(word_ids)):
        x = w[word_ids[p]]
        loss = -np.log(1 / (1 + np.exp(-x @ c[context_ids[p]])))
        for n in negatives[p]:
            loss -= np.log(1 / (1 + np.exp(x @ c[n])))
        out.append(loss)
    return np.array(out)


@pytest.mark.parametrize(
    "n_pairs, n_neg, dim",
    [
        pytest.param(1, 0, 1, id="P1-K0-D1"),
        pytest.param(1, 1, 63, id="P1-K1-D63"),
        pytest.param(40, 5, 300, id="P40-K5-D300"),
        pytest.param(64, 15, 17, id="P64-K15-D17"),
    ],
)
def test_sgns_step(n_pairs, n_neg, dim):
    # The update is exactly -lr_p times the gradient of Σ_p m_p loss_p taken at the batch start:
    # repeated ids (few rows, many pairs) sum, as autograd sums them.
    word, context, word_ids, context_ids, negatives = _problem(n_pairs, n_neg, dim)
    lr = torch.linspace(0.5, 0.1, n_pairs, dtype=torch.float64)
    mask = torch.arange(n_pairs) % 3 != 1
    w_leaf, c_leaf = word.clone().requires_grad_(), context.clone().requires_grad_()
    x = w_leaf[word_ids]
    pos = (x * c_leaf[context_ids]).sum(-1)
    neg = (x[:, None, :] * c_leaf[negatives]).sum(-1)
    ref_loss = -torch.log(torch.sigmoid(pos)) - torch.log(torch.sigmoid(-neg)).sum(-1)
    (ref_loss * lr * mask).sum().backward()
    ref_w, ref_c = word - w_leaf.grad, context - c_leaf.grad

    out_w, out_c = word.clone(), context.clone()
    out_loss = sgns_step(out_w, out_c, word_ids, context_ids, negatives, lr, mask=mask)

    atol, rtol = TOLERANCES["float64"]
    assert out_loss.dtype == torch.float64
    assert_close(_np(out_loss), _np(ref_loss * mask), atol=atol, rtol=rtol, name="loss")
    loop = _loop_loss(word, context, word_ids, context_ids, negatives)[mask.numpy()]
    assert_close(_np(out_loss[mask]), loop, atol=atol, rtol=rtol, name="loss vs loop")
    assert_close(_np(out_w), _np(ref_w), atol=atol, rtol=rtol, name="word_vectors")
    assert_close(_np(out_c), _np(ref_c), atol=atol, rtol=rtol, name="context_vectors")


def test_sgns_step_untouched_rows():
    word, context, word_ids, context_ids, negatives = _problem(5, 2, 8, n_words=20, n_contexts=30)
    mask = torch.tensor([True, False, True, True, True])
    out_w, out_c = word.clone(), context.clone()
    sgns_step(out_w, out_c, word_ids, context_ids, negatives, 0.1, mask=mask)

    used_w = set(word_ids[mask].tolist())
    used_c = set(context_ids[mask].tolist()) | set(negatives[mask].flatten().tolist())
    keep_w = [i for i in range(20) if i not in used_w]
    keep_c = [i for i in range(30) if i not in used_c]
    assert torch.equal(out_w[keep_w], word[keep_w])
    assert torch.equal(out_c[keep_c], context[keep_c])


def test_sgns_step_empty():
    word, context, *_ = _problem(0, 3, 8)
    out_w, out_c = word.clone(), context.clone()
    empty = torch.empty(0, dtype=torch.int64)
    loss = sgns_step(out_w, out_c, empty, empty, torch.empty(0, 3, dtype=torch.int64), 0.1)
    assert loss.shape == (0,)
    assert torch.equal(out_w, word) and torch.equal(out_c, context)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=["fp32", "bf16"])
def test_sgns_step_low_precision(dtype):
    # Storage in fp32/bf16 (int32 ids): within the dtype's tolerance of the float64 step
    # applied to the same stored values, and the storage dtype is kept.
    word, context, word_ids, context_ids, negatives = _problem(32, 5, 64)
    low_w, low_c = word.to(dtype), context.to(dtype)
    ref_w, ref_c = low_w.double(), low_c.double()
    ref_loss = sgns_step(ref_w, ref_c, word_ids, context_ids, negatives, 0.05)

    out_loss = sgns_step(low_w, low_c, word_ids.int(), context_ids.int(), negatives.int(), 0.05)

    atol, rtol = TOLERANCES["float32" if dtype == torch.float32 else "bfloat16"]
    assert low_w.dtype == dtype and out_loss.dtype == torch.float32
    assert_close(out_loss, ref_loss, atol=atol, rtol=rtol, name="loss")
    assert_close(low_w, ref_w.to(dtype), atol=atol, rtol=rtol, name="word_vectors")
    assert_close(low_c, ref_c.to(dtype), atol=atol, rtol=rtol, name="context_vectors")
