"""Skip-gram with negative sampling: fused Triton updates, one launch per batch.

For pair p with word w, context c, negatives n_1..n_K and learning rate a_p:

    s = σ(W[w]·C[c]) - 1,   t_k = σ(W[w]·C[n_k])
    W[w] -= a_p (s C[c] + Σ_k t_k C[n_k]),  C[c] -= a_p s W[w],  C[n_k] -= a_p t_k W[w]
    loss_p = softplus(-W[w]·C[c]) + Σ_k softplus(W[w]·C[n_k])

Each program loads the rows of its BLOCK_P pairs, then scatters every update with atomic adds,
so the gradients of a block come from its rows at the start (``reference.sgns_step`` on that
block) and repeated ids sum. Blocks run concurrently without a grid-wide barrier: a block may see
rows another block already updated (Hogwild, as word2vec), and repeated ids make the float sums
order-nondeterministic. So ``sgns_update`` (K negatives per pair) equals ``sgns_step`` up to
float rounding when no id is shared between blocks; ids repeated across blocks give Hogwild
results instead (with Zipf batches the two differ by tens of percent of the update).
``sgns_update_shared`` shares K negatives across each block (Ji et al. 2016); its reference is
``sgns_step`` with ``negatives[p]`` = its block's set.

Storage float32 or bfloat16 (arithmetic always float32; bf16 conversions round to nearest even
with integer ops, so the interpreter and the GPU agree). bf16 scatters use native bf16 atomics
(sm_90 and newer) or a 16-bit compare-and-swap loop ("cas", also the only bf16 path under
TRITON_INTERPRET=1, whose atomic adds lack bf16). D <= 1024. Negatives are passed in or drawn
on the device from an alias table with Philox: negative k of global pair g is draw g * K + k.
"""

from __future__ import annotations

import os

import torch
import triton
import triton.language as tl

MAX_DIM = 1024
SHARED_CHUNK = 64  # columns per step of the shared kernel's loops over D (128 spills on sm_90)
_ISSUE = "issue #5"


@triton.jit
def _load_rows(p, m, IS_BF16: tl.constexpr):
    if IS_BF16:
        b = tl.load(p.to(tl.pointer_type(tl.int16), bitcast=True), mask=m, other=0)
        x = (b.to(tl.int32) << 16).to(tl.float32, bitcast=True)
    else:
        x = tl.load(p, mask=m, other=0.0)
    return x


@triton.jit
def _bf16_bits(x):
    # fp32 -> bf16 bit pattern (low 16 bits of a uint32), round to nearest even.
    u = x.to(tl.uint32, bitcast=True)
    return (u + 0x7FFF + ((u >> 16) & 1)) >> 16


@triton.jit
def _scatter_rows(base, offs, val, m, IS_BF16: tl.constexpr, CAS_BF16: tl.constexpr):
    if not IS_BF16:
        tl.atomic_add(base + offs, val, mask=m, sem="relaxed")
    elif not CAS_BF16:
        b = _bf16_bits(val).to(tl.uint16).to(tl.bfloat16, bitcast=True)
        tl.atomic_add(base + offs, b, mask=m, sem="relaxed")
    else:
        # Compare-and-swap on each 16-bit element until no other program got in between;
        # finished and masked lanes issue a no-op CAS(old, old) on a valid address.
        p = base.to(tl.pointer_type(tl.uint16), bitcast=True) + tl.where(m, offs, 0)
        delta = (_bf16_bits(val) << 16).to(tl.float32, bitcast=True)  # rounded, as native adds
        old = tl.load(p, volatile=True)
        todo = m
        while tl.max(todo.to(tl.int32)) > 0:
            cur = (old.to(tl.uint32) << 16).to(tl.float32, bitcast=True)
            new = _bf16_bits(cur + delta).to(tl.uint16)
            prev = tl.atomic_cas(p, old, tl.where(todo, new, old), sem="relaxed")
            todo = todo & (prev != old)
            old = prev


@triton.jit
def _draw_negatives(prob_ptr, alias_ptr, n_contexts, seed, counter):
    # Alias method: bucket j uniform in [0, Vc) from 32 random bits, kept if u < prob[j].
    r0, r1, _, _ = tl.randint4x(seed, counter)
    j = ((r0.to(tl.uint32).to(tl.uint64) * n_contexts) >> 32).to(tl.int64)
    u = (r1.to(tl.uint32) >> 8).to(tl.float32) * (1.0 / 16777216.0)
    keep = u < tl.load(prob_ptr + j)
    return tl.where(keep, j, tl.load(alias_ptr + j).to(tl.int64))


@triton.jit
def _sgns_negatives_kernel(
    out_ptr, prob_ptr, alias_ptr,  # pointers
    n_rows, n_contexts,  # sizes
    seed, start,  # scalars
    NUM_NEG: tl.constexpr, BLOCK_R: tl.constexpr, BLOCK_K: tl.constexpr,
):  # fmt: skip
    o_r = tl.program_id(0).to(tl.int64) * BLOCK_R + tl.arange(0, BLOCK_R)
    o_k = tl.arange(0, BLOCK_K)
    m = (o_r < n_rows)[:, None] & (o_k < NUM_NEG)[None, :]
    counter = (start + o_r[:, None]) * NUM_NEG + o_k[None, :]
    b_n = _draw_negatives(prob_ptr, alias_ptr, n_contexts, seed, counter)
    tl.store(out_ptr + o_r[:, None] * NUM_NEG + o_k[None, :], b_n, mask=m)


@triton.jit
def _pair_setup(
    word_ptr, context_ptr, lr_ptr, mask_ptr, word_stride, context_stride, lr_stride,
    n_pairs, n_valid, lr, o_p, HAS_LR_TENSOR: tl.constexpr, HAS_MASK: tl.constexpr,
):  # fmt: skip
    m_p = o_p < n_valid
    if HAS_MASK:
        m_p = m_p & (tl.load(mask_ptr + o_p, mask=o_p < n_pairs, other=0) != 0)
    b_word = tl.load(word_ptr + o_p * word_stride, mask=m_p, other=0).to(tl.int64)
    b_ctx = tl.load(context_ptr + o_p * context_stride, mask=m_p, other=0).to(tl.int64)
    if HAS_LR_TENSOR:
        b_lr = tl.load(lr_ptr + o_p * lr_stride, mask=m_p, other=0.0).to(tl.float32)
    else:
        b_lr = tl.where(m_p, lr, 0.0)
    return m_p, b_word, b_ctx, b_lr


@triton.jit
def _sgns_update_kernel(
    # pointers
    w_ptr, c_ptr, word_ptr, context_ptr, neg_ptr, prob_ptr, alias_ptr, lr_ptr, mask_ptr, loss_ptr,
    # strides
    w_stride_v, c_stride_v, word_stride, context_stride, neg_stride_p, neg_stride_k, lr_stride,
    # sizes
    n_pairs, n_valid, dim, n_contexts,
    # scalars
    lr, seed, pairs_done,
    # constexprs
    NUM_NEG: tl.constexpr, BLOCK_P: tl.constexpr, BLOCK_K: tl.constexpr, BLOCK_D: tl.constexpr,
    SAMPLE_NEG: tl.constexpr, HAS_LR_TENSOR: tl.constexpr, HAS_MASK: tl.constexpr,
    IS_BF16: tl.constexpr, CAS_BF16: tl.constexpr,
):  # fmt: skip
    o_p = tl.program_id(0).to(tl.int64) * BLOCK_P + tl.arange(0, BLOCK_P)
    o_d = tl.arange(0, BLOCK_D)
    o_k = tl.arange(0, BLOCK_K)
    m_p, b_word, b_ctx, b_lr = _pair_setup(
        word_ptr, context_ptr, lr_ptr, mask_ptr, word_stride, context_stride, lr_stride,
        n_pairs, n_valid, lr, o_p, HAS_LR_TENSOR, HAS_MASK,
    )  # fmt: skip
    m_pd = m_p[:, None] & (o_d < dim)[None, :]

    m_k = o_k < NUM_NEG
    m_pk = m_p[:, None] & m_k[None, :]
    if SAMPLE_NEG:
        counter = (pairs_done + o_p)[:, None] * NUM_NEG + o_k[None, :]
        b_nid = _draw_negatives(prob_ptr, alias_ptr, n_contexts, seed, counter)
    else:
        p_n = neg_ptr + o_p[:, None] * neg_stride_p + o_k[None, :] * neg_stride_k
        b_nid = tl.load(p_n, mask=m_pk, other=0).to(tl.int64)  # [BLOCK_P, BLOCK_K]

    # NOTE: every row is loaded before the first atomic, so the block sees its start values.
    o_w = b_word[:, None] * w_stride_v + o_d[None, :]  # [BLOCK_P, BLOCK_D]
    o_c = b_ctx[:, None] * c_stride_v + o_d[None, :]
    o_n = b_nid[:, :, None] * c_stride_v + o_d[None, None, :]  # [BLOCK_P, BLOCK_K, BLOCK_D]
    m_pkd = m_pk[:, :, None] & (o_d < dim)[None, None, :]
    b_w = _load_rows(w_ptr + o_w, m_pd, IS_BF16)
    b_c = _load_rows(c_ptr + o_c, m_pd, IS_BF16)
    b_n = _load_rows(c_ptr + o_n, m_pkd, IS_BF16)

    b_pos = tl.sum(b_w * b_c, axis=1)  # [BLOCK_P]
    b_dot = tl.sum(b_w[:, None, :] * b_n, axis=2)  # [BLOCK_P, BLOCK_K]
    b_gpos = (1.0 / (1.0 + tl.exp(-b_pos)) - 1.0) * b_lr
    b_gneg = tl.where(m_pk, b_lr[:, None] / (1.0 + tl.exp(-b_dot)), 0.0)
    # softplus(x) = max(x, 0) + log(1 + exp(-|x|)), written out: helper calls are slow to interpret
    b_sp = tl.maximum(b_dot, 0.0) + tl.log(1.0 + tl.exp(-tl.abs(b_dot)))
    b_loss = tl.maximum(-b_pos, 0.0) + tl.log(1.0 + tl.exp(-tl.abs(b_pos)))
    b_loss += tl.sum(tl.where(m_pk, b_sp, 0.0), axis=1)
    b_gw = b_gpos[:, None] * b_c + tl.sum(b_gneg[:, :, None] * b_n, axis=1)

    tl.store(loss_ptr + o_p, tl.where(m_p, b_loss, 0.0), mask=o_p < n_pairs)
    _scatter_rows(w_ptr, o_w, -b_gw, m_pd, IS_BF16, CAS_BF16)
    _scatter_rows(c_ptr, o_c, -b_gpos[:, None] * b_w, m_pd, IS_BF16, CAS_BF16)
    if NUM_NEG > 0:
        b_gn = -b_gneg[:, :, None] * b_w[:, None, :]
        _scatter_rows(c_ptr, o_n, b_gn, m_pkd, IS_BF16, CAS_BF16)


@triton.jit
def _sgns_update_shared_kernel(
    # pointers
    w_ptr, c_ptr, word_ptr, context_ptr, neg_ptr, prob_ptr, alias_ptr, lr_ptr, mask_ptr, loss_ptr,
    # strides
    w_stride_v, c_stride_v, word_stride, context_stride, neg_stride_p, neg_stride_k, lr_stride,
    # sizes
    n_pairs, n_valid, dim, n_contexts,
    # scalars
    lr, seed, pairs_done,
    # constexprs
    NUM_NEG: tl.constexpr, BLOCK_P: tl.constexpr, BLOCK_K: tl.constexpr, BLOCK_D: tl.constexpr,
    SAMPLE_NEG: tl.constexpr, HAS_LR_TENSOR: tl.constexpr, HAS_MASK: tl.constexpr,
    IS_BF16: tl.constexpr, CAS_BF16: tl.constexpr,
):  # fmt: skip
    i_b = tl.program_id(0).to(tl.int64)
    o_p = i_b * BLOCK_P + tl.arange(0, BLOCK_P)
    o_k = tl.arange(0, BLOCK_K)
    m_k = o_k < NUM_NEG
    m_p, b_word, b_ctx, b_lr = _pair_setup(
        word_ptr, context_ptr, lr_ptr, mask_ptr, word_stride, context_stride, lr_stride,
        n_pairs, n_valid, lr, o_p, HAS_LR_TENSOR, HAS_MASK,
    )  # fmt: skip
    if SAMPLE_NEG:
        counter = (pairs_done + i_b * BLOCK_P) * NUM_NEG + o_k
        b_nid = _draw_negatives(prob_ptr, alias_ptr, n_contexts, seed, counter)
        b_nid = tl.where(m_k, b_nid, 0)
    else:
        p_n = neg_ptr + i_b * neg_stride_p + o_k * neg_stride_k
        b_nid = tl.load(p_n, mask=m_k, other=0).to(tl.int64)

    # Pass 1 over D in chunks of BLOCK_D (whole rows would spill registers): the dots.
    b_pos = tl.zeros([BLOCK_P], dtype=tl.float32)
    b_dot = tl.zeros([BLOCK_P, BLOCK_K], dtype=tl.float32)
    for d0 in range(0, dim, BLOCK_D):
        o_d = d0 + tl.arange(0, BLOCK_D)
        o_w = b_word[:, None] * w_stride_v + o_d[None, :]  # [BLOCK_P, BLOCK_D]
        o_c = b_ctx[:, None] * c_stride_v + o_d[None, :]
        o_n = b_nid[:, None] * c_stride_v + o_d[None, :]  # [BLOCK_K, BLOCK_D]
        m_pd = m_p[:, None] & (o_d < dim)[None, :]
        m_kd = m_k[:, None] & (o_d < dim)[None, :]
        b_w = _load_rows(w_ptr + o_w, m_pd, IS_BF16)
        b_n = _load_rows(c_ptr + o_n, m_kd, IS_BF16)
        b_pos += tl.sum(b_w * _load_rows(c_ptr + o_c, m_pd, IS_BF16), axis=1)
        b_dot += tl.dot(b_w, tl.trans(b_n), input_precision="ieee")  # [BLOCK_P, BLOCK_K]

    m_pk = m_p[:, None] & m_k[None, :]
    b_gpos = (1.0 / (1.0 + tl.exp(-b_pos)) - 1.0) * b_lr
    b_gneg = tl.where(m_pk, b_lr[:, None] / (1.0 + tl.exp(-b_dot)), 0.0)
    # softplus(x) = max(x, 0) + log(1 + exp(-|x|)), written out: helper calls are slow to interpret
    b_sp = tl.maximum(b_dot, 0.0) + tl.log(1.0 + tl.exp(-tl.abs(b_dot)))
    b_loss = tl.maximum(-b_pos, 0.0) + tl.log(1.0 + tl.exp(-tl.abs(b_pos)))
    b_loss += tl.sum(tl.where(m_pk, b_sp, 0.0), axis=1)
    tl.store(loss_ptr + o_p, tl.where(m_p, b_loss, 0.0), mask=o_p < n_pairs)

    # Pass 2: reload each chunk (cached) and scatter it. NOTE: a chunk's atomics touch only its
    # own columns, so later chunks still load this block's start values.
    for d0 in range(0, dim, BLOCK_D):
        o_d = d0 + tl.arange(0, BLOCK_D)
        o_w = b_word[:, None] * w_stride_v + o_d[None, :]
        o_c = b_ctx[:, None] * c_stride_v + o_d[None, :]
        o_n = b_nid[:, None] * c_stride_v + o_d[None, :]
        m_pd = m_p[:, None] & (o_d < dim)[None, :]
        m_kd = m_k[:, None] & (o_d < dim)[None, :]
        b_w = _load_rows(w_ptr + o_w, m_pd, IS_BF16)
        b_c = _load_rows(c_ptr + o_c, m_pd, IS_BF16)
        b_n = _load_rows(c_ptr + o_n, m_kd, IS_BF16)
        b_gw = b_gpos[:, None] * b_c + tl.dot(b_gneg, b_n, input_precision="ieee")
        b_gn = tl.dot(tl.trans(b_gneg), b_w, input_precision="ieee")  # [BLOCK_K, BLOCK_D]
        _scatter_rows(w_ptr, o_w, -b_gw, m_pd, IS_BF16, CAS_BF16)
        _scatter_rows(c_ptr, o_c, -b_gpos[:, None] * b_w, m_pd, IS_BF16, CAS_BF16)
        if NUM_NEG > 0:
            _scatter_rows(c_ptr, o_n, -b_gn, m_kd, IS_BF16, CAS_BF16)


def _describe(t: object) -> str:
    if isinstance(t, torch.Tensor):
        return f"{str(t.dtype).removeprefix('torch.')} {list(t.shape)} on {t.device}"
    return type(t).__name__


def _interpreted() -> bool:
    return os.environ.get("TRITON_INTERPRET", "0") == "1"


def _check_ids(name: str, ids: object, ndim: int, device: torch.device) -> torch.Tensor:
    ok = isinstance(ids, torch.Tensor) and ids.dtype in (torch.int32, torch.int64)
    if not ok or ids.device != device or ids.ndim != ndim:
        raise TypeError(
            f"{name} must be a {ndim}-D int32/int64 tensor on word_vectors' device ({device}); "
            f"got {_describe(ids)}; convert it with .to(device, torch.int32)"
        )
    return ids


def _check_vectors(word_vectors: object, context_vectors: object, bf16_atomics: str) -> bool:
    for name, t in (("word_vectors", word_vectors), ("context_vectors", context_vectors)):
        if not isinstance(t, torch.Tensor) or t.dtype not in (torch.float32, torch.bfloat16):
            raise TypeError(
                f"{name} must be a float32 or bfloat16 tensor; got {_describe(t)}; "
                "convert a copy with .float() and train that one"
            )
        if t.ndim != 2 or t.shape[1] < 1 or t.stride(1) != 1:
            raise ValueError(
                f"{name} must be 2-D [V, D] with contiguous rows (stride(1) == 1); got shape "
                f"{list(t.shape)}, strides {t.stride()}; pass the tensor you train, not a view "
                "(no copy is made, since a copy would lose the in-place update)"
            )
        if t.device.type != "cuda" and not _interpreted():
            raise ValueError(
                f"{name} must be on a CUDA device; got {t.device}; move it with .cuda() or use "
                "the numba trainer (kernels/sgns/compiled.py) on CPU"
            )
    if context_vectors.dtype != word_vectors.dtype or context_vectors.device != word_vectors.device:
        raise TypeError(
            "context_vectors must have word_vectors' dtype and device "
            f"({word_vectors.dtype}, {word_vectors.device}); got {_describe(context_vectors)}"
        )
    if context_vectors.shape[1] != word_vectors.shape[1]:
        raise ValueError(
            f"context_vectors must have word_vectors' dim D = {word_vectors.shape[1]}; "
            f"got D = {context_vectors.shape[1]}"
        )
    if word_vectors.shape[1] > MAX_DIM:
        raise NotImplementedError(
            f"dims above {MAX_DIM} are not supported yet (got D = {word_vectors.shape[1]}); "
            f"see {_ISSUE}"
        )
    if bf16_atomics not in ("auto", "native", "cas"):
        raise ValueError(f"bf16_atomics must be 'auto', 'native' or 'cas'; got {bf16_atomics!r}")
    if word_vectors.dtype != torch.bfloat16:
        return False
    if bf16_atomics == "native" and _interpreted():
        raise ValueError(
            "bf16_atomics='native' does not run under TRITON_INTERPRET=1 (the interpreter has "
            "no bf16 atomics); use bf16_atomics='cas' or 'auto'"
        )
    return bf16_atomics == "cas" or (bf16_atomics == "auto" and _interpreted())


def _check_alias(alias_prob: object, alias_index: object, n_contexts: int, device) -> None:
    if not isinstance(alias_prob, torch.Tensor) or alias_prob.dtype != torch.float32:
        raise TypeError(
            "alias_prob must be a float32 tensor (the alias table's acceptance probabilities); "
            f"got {_describe(alias_prob)}; convert with torch.as_tensor(prob, dtype=torch.float32)"
        )
    _check_ids("alias_index", alias_index, 1, device)
    if alias_prob.device != device or alias_prob.shape != alias_index.shape:
        raise ValueError(
            f"alias_prob and alias_index must be [Vc] = [{n_contexts}] on {device}; got "
            f"{_describe(alias_prob)} and {_describe(alias_index)}"
        )
    if alias_prob.shape[0] != n_contexts or not alias_prob.is_contiguous():
        raise ValueError(
            f"alias_prob and alias_index must be contiguous with one entry per context row "
            f"(Vc = {n_contexts}); got {list(alias_prob.shape)}; build the table from all "
            "context counts"
        )


def _prepare(
    word_vectors, context_vectors, word_ids, context_ids, negatives, lr, num_negatives,
    alias_prob, alias_index, mask, n_valid, loss_out, n_neg_rows, bf16_atomics, debug,
) -> dict:  # fmt: skip
    cas = _check_vectors(word_vectors, context_vectors, bf16_atomics)
    dev = word_vectors.device
    _check_ids("word_ids", word_ids, 1, dev)
    _check_ids("context_ids", context_ids, 1, dev)
    n_pairs = word_ids.shape[0]
    if context_ids.shape[0] != n_pairs:
        raise ValueError(
            f"context_ids must have one entry per pair (P = {n_pairs}); got {context_ids.shape[0]}"
        )
    n_rows = n_neg_rows(n_pairs)
    if negatives is not None:
        _check_ids("negatives", negatives, 2, dev)
        if negatives.shape[0] != n_rows or num_negatives not in (None, negatives.shape[1]):
            raise ValueError(
                f"negatives must be [{n_rows}, K] with K = num_negatives ({num_negatives}); got "
                f"{list(negatives.shape)}"
            )
        if alias_prob is not None or alias_index is not None:
            raise ValueError(
                "pass either negatives or the alias table (alias_prob, alias_index), not both"
            )
        num_negatives = negatives.shape[1]
    elif alias_prob is None or alias_index is None or num_negatives is None:
        raise ValueError(
            "without negatives, pass num_negatives and the alias table (alias_prob, alias_index) "
            f"so negatives are drawn on the device; got num_negatives={num_negatives}, "
            f"alias_prob={_describe(alias_prob)}, alias_index={_describe(alias_index)}"
        )
    else:
        _check_alias(alias_prob, alias_index, context_vectors.shape[0], dev)
    if not isinstance(num_negatives, int) or num_negatives < 0:
        raise ValueError(f"num_negatives must be an int >= 0; got {num_negatives!r}")

    if isinstance(lr, torch.Tensor):
        if lr.dtype != torch.float32 or lr.device != dev or lr.shape not in ((), (n_pairs,)):
            raise TypeError(
                f"lr must be a float or a float32 tensor of shape [] or [P] = [{n_pairs}] on "
                f"{dev}; got {_describe(lr)}"
            )
    elif not isinstance(lr, (int, float)) or lr != lr or abs(lr) == float("inf"):
        raise TypeError(f"lr must be a finite float or a float32 tensor; got {lr!r}")
    if mask is not None and (
        not isinstance(mask, torch.Tensor)
        or mask.dtype != torch.bool
        or mask.device != dev
        or mask.shape != (n_pairs,)
        or not mask.is_contiguous()
    ):
        raise TypeError(
            f"mask must be a contiguous bool tensor [P] = [{n_pairs}] on {dev}; "
            f"got {_describe(mask)}"
        )
    if n_valid is None:
        n_valid = n_pairs
    if not isinstance(n_valid, int) or not 0 <= n_valid <= n_pairs:
        raise ValueError(f"n_valid must be an int in [0, P = {n_pairs}]; got {n_valid!r}")
    if loss_out is not None and (
        not isinstance(loss_out, torch.Tensor)
        or loss_out.dtype != torch.float32
        or loss_out.device != dev
        or loss_out.shape != (n_pairs,)
        or not loss_out.is_contiguous()
    ):
        raise TypeError(
            f"loss_out must be a contiguous float32 tensor [P] = [{n_pairs}] on {dev}; "
            f"got {_describe(loss_out)}"
        )
    if debug:
        _check_ranges(word_vectors, context_vectors, word_ids, context_ids, negatives)

    neg = negatives if negatives is not None else word_ids.new_empty((1, 1))
    lr_t = lr if isinstance(lr, torch.Tensor) else None
    return dict(
        w_ptr=word_vectors, c_ptr=context_vectors, word_ptr=word_ids, context_ptr=context_ids,
        neg_ptr=neg,
        prob_ptr=alias_prob if negatives is None else neg,
        alias_ptr=alias_index if negatives is None else neg,
        lr_ptr=lr_t if lr_t is not None else neg,
        mask_ptr=mask.view(torch.uint8) if mask is not None else neg,
        loss_ptr=loss_out if loss_out is not None else torch.empty(n_pairs, device=dev),
        w_stride_v=word_vectors.stride(0), c_stride_v=context_vectors.stride(0),
        word_stride=word_ids.stride(0), context_stride=context_ids.stride(0),
        neg_stride_p=neg.stride(0), neg_stride_k=neg.stride(1),
        lr_stride=lr_t.stride(0) if lr_t is not None and lr_t.ndim else 0,
        n_pairs=n_pairs, n_valid=n_valid, dim=word_vectors.shape[1],
        n_contexts=context_vectors.shape[0],
        lr=0.0 if lr_t is not None else float(lr),
        NUM_NEG=num_negatives, SAMPLE_NEG=negatives is None, HAS_LR_TENSOR=lr_t is not None,
        HAS_MASK=mask is not None, IS_BF16=word_vectors.dtype == torch.bfloat16, CAS_BF16=cas,
    )  # fmt: skip


def _check_ranges(word_vectors, context_vectors, word_ids, context_ids, negatives) -> None:
    checks = [("word_ids", word_ids, word_vectors.shape[0])]
    checks += [("context_ids", context_ids, context_vectors.shape[0])]
    if negatives is not None:
        checks.append(("negatives", negatives, context_vectors.shape[0]))
    for name, ids, n_rows in checks:
        if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= n_rows):
            raise ValueError(
                f"{name} must lie in [0, {n_rows}); got min {int(ids.min())}, max "
                f"{int(ids.max())}; drop or remap the out-of-range ids"
            )


def _check_launch(block_p: int, num_warps: int | None, min_block: int) -> None:
    if not isinstance(block_p, int) or block_p < min_block or block_p & (block_p - 1):
        raise ValueError(f"block_p must be a power of two >= {min_block}; got {block_p!r}")
    if num_warps is not None and num_warps not in (1, 2, 4, 8, 16):
        raise ValueError(f"num_warps must be one of 1, 2, 4, 8, 16; got {num_warps!r}")


def _warps(block_p: int, block_d: int) -> int:
    tile = block_p * block_d
    return 8 if tile >= 2048 else 4 if tile >= 512 else 2


def _check_seed(seed: object, pairs_done: object) -> None:
    for name, v in (("seed", seed), ("pairs_done", pairs_done)):
        if not isinstance(v, int) or not 0 <= v < 2**62:
            raise ValueError(f"{name} must be an int in [0, 2**62); got {v!r}")


def sgns_update(
    word_vectors: torch.Tensor,
    context_vectors: torch.Tensor,
    word_ids: torch.Tensor,
    context_ids: torch.Tensor,
    negatives: torch.Tensor | None = None,
    *,
    lr: float | torch.Tensor,
    num_negatives: int | None = None,
    alias_prob: torch.Tensor | None = None,
    alias_index: torch.Tensor | None = None,
    seed: int = 0,
    pairs_done: int = 0,
    mask: torch.Tensor | None = None,
    n_valid: int | None = None,
    loss_out: torch.Tensor | None = None,
    block_p: int | None = None,
    num_warps: int | None = None,
    bf16_atomics: str = "auto",
    debug: bool = False,
) -> torch.Tensor:
    """Apply one SGNS step in place (K negatives per pair) and return the per-pair loss.

    Equals ``sgns_step`` when no id is shared between blocks of block_p pairs; inside a block
    repeated ids sum as in ``sgns_step``; across blocks the update is Hogwild (module docstring).

    Args:
        word_vectors: W [Vw, D] float32/bfloat16 (CUDA), rows contiguous; updated in place.
        context_vectors: C [Vc, D], W's dtype and device; updated in place.
        word_ids, context_ids: [P] int32/int64 row ids (any stride).
        negatives: [P, K] int32/int64 context rows, or None to draw them on the device.
        lr: learning rate: a float, or a float32 tensor [] or [P] (no host sync).
        num_negatives: K when drawing on the device (must equal negatives.shape[1] if both).
        alias_prob, alias_index: [Vc] float32 and int32/int64 alias table (``sampler.py``).
        seed, pairs_done: negative k of pair p is Philox draw (pairs_done + p) * K + k under seed.
        mask: [P] bool; pairs where it is False change nothing, read no rows, have loss 0.
        n_valid: pairs from n_valid on are treated as masked (a partly filled buffer).
        loss_out: [P] float32 to write the loss into (else a new tensor).
        block_p, num_warps: pairs per program (power of two) and warps: tuning only.
        bf16_atomics: "native" (sm_90+), "cas" (16-bit compare-and-swap loop) or "auto"
            ("cas" under TRITON_INTERPRET=1, else "native").
        debug: check id ranges first (a host sync).

    Returns:
        [P] float32 loss of each pair before the update (``loss_out`` when given).

    Raises:
        TypeError, ValueError: bad dtype, device, shape, stride or argument combination.
        NotImplementedError: D > 1024.

    Example:
        >>> W = torch.randn(10, 8, device="cuda") * 0.1; C = torch.zeros(20, 8, device="cuda")
        >>> ids = torch.tensor([1, 2], device="cuda")
        >>> loss = sgns_update(W, C, ids, ids + 3, ids[:, None] + 9, lr=0.025)
    """
    args = _prepare(
        word_vectors, context_vectors, word_ids, context_ids, negatives, lr, num_negatives,
        alias_prob, alias_index, mask, n_valid, loss_out, lambda p: p, bf16_atomics, debug,
    )  # fmt: skip
    _check_seed(seed, pairs_done)
    block_d = triton.next_power_of_2(args["dim"])
    block_k = triton.next_power_of_2(max(args["NUM_NEG"], 1))
    block_p = block_p if block_p is not None else max(1, min(16, 4096 // (block_k * block_d)))
    _check_launch(block_p, num_warps, 1)
    if args["n_pairs"] == 0:
        return args["loss_ptr"]

    grid = (triton.cdiv(args["n_pairs"], block_p),)
    _sgns_update_kernel[grid](
        **args,
        seed=seed,
        pairs_done=pairs_done,
        BLOCK_P=block_p,
        BLOCK_K=block_k,
        BLOCK_D=block_d,
        num_warps=num_warps or _warps(block_p * block_k, block_d),
    )
    return args["loss_ptr"]


def sgns_update_shared(
    word_vectors: torch.Tensor,
    context_vectors: torch.Tensor,
    word_ids: torch.Tensor,
    context_ids: torch.Tensor,
    negatives: torch.Tensor | None = None,
    *,
    lr: float | torch.Tensor,
    num_negatives: int | None = None,
    alias_prob: torch.Tensor | None = None,
    alias_index: torch.Tensor | None = None,
    seed: int = 0,
    pairs_done: int = 0,
    mask: torch.Tensor | None = None,
    n_valid: int | None = None,
    loss_out: torch.Tensor | None = None,
    block_p: int = 16,
    num_warps: int | None = None,
    bf16_atomics: str = "auto",
    debug: bool = False,
) -> torch.Tensor:
    """Apply one SGNS step in place with K negatives shared by each block of block_p pairs.

    Pairs ``b * block_p .. (b + 1) * block_p - 1`` all use ``negatives[b]``; the dots and the
    negatives' updates are [block_p, D] x [D, K] products (Ji et al. 2016), and each negative row
    gets one atomic add per block instead of one per pair. Equals ``sgns_step`` with
    ``negatives[p] = negatives[p // block_p]`` when no id is shared between blocks (else Hogwild,
    see the module docstring). Drawn on the device, block b's set is what ``sgns_update`` would
    draw for its first pair, ``pairs_done + b * block_p``.

    Args:
        negatives: [ceil(P / block_p), K] int32/int64, or None to draw them on the device.
        block_p: pairs per shared set, a power of two >= 16 (tl.dot's minimum); part of the
            semantics, not only tuning.
        Others as in ``sgns_update``.

    Returns:
        [P] float32 loss of each pair before the update.

    Example:
        >>> loss = sgns_update_shared(W, C, ids, ids + 3, num_negatives=5, lr=0.025,
        ...                           alias_prob=prob, alias_index=alias, seed=step)
    """
    if not isinstance(block_p, int) or block_p < 16 or block_p & (block_p - 1):
        raise ValueError(f"block_p must be a power of two >= 16; got {block_p!r}")
    args = _prepare(
        word_vectors, context_vectors, word_ids, context_ids, negatives, lr, num_negatives,
        alias_prob, alias_index, mask, n_valid, loss_out, lambda p: triton.cdiv(p, block_p),
        bf16_atomics, debug,
    )  # fmt: skip
    _check_seed(seed, pairs_done)
    _check_launch(block_p, num_warps, 16)
    if args["n_pairs"] == 0:
        return args["loss_ptr"]

    block_d = max(16, min(SHARED_CHUNK, triton.next_power_of_2(args["dim"])))
    grid = (triton.cdiv(args["n_pairs"], block_p),)
    _sgns_update_shared_kernel[grid](
        **args,
        seed=seed,
        pairs_done=pairs_done,
        BLOCK_P=block_p,
        BLOCK_K=max(16, triton.next_power_of_2(args["NUM_NEG"])),
        BLOCK_D=block_d,
        num_warps=num_warps or 8,  # fewer spill registers in the fp32 dots (sm_90, ptxas)
    )
    return args["loss_ptr"]


def sample_negatives(
    alias_prob: torch.Tensor,
    alias_index: torch.Tensor,
    n_rows: int,
    num_negatives: int,
    *,
    seed: int = 0,
    pairs_done: int = 0,
) -> torch.Tensor:
    """The negatives [n_rows, K] int64 that ``sgns_update`` draws for pairs pairs_done + r.

    Args:
        alias_prob, alias_index: [Vc] float32 and int32/int64 alias table on the device.
        n_rows, num_negatives: the output shape [n_rows, K].
        seed, pairs_done: row r, column k is Philox draw (pairs_done + r) * K + k under seed.
            Philox is not the SplitMix64 stream of ``sampler.draw_negatives``: the same seed
            gives other (equally distributed) draws on the CPU.

    Returns:
        [n_rows, K] int64 context rows, distributed as the alias table.

    Example:
        >>> neg = sample_negatives(prob, alias, n_rows=1024, num_negatives=5, seed=7)
    """
    if not isinstance(alias_prob, torch.Tensor) or alias_prob.ndim != 1:
        raise TypeError(f"alias_prob must be a 1-D float32 tensor; got {_describe(alias_prob)}")
    dev = alias_prob.device
    _check_alias(alias_prob, alias_index, alias_prob.shape[0], dev)
    if dev.type != "cuda" and not _interpreted():
        raise ValueError(f"alias_prob must be on a CUDA device; got {dev}; move it with .cuda()")
    for name, v in (("n_rows", n_rows), ("num_negatives", num_negatives)):
        if not isinstance(v, int) or v < 0:
            raise ValueError(f"{name} must be an int >= 0; got {v!r}")
    _check_seed(seed, pairs_done)
    out = torch.empty((n_rows, num_negatives), dtype=torch.int64, device=dev)
    if out.numel() == 0:
        return out

    block_k = triton.next_power_of_2(num_negatives)
    block_r = max(1, 4096 // block_k)
    _sgns_negatives_kernel[(triton.cdiv(n_rows, block_r),)](
        out_ptr=out, prob_ptr=alias_prob, alias_ptr=alias_index,
        n_rows=n_rows, n_contexts=alias_prob.shape[0],
        seed=seed, start=pairs_done,
        NUM_NEG=num_negatives, BLOCK_R=block_r, BLOCK_K=block_k,
    )  # fmt: skip
    return out
