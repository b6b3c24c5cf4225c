"""(target, context) extraction from dependency trees: numba kernels.

Same rules, inputs and outputs as ``reference.py`` (``dependency_pairs_ref``,
``relation_chains_ref``, ``window_pairs_ref``); the tests require identical arrays.

Each kernel runs two passes over the sentences, ``prange`` across them: a count pass that checks
the heads, marks the tokens (collapsed, absorbed, emitting) in a scratch array and returns the
pair count per sentence, then a fill pass that writes each sentence's pairs at its prefix-sum
offset. Outputs are allocated once, at their exact size. ``numba.set_num_threads`` sets the
number of threads.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .reference import (
    ROLE_CASE,
    ROLE_FIXED,
    ROLE_NOMINAL,
    ROLE_POBJ,
    ROLE_PREP,
    ROLE_SKIP,
    DependencyPairs,
    TreeError,
    check_tree_inputs,
    check_window_inputs,
)

ABSORBED = 1  # a prep/case/fixed arc folded into a collapsed relation: gives nothing
COLLAPSED = 2  # a modifier whose arc is collapsed (pobj over a preposition, obl/nmod with case)
EMITS = 4  # the token's arc gives its two pairs


def _empty(n: int, fill: int, dtype: type) -> np.ndarray:
    return np.empty(n, dtype=dtype)


@njit(cache=True, nogil=True)
def _climb(p, heads, labels, pos, roles, space_pos, n_steps):
    """Top preposition of the chain ending at the non-root preposition p."""
    top = p
    for _ in range(n_steps):
        g = heads[top]
        if roles[labels[g]] != ROLE_PREP or heads[g] == g or pos[g] == space_pos:
            break
        top = g
    return top


@njit(cache=True, nogil=True)
def _mark_sentence(s, e, heads, labels, pos, roles, space_pos, flags):
    """Fill flags[s:e]; return the sentence's pair count, or -1 - token for a bad head."""
    for m in range(s, e):
        h = heads[m]
        if h < s or h >= e:
            return -1 - m
        flags[m] = 0

    for m in range(s, e):
        h = heads[m]
        r = roles[labels[m]]
        if h == m or pos[m] == space_pos:
            continue
        if r == ROLE_POBJ:
            if roles[labels[h]] != ROLE_PREP or heads[h] == h or pos[h] == space_pos:
                continue
            top = _climb(h, heads, labels, pos, roles, space_pos, e - s)
            if pos[heads[top]] == space_pos:
                continue
            flags[m] |= COLLAPSED
            t = h
            for _ in range(e - s + 1):
                flags[t] |= ABSORBED
                if t == top:
                    break
                t = heads[t]
        elif r == ROLE_CASE:
            g = heads[h]
            nominal = roles[labels[h]] == ROLE_NOMINAL and g != h
            if nominal and pos[h] != space_pos and pos[g] != space_pos:
                flags[m] |= ABSORBED
                flags[h] |= COLLAPSED

    n = 0
    for m in range(s, e):
        h = heads[m]
        r = roles[labels[m]]
        if h == m or pos[m] == space_pos or pos[h] == space_pos:
            continue
        f = flags[m]
        # NOTE: case marks are final here, so fixed words under absorbed case words fold in now.
        if r == ROLE_FIXED and flags[h] & ABSORBED and roles[labels[h]] == ROLE_CASE:
            f |= ABSORBED
            flags[m] = f
        if f & ABSORBED or (r == ROLE_SKIP and not f & COLLAPSED):
            continue
        flags[m] = f | EMITS
        n += 2
    return n


@njit(cache=True, nogil=True, parallel=True)
def _dependency_count_kernel(heads, labels, pos, sent_offsets, roles, space_pos, flags, counts):
    """counts int64 [S]: pairs per sentence (negative: -1 - bad token); flags uint8 [N]."""
    for i in prange(sent_offsets.shape[0] - 1):
        s, e = sent_offsets[i], sent_offsets[i + 1]
        counts[i] = _mark_sentence(s, e, heads, labels, pos, roles, space_pos, flags)


@njit(cache=True, nogil=True, parallel=True)
def _dependency_fill_kernel(
    heads, labels, pos, sent_offsets, roles, space_pos, flags, offsets, targets, contexts,
    relations, inverse,
):  # fmt: skip
    """Write the pairs of sentence i at offsets[i] (int32 [P] x3, uint8 [P])."""
    for i in prange(sent_offsets.shape[0] - 1):
        s, e = sent_offsets[i], sent_offsets[i + 1]
        o = offsets[i]
        for m in range(s, e):
            f = flags[m]
            if not f & EMITS:
                continue
            a = heads[m]
            code = np.int32(labels[m])
            if f & COLLAPSED:
                if roles[labels[m]] == ROLE_POBJ:
                    top = _climb(a, heads, labels, pos, roles, space_pos, e - s)
                    code = -1 - a
                    a = heads[top]
                else:
                    code = -1 - m
            targets[o], contexts[o], relations[o], inverse[o] = a, m, code, 0
            targets[o + 1], contexts[o + 1], relations[o + 1], inverse[o + 1] = m, a, code, 1
            o += 2


def dependency_pairs(
    heads: np.ndarray,
    labels: np.ndarray,
    pos: np.ndarray,
    sent_offsets: np.ndarray,
    roles: np.ndarray,
    space_pos: int = -1,
    *,
    debug: bool = False,
) -> DependencyPairs:
    """Dependency (Levy & Goldberg) pairs of a batch of sentences, as numba computes them.

    Args:
        heads: [N] int, absolute head index in the batch (the root points to itself).
        labels: [N] int (uint8 in a store), label ids.
        pos: [N] int, coarse tag ids; ``space_pos`` marks whitespace tokens (-1: none).
        sent_offsets: [S+1] int64 token offsets, 0 to N.
        roles: [n_labels] int8, the ``ROLE_*`` of each label id.
        space_pos: coarse tag id of whitespace tokens, which give and receive nothing.
        debug: poison the outputs (-1, 255) before the fill pass, so a missed write shows.

    Returns:
        DependencyPairs (targets, contexts, relations int32 [P], inverse uint8 [P]); relation
        codes are label ids, or -(1 + anchor token) for collapsed relations
        (see ``relation_chains``).

    Raises:
        TypeError, ValueError: bad shapes or dtypes; TreeError: a head outside its sentence.

    Example:
        >>> heads = np.array([1, 1, 1]); labels = np.array([0, 1, 2]); pos = np.zeros(3, int)
        >>> p = dependency_pairs(heads, labels, pos, np.array([0, 3]), np.zeros(3, np.int8))
        >>> p.targets.tolist(), p.contexts.tolist()
        ([1, 0, 1, 2], [0, 1, 2, 1])
    """
    check_tree_inputs(heads, labels, pos, sent_offsets, roles)
    n_sent = sent_offsets.shape[0] - 1
    heads = np.ascontiguousarray(heads, dtype=np.int32)
    labels = np.ascontiguousarray(labels)
    pos = np.ascontiguousarray(pos)
    sent_offsets = np.ascontiguousarray(sent_offsets, dtype=np.int64)
    roles = np.ascontiguousarray(roles, dtype=np.int8)

    flags = np.empty(heads.shape[0], dtype=np.uint8)
    counts = np.empty(n_sent, dtype=np.int64)
    _dependency_count_kernel(heads, labels, pos, sent_offsets, roles, space_pos, flags, counts)
    if n_sent and counts.min() < 0:
        i = int(np.flatnonzero(counts < 0)[0])
        m = int(-1 - counts[i])
        raise TreeError(m, int(heads[m]), int(sent_offsets[i]), int(sent_offsets[i + 1]))

    offsets = np.zeros(n_sent + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    n_pairs = int(offsets[-1])
    alloc = np.full if debug else _empty
    targets = alloc(n_pairs, -1, dtype=np.int32)
    contexts = alloc(n_pairs, -1, dtype=np.int32)
    relations = alloc(n_pairs, -1, dtype=np.int32)
    inverse = alloc(n_pairs, 255, dtype=np.uint8)
    _dependency_fill_kernel(
        heads, labels, pos, sent_offsets, roles, space_pos, flags, offsets, targets, contexts,
        relations, inverse,
    )  # fmt: skip
    return DependencyPairs(targets, contexts, relations, inverse)


@njit(cache=True, nogil=True)
def _chain_kernel(anchors, heads, labels, pos, sent_offsets, roles, space_pos, offsets, out):
    """Count (out empty) or write (out sized offsets[-1]) the tokens naming each anchor."""
    fill = out.shape[0] > 0
    for k in range(anchors.shape[0]):
        x = anchors[k]
        i = np.searchsorted(sent_offsets, x, side="right") - 1
        s, e = sent_offsets[i], sent_offsets[i + 1]
        o = offsets[k]
        if roles[labels[x]] == ROLE_PREP:
            top = _climb(x, heads, labels, pos, roles, space_pos, e - s)
            n = 1
            t = x
            while t != top:
                t = heads[t]
                n += 1
            if fill:
                t = x
                for j in range(n):
                    out[o + n - 1 - j] = t
                    t = heads[t]
            o += n
        else:
            for c in range(s, e):
                if heads[c] != x or c == x or roles[labels[c]] != ROLE_CASE or pos[c] == space_pos:
                    continue
                if fill:
                    out[o] = c
                o += 1
                for f in range(s, e):
                    fixed = heads[f] == c and f != c and roles[labels[f]] == ROLE_FIXED
                    if fixed and pos[f] != space_pos:
                        if fill:
                            out[o] = f
                        o += 1
        if not fill:
            offsets[k + 1] = o


def relation_chains(
    anchors: np.ndarray,
    heads: np.ndarray,
    labels: np.ndarray,
    pos: np.ndarray,
    sent_offsets: np.ndarray,
    roles: np.ndarray,
    space_pos: int = -1,
) -> tuple[np.ndarray, np.ndarray]:
    """Tokens naming each collapsed relation: flat int32 [T] and int64 offsets [M+1].

    ``anchors`` [M] are the tokens of relation codes -(1 + anchor) from ``dependency_pairs`` on
    the same batch; see ``relation_chains_ref`` for the rule.
    """
    check_tree_inputs(heads, labels, pos, sent_offsets, roles)
    anchors = np.ascontiguousarray(anchors, dtype=np.int64)
    if anchors.size and (anchors.min() < 0 or anchors.max() >= heads.shape[0]):
        raise ValueError(f"anchors must be token indices in [0, {heads.shape[0]}): decode codes")
    args = (
        np.ascontiguousarray(heads, dtype=np.int32),
        np.ascontiguousarray(labels),
        np.ascontiguousarray(pos),
        np.ascontiguousarray(sent_offsets, dtype=np.int64),
        np.ascontiguousarray(roles, dtype=np.int8),
        space_pos,
    )
    offsets = np.zeros(anchors.shape[0] + 1, dtype=np.int64)
    _chain_kernel(anchors, *args, offsets, np.empty(0, dtype=np.int32))
    out = np.full(int(offsets[-1]), -1, dtype=np.int32)
    if out.size:
        _chain_kernel(anchors, *args, offsets, out)
    return out, offsets


@njit(cache=True, nogil=True, parallel=True)
def _window_count_kernel(pos, sent_offsets, spans, space_pos, order, counts):
    """order int32 [N]: each sentence's non-space tokens, packed at its start; counts [S]."""
    for i in prange(sent_offsets.shape[0] - 1):
        s, e = sent_offsets[i], sent_offsets[i + 1]
        n_words = 0
        for t in range(s, e):
            if pos[t] != space_pos:
                order[s + n_words] = t
                n_words += 1
        n = 0
        for j in range(n_words):
            w = spans[order[s + j]]
            n += min(j, w) + min(n_words - 1 - j, w)
        counts[i] = n


@njit(cache=True, nogil=True, parallel=True)
def _window_fill_kernel(pos, sent_offsets, spans, space_pos, order, offsets, targets, contexts):
    for i in prange(sent_offsets.shape[0] - 1):
        s, e = sent_offsets[i], sent_offsets[i + 1]
        n_words = 0
        for t in range(s, e):
            if pos[t] != space_pos:
                n_words += 1
        o = offsets[i]
        for j in range(n_words):
            t = order[s + j]
            w = spans[t]
            for k in range(max(0, j - w), min(n_words, j + w + 1)):
                if k != j:
                    targets[o] = t
                    contexts[o] = order[s + k]
                    o += 1


def window_pairs(
    pos: np.ndarray,
    sent_offsets: np.ndarray,
    spans: np.ndarray,
    space_pos: int = -1,
    *,
    debug: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Window pairs of a batch: (targets, contexts) int32 [P] as batch token indices.

    Args:
        pos: [N] int coarse tag ids (only compared with ``space_pos``).
        sent_offsets: [S+1] int64 token offsets, 0 to N.
        spans: [N] int, words taken on each side of each token (k, or word2vec's shrunk window).
        space_pos: coarse tag id of whitespace tokens, which are removed first (-1: none).
        debug: poison the outputs with -1 before the fill pass.

    Example:
        >>> t, c = window_pairs(np.zeros(3, int), np.array([0, 3]), np.ones(3, np.int32))
        >>> t.tolist(), c.tolist()
        ([0, 1, 1, 2], [1, 0, 2, 1])
    """
    check_window_inputs(pos, sent_offsets, spans)
    n_sent = sent_offsets.shape[0] - 1
    pos = np.ascontiguousarray(pos)
    sent_offsets = np.ascontiguousarray(sent_offsets, dtype=np.int64)
    spans = np.ascontiguousarray(spans, dtype=np.int32)

    order = np.empty(pos.shape[0], dtype=np.int32)
    counts = np.empty(n_sent, dtype=np.int64)
    _window_count_kernel(pos, sent_offsets, spans, space_pos, order, counts)
    offsets = np.zeros(n_sent + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    alloc = np.full if debug else _empty
    targets = alloc(int(offsets[-1]), -1, dtype=np.int32)
    contexts = alloc(int(offsets[-1]), -1, dtype=np.int32)
    _window_fill_kernel(pos, sent_offsets, spans, space_pos, order, offsets, targets, contexts)
    return targets, contexts
