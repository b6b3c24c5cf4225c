"""Intrinsic evaluation: word-pair similarity (Spearman rho) and analogies (3CosAdd, 3CosMul).

Similarity: the cosine of each pair whose two words are in the vocabulary, ranked against the
human scores with Spearman's rho (ties get average ranks); coverage is the share of pairs found.

Analogies (Google format: ``: section`` lines, then ``a b c d`` meaning a is to b as c is to d):
over the candidates x of the first ``restrict_vocab`` rows, excluding a, b and c,

    3CosAdd: argmax cos(x, b) - cos(x, a) + cos(x, c)
    3CosMul: argmax cos'(x, b) cos'(x, c) / (cos'(x, a) + 1e-3),  cos' = (cos + 1) / 2

(Levy & Goldberg 2014, "Linguistic Regularities in Sparse and Explicit Word Representations").
A question counts when all four words are in the restricted vocabulary; accuracy is over those.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from .io import Vectors

log = logging.getLogger(__name__)

COSMUL_EPS = 1e-3
# Analogy scores are computed for blocks of this many candidates and batches of questions
# holding at most _MAX_BATCH_ELEMENTS float32 scores (8 MiB) each.
_CANDIDATE_BLOCK = 4096
_MAX_BATCH_ELEMENTS = 1 << 21


def rank_average(values: np.ndarray) -> np.ndarray:
    """1-based ranks of ``[n]`` values, tied values sharing their average rank (float64)."""
    a = np.asarray(values, dtype=np.float64)
    if a.ndim != 1 or np.isnan(a).any():
        raise ValueError(f"values must be a 1-d array without NaN; got shape {a.shape}")
    order = np.argsort(a, kind="stable")
    s = a[order]
    is_new = np.r_[True, s[1:] != s[:-1]]
    starts = np.flatnonzero(is_new)
    ends = np.r_[starts[1:], len(s)]
    ranks = np.empty(len(a), dtype=np.float64)
    ranks[order] = ((starts + ends + 1) / 2.0)[np.cumsum(is_new) - 1]
    return ranks


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's rho of two ``[n]`` arrays (average ranks for ties); NaN when n < 2 or either
    side is constant. Matches ``scipy.stats.spearmanr`` without needing scipy."""
    x, y = np.asarray(x), np.asarray(y)
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same shape; got {x.shape} and {y.shape}")
    if len(x) < 2:
        return math.nan
    rx, ry = rank_average(x), rank_average(y)
    rx -= rx.mean()
    ry -= ry.mean()
    denom = math.sqrt(float(rx @ rx) * float(ry @ ry))
    return float(rx @ ry) / denom if denom > 0 else math.nan


def read_similarity_pairs(path: str | Path) -> list[tuple[str, str, float]]:
    """Read ``word1 word2 score`` lines (tab- or space-separated). Blank lines and ``#``
    comments are skipped, and so is a first line whose score is not a number (a header).

    Raises:
        InputError: a line without exactly three fields or with a bad score, or no pairs at all.
    """
    path = Path(path)
    pairs: list[tuple[str, str, float]] = []
    with open(path, encoding="utf-8") as f:
        for line_no, line in enumerate(f, start=1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split("\t") if "\t" in line else line.split()
            if len(parts) != 3:
                raise InputError(
                    f"{path}: line {line_no}: expected word1<TAB>word2<TAB>score; "
                    f"got {len(parts)} fields"
                )
            try:
                score = float(parts[2])
            except ValueError:
                if line_no == 1:
                    continue
                raise InputError(
                    f"{path}: line {line_no}: score {parts[2]!r} is not a number"
                ) from None
            pairs.append((parts[0].strip(), parts[1].strip(), score))
    if not pairs:
        raise InputError(f"{path}: no word pairs found")
    return pairs


def evaluate_similarity(
    vectors: Vectors, pairs_file: str | Path, *, lowercase: bool = True
) -> dict[str, Any]:
    """Spearman's rho between cosine similarities and human scores.

    Args:
        vectors: the vectors to evaluate.
        pairs_file: ``word1<TAB>word2<TAB>score`` lines (SimLex-999, WordSim-353, MEN...).
        lowercase: match words case-insensitively; a lowercased form maps to its first
            (most frequent) spelling in the vocabulary. False: exact match.

    Returns:
        ``{"rho", "coverage", "n_pairs", "n_found"}``; rho is over the pairs found (NaN under 2).

    Example:
        >>> evaluate_similarity(vecs, "simlex999.tsv")["rho"]
    """
    pairs = read_similarity_pairs(pairs_file)
    lookup = _lookup(vectors, lowercase, len(vectors))
    key = str.lower if lowercase else str
    found = [
        (lookup[key(a)], lookup[key(b)], s)
        for a, b, s in pairs
        if key(a) in lookup and key(b) in lookup
    ]
    rho = math.nan
    if found:
        unit = vectors.unit()
        rows_a, rows_b, human = (np.array(col) for col in zip(*found, strict=True))
        cosines = np.einsum("ij,ij->i", unit[rows_a], unit[rows_b])
        rho = spearman(cosines, human)
    log.info("%s: %d of %d pairs found, rho %.4f", pairs_file, len(found), len(pairs), rho)
    return {
        "rho": rho,
        "coverage": len(found) / len(pairs),
        "n_pairs": len(pairs),
        "n_found": len(found),
    }


def read_analogies(path: str | Path) -> dict[str, list[tuple[str, str, str, str]]]:
    """Read Google-format analogies: ``: section`` lines, then ``a b c d`` lines.

    Returns:
        ``{section: [(a, b, c, d), ...]}`` in file order; lines before any ``:`` line go to
        section ``""``.

    Raises:
        InputError: a question line without four words, or no questions.
    """
    path = Path(path)
    sections: dict[str, list[tuple[str, str, str, str]]] = {}
    current = ""
    with open(path, encoding="utf-8") as f:
        for line_no, line in enumerate(f, start=1):
            line = line.strip()
            if not line:
                continue
            if line.startswith(":"):
                current = line[1:].strip()
                sections.setdefault(current, [])
                continue
            words = line.split()
            if len(words) != 4:
                raise InputError(
                    f"{path}: line {line_no}: expected four words 'a b c d' or a ': section' "
                    f"line; got {len(words)} words"
                )
            sections.setdefault(current, []).append((words[0], words[1], words[2], words[3]))
    if not any(sections.values()):
        raise InputError(f"{path}: no analogy questions found")
    return sections


def solve_analogies(unit: np.ndarray, questions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Answer analogies by 3CosAdd and 3CosMul with batched matrix products.

    The cosines of the distinct question words with a block of candidates come from one matrix
    product; each question gathers its three rows from it, and the best candidate so far is
    kept across blocks. Test sets repeat their words (19544 Google questions use 905), so this
    costs far less than a product per question.

    Args:
        unit: ``[V, D]`` float32 unit-length rows (the candidates).
        questions: ``[Q, 3]`` int rows of a, b and c.

    Returns:
        ``([Q], [Q])`` int64 predicted rows for 3CosAdd and 3CosMul; a, b and c are never
        predicted, and ties go to the lowest row.
    """
    questions = np.asarray(questions, dtype=np.int64).reshape(-1, 3)
    v, n_q = unit.shape[0], len(questions)
    if v < 4:
        raise ValueError(f"analogies need at least 4 candidate words; got V={v}")
    distinct, where = np.unique(questions, return_inverse=True)
    where = where.reshape(-1, 3)
    best = {"add": np.full(n_q, -np.inf, np.float32), "mul": np.full(n_q, -np.inf, np.float32)}
    pred = {"add": np.zeros(n_q, np.int64), "mul": np.zeros(n_q, np.int64)}
    q_batch = max(1, _MAX_BATCH_ELEMENTS // _CANDIDATE_BLOCK)

    for lo in range(0, v, _CANDIDATE_BLOCK):
        block = unit[lo : lo + _CANDIDATE_BLOCK]
        # Shifted cosines (cos + 1) / 2 serve both methods: shifting all three terms of 3CosAdd
        # by the same amount leaves its argmax unchanged.
        shifted = unit[distinct] @ block.T  # [U, C]
        shifted += 1
        shifted *= 0.5
        for q_lo in range(0, n_q, q_batch):
            abc, idx = questions[q_lo : q_lo + q_batch], where[q_lo : q_lo + q_batch]
            sim_a, sim_b, sim_c = (shifted[idx[:, k]] for k in range(3))  # [B, C] each
            add = sim_b - sim_a
            add += sim_c
            sim_a += COSMUL_EPS
            sim_b *= sim_c
            sim_b /= sim_a
            rows, cols = np.nonzero((abc >= lo) & (abc < lo + len(block)))
            for name, score in (("add", add), ("mul", sim_b)):
                score[rows, abc[rows, cols] - lo] = -np.inf
                arg = score.argmax(axis=1)
                top = score[np.arange(len(arg)), arg]
                better = top > best[name][q_lo : q_lo + q_batch]  # ties keep the lower row
                best[name][q_lo : q_lo + q_batch][better] = top[better]
                pred[name][q_lo : q_lo + q_batch][better] = arg[better] + lo
    return pred["add"], pred["mul"]


def evaluate_analogies(
    vectors: Vectors,
    questions_file: str | Path,
    *,
    restrict_vocab: int | None = 300_000,
    lowercase: bool = True,
) -> dict[str, Any]:
    """Analogy accuracy by 3CosAdd and 3CosMul, per section and in total.

    Args:
        vectors: the vectors to evaluate.
        questions_file: Google-format questions (``questions-words.txt``).
        restrict_vocab: candidates and question words come from the first rows only (the most
            frequent words when rows are sorted by count); None: all rows. Default 300000.
        lowercase: match question words case-insensitively (see ``evaluate_similarity``).

    Returns:
        ``{"sections": {name: stats}, "total": stats, "restrict_vocab": int}``, plus
        ``"semantic"`` and ``"syntactic"`` (sections named ``gram*``) for the Google set; stats
        are ``n``, ``n_found``, ``coverage``, ``cosadd``, ``cosmul`` (accuracy over the questions
        found, NaN when none) and ``cosadd_correct``, ``cosmul_correct``.

    Example:
        >>> evaluate_analogies(vecs, "questions-words.txt")["total"]["cosmul"]
    """
    if restrict_vocab is not None and restrict_vocab < 4:
        raise ValueError(f"restrict_vocab must be >= 4 or None; got {restrict_vocab}")
    sections = read_analogies(questions_file)
    limit = len(vectors) if restrict_vocab is None else min(restrict_vocab, len(vectors))
    lookup = _lookup(vectors, lowercase, limit)
    key = str.lower if lowercase else str

    names, rows = [], []
    for name, questions in sections.items():
        for q in questions:
            ids = [lookup.get(key(w), -1) for w in q]
            if min(ids) >= 0:
                names.append(name)
                rows.append(ids)
    found = np.array(rows, dtype=np.int64).reshape(-1, 4)
    unit = vectors.unit()[:limit]
    pred_add, pred_mul = solve_analogies(unit, found[:, :3])
    ok_add, ok_mul = pred_add == found[:, 3], pred_mul == found[:, 3]

    names_arr = np.array(names, dtype=object)
    result: dict[str, Any] = {"sections": {}, "restrict_vocab": limit}
    for name, questions in sections.items():
        m = names_arr == name
        result["sections"][name] = _stats(len(questions), ok_add[m], ok_mul[m])
    result["total"] = _stats(sum(map(len, sections.values())), ok_add, ok_mul)
    if any(name.startswith("gram") for name in sections):
        for group, syntactic in (("semantic", False), ("syntactic", True)):
            chosen = [n for n in sections if n.startswith("gram") == syntactic]
            m = np.isin(names_arr, chosen)
            result[group] = _stats(sum(len(sections[n]) for n in chosen), ok_add[m], ok_mul[m])
    total = result["total"]
    log.info(
        "%s: %d of %d questions found; 3CosAdd %.4f, 3CosMul %.4f",
        questions_file,
        total["n_found"],
        total["n"],
        total["cosadd"],
        total["cosmul"],
    )
    return result


def _stats(n: int, ok_add: np.ndarray, ok_mul: np.ndarray) -> dict[str, Any]:
    n_found = int(len(ok_add))
    return {
        "n": n,
        "n_found": n_found,
        "coverage": n_found / n if n else math.nan,
        "cosadd": float(ok_add.mean()) if n_found else math.nan,
        "cosmul": float(ok_mul.mean()) if n_found else math.nan,
        "cosadd_correct": int(ok_add.sum()),
        "cosmul_correct": int(ok_mul.sum()),
    }


def _lookup(vectors: Vectors, lowercase: bool, limit: int) -> dict[str, int]:
    words = vectors.words[:limit]
    if not lowercase:
        return {w: i for i, w in enumerate(words)}
    lookup: dict[str, int] = {}
    for i, w in enumerate(words):
        lookup.setdefault(w.lower(), i)
    return lookup
