"""Evaluation: Spearman rho, similarity with coverage, analogies by 3CosAdd and 3CosMul."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from gramfast.errors import InputError
from gramfast.vectors import (
    Vectors,
    evaluate_analogies,
    evaluate_similarity,
    neighbors,
    read_analogies,
    read_similarity_pairs,
    solve_analogies,
    spearman,
    top_cosine,
)
from gramfast.vectors import evaluate as evaluate_module
from gramfast.vectors.evaluate import COSMUL_EPS, rank_average


def analogy_reference(unit: np.ndarray, abc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Question by question, candidate by candidate, in float64: the formulas as written."""
    u = unit.astype(np.float64)
    add_scores, mul_scores = [], []
    for a, b, c in abc:
        add_row, mul_row = [], []
        for x in range(len(u)):
            if x in (a, b, c):
                add_row.append(-np.inf)
                mul_row.append(-np.inf)
                continue
            ca, cb, cc = u[x] @ u[a], u[x] @ u[b], u[x] @ u[c]
            add_row.append(cb - ca + cc)
            mul_row.append(((cb + 1) / 2) * ((cc + 1) / 2) / ((ca + 1) / 2 + COSMUL_EPS))
        add_scores.append(add_row)
        mul_scores.append(mul_row)
    return np.array(add_scores), np.array(mul_scores)


def assert_argmax_matches(pred: np.ndarray, scores: np.ndarray, name: str) -> None:
    """``pred`` must be the reference argmax, or tie with it to float32 rounding."""
    best = scores.argmax(axis=1)
    gap = scores[np.arange(len(best)), best] - scores[np.arange(len(best)), pred]
    assert (gap <= 1e-5).all(), (
        f"{name}: {int((gap > 1e-5).sum())} questions off, max gap {gap.max()}"
    )


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


@pytest.mark.parametrize("n", [2, 10, 500])
def test_spearman_matches_scipy(rng: np.random.Generator, n: int) -> None:
    stats = pytest.importorskip("scipy.stats", reason="scipy is not installed (dev extra)")
    x = rng.integers(0, 5, n).astype(float)  # many ties
    y = x + rng.standard_normal(n)
    ref = stats.spearmanr(x, y).statistic
    assert spearman(x, y) == pytest.approx(ref, abs=1e-12)
    np.testing.assert_allclose(rank_average(x), stats.rankdata(x, method="average"), atol=0)


def test_spearman_edges() -> None:
    assert spearman(np.array([1.0, 2.0, 3.0]), np.array([9.0, 5.0, 1.0])) == pytest.approx(-1.0)
    assert math.isnan(spearman(np.array([1.0]), np.array([2.0])))
    assert math.isnan(spearman(np.array([1.0, 1.0, 1.0]), np.array([1.0, 2.0, 3.0])))
    np.testing.assert_array_equal(rank_average(np.array([3.0, 1.0, 3.0, 2.0])), [3.5, 1, 3.5, 2])
    with pytest.raises(ValueError, match="x and y must have the same shape"):
        spearman(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match="without NaN"):
        rank_average(np.array([1.0, np.nan]))


def angle_vectors() -> Vectors:
    """Words at known angles in 2-D: cos(w0, w_k) = cos(k * 20 degrees)."""
    angles = np.deg2rad(20 * np.arange(6))
    matrix = np.stack([np.cos(angles), np.sin(angles)], axis=1) * (1 + np.arange(6))[:, None]
    return Vectors(["W0", "w1", "w2", "w3", "w4", "w5"], matrix)


def test_similarity_known_ranks(tmp_path: Path) -> None:
    v = angle_vectors()
    # Human scores fall with the angle, except that the last pair is swapped: rho by hand.
    lines = ["w0\tw1\t9", "w0\tw2\t7", "w1\tw4\t4.5", "w0\tw4\t5", "w0\tw5\t1", "w0\tzz\t3"]
    path = write_lines(tmp_path / "pairs.tsv", ["word1\tword2\tscore", *lines])
    got = evaluate_similarity(v, path)
    # cosines rank: (w0,w1) > (w0,w2) > (w1,w4)=60deg > (w0,w4)=80deg > (w0,w5); human swaps 3-4
    d2 = 1 + 1  # squared rank differences
    assert got == {
        "rho": pytest.approx(1 - 6 * d2 / (5 * 24)),
        "coverage": 5 / 6,
        "n_pairs": 6,
        "n_found": 5,
    }
    exact = evaluate_similarity(v, path, lowercase=False)  # "w0" is spelled "W0" in the vocabulary
    assert (exact["n_found"], exact["coverage"]) == (1, 1 / 6) and math.isnan(exact["rho"])


def test_similarity_file_errors(tmp_path: Path) -> None:
    v = angle_vectors()
    with pytest.raises(InputError, match=r"line 2: expected word1<TAB>word2<TAB>score; got 2"):
        evaluate_similarity(v, write_lines(tmp_path / "a.tsv", ["w0\tw1\t1", "w0\tw1"]))
    with pytest.raises(InputError, match=r"line 3: score 'high' is not a number"):
        read_similarity_pairs(write_lines(tmp_path / "b.tsv", ["a b c", "w0 w1 2", "w0 w2 high"]))
    with pytest.raises(InputError, match="no word pairs found"):
        read_similarity_pairs(write_lines(tmp_path / "c.tsv", ["# comment", ""]))


def royal_vectors() -> Vectors:
    """Words built from orthonormal features so that b - a + c equals d exactly."""
    feats = ["royal", "male", "female", "person", "city", "capital", "x1", "x2"]
    e = np.eye(len(feats), dtype=np.float32)
    f = dict(zip(feats, e, strict=True))
    words = {
        "king": f["royal"] + f["male"],
        "queen": f["royal"] + f["female"],
        "man": f["person"] + f["male"],
        "woman": f["person"] + f["female"],
        "paris": f["capital"] + f["x1"],
        "france": f["x1"] + f["city"],
        "rome": f["capital"] + f["x2"],
        "italy": f["x2"] + f["city"],
        "prince": f["royal"] + 0.5 * f["male"] + 0.2 * f["x1"],
    }
    return Vectors(list(words), np.stack(list(words.values())))


def test_analogies_known_answers(tmp_path: Path) -> None:
    questions = write_lines(
        tmp_path / "q.txt",
        [
            ": family",
            "man woman king queen",
            "woman man queen king",
            "Man Woman King Prince",  # wrong by construction: queen is the answer
            ": gram-capitals",
            "paris france rome italy",
            "rome italy paris france",
            "paris france berlin germany",  # not in the vocabulary
        ],
    )
    got = evaluate_analogies(royal_vectors(), questions)
    fam, cap, total = got["sections"]["family"], got["sections"]["gram-capitals"], got["total"]
    assert (fam["n"], fam["n_found"], fam["cosadd_correct"], fam["cosmul_correct"]) == (3, 3, 2, 2)
    assert (cap["n"], cap["n_found"], cap["cosadd"], cap["cosmul"]) == (3, 2, 1.0, 1.0)
    assert (total["n"], total["n_found"], total["coverage"]) == (6, 5, 5 / 6)
    assert total["cosadd"] == pytest.approx(4 / 5) and got["syntactic"]["n_found"] == 2
    exact = evaluate_analogies(royal_vectors(), questions, lowercase=False)
    assert exact["sections"]["family"]["n_found"] == 2
    # Only the first 4 words are candidates: the capitals questions drop out.
    small = evaluate_analogies(royal_vectors(), questions, restrict_vocab=4)
    assert small["total"]["n_found"] == 2 and small["restrict_vocab"] == 4
    assert math.isnan(small["sections"]["gram-capitals"]["cosmul"])


def test_cosmul_and_cosadd_differ_by_construction(tmp_path: Path) -> None:
    # a, b, c orthonormal; x = alpha a + beta b + gamma c + rest, so cos(x, a) = alpha etc.
    # x1: cos(b) = 0.9, cos(c) = 0    -> 3CosAdd 0.9,  3CosMul 0.95 * 0.5 / 0.501 = 0.948
    # x2: cos(b) = 0.4, cos(c) = 0.4  -> 3CosAdd 0.8,  3CosMul 0.7 * 0.7 / 0.501  = 0.978
    e = np.eye(6)
    x1 = 0.9 * e[1] + math.sqrt(1 - 0.81) * e[3]
    x2 = 0.4 * e[1] + 0.4 * e[2] + math.sqrt(1 - 0.32) * e[4]
    v = Vectors(["a", "b", "c", "x1", "x2", "far"], np.stack([e[0], e[1], e[2], x1, x2, -e[1]]))
    path = write_lines(tmp_path / "q.txt", [": s", "a b c x1", "a b c x2"])
    got = evaluate_analogies(v, path)["total"]
    assert (got["cosadd_correct"], got["cosmul_correct"]) == (1, 1)
    add, mul = solve_analogies(v.unit(), np.array([[0, 1, 2]]))
    assert (add[0], mul[0]) == (3, 4)


@pytest.mark.parametrize(
    "v,d,q,block",
    [
        pytest.param(4, 3, 5, 4096, id="V4"),
        pytest.param(300, 16, 64, 4096, id="V300"),
        pytest.param(300, 16, 64, 7, id="V300-blocks-of-7"),
    ],
)
def test_solve_analogies_matches_reference(
    rng: np.random.Generator, monkeypatch, v: int, d: int, q: int, block: int
) -> None:
    monkeypatch.setattr(evaluate_module, "_CANDIDATE_BLOCK", block)
    monkeypatch.setattr(evaluate_module, "_MAX_BATCH_ELEMENTS", 10 * block)  # 10 questions
    vecs = Vectors([f"w{i}" for i in range(v)], rng.standard_normal((v, d)))
    abc = np.stack([rng.choice(v, 3, replace=False) for _ in range(q)])
    out_add = np.full(q, -1)
    out_mul = np.full(q, -1)
    out_add[:], out_mul[:] = solve_analogies(vecs.unit(), abc)
    ref_add, ref_mul = analogy_reference(vecs.unit(), abc)
    assert_argmax_matches(out_add, ref_add, "3CosAdd")
    assert_argmax_matches(out_mul, ref_mul, "3CosMul")
    assert not (out_add[:, None] == abc).any() and not (out_mul[:, None] == abc).any()


def test_cosadd_matches_gensim(tmp_path: Path, rng: np.random.Generator) -> None:
    models = pytest.importorskip("gensim.models", reason="gensim is not installed (dev extra)")
    v, d = 200, 20
    vecs = Vectors([f"w{i}" for i in range(v)], rng.standard_normal((v, d)))
    kv = models.KeyedVectors(d)
    kv.add_vectors(vecs.words, np.array(vecs.matrix))
    abc = np.stack([rng.choice(v, 3, replace=False) for _ in range(40)])
    pred_add, _ = solve_analogies(vecs.unit(), abc)
    gensim_pred = [
        kv.most_similar(positive=[f"w{b}", f"w{c}"], negative=[f"w{a}"], topn=1)[0][0]
        for a, b, c in abc
    ]
    assert [f"w{i}" for i in pred_add] == gensim_pred
    # The whole path agrees as well: questions whose answer is gensim's pick are all correct.
    lines = [": s"] + [f"w{a} w{b} w{c} {g}" for (a, b, c), g in zip(abc, gensim_pred, strict=True)]
    got = evaluate_analogies(vecs, write_lines(tmp_path / "q.txt", lines), lowercase=False)
    assert got["total"]["cosadd"] == 1.0


def test_read_analogies_format(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "q.txt", ["a b c d", "", ": one", "e f g h", ": two"])
    assert read_analogies(path) == {
        "": [("a", "b", "c", "d")],
        "one": [("e", "f", "g", "h")],
        "two": [],
    }
    with pytest.raises(InputError, match=r"q2.txt: line 2: expected four words .* got 3 words"):
        read_analogies(write_lines(tmp_path / "q2.txt", [": s", "a b c"]))
    with pytest.raises(InputError, match="no analogy questions found"):
        read_analogies(write_lines(tmp_path / "q3.txt", [": s"]))


def test_top_cosine_and_neighbors(rng: np.random.Generator) -> None:
    vecs = Vectors([f"w{i}" for i in range(30)], rng.standard_normal((30, 6)))
    m = vecs.matrix.astype(np.float64)
    cos = (m @ m.T) / np.outer(np.linalg.norm(m, axis=1), np.linalg.norm(m, axis=1))
    got = neighbors(vecs, ["w3", "w7"], topn=5)
    for w in ("w3", "w7"):
        row = cos[int(w[1:])].copy()
        row[int(w[1:])] = -np.inf
        order = np.argsort(-row)[:5]
        assert [n for n, _ in got[w]] == [f"w{i}" for i in order]
        np.testing.assert_allclose([c for _, c in got[w]], row[order], rtol=1e-5, atol=1e-6)
    ids, scores = top_cosine(vecs.unit()[:1], vecs.unit()[:3], 5, exclude=[[0, 2]])
    assert ids.tolist() == [[1, -1, -1]] and np.isnan(scores[0, 1:]).all()
    with pytest.raises(InputError, match="not in the vocabulary of 30 words: 'nope', 'zz'"):
        neighbors(vecs, ["w1", "nope", "zz"])
    with pytest.raises(ValueError, match="D must agree"):
        top_cosine(np.ones((1, 4)), vecs.unit(), 3)


def test_shared_similarity_and_analogy_files(shared_data: Path, rng: np.random.Generator) -> None:
    simlex = shared_data / "similarity" / "simlex999.tsv"
    questions = shared_data / "similarity" / "questions-words.txt"
    if not simlex.is_file() or not questions.is_file():
        pytest.skip(f"{simlex.name} or {questions.name} is missing from {simlex.parent}")
    pairs = read_similarity_pairs(simlex)
    sections = read_analogies(questions)
    assert len(pairs) == 999  # SimLex-999 (Hill et al. 2015)
    assert (len(sections), sum(map(len, sections.values()))) == (14, 19544)  # Mikolov et al. 2013
    words = sorted({w.lower() for a, b, _ in pairs for w in (a, b)})
    vecs = Vectors(words, rng.standard_normal((len(words), 8)))
    got = evaluate_similarity(vecs, simlex)
    assert (got["n_found"], got["coverage"]) == (999, 1.0) and abs(got["rho"]) < 0.2
