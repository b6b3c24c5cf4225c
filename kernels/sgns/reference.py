"""Skip-gram with negative sampling: the plain PyTorch reference step.

For each pair p with word w = word_ids[p], context c = context_ids[p] and negatives
n_1..n_K = negatives[p]:

    loss_p = -log σ(W[w]·C[c]) - Σ_k log σ(-W[w]·C[n_k])
    W[w]   -= lr_p * ((σ(W[w]·C[c]) - 1) C[c] + Σ_k σ(W[w]·C[n_k]) C[n_k])
    C[c]   -= lr_p * (σ(W[w]·C[c]) - 1) W[w]
    C[n_k] -= lr_p * σ(W[w]·C[n_k]) W[w]

Every gradient is computed from the parameters as they were at the start of the batch, and the
updates are added with ``index_add_``, so repeated ids sum. Arithmetic runs in float32 at least
(float64 stays float64); the update is cast back to the storage dtype. Fused and compiled kernels
must match this function exactly where no id repeats within a batch, and to floating-point
tolerance of the summed gradients where ids repeat.
"""

from __future__ import annotations

import torch


def sgns_step(
    word_vectors: torch.Tensor,
    context_vectors: torch.Tensor,
    word_ids: torch.Tensor,
    context_ids: torch.Tensor,
    negatives: torch.Tensor,
    lr: float | torch.Tensor,
    mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """Apply one SGNS update in place and return the per-pair loss before the update.

    Args:
        word_vectors: W [Vw, D], float32/float64/bfloat16, updated in place.
        context_vectors: C [Vc, D], same dtype and device as W, updated in place.
        word_ids: [P] int32/int64 rows of W.
        context_ids: [P] int32/int64 rows of C (the positive contexts).
        negatives: [P, K] int32/int64 rows of C (K may be 0).
        lr: a float, or a [P] tensor of per-pair learning rates.
        mask: optional [P] bool; pairs where it is False change nothing and have loss 0.

    Returns:
        [P] float tensor (float32, or float64 for float64 parameters): the loss of each pair.

    Example:
        >>> W, C = torch.randn(10, 4), torch.zeros(20, 4)
        >>> ids = torch.tensor([1, 2])
        >>> loss = sgns_step(W, C, ids, torch.tensor([3, 4]), torch.tensor([[5], [6]]), 0.025)
    """
    compute = torch.promote_types(word_vectors.dtype, torch.float32)
    word_ids = word_ids.long()
    context_ids = context_ids.long()
    negatives = negatives.long()
    n_pairs, n_neg = negatives.shape
    dim = word_vectors.shape[1]

    w = word_vectors[word_ids].to(compute)  # [P, D]
    c = context_vectors[context_ids].to(compute)  # [P, D]
    n = context_vectors[negatives].to(compute)  # [P, K, D]
    pos = (w * c).sum(-1)  # [P]
    neg = torch.einsum("pd,pkd->pk", w, n)  # [P, K]
    loss = torch.nn.functional.softplus(-pos) + torch.nn.functional.softplus(neg).sum(-1)

    scale = torch.as_tensor(lr, dtype=compute, device=w.device).expand(n_pairs)
    if mask is not None:
        scale = scale * mask.to(compute)
        loss = loss * mask.to(compute)
    g_pos = (torch.sigmoid(pos) - 1.0) * scale  # [P]
    g_neg = torch.sigmoid(neg) * scale[:, None]  # [P, K]
    grad_w = g_pos[:, None] * c + torch.einsum("pk,pkd->pd", g_neg, n)
    grad_c = g_pos[:, None] * w
    grad_n = g_neg[:, :, None] * w[:, None, :]  # [P, K, D]

    word_vectors.index_add_(0, word_ids, (-grad_w).to(word_vectors.dtype))
    context_vectors.index_add_(0, context_ids, (-grad_c).to(context_vectors.dtype))
    if n_neg:
        flat = (-grad_n).reshape(n_pairs * n_neg, dim).to(context_vectors.dtype)
        context_vectors.index_add_(0, negatives.reshape(-1), flat)
    return loss
