"""Classifier speed: training and prediction sentences/s, and prediction against the parser.

Run: ``pytest --benchmark-only benchmarks/bench_classify.py``. The model has the shape the
accuracy runs use (300-d word rows, 300-d grammar rows, H = 150, frozen vocabulary rows); the
sentences have SST-2's length profile. ``test_predict_vs_parser`` also parses real sentences
(the SST-2 test set when the shared data is there, else generated ones) with the same pipeline
and reports the ratio of classification to parsing sentences/s (target: at least 10).
"""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from gramfast.classify.config import ClassifierConfig
from gramfast.classify.features import Encoded
from gramfast.classify.model import SentenceLSTM
from gramfast.classify.train import Split, fit, predict_proba
from tests.helpers import data_dir

N_TRAIN, N_PREDICT = 2000, 4000
TABLES = {"words": (2, 50_000, 300), "grammar": (2, 640, 300)}


def _encoded(rng: np.random.Generator, n: int) -> Encoded:
    lengths = np.clip(rng.gamma(4.0, 5.0, size=n).astype(np.int64), 2, 60)  # mean ~20 tokens
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    size = int(offsets[-1])
    ids = {f: rng.integers(2, nf + nv, size=size) for f, (nf, nv, _) in TABLES.items()}
    return Encoded(ids, offsets)


def _model(freeze: bool) -> SentenceLSTM:
    torch.manual_seed(0)
    m = SentenceLSTM(TABLES, n_labels=2, hidden=150, dropout=0.5, freeze=freeze)
    gen = torch.Generator().manual_seed(0)
    for e in m.embed.values():
        e.reset(gen)
    return m


def _device(name: str) -> torch.device:
    if name == "cuda" and not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    return torch.device(name)


DEVICES = pytest.mark.parametrize("device", ["cpu", "cuda"])


@DEVICES
@pytest.mark.parametrize("freeze", [True, False], ids=["frozen", "fine-tune"])
def test_train_epoch(benchmark, env_info, freeze: bool, device: str, tmp_path) -> None:
    rng = np.random.default_rng(0)
    train = Split(_encoded(rng, N_TRAIN), rng.integers(0, 2, N_TRAIN))
    dev = Split(_encoded(rng, 200), rng.integers(0, 2, 200))
    cfg = ClassifierConfig(train=tmp_path / "x", out=tmp_path / "m", init="random", epochs=1)
    model = _model(freeze)
    dev_ = _device(device)
    result = benchmark.pedantic(
        lambda: fit(model, train, dev, cfg, dev_, 0), rounds=2, iterations=1, warmup_rounds=1
    )
    assert np.isfinite(result["history"][0]["loss"])
    benchmark.group = f"classifier training ({device})"
    benchmark.extra_info.update(env_info)
    benchmark.extra_info["threads"] = torch.get_num_threads()
    benchmark.extra_info["sentences_per_s"] = N_TRAIN / benchmark.stats.stats.median


def _real_sentences(n: int) -> list[str]:
    data = data_dir()
    path = data / "classify" / "SST-2" / "test.tsv" if data else None
    if path is not None and path.is_file():
        lines = [ln.split("\t", 1)[1] for ln in path.read_text().splitlines() if "\t" in ln]
        return (lines * (n // len(lines) + 1))[:n]
    rng = np.random.default_rng(0)
    words = ["the", "film", "is", "a", "quiet", "and", "moving", "story", "of", "loss", "but"]
    return [" ".join(rng.choice(words, size=int(rng.integers(8, 30)))) + " ." for _ in range(n)]


@DEVICES
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_predict_vs_parser(benchmark, env_info, device: str, precision: str) -> None:
    from gramfast.classify.parsing import TextParser

    rng = np.random.default_rng(1)
    enc = _encoded(rng, N_PREDICT)
    dev_ = _device(device)
    if device == "cuda" and precision == "bf16":
        pytest.skip("bf16 is a CPU option; on CUDA prediction runs under fp16 autocast")
    model = _model(True).to(dev_).eval()
    bf16 = precision == "bf16"
    probs = benchmark.pedantic(
        lambda: predict_proba(model, enc, 512, dev_, cpu_bf16=bf16),
        rounds=3,
        iterations=1,
        warmup_rounds=1,
    )
    assert probs.shape == (N_PREDICT, 2) and np.allclose(probs.sum(1), 1, atol=1e-3)
    classify_rate = N_PREDICT / benchmark.stats.stats.median
    benchmark.group = f"classifier prediction ({device})"
    if bf16:
        ref = predict_proba(model, enc, 512, dev_)
        benchmark.extra_info["argmax_agreement_with_fp32"] = float(
            (ref.argmax(1) == probs.argmax(1)).mean()
        )
    benchmark.extra_info.update(env_info)
    benchmark.extra_info["classify_sentences_per_s"] = classify_rate
    try:
        import spacy  # noqa: F401
    except ImportError:
        return  # a GPU machine without spaCy: prediction speed only

    texts = _real_sentences(1000)
    with TextParser(None, 1) as parser:
        parser.parse(texts[:50])  # warm-up
        start = time.perf_counter()
        parser.parse(texts)
        parse_rate = len(texts) / (time.perf_counter() - start)
    benchmark.extra_info.update({
        "parse_sentences_per_s": parse_rate,
        "classify_over_parse": classify_rate / parse_rate,
    })  # fmt: skip
