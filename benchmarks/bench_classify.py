"""Classifier speed: training and prediction sentences/s, and prediction against the parser.

Run: ``pytest --benchmark-only benchmarks/bench_classify.py``. The model has the shape the
accuracy runs use (300-d word rows, 300-d grammar rows, H = 150, frozen vocabulary rows); the
sentences have SST-2's length profile and Zipf-distributed word ids. Prediction is timed four
ways (``PATHS``): the model's own nn.LSTM in float32 and under bfloat16 autocast, and the
projected path predict/evaluate use on the CPU, with a cold and a warm projection cache.
``test_predict_vs_parser`` also parses real sentences
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
from gramfast.classify.train import Split, batch_tensors, fit, make_batches, predict_proba
from tests.helpers import data_dir

N_TRAIN, N_PREDICT = 2000, 4000
TABLES = {"words": (2, 50_000, 300), "grammar": (2, 640, 300)}


def _zipf_ids(rng: np.random.Generator, n_rows: int, size: int) -> np.ndarray:
    """Row ids 2 .. n_rows-1 with Zipf's law (frequency of rank r proportional to 1 / r), as
    words in text: what the projection cache sees depends on how often rows repeat."""
    ranks = np.arange(1, n_rows - 1, dtype=np.float64)
    p = 1.0 / ranks
    return 2 + rng.choice(n_rows - 2, size=size, p=p / p.sum())


def _encoded(rng: np.random.Generator, n: int) -> Encoded:
    lengths = np.clip(rng.gamma(4.0, 5.0, size=n).astype(np.int64), 2, 60)  # mean ~20 tokens
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    size = int(offsets[-1])
    ids = {f: _zipf_ids(rng, nf + nv, size) for f, (nf, nv, _) in TABLES.items()}
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
@pytest.mark.parametrize("mode", ["frozen", "fine-tune", "fine-tune-dense"])
def test_train_epoch(benchmark, env_info, mode: str, device: str, tmp_path) -> None:
    """One epoch of training: frozen rows, trained rows with lazy Adam (the default), and trained
    rows with dense AdamW over the whole table (``--dense-rows``)."""
    rng = np.random.default_rng(0)
    train = Split(_encoded(rng, N_TRAIN), rng.integers(0, 2, N_TRAIN))
    dev = Split(_encoded(rng, 200), rng.integers(0, 2, 200))
    cfg = ClassifierConfig(
        train=tmp_path / "x", out=tmp_path / "m", init="random", epochs=1,
        lazy_rows=mode != "fine-tune-dense",
    )  # fmt: skip
    model = _model(mode == "frozen")
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


PATHS = {
    "model-fp32": "the model itself (nn.LSTM), float32",
    "model-bf16": "the model itself under bfloat16 autocast (--bf16)",
    "projected-cold": "ProjectedLSTM built anew each round: every row the sentences use is "
    "projected in the round",
    "projected-warm": "ProjectedLSTM whose cache already holds the rows (a long predict stream)",
}


@DEVICES
@pytest.mark.parametrize("path", list(PATHS))
def test_predict_vs_parser(benchmark, env_info, device: str, path: str) -> None:
    from gramfast.classify.infer import ProjectedLSTM
    from gramfast.classify.parsing import TextParser

    rng = np.random.default_rng(1)
    enc = _encoded(rng, N_PREDICT)
    dev_ = _device(device)
    if device == "cuda" and path != "model-fp32":
        pytest.skip("on CUDA prediction runs the model (cuDNN) under fp16 autocast")
    model = _model(True).to(dev_).eval()
    bf16 = path == "model-bf16"
    warm = ProjectedLSTM(model) if path == "projected-warm" else None
    if warm is not None:
        predict_proba(model, enc, 512, dev_, projected=warm)

    def run() -> np.ndarray:
        if path.startswith("projected"):
            fast = warm if warm is not None else ProjectedLSTM(model)
            return predict_proba(model, enc, 512, dev_, projected=fast)
        if device == "cpu" and not bf16:
            return _model_only(model, enc, dev_)
        return predict_proba(model, enc, 512, dev_, cpu_bf16=bf16)

    probs = benchmark.pedantic(run, rounds=3, iterations=1, warmup_rounds=1)
    assert probs.shape == (N_PREDICT, 2) and np.allclose(probs.sum(1), 1, atol=1e-3)
    classify_rate = N_PREDICT / benchmark.stats.stats.median
    benchmark.group = f"classifier prediction ({device})"
    if path != "model-fp32":
        ref = _model_only(model, enc, dev_)
        benchmark.extra_info["argmax_agreement_with_model_fp32"] = float(
            (ref.argmax(1) == probs.argmax(1)).mean()
        )
        benchmark.extra_info["max_abs_prob_diff"] = float(np.abs(ref - probs).max())
    benchmark.extra_info.update(env_info)
    benchmark.extra_info["path"] = PATHS[path]
    benchmark.extra_info["classify_sentences_per_s"] = classify_rate
    benchmark.extra_info["unique_word_rows"] = int(np.unique(enc.ids["words"]).size)
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


@torch.no_grad()
def _model_only(model: SentenceLSTM, enc: Encoded, device: torch.device) -> np.ndarray:
    """Probabilities from the model's own forward pass (nn.LSTM), batches as predict_proba."""
    out = np.empty((enc.n_docs, model.out.out_features), dtype=np.float32)
    for index in make_batches(enc.lengths, 512, None):
        ids, lengths = batch_tensors(enc, index, device)
        with torch.autocast("cuda", dtype=torch.float16, enabled=device.type == "cuda"):
            logits = model(ids, lengths)
        out[index] = torch.softmax(logits.float(), dim=-1).cpu().numpy()
    return out
