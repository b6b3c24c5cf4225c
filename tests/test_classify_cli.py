"""`gramfast train / evaluate / predict` end to end on a tiny generated task, with the real
English pipeline and vectors pretrained by gramfast on a tiny generated corpus."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from gramfast.cli import app
from gramfast.vectors.io import load_output_vectors

runner = CliRunner()

NOUNS = ["dog", "cat", "teacher", "farmer", "child", "doctor", "bird", "pilot", "singer", "baker"]
VERBS = ["walked", "ran", "sang", "waited", "slept", "worked", "danced", "cried"]
PLACES = ["park", "house", "river", "garden", "school", "market", "station", "forest"]
WH = ["where", "why", "when", "how"]
COMMON = [
    "-x",
    "--epochs",
    "8",
    "--hidden",
    "16",
    "--batch-size",
    "16",
    "--threads",
    "1",
    "--lr",
    "0.01",
]


def _run(*args: object):
    return runner.invoke(app, [str(a) for a in args])


def _sentence(rng: np.random.Generator, question: bool) -> str:
    n, v, p = rng.choice(NOUNS), rng.choice(VERBS), rng.choice(PLACES)
    if question:
        return f"{rng.choice(WH)} did the {n} {v[:-2] if v.endswith('ed') else v} near the {p} ?"
    return f"the {n} {v} near the {p} ."


def _write(path: Path, rng: np.random.Generator, n: int) -> Path:
    lines = []
    for _ in range(n):
        q = bool(rng.random() < 0.5)
        lines.append(f"{'Q' if q else 'S'}\t{_sentence(rng, q)}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory):
    """A cache folder of its own, a tiny corpus pretrained into vectors, and the task files."""
    root = tmp_path_factory.mktemp("classify")
    old = os.environ.get("GRAMFAST_CACHE")
    os.environ["GRAMFAST_CACHE"] = str(root / "cache")
    rng = np.random.default_rng(0)
    corpus = root / "corpus.txt"
    corpus.write_text(
        "\n".join(_sentence(rng, bool(rng.random() < 0.5)) for _ in range(400)) + "\n"
    )
    vectors = root / "vectors"
    result = _run("pretrain", corpus, "--out", vectors, "--dim", "16", "--epochs", "2",
                  "--min-count", "1", "--negatives", "3", "--threads", "1")  # fmt: skip
    assert result.exit_code == 0, result.output
    files = {
        "train": _write(root / "train.tsv", rng, 160),
        "dev": _write(root / "dev.tsv", rng, 40),
        "test": _write(root / "test.tsv", rng, 40),
    }
    yield {"root": root, "vectors": vectors, **files}
    if old is None:
        os.environ.pop("GRAMFAST_CACHE", None)
    else:
        os.environ["GRAMFAST_CACHE"] = old


@pytest.fixture(scope="module")
def model(env) -> Path:
    out = env["root"] / "model"
    result = _run("train", env["train"], "--vectors", env["vectors"], "--dev", env["dev"],
                  "--test", env["test"], "--out", out, *COMMON[1:], "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    return out


def test_train_evaluate_predict_agree(env, model: Path, tmp_path: Path) -> None:
    metrics = json.loads((model / "metrics.json").read_text())
    assert metrics["test"]["accuracy"] >= 0.9  # the question mark and wh-word give it away
    ev = _run("evaluate", model, env["test"], "--json", "--png", tmp_path / "c.png")
    assert ev.exit_code == 0, ev.output
    r = json.loads(ev.stdout)
    assert r["accuracy"] == pytest.approx(metrics["test"]["accuracy"])
    assert (tmp_path / "c.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    texts = tmp_path / "texts.txt"
    gold = [line.split("\t") for line in env["test"].read_text().splitlines()]
    texts.write_text("\n".join(t for _, t in gold) + "\n")
    pr = _run("predict", model, texts, "--out", tmp_path / "p.jsonl")
    assert pr.exit_code == 0, pr.output
    recs = [json.loads(x) for x in (tmp_path / "p.jsonl").read_text().splitlines()]
    assert [x["line"] for x in recs] == list(range(1, len(gold) + 1))
    acc = np.mean([x["label"] == g for x, (g, _) in zip(recs, gold)])
    assert acc == pytest.approx(r["accuracy"])


def test_predict_resumes_without_loss_or_duplicates(env, model: Path, tmp_path: Path) -> None:
    from gramfast.classify.predict import predict_file

    lines = [t for _, t in (x.split("\t") for x in env["train"].read_text().splitlines())]
    lines[5] = ""  # an empty line gets its own record
    src = tmp_path / "in.txt"
    src.write_text("\n".join(lines) + "\n")
    straight = tmp_path / "straight.jsonl"
    predict_file(model, src, straight, chunk_lines=25, device="cpu")

    class Stop(Exception):
        pass

    def stop_after_two(done: int, total: int, rate: float) -> None:
        if done >= 50:
            raise Stop

    out = tmp_path / "resumed.jsonl"
    with pytest.raises(Stop):
        predict_file(model, src, out, chunk_lines=25, device="cpu", progress=stop_after_two)
    partial = tmp_path / "resumed.jsonl.partial"
    assert not out.exists() and partial.is_file()
    with open(partial, "ab") as f:
        f.write(b'{"line": 51, "lab')  # a record torn by a crash
    # the resumed run parses in two worker processes: the records must not change
    result = _run("predict", model, src, "--out", out, "--chunk-lines", "25", "--processes", "2")
    assert result.exit_code == 0, result.output
    assert out.read_text() == straight.read_text()
    assert not partial.exists()
    recs = [json.loads(x) for x in out.read_text().splitlines()]
    assert [r["line"] for r in recs] == list(range(1, len(lines) + 1))
    assert recs[5] == {"line": 6, "label": None, "skipped": "empty"}


def test_frozen_rows_are_the_pretrained_ones(env, model: Path) -> None:
    meta = json.loads((model / "model.json").read_text())
    vec = load_output_vectors(env["vectors"], "word")
    assert meta["lexicons"]["words"]["vocab"] == vec.words
    # The default fine-tunes the pretrained rows: they start from the vectors and move.
    tuned = torch.load(model / "weights.pt", weights_only=True)["embed.words.vocab"].numpy()
    assert tuned.shape == vec.matrix.shape
    assert not np.array_equal(tuned, vec.matrix)
    assert meta["config"]["freeze"] is False
    frozen = env["root"] / "frozen"
    result = _run("train", env["train"], "--vectors", env["vectors"], "--out", frozen,
                  "--freeze", *COMMON[1:])  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = torch.load(frozen / "weights.pt", weights_only=True)["embed.words.vocab"].numpy()
    assert np.array_equal(rows, vec.matrix)
    assert json.loads((frozen / "model.json").read_text())["config"]["freeze"] is True
    rescaled = env["root"] / "rescaled"
    result = _run("train", env["train"], "--vectors", env["vectors"], "--out", rescaled,
                  "--rescale-rows", "--freeze", *COMMON[1:])  # fmt: skip
    assert result.exit_code == 0, result.output
    rows3 = torch.load(rescaled / "weights.pt", weights_only=True)["embed.words.vocab"].numpy()
    norms = np.linalg.norm(vec.matrix, axis=1, keepdims=True)
    want = vec.matrix / norms * 0.25 * np.sqrt(vec.matrix.shape[1] / 3)
    np.testing.assert_allclose(rows3, want, rtol=1e-5, atol=1e-7)  # frozen: still exactly these
    assert json.loads((rescaled / "model.json").read_text())["config"]["rescale_rows"] is True


def test_cross_validation_with_a_fold_file(env, tmp_path: Path) -> None:
    folds = tmp_path / "folds.txt"
    ids = np.arange(160) % 4
    folds.write_text("\n".join(map(str, ids)) + "\n")
    out = tmp_path / "cv"
    result = _run("train", env["train"], "--init", "random", "--out", out, "--cv", "4",
                  "--folds", folds, *COMMON[1:], "--epochs", "2")  # fmt: skip
    assert result.exit_code == 0, result.output
    cv = json.loads((out / "cv.json").read_text())
    assert [f["n_test"] for f in cv["folds"]] == [40, 40, 40, 40]
    assert cv["accuracy_mean"] == pytest.approx(np.mean([f["accuracy"] for f in cv["folds"]]))


def test_counted_warnings(env, model: Path, tmp_path: Path) -> None:
    data = tmp_path / "odd.tsv"
    long = " ".join(["the dog walked near the park and"] * 30) + " ."
    data.write_text(f"S\tzzzq xxyq wwwq\n\nS\t{long}\nQ\twhy did the cat sing ?\n")
    r = _run("evaluate", model, data, "--json")
    assert r.exit_code == 0, r.output
    got = json.loads(r.stdout)
    assert got["n"] == 3 and got["empty_skipped"] == 1
    assert got["all_unknown"] == 1 and got["truncated"] == 1


def _bad(env, tmp_path: Path, case: str) -> tuple[list[object], str]:
    root = env["root"]
    if case == "no-tab":
        (tmp_path / "d.tsv").write_text("S\tthe dog ran .\nthe cat ran .\n")
        return ["train", tmp_path / "d.tsv", "--init", "random", "--out", tmp_path / "m"], "no tab"
    if case == "one-class":
        (tmp_path / "d.tsv").write_text("S\tthe dog ran .\nS\tthe cat ran .\n")
        return ["train", tmp_path / "d.tsv", "--init", "random", "--out", tmp_path / "m"], (
            "at least two classes"
        )
    if case == "csv-column":
        (tmp_path / "d.csv").write_text("text,polarity\nthe dog ran .,S\n")
        return ["train", tmp_path / "d.csv", "--init", "random", "--out", tmp_path / "m"], (
            "no column 'label'"
        )
    if case == "unseen-label":
        (tmp_path / "d.tsv").write_text("S\tthe dog ran .\nX\tthe cat ran .\n")
        return ["evaluate", root / "model", tmp_path / "d.tsv"], "never had: X"
    if case == "other-vectors":
        return ["evaluate", root / "model", env["test"], "--vectors", root / "other"], (
            "not the ones this model was trained with"
        )
    if case == "no-vectors":
        return ["train", env["train"], "--out", tmp_path / "m"], "needs --vectors"
    if case == "exists":
        return ["train", env["train"], "--vectors", env["vectors"], "--out", root / "model"], (
            "pass --overwrite"
        )
    if case == "cuda":
        return ["train", env["train"], "--init", "random", "--out", tmp_path / "m", "--device",
                "cuda"], "no CUDA device"  # fmt: skip
    raise AssertionError(case)


CASES = ["no-tab", "one-class", "csv-column", "unseen-label", "other-vectors", "no-vectors",
         "exists", "cuda"]  # fmt: skip


@pytest.mark.parametrize("case", CASES)
def test_bad_input_exits_2(env, model: Path, tmp_path: Path, case: str) -> None:
    if case == "cuda" and torch.cuda.is_available():
        pytest.skip("this machine has a CUDA device")
    if case == "other-vectors" and not (env["root"] / "other").exists():
        corpus = env["root"] / "other.txt"
        corpus.write_text("the pilot sang near the river .\n" * 50)
        r = _run("pretrain", corpus, "--out", env["root"] / "other", "--dim", "16",
                 "--epochs", "1", "--min-count", "1", "--threads", "1")  # fmt: skip
        assert r.exit_code == 0, r.output
    args, message = _bad(env, tmp_path, case)
    result = _run(*args)
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())


def test_real_trec_slice(env, shared_data: Path, tmp_path: Path) -> None:
    """A slice of real TREC questions: the model beats the majority class, and evaluate and
    the training summary agree on the test slice."""
    src = shared_data / "classify" / "TREC"
    if not (src / "train.tsv").is_file():
        pytest.skip(f"{src} not found")
    train, test = tmp_path / "train.tsv", tmp_path / "test.tsv"
    train.write_text("".join((src / "train.tsv").open().readlines()[:600]))
    test.write_text("".join((src / "test.tsv").open().readlines()[:150]))
    out = tmp_path / "m"
    options = ["--epochs", "10", "--lr", "0.003", "--threads", "1", "--hidden", "32"]
    result = _run("train", train, "--init", "random", "--test", test, "--out", out, *options)
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    gold = [line.split("\t")[0] for line in test.read_text().splitlines()]
    majority = max(gold.count(g) for g in set(gold)) / len(gold)
    assert metrics["test"]["accuracy"] > majority + 0.1
    ev = _run("evaluate", out, test, "--json")
    assert ev.exit_code == 0, ev.output
    assert json.loads(ev.stdout)["accuracy"] == pytest.approx(metrics["test"]["accuracy"])


def test_one_seed_gives_the_same_model(env, tmp_path: Path) -> None:
    states = []
    for name in ("a", "b"):
        out = tmp_path / name
        result = _run("train", env["train"], "--init", "random", "--out", out, *COMMON[1:],
                      "--epochs", "2", "--seed", "3")  # fmt: skip
        assert result.exit_code == 0, result.output
        states.append(torch.load(out / "weights.pt", weights_only=True))
    assert states[0].keys() == states[1].keys()
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])


def test_predict_bf16_close_to_fp32(env, model: Path, tmp_path: Path) -> None:
    from gramfast.classify.predict import predict_file

    src = tmp_path / "in.txt"
    src.write_text("".join(x.split("\t")[1] + "\n" for x in env["test"].read_text().splitlines()))
    recs = {}
    for bf16 in (False, True):
        out = tmp_path / f"p{bf16}.jsonl"
        predict_file(model, src, out, device="cpu", cpu_bf16=bf16)
        recs[bf16] = [json.loads(x) for x in out.read_text().splitlines()]
    agree = np.mean([a["label"] == b["label"] for a, b in zip(recs[False], recs[True])])
    diff = max(
        abs(a["probs"][k] - b["probs"][k])
        for a, b in zip(recs[False], recs[True])
        for k in a["probs"]
    )
    assert agree >= 0.95 and diff < 0.05
