"""`gramfast pretrain` on CPU: outputs, determinism, checkpoint and resume, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from gramfast.cli import app
from gramfast.errors import GramfastError, InputError
from gramfast.pretrain import PretrainConfig, pretrain
from gramfast.vectors import load_output_vectors, read_word2vec_binary, read_word2vec_text
from tests.helpers import synthetic_store

SMALL = {"dim": 16, "negatives": 3, "epochs": 2, "min_count": 2, "threads": 1, "batch_pairs": 512}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synthetic_store(tmp_path_factory.mktemp("synth") / "store")


class Stop(Exception):
    """Raised from a progress callback to interrupt a run."""


def stop_in_epoch_2(row: dict) -> None:
    if row["epoch"] == 2:
        raise Stop


def _cfg(store: Path, out: Path, **kw) -> PretrainConfig:
    return PretrainConfig(input=(str(store),), out=out, **{**SMALL, **kw})


def test_outputs_and_formats(store: Path, tmp_path: Path) -> None:
    summary = pretrain(_cfg(store, tmp_path / "v"))
    out = tmp_path / "v"
    words = load_output_vectors(out, "word")
    assert words.matrix.shape[1] == 16 and np.isfinite(words.matrix).all()
    assert words.words == [
        ln.split("\t")[0]
        for ln in (out / "vocab.words.tsv").read_text(encoding="utf-8").splitlines()
    ]
    text, binary = read_word2vec_text(out / "words.txt"), read_word2vec_binary(out / "words.bin")
    np.testing.assert_array_equal(text.matrix, words.matrix)
    np.testing.assert_array_equal(binary.matrix, words.matrix)
    contexts = load_output_vectors(out, "context")
    assert all(" " not in c for c in contexts.words)
    assert any(c.startswith("nsubjI_") for c in contexts.words)
    grammar = load_output_vectors(out, "grammar")
    assert all(":" in g for g in grammar.words)
    config = json.loads((out / "config.json").read_text(encoding="utf-8"))
    assert config["options"]["dim"] == 16 and len(config["store"]["sha256"]) == 64
    rows = [json.loads(ln) for ln in (out / "metrics.jsonl").read_text().splitlines()]
    assert {r["space"] for r in rows} == {"word", "grammar"}
    assert all(np.isfinite(r["loss"]) and r["pairs_per_s"] > 0 for r in rows)
    last = {r["space"]: r["pairs"] for r in rows}
    assert summary["spaces"]["word"]["pairs"] == last["word"] > 0
    assert summary["spaces"]["grammar"]["pairs"] == last["grammar"] > 0


def test_training_lowers_the_loss(store: Path, tmp_path: Path) -> None:
    pretrain(_cfg(store, tmp_path / "v", epochs=4, grammar=False, lr=0.5, sample=0.0))
    rows = [json.loads(ln) for ln in (tmp_path / "v" / "metrics.jsonl").read_text().splitlines()]
    by_epoch = {r["epoch"]: r["loss"] for r in rows}
    assert by_epoch[4] < by_epoch[1] - 0.05


def test_one_thread_is_deterministic_and_resume_matches(store: Path, tmp_path: Path) -> None:
    pretrain(_cfg(store, tmp_path / "a", epochs=3))
    pretrain(_cfg(store, tmp_path / "b", epochs=3))

    with pytest.raises(Stop):
        pretrain(_cfg(store, tmp_path / "c", epochs=3), progress=stop_in_epoch_2)
    assert (tmp_path / "c" / "checkpoints" / "epoch-0001").is_dir()
    pretrain(_cfg(store, tmp_path / "c", epochs=3), resume=True)
    for space in ("word", "context", "grammar"):
        a = load_output_vectors(tmp_path / "a", space).matrix
        np.testing.assert_array_equal(a, load_output_vectors(tmp_path / "b", space).matrix)
        np.testing.assert_array_equal(a, load_output_vectors(tmp_path / "c", space).matrix)


def test_non_finite_loss_stops_with_usable_checkpoint(
    store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gramfast.pretrain.trainer as trainer

    real = trainer.sgns_train_pairs
    calls = {"epoch2": False}

    def flaky(*args, **kwargs):
        loss = real(*args, **kwargs)
        return float("nan") if calls["epoch2"] else loss

    def mark(row: dict) -> None:
        calls["epoch2"] = calls["epoch2"] or row["epoch"] >= 1

    monkeypatch.setattr(trainer, "sgns_train_pairs", flaky)
    cfg = _cfg(store, tmp_path / "v", grammar=False)
    with pytest.raises(GramfastError, match=r"training diverged: word loss is nan at epoch 2"):
        pretrain(cfg, progress=mark)
    ckpt = tmp_path / "v" / "checkpoints" / "epoch-0001" / "word.word.npy"
    assert np.isfinite(np.load(ckpt)).all()
    monkeypatch.setattr(trainer, "sgns_train_pairs", real)
    pretrain(_cfg(store, tmp_path / "one", grammar=False, epochs=2), progress=None)


def test_existing_output_needs_resume_or_overwrite(store: Path, tmp_path: Path) -> None:
    pretrain(_cfg(store, tmp_path / "v", epochs=1, grammar=False))
    with pytest.raises(InputError, match="already holds files; pass --resume .* or --overwrite"):
        pretrain(_cfg(store, tmp_path / "v", epochs=1, grammar=False))
    with pytest.raises(InputError, match=r"--resume: options differ .* \(dim\)"):
        pretrain(_cfg(store, tmp_path / "v", epochs=1, grammar=False, dim=8), resume=True)
    pretrain(_cfg(store, tmp_path / "v", epochs=1, grammar=False, dim=8), overwrite=True)
    assert load_output_vectors(tmp_path / "v").matrix.shape[1] == 8


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--dim", "0"], "--dim must be at least 1; got 0"),
        (["--negatives", "-1"], "--negatives must be 0 or more; got -1"),
        (["--min-count", "100000"], "--min-count 100000 leaves no words: .* lower --min-count"),
        (["--context-min-count", "0"], "--context-min-count must be at least 1; got 0"),
    ],
)
def test_cli_bad_input(store: Path, tmp_path: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["pretrain", str(store), "--out", str(tmp_path / "v"), *args])
    assert result.exit_code == 2, result.output
    import re

    assert re.search(message, " ".join(result.output.split())), result.output


def test_cli_empty_store(tmp_path: Path) -> None:
    from gramfast.corpus.store import StoreWriter

    StoreWriter(tmp_path / "empty", {"source": "t", "label_scheme": "spacy"}, 10).finish()
    result = CliRunner().invoke(
        app, ["pretrain", str(tmp_path / "empty"), "--out", str(tmp_path / "v")]
    )
    assert result.exit_code == 2
    assert "holds no tokens" in result.output


def test_resume_matches_with_shrinking_window(store: Path, tmp_path: Path) -> None:
    kw = {"contexts": "window", "dynamic_window": True, "grammar": False, "epochs": 2}
    pretrain(_cfg(store, tmp_path / "a", **kw))

    with pytest.raises(Stop):
        pretrain(_cfg(store, tmp_path / "b", **kw), progress=stop_in_epoch_2)
    pretrain(_cfg(store, tmp_path / "b", **kw), resume=True)
    a = load_output_vectors(tmp_path / "a", "word").matrix
    np.testing.assert_array_equal(a, load_output_vectors(tmp_path / "b", "word").matrix)


def test_device_cuda_without_cuda_is_a_usage_error(
    store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA device")
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    result = CliRunner().invoke(
        app, ["pretrain", str(store), "--out", str(tmp_path / "v"), "--device", "cuda"]
    )
    assert result.exit_code == 2
    assert "--device cuda: torch sees no CUDA device" in " ".join(result.output.split())
    assert not (tmp_path / "v").exists()


@pytest.mark.parametrize("feed", ["device", "thread"])
def test_device_loop_matches_cpu_loss_curve(
    store: Path, tmp_path: Path, feed: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The fused-kernel loop (on CUDA, or interpreted on CPU) tracks the numba trainer, with
    the pairs held on the device and with the host thread feeding them."""
    import os

    import torch

    if not torch.cuda.is_available() and os.environ.get("TRITON_INTERPRET") != "1":
        pytest.skip("needs CUDA or TRITON_INTERPRET=1")
    kw = {"grammar": False, "epochs": 3, "lr": 0.2, "sample": 0.0, "batch_pairs": 1024}
    pretrain(_cfg(store, tmp_path / "cpu", device="cpu", **kw))
    with caplog.at_level("INFO", logger="gramfast.pretrain.resident"):
        pretrain(_cfg(store, tmp_path / "dev", device="cuda", gpu_feed=feed, **kw))
    assert ("pairs held on" in caplog.text) == (feed == "device")

    def curve(out: Path) -> dict[int, float]:
        rows = [json.loads(ln) for ln in (out / "metrics.jsonl").read_text().splitlines()]
        return {r["epoch"]: r["loss"] for r in rows}

    cpu, dev = curve(tmp_path / "cpu"), curve(tmp_path / "dev")
    assert dev[3] < dev[1] - 0.05, dev
    for epoch in (1, 2, 3):
        assert abs(dev[epoch] - cpu[epoch]) < 0.02 * cpu[epoch], (cpu, dev)
    vec = load_output_vectors(tmp_path / "dev")
    assert np.isfinite(vec.matrix).all()
    assert (tmp_path / "dev" / "checkpoints" / "epoch-0003").is_dir()


def test_auto_device_does_not_import_torch_without_a_gpu(monkeypatch) -> None:
    import sys

    from gramfast.pretrain import trainer
    from gramfast.pretrain.config import Device

    monkeypatch.setattr(trainer.os.path, "exists", lambda p: False)
    assert trainer._may_have_gpu() is (not sys.platform.startswith("linux"))
    monkeypatch.delitem(sys.modules, "torch", raising=False)
    if sys.platform.startswith("linux"):
        assert trainer.resolve_device(Device.auto) is None
        assert "torch" not in sys.modules
    monkeypatch.setattr(trainer.os.path, "exists", lambda p: p == "/dev/nvidiactl")
    assert trainer._may_have_gpu()


def test_context_min_count_filters_contexts_only(store: Path, tmp_path: Path) -> None:
    pretrain(_cfg(store, tmp_path / "a", epochs=1, grammar=False))
    pretrain(_cfg(store, tmp_path / "b", epochs=1, grammar=False, context_min_count=6))

    def counts(run: str, space: str) -> dict[str, int]:
        rows = (tmp_path / run / f"vocab.{space}.tsv").read_text(encoding="utf-8").splitlines()
        return {w: int(c) for w, c in (r.split("\t")[:2] for r in rows)}

    assert counts("a", "words") == counts("b", "words")
    a, b = counts("a", "contexts"), counts("b", "contexts")
    assert min(a.values()) < 6 <= min(b.values())
    assert b == {c: n for c, n in a.items() if n >= 6}
    saved = json.loads((tmp_path / "b" / "config.json").read_text(encoding="utf-8"))
    assert saved["options"]["context_min_count"] == 6
