"""``gramfast vectors neighbors`` and ``gramfast vectors evaluate`` through typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from gramfast.cli import app
from gramfast.vectors import (
    Vectors,
    evaluate_analogies,
    evaluate_similarity,
    neighbors,
    write_output_vectors,
)

runner = CliRunner()


@pytest.fixture
def run_dir(tmp_path: Path, rng: np.random.Generator) -> Path:
    """A pretraining output folder with word and context vectors of random values."""
    words = [f"w{i}" for i in range(40)]
    out = tmp_path / "run"
    out.mkdir()
    counts = np.arange(40, 0, -1)
    write_output_vectors(out, "word", Vectors(words, rng.standard_normal((40, 8)), counts))
    contexts = [f"nsubj_w{i}" for i in range(25)]
    write_output_vectors(out, "context", Vectors(contexts, rng.standard_normal((25, 8))))
    return out


@pytest.fixture
def test_files(tmp_path: Path, rng: np.random.Generator) -> tuple[Path, Path, Path]:
    pairs_a = tmp_path / "simA.tsv"
    pairs_b = tmp_path / "simB.tsv"
    lines = [
        f"w{rng.integers(45)}\tw{rng.integers(40)}\t{rng.uniform(0, 10):.2f}" for _ in range(60)
    ]
    pairs_a.write_text("\n".join(lines[:30]) + "\n", encoding="utf-8")
    pairs_b.write_text("\n".join(lines[30:]) + "\n", encoding="utf-8")
    questions = tmp_path / "q.txt"
    quads = [" ".join(f"W{i}" for i in rng.choice(42, 4, replace=False)) for _ in range(50)]
    questions.write_text(
        ": one\n" + "\n".join(quads[:20]) + "\n: gram-two\n" + "\n".join(quads[20:])
    )
    return pairs_a, pairs_b, questions


def test_vectors_app_is_registered() -> None:
    result = runner.invoke(app, ["vectors", "--help"])
    assert result.exit_code == 0, result.output
    assert "neighbors" in result.output and "evaluate" in result.output


@pytest.mark.parametrize("space,word", [("word", "w3"), ("context", "nsubj_w5")])
def test_neighbors_json_matches_library(run_dir: Path, space: str, word: str) -> None:
    args = ["vectors", "neighbors", str(run_dir), word, "--top", "4", "--space", space, "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    got = json.loads(result.stdout)
    from gramfast.vectors import load_output_vectors

    expected = neighbors(load_output_vectors(run_dir, space), [word], 4)[word]
    assert [(r["word"], r["cosine"]) for r in got["neighbors"][word]] == expected
    assert got["space"] == space and got["missing"] == []


def test_neighbors_table_and_missing_words(run_dir: Path) -> None:
    result = runner.invoke(app, ["vectors", "neighbors", str(run_dir), "w1", "nope", "--top", "3"])
    assert result.exit_code == 0, result.output
    assert "w1 (word)" in result.stdout and "cosine" in result.stdout
    assert "not in the vocabulary: nope" in result.stderr
    result = runner.invoke(app, ["vectors", "neighbors", str(run_dir), "nope", "zz"])
    assert result.exit_code == 2
    assert "none of 'nope', 'zz' is in the word vocabulary (40 words)" in result.stderr


def test_neighbors_reads_a_single_file(run_dir: Path) -> None:
    result = runner.invoke(
        app, ["vectors", "neighbors", str(run_dir / "words.txt"), "w2", "--json"]
    )
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)["neighbors"]["w2"]) == 10


def test_evaluate_json_matches_library(run_dir: Path, test_files) -> None:
    pairs_a, pairs_b, questions = test_files
    args = ["vectors", "evaluate", str(run_dir), "--pairs", str(pairs_a), "--pairs", str(pairs_b)]
    result = runner.invoke(app, [*args, "--analogies", str(questions), "--json"])
    assert result.exit_code == 0, result.output
    got = json.loads(result.stdout)
    from gramfast.vectors import load_output_vectors

    vecs = load_output_vectors(run_dir, "word")
    for p in (pairs_a, pairs_b):
        assert got["similarity"][p.stem] == evaluate_similarity(vecs, p)
    expected = evaluate_analogies(vecs, questions)
    assert got["analogies"]["total"] == expected["total"]
    assert got["analogies"]["sections"].keys() == {"one", "gram-two"}
    assert 0 < got["analogies"]["total"]["coverage"] < 1


def test_evaluate_tables(run_dir: Path, test_files) -> None:
    pairs_a, _, questions = test_files
    args = ["vectors", "evaluate", str(run_dir), "--pairs", str(pairs_a), "--analogies"]
    result = runner.invoke(app, [*args, str(questions), "--restrict-vocab", "20"])
    assert result.exit_code == 0, result.output
    for text in ("word similarity", "simA", "analogies (top 20 words)", "3CosMul", "syntactic"):
        assert text in result.stdout


def test_evaluate_errors(run_dir: Path, tmp_path: Path, test_files) -> None:
    result = runner.invoke(app, ["vectors", "evaluate", str(run_dir)])
    assert (
        result.exit_code == 2 and "at least one --pairs FILE or --analogies FILE" in result.output
    )
    bad = tmp_path / "bad.txt"
    bad.write_text("2 3\nw1 1 2 3\nw2 1 2\n", encoding="utf-8")
    result = runner.invoke(app, ["vectors", "evaluate", str(bad), "--pairs", str(test_files[0])])
    assert result.exit_code == 2
    assert "line 3: expected a word and 3 values" in result.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    result = runner.invoke(app, ["vectors", "neighbors", str(empty), "w1"])
    assert result.exit_code == 2 and "no word vectors in" in result.stderr
