"""Context kernels: numba against the Python reference, the paper's example, errors."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from gramfast.kernels.contexts import (
    ROLE_CASE,
    ROLE_FIXED,
    ROLE_NOMINAL,
    ROLE_PLAIN,
    ROLE_POBJ,
    ROLE_PREP,
    ROLE_SKIP,
    TreeError,
    dependency_pairs,
    dependency_pairs_ref,
    relation_chains,
    relation_chains_ref,
    window_pairs,
    window_pairs_ref,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import PAPER_CONTEXTS

# A label table with every role, spaCy's and UD's: plain, punct, prep, pobj, obl, case, fixed.
ROLES = np.array(
    [ROLE_PLAIN, ROLE_PLAIN, ROLE_SKIP, ROLE_PREP, ROLE_POBJ, ROLE_NOMINAL, ROLE_CASE, ROLE_FIXED],
    dtype=np.int8,
)
SPACE = 3  # pos id of whitespace tokens in the random trees


def _assert_same(ref, out) -> None:
    for name, r, o in zip(("targets", "contexts", "relations", "inverse"), ref, out):
        assert o.dtype == r.dtype, f"{name}: dtype {o.dtype} != {r.dtype}"
        np.testing.assert_array_equal(o, r, err_msg=name)


def _random_forest(rng: np.random.Generator, n_sent: int, max_len: int, p_space: float = 0.05):
    """Random trees (any projectivity), labels weighted towards prepositions and case."""
    lengths = rng.integers(1, max_len + 1, size=n_sent)
    offsets = np.zeros(n_sent + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    heads = np.empty(offsets[-1], dtype=np.int32)
    for s, n in zip(offsets[:-1], lengths):
        order = rng.permutation(n)
        heads[s + order[0]] = s + order[0]
        for k in range(1, n):
            heads[s + order[k]] = s + order[rng.integers(0, k)]
    weights = np.array([3, 3, 1, 3, 3, 2, 2, 1], dtype=float)
    labels = rng.choice(len(ROLES), size=heads.shape[0], p=weights / weights.sum()).astype(np.uint8)
    pos = np.where(rng.random(heads.shape[0]) < p_space, SPACE, 0).astype(np.uint8)
    return heads, labels, pos, offsets


@st.composite
def forests(draw):
    """Hypothesis batches of 1-4 trees of 1-10 tokens: parents, labels, spaces drawn per token."""
    heads, labels, pos, offsets = [], [], [], [0]
    for _ in range(draw(st.integers(1, 4))):
        n = draw(st.integers(1, 10))
        s = offsets[-1]
        order = draw(st.permutations(range(n)))
        sent_heads = [0] * n
        sent_heads[order[0]] = s + order[0]
        for k in range(1, n):
            sent_heads[order[k]] = s + order[draw(st.integers(0, k - 1))]
        heads += sent_heads
        labels += draw(st.lists(st.integers(0, len(ROLES) - 1), min_size=n, max_size=n))
        pos += draw(st.lists(st.sampled_from([0, 0, 0, 0, 1, SPACE]), min_size=n, max_size=n))
        offsets.append(s + n)
    return (
        np.array(heads, dtype=np.int32),
        np.array(labels, dtype=np.uint8),
        np.array(pos, dtype=np.uint8),
        np.array(offsets, dtype=np.int64),
    )


def _check_dependency(heads, labels, pos, offsets) -> None:
    ref = dependency_pairs_ref(heads, labels, pos, offsets, ROLES, SPACE)
    out = dependency_pairs(heads, labels, pos, offsets, ROLES, SPACE, debug=True)
    _assert_same(ref, out)
    anchors = np.unique(-1 - ref.relations[ref.relations < 0])
    ref_chain = relation_chains_ref(anchors, heads, labels, pos, offsets, ROLES, SPACE)
    out_chain = relation_chains(anchors, heads, labels, pos, offsets, ROLES, SPACE)
    np.testing.assert_array_equal(out_chain[0], ref_chain[0])
    np.testing.assert_array_equal(out_chain[1], ref_chain[1])


@settings(max_examples=300, deadline=None)
@given(forests())
def test_dependency_pairs_hypothesis(forest) -> None:
    _check_dependency(*forest)


@pytest.mark.parametrize(
    "n_sent, max_len", [(1, 1), (3, 2), (2000, 40)], ids=["S1-L1", "S3", "S2000"]
)
def test_dependency_pairs_random(n_sent: int, max_len: int) -> None:
    rng = np.random.default_rng(n_sent)
    _check_dependency(*_random_forest(rng, n_sent, max_len))


@settings(max_examples=200, deadline=None)
@given(forests(), st.integers(0, 6), st.booleans())
def test_window_pairs_hypothesis(forest, k: int, shrink: bool) -> None:
    _, _, pos, offsets = forest
    rng = np.random.default_rng(k)
    spans = rng.integers(1, k + 1, size=pos.shape[0]) if shrink and k else np.full(pos.shape, k)
    spans = spans.astype(np.int32)
    ref = window_pairs_ref(pos, offsets, spans, SPACE)
    out = window_pairs(pos, offsets, spans, SPACE, debug=True)
    np.testing.assert_array_equal(out[0], ref[0])
    np.testing.assert_array_equal(out[1], ref[1])


def test_window_pairs_paper_k2() -> None:
    pos = np.zeros(6, dtype=np.uint8)
    t, c = window_pairs(pos, np.array([0, 6]), np.full(6, 2, dtype=np.int32))
    got = {(int(a), int(b)) for a, b in zip(t, c)}
    assert got == {(a, b) for a in range(6) for b in range(6) if 0 < abs(a - b) <= 2}


def test_empty_batch() -> None:
    z = np.zeros(0, dtype=np.int32)
    offsets = np.zeros(1, dtype=np.int64)
    out = dependency_pairs(z, z.astype(np.uint8), z.astype(np.uint8), offsets, ROLES)
    assert all(a.shape == (0,) for a in out)
    t, c = window_pairs(z, offsets, z)
    assert t.shape == c.shape == (0,)


def _render(pairs, forms, label_names, heads, labels, pos, offsets, roles) -> set[tuple[str, str]]:
    anchors = np.unique(-1 - pairs.relations[pairs.relations < 0])
    flat, off = relation_chains(anchors, heads, labels, pos, offsets, roles)
    names = {}
    for k, a in enumerate(anchors.tolist()):
        words = "_".join(forms[t] for t in flat[off[k] : off[k + 1]])
        kind = "prep" if roles[labels[a]] == ROLE_PREP else label_names[labels[a]]
        names[-1 - a] = f"{kind}_{words}"
    out = set()
    for t, c, r, inv in zip(*(a.tolist() for a in pairs)):
        rel = label_names[r] if r >= 0 else names[r]
        out.add((forms[t], f"{rel}{'I' if inv else ''}_{forms[c]}"))
    return out


def _doc_arrays(words, heads, deps, pos, role_of):
    """A spaCy Doc built by hand (no model), converted as the store does it."""
    from spacy.tokens import Doc
    from spacy.vocab import Vocab

    doc = Doc(Vocab(), words=words, heads=heads, deps=deps, pos=pos)
    arr = doc.to_array(["HEAD", "DEP"]).astype(np.int64)  # HEAD: relative offset
    abs_heads = (np.arange(len(doc)) + arr[:, 0]).astype(np.int32)
    names = sorted({t.dep_ for t in doc})
    labels = np.array([names.index(t.dep_) for t in doc], dtype=np.uint8)
    roles = np.array([role_of.get(n, ROLE_PLAIN) for n in names], dtype=np.int8)
    forms = [t.text.lower() for t in doc]
    return forms, names, abs_heads, labels, np.zeros(len(doc), np.uint8), roles


SPACY_ROLES = {
    "prep": ROLE_PREP,
    "agent": ROLE_PREP,
    "dative": ROLE_PREP,
    "pobj": ROLE_POBJ,
    "pcomp": ROLE_POBJ,
    "punct": ROLE_SKIP,
}


def test_dependency_pairs_paper_example() -> None:
    forms, names, heads, labels, pos, roles = _doc_arrays(
        ["Australian", "scientist", "discovers", "star", "with", "telescope"],
        [1, 2, 2, 2, 2, 4],
        ["amod", "nsubj", "ROOT", "dobj", "prep", "pobj"],
        ["ADJ", "NOUN", "VERB", "NOUN", "ADP", "NOUN"],
        SPACY_ROLES,
    )
    offsets = np.array([0, len(forms)])
    for fn in (dependency_pairs, dependency_pairs_ref):
        pairs = fn(heads, labels, pos, offsets, roles)
        assert _render(pairs, forms, names, heads, labels, pos, offsets, roles) == PAPER_CONTEXTS


@pytest.mark.parametrize(
    "words, heads, deps, expected",
    [
        pytest.param(
            ["He", "jumped", "out", "of", "windows", "."],
            [1, 1, 1, 2, 3, 1],
            ["nsubj", "ROOT", "prep", "prep", "pobj", "punct"],
            {
                ("jumped", "nsubj_he"),
                ("he", "nsubjI_jumped"),
                ("jumped", "prep_out_of_windows"),
                ("windows", "prep_out_ofI_jumped"),
            },
            id="chain-out-of",
        ),
        pytest.param(
            ["With", "telescopes"],
            [0, 0],
            ["ROOT", "pobj"],
            {("with", "pobj_telescopes"), ("telescopes", "pobjI_with")},
            id="root-preposition",
        ),
        pytest.param(
            ["What", "are", "you", "looking", "at"],
            [3, 3, 3, 3, 3],
            ["dobj", "aux", "nsubj", "ROOT", "prep"],
            {
                ("looking", "dobj_what"),
                ("what", "dobjI_looking"),
                ("looking", "aux_are"),
                ("are", "auxI_looking"),
                ("looking", "nsubj_you"),
                ("you", "nsubjI_looking"),
                ("looking", "prep_at"),
                ("at", "prepI_looking"),
            },
            id="stranded-preposition",
        ),
    ],
)
def test_dependency_pairs_spacy_cases(words, heads, deps, expected) -> None:
    forms, names, h, labels, pos, roles = _doc_arrays(
        words, heads, deps, ["X"] * len(words), SPACY_ROLES
    )
    offsets = np.array([0, len(words)])
    pairs = dependency_pairs(h, labels, pos, offsets, roles)
    assert _render(pairs, forms, names, h, labels, pos, offsets, roles) == expected


def test_dependency_pairs_ud_case_and_fixed() -> None:
    # "left because of rain": left <-obl- rain, rain <-case- because, because <-fixed- of
    names = ["root", "obl", "case", "fixed"]
    roles = np.array([ROLE_PLAIN, ROLE_NOMINAL, ROLE_CASE, ROLE_FIXED], dtype=np.int8)
    forms = ["left", "because", "of", "rain"]
    heads = np.array([0, 3, 1, 0], dtype=np.int32)
    labels = np.array([0, 2, 3, 1], dtype=np.uint8)
    pos = np.zeros(4, np.uint8)
    offsets = np.array([0, 4])
    pairs = dependency_pairs(heads, labels, pos, offsets, roles)
    assert _render(pairs, forms, names, heads, labels, pos, offsets, roles) == {
        ("left", "obl_because_of_rain"),
        ("rain", "obl_because_ofI_left"),
    }


@pytest.mark.parametrize("fn", [dependency_pairs, dependency_pairs_ref], ids=["numba", "ref"])
def test_head_outside_sentence(fn) -> None:
    heads = np.array([0, 0, 0, 1], dtype=np.int32)  # token 3 (sentence [3, 4)) points to 1
    z = np.zeros(4, np.uint8)
    with pytest.raises(TreeError, match=r"heads\[3\] = 1 lies outside its sentence \[3, 4\)"):
        fn(heads, z, z, np.array([0, 3, 4]), ROLES)


@pytest.mark.parametrize(
    "kwargs, err, match",
    [
        ({"heads": np.zeros(3, np.float32)}, TypeError, "heads must be a 1-d integer"),
        ({"labels": np.zeros(2, np.uint8)}, ValueError, "must have the same length"),
        ({"sent_offsets": np.array([0, 2])}, ValueError, "sent_offsets must rise"),
        ({"labels": np.full(3, 9, np.uint8)}, ValueError, "roles has 8 entries"),
        ({"roles": np.full(8, 7, np.int8)}, ValueError, r"roles must lie in \[0, 7\)"),
    ],
)
def test_dependency_pairs_bad_input(kwargs, err, match) -> None:
    args = {
        "heads": np.zeros(3, np.int32),
        "labels": np.zeros(3, np.uint8),
        "pos": np.zeros(3, np.uint8),
        "sent_offsets": np.array([0, 3]),
        "roles": ROLES,
    } | kwargs
    for fn in (dependency_pairs, dependency_pairs_ref):
        with pytest.raises(err, match=match):
            fn(**args)


def test_window_pairs_bad_input() -> None:
    pos = np.zeros(3, np.uint8)
    with pytest.raises(ValueError, match="one window size per token"):
        window_pairs(pos, np.array([0, 3]), np.ones(2, np.int32))
    with pytest.raises(ValueError, match="spans must be >= 0"):
        window_pairs(pos, np.array([0, 3]), np.array([1, -1, 1]))


def test_without_jit() -> None:
    """The kernels' Python bodies (NUMBA_DISABLE_JIT=1) agree with the reference too."""
    code = (
        "import numpy as np\n"
        "from tests.kernels.test_contexts import _check_dependency, _random_forest\n"
        "_check_dependency(*_random_forest(np.random.default_rng(5), 60, 12))\n"
    )
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-2000:]
