"""(target, context) extraction from dependency trees: the plain Python reference.

Inputs are flat columns of a batch of sentences: ``heads`` int [N] absolute in the batch (the root
points to itself), ``labels`` int [N], ``pos`` int [N], ``sent_offsets`` int64 [S+1] from 0, and
``roles`` int8 [n_labels]: what each label id does (the ``ROLE_*`` constants below). Tokens whose
coarse tag is ``space_pos`` give and receive nothing.

Dependency contexts (Levy & Goldberg 2014). Each arc head h -> modifier m with label id r gives two
pairs, in this order: (h, m, r, inverse=0) and (m, h, r, inverse=1), emitted by modifier index.

* ROLE_SKIP arcs (punct) give nothing.
* spaCy prepositions: a ROLE_POBJ modifier m whose head p is a non-root ROLE_PREP token is
  collapsed onto the head ``a`` of the chain's top preposition (climbing through non-root ROLE_PREP
  heads: "out -> of" joins as one chain). It gives (a, m, -(1 + p), 0) and (m, a, -(1 + p), 1):
  the relation code names the preposition p nearest the object. The prep arcs of the chain give
  nothing; a prep arc without an object (stranded, or a dative noun) stays a plain arc, and so
  does a pobj under a root preposition.
* Universal Dependencies: a non-root ROLE_NOMINAL modifier m (obl, nmod) with ROLE_CASE children
  gives (h, m, -(1 + m), 0) and (m, h, -(1 + m), 1); its case arcs and the ROLE_FIXED arcs under
  them give nothing.

``relation_chains`` turns a collapsed code's token back into the words of the relation: the chain
top..p for a preposition, the case children (each followed by its fixed children) for a nominal.

Window contexts: for each non-space token, the non-space tokens at most ``spans[t]`` positions
away on each side in its sentence (spaces removed before counting), left to right.

The compiled kernels (``compiled.py``) must return exactly the same arrays.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

ROLE_PLAIN = 0
ROLE_SKIP = 1
ROLE_PREP = 2
ROLE_POBJ = 3
ROLE_NOMINAL = 4
ROLE_CASE = 5
ROLE_FIXED = 6
N_ROLES = 7


class TreeError(ValueError):
    """A head outside its sentence; ``token`` and ``head`` are batch indices."""

    def __init__(self, token: int, head: int, start: int, end: int) -> None:
        self.token, self.head, self.start, self.end = token, head, start, end
        super().__init__(
            f"heads[{token}] = {head} lies outside its sentence [{start}, {end}); heads must be "
            "absolute indices of tokens in the same sentence (the root points to itself): "
            "fix the parse or rebuild the input"
        )


class DependencyPairs(NamedTuple):
    """Dependency pairs of a batch, as batch token indices and relation codes (all [P])."""

    targets: np.ndarray  # int32
    contexts: np.ndarray  # int32
    relations: np.ndarray  # int32: label id (>= 0) or -(1 + anchor token) when collapsed
    inverse: np.ndarray  # uint8: 1 when the context is the head (the rI_ side)


def check_tree_inputs(heads, labels, pos, sent_offsets, roles) -> None:
    """Shapes, dtypes and offsets; raises ValueError/TypeError naming the argument."""
    for name, arr in (("heads", heads), ("labels", labels), ("pos", pos)):
        if not isinstance(arr, np.ndarray) or arr.ndim != 1 or arr.dtype.kind not in "iu":
            raise TypeError(f"{name} must be a 1-d integer numpy array; got {_describe(arr)}")
    n = heads.shape[0]
    if labels.shape[0] != n or pos.shape[0] != n:
        raise ValueError(
            f"heads, labels and pos must have the same length; got {n}, {labels.shape[0]}, "
            f"{pos.shape[0]}: pass the columns of one batch"
        )
    check_offsets(sent_offsets, n)
    if not isinstance(roles, np.ndarray) or roles.ndim != 1 or roles.dtype.kind not in "iu":
        raise TypeError(f"roles must be a 1-d integer numpy array; got {_describe(roles)}")
    if n and int(labels.max()) >= roles.shape[0]:
        raise ValueError(
            f"labels hold id {int(labels.max())} but roles has {roles.shape[0]} entries: "
            "give one role per label of the store's label table"
        )
    if roles.size and (int(roles.min()) < 0 or int(roles.max()) >= N_ROLES):
        raise ValueError(
            f"roles must lie in [0, {N_ROLES}); got {int(roles.min())}..{int(roles.max())}"
        )


def check_offsets(sent_offsets, n: int) -> None:
    if not isinstance(sent_offsets, np.ndarray) or sent_offsets.ndim != 1:
        raise TypeError(
            f"sent_offsets must be a 1-d int64 numpy array; got {_describe(sent_offsets)}"
        )
    so = sent_offsets
    if so.shape[0] == 0 or so[0] != 0 or so[-1] != n or np.any(np.diff(so) < 0):
        raise ValueError(
            f"sent_offsets must rise monotonically from 0 to the token count {n}; got "
            f"{so[:3].tolist()}...{so[-2:].tolist()} (length {so.shape[0]}): pass [S+1] offsets"
        )


def _describe(x) -> str:
    if isinstance(x, np.ndarray):
        return f"{x.dtype} array of shape {x.shape}"
    return type(x).__name__


def dependency_pairs_ref(
    heads: np.ndarray,
    labels: np.ndarray,
    pos: np.ndarray,
    sent_offsets: np.ndarray,
    roles: np.ndarray,
    space_pos: int = -1,
) -> DependencyPairs:
    """Dependency pairs of a batch (see the module docstring for the rules and the order)."""
    check_tree_inputs(heads, labels, pos, sent_offsets, roles)
    heads_l, labels_l, pos_l = heads.tolist(), labels.tolist(), pos.tolist()
    roles_l = roles.tolist()
    out: list[tuple[int, int, int, int]] = []
    so = sent_offsets.tolist()
    for s, e in zip(so[:-1], so[1:]):
        for m in range(s, e):
            if not s <= heads_l[m] < e:
                raise TreeError(m, heads_l[m], s, e)

        def role(t: int) -> int:
            return roles_l[labels_l[t]]

        def usable(t: int) -> bool:
            return pos_l[t] != space_pos

        def root(t: int) -> bool:
            return heads_l[t] == t

        absorbed: set[int] = set()
        collapsed: dict[int, tuple[int, int]] = {}  # modifier -> (new head, relation code)
        for m in range(s, e):
            h = heads_l[m]
            if role(m) != ROLE_POBJ or root(m) or not usable(m):
                continue
            if role(h) != ROLE_PREP or root(h) or not usable(h):
                continue
            chain = [h]
            while len(chain) <= e - s:
                g = heads_l[chain[-1]]
                if role(g) == ROLE_PREP and not root(g) and usable(g):
                    chain.append(g)
                else:
                    break
            a = heads_l[chain[-1]]
            if usable(a):
                collapsed[m] = (a, -(1 + h))
                absorbed.update(chain)
        for c in range(s, e):
            m = heads_l[c]
            if role(c) != ROLE_CASE or root(c) or not usable(c):
                continue
            if role(m) == ROLE_NOMINAL and not root(m) and usable(m) and usable(heads_l[m]):
                absorbed.add(c)
                collapsed[m] = (heads_l[m], -(1 + m))
        for f in range(s, e):
            c = heads_l[f]
            if role(f) == ROLE_FIXED and not root(f) and c in absorbed and role(c) == ROLE_CASE:
                absorbed.add(f)
        for m in range(s, e):
            h = heads_l[m]
            if root(m) or not usable(m) or not usable(h) or m in absorbed:
                continue
            if m in collapsed:
                a, code = collapsed[m]
            elif role(m) == ROLE_SKIP:
                continue
            else:
                a, code = h, labels_l[m]
            out.append((a, m, code, 0))
            out.append((m, a, code, 1))
    cols = np.array(out, dtype=np.int64).reshape(-1, 4)
    return DependencyPairs(
        cols[:, 0].astype(np.int32),
        cols[:, 1].astype(np.int32),
        cols[:, 2].astype(np.int32),
        cols[:, 3].astype(np.uint8),
    )


def relation_chains_ref(
    anchors: np.ndarray,
    heads: np.ndarray,
    labels: np.ndarray,
    pos: np.ndarray,
    sent_offsets: np.ndarray,
    roles: np.ndarray,
    space_pos: int = -1,
) -> tuple[np.ndarray, np.ndarray]:
    """Tokens naming each collapsed relation: flat int32 [T] plus int64 offsets [M+1].

    ``anchors`` are the tokens of the relation codes (code -(1 + anchor)). A ROLE_PREP anchor p
    gives its chain from the top preposition down to p; a ROLE_NOMINAL anchor gives its case
    children in order, each followed by its fixed children.
    """
    heads_l, labels_l, pos_l, roles_l = (
        heads.tolist(),
        labels.tolist(),
        pos.tolist(),
        roles.tolist(),
    )
    so = sent_offsets.tolist()
    chains: list[list[int]] = []
    for x in anchors.tolist():
        s = max(i for i in range(len(so) - 1) if so[i] <= x)
        e = so[s + 1]
        s = so[s]
        if roles_l[labels_l[x]] == ROLE_PREP:
            chain = [x]
            while len(chain) <= e - s:
                g = heads_l[chain[-1]]
                if roles_l[labels_l[g]] == ROLE_PREP and heads_l[g] != g and pos_l[g] != space_pos:
                    chain.append(g)
                else:
                    break
            chains.append(chain[::-1])
        else:
            words: list[int] = []
            for c in range(s, e):
                if heads_l[c] == x and c != x and roles_l[labels_l[c]] == ROLE_CASE:
                    if pos_l[c] == space_pos:
                        continue
                    words.append(c)
                    words.extend(
                        f
                        for f in range(s, e)
                        if heads_l[f] == c
                        and f != c
                        and roles_l[labels_l[f]] == ROLE_FIXED
                        and pos_l[f] != space_pos
                    )
            chains.append(words)
    offsets = np.zeros(len(chains) + 1, dtype=np.int64)
    np.cumsum([len(c) for c in chains], out=offsets[1:])
    flat = np.array([t for c in chains for t in c], dtype=np.int32)
    return flat, offsets


def window_pairs_ref(
    pos: np.ndarray,
    sent_offsets: np.ndarray,
    spans: np.ndarray,
    space_pos: int = -1,
) -> tuple[np.ndarray, np.ndarray]:
    """Window pairs (targets, contexts) int32 [P]: ``spans[t]`` words each side of token t."""
    check_window_inputs(pos, sent_offsets, spans)
    pos_l, spans_l = pos.tolist(), spans.tolist()
    out: list[tuple[int, int]] = []
    so = sent_offsets.tolist()
    for s, e in zip(so[:-1], so[1:]):
        toks = [t for t in range(s, e) if pos_l[t] != space_pos]
        for i, t in enumerate(toks):
            w = spans_l[t]
            for j in range(max(0, i - w), min(len(toks), i + w + 1)):
                if j != i:
                    out.append((t, toks[j]))
    cols = np.array(out, dtype=np.int32).reshape(-1, 2)
    return cols[:, 0].copy(), cols[:, 1].copy()


def check_window_inputs(pos, sent_offsets, spans) -> None:
    for name, arr in (("pos", pos), ("spans", spans)):
        if not isinstance(arr, np.ndarray) or arr.ndim != 1 or arr.dtype.kind not in "iu":
            raise TypeError(f"{name} must be a 1-d integer numpy array; got {_describe(arr)}")
    if spans.shape[0] != pos.shape[0]:
        raise ValueError(
            f"spans must give one window size per token ({pos.shape[0]}); got {spans.shape[0]}"
        )
    if spans.size and int(spans.min()) < 0:
        raise ValueError(f"spans must be >= 0; got {int(spans.min())}: pass window sizes")
    check_offsets(sent_offsets, pos.shape[0])
