"""``gramfast train`` and ``gramfast evaluate`` as plain functions."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..io import atomic_write_json
from .config import ClassifierConfig, Init
from .data import read_examples
from .features import Encoded, encode
from .metrics import scores, write_confusion_png
from .parsing import TextParser
from .saved import check_vectors, load_model, prepare_out, save_model
from .train import (
    ProgressFn,
    Split,
    Workspace,
    build_lexicons,
    doc_strings,
    fit,
    fold_ids,
    heldout_dev,
    label_index,
    new_model,
    predict_proba,
    resolve_device,
)

log = logging.getLogger(__name__)


def train_classifier(
    cfg: ClassifierConfig, overwrite: bool = False, progress: ProgressFn | None = None
) -> dict[str, Any]:
    """Train (or cross-validate) a classifier and write ``cfg.out``.

    Returns the summary written to ``metrics.json`` (or ``cv.json``): dev and test scores, the
    epochs, timings and the counted warnings.
    """
    prepare_out(cfg.out, overwrite)
    device = resolve_device(cfg.device)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    ws = Workspace(cfg)
    with TextParser(cfg.model, cfg.processes) as parser:
        ws.parse_all(parser)
    if cfg.cv:
        return _cross_validate(cfg, ws, device, progress)

    y_all = label_index(ws.train, ws.labels, "train")
    if ws.dev is None:
        tr_idx, dev_idx = heldout_dev(len(ws.train), cfg.dev_fraction, cfg.seed)
    else:
        tr_idx, dev_idx = np.arange(len(ws.train)), None
    offsets = ws.parses["train"].doc_offsets
    strings = {f: doc_strings(s, offsets, tr_idx) for f, s in ws.strings["train"].items()}
    lexicons = build_lexicons(cfg, strings, ws.vectors)
    train_enc = ws.encode("train", lexicons)
    train = Split(train_enc.subset(tr_idx), y_all[tr_idx])
    if dev_idx is None:
        dev = Split(ws.encode("dev", lexicons), label_index(ws.dev, ws.labels, "--dev"))
    else:
        dev = Split(train_enc.subset(dev_idx), y_all[dev_idx])
    model = new_model(cfg, lexicons, ws.vectors, len(ws.labels), cfg.seed)
    result = fit(model, train, dev, cfg, device, cfg.seed, progress)
    summary: dict[str, Any] = {
        "train": _counts(ws.train, train_enc),
        "dev": {"n": dev.enc.n_docs, "accuracy": result["dev_accuracy"]},
        **{k: result[k] for k in ("best_epoch", "seconds", "train_sentences_per_s", "history")},
    }
    if ws.test is not None:
        test_enc = ws.encode("test", lexicons)
        y_test = label_index(ws.test, ws.labels, "--test")
        pred = predict_proba(model, test_enc, cfg.batch_size, device, cfg.amp).argmax(1)
        summary["test"] = {**scores(y_test, pred, ws.labels), **_counts(ws.test, test_enc)}
    meta = {
        "config": cfg.to_json(),
        "labels": ws.labels,
        "features": list(cfg.features),
        "lexicons": {f: lex.to_json() for f, lex in lexicons.items()},
        "lowercase": ws.lowercase,
        "pipeline": ws.pipeline,
        "vectors": {
            "path": str(cfg.vectors) if cfg.vectors else None,
            "fingerprint": ws.fingerprint,
        },  # fmt: skip
        "metrics": {k: v for k, v in summary.items() if k != "history"},
    }
    save_model(cfg.out, model, meta)
    atomic_write_json(Path(cfg.out) / "metrics.json", summary)
    return summary


def _counts(examples: Any, enc: Encoded) -> dict[str, int]:
    return {
        "n": len(examples),
        "empty_skipped": examples.report.empty_skipped,
        "truncated": enc.truncated,
        "all_unknown": enc.all_unknown,
    }


def _cross_validate(
    cfg: ClassifierConfig, ws: Workspace, device: torch.device, progress: ProgressFn | None
) -> dict[str, Any]:
    """k-fold CV: each fold trains on the others (minus a held-out dev part) and is tested once.
    The seed of fold i is ``cfg.seed + i``. Writes ``cv.json``; no model is kept."""
    folds = fold_ids(cfg, ws.train)
    y_all = label_index(ws.train, ws.labels, "train")
    offsets = ws.parses["train"].doc_offsets
    rows = []
    start = time.perf_counter()
    for k in range(cfg.cv):
        seed = cfg.seed + k
        test_idx = np.flatnonzero(folds == k)
        rest = np.flatnonzero(folds != k)
        a, b = heldout_dev(rest.shape[0], cfg.dev_fraction, seed)
        tr_idx, dev_idx = rest[a], rest[b]
        strings = {f: doc_strings(s, offsets, tr_idx) for f, s in ws.strings["train"].items()}
        lexicons = build_lexicons(cfg, strings, ws.vectors)
        enc = ws.encode("train", lexicons)
        model = new_model(cfg, lexicons, ws.vectors, len(ws.labels), seed)

        def fold_progress(row: dict[str, Any], k: int = k) -> None:
            if progress is not None:
                progress({**row, "fold": k})

        result = fit(
            model,
            Split(enc.subset(tr_idx), y_all[tr_idx]),
            Split(enc.subset(dev_idx), y_all[dev_idx]),
            cfg,
            device,
            seed,
            fold_progress,
        )
        pred = predict_proba(model, enc.subset(test_idx), cfg.batch_size, device, cfg.amp)
        s = scores(y_all[test_idx], pred.argmax(1), ws.labels)
        rows.append({"fold": k, "seed": seed, "n_test": int(test_idx.shape[0]),
                     "accuracy": s["accuracy"], "macro_f1": s["macro_f1"],
                     "best_epoch": result["best_epoch"], "dev_accuracy": result["dev_accuracy"],
                     "seconds": result["seconds"]})  # fmt: skip
        log.info("fold %d: accuracy %.4f", k, s["accuracy"])
    acc = np.array([r["accuracy"] for r in rows])
    summary = {
        "cv": cfg.cv,
        "folds": rows,
        "accuracy_mean": float(acc.mean()),
        "accuracy_std": float(acc.std(ddof=1)) if acc.shape[0] > 1 else 0.0,
        "macro_f1_mean": float(np.mean([r["macro_f1"] for r in rows])),
        "seconds": time.perf_counter() - start,
        "config": cfg.to_json(),
        "vectors_fingerprint": ws.fingerprint,
    }
    Path(cfg.out).mkdir(parents=True, exist_ok=True)
    atomic_write_json(Path(cfg.out) / "cv.json", summary)
    return summary


def evaluate_model(
    model_dir: Path,
    data: Path,
    *,
    vectors: Path | None = None,
    png: Path | None = None,
    device: str = "auto",
    processes: int = 1,
    fmt: str | None = None,
    text_column: str = "text",
    label_column: str = "label",
) -> dict[str, Any]:
    """Accuracy, macro-F1 and the confusion matrix of a saved model on labelled data."""
    dev = resolve_device(device)
    saved = load_model(model_dir, dev)
    if vectors is not None:
        from .train import load_pretrained, vectors_fingerprint

        cfg = saved.meta["config"]
        probe = ClassifierConfig(
            train=Path(cfg["train"]), out=Path(model_dir), vectors=vectors,
            features=tuple(saved.meta["features"]), init=Init.pretrained,
            max_vocab=cfg.get("max_vocab"),
        )  # fmt: skip
        check_vectors(saved, vectors_fingerprint(load_pretrained(probe)), vectors)
    examples = read_examples(data, fmt=fmt, text_column=text_column, label_column=label_column)
    labels = saved.labels
    y = label_index(examples, labels, "evaluation data")
    with TextParser(saved.meta["config"].get("model"), processes) as parser:
        _check_pipeline(saved.meta.get("pipeline", {}), parser.info)
        parsed = parser.parse_cached(examples.texts)
    enc = encode(
        parsed, saved.lexicons, saved.meta["config"]["max_tokens"], saved.meta["lowercase"]
    )
    pred = predict_proba(saved.model, enc, 256, dev).argmax(1)
    result = {**scores(y, pred, labels), **_counts(examples, enc), "data": str(data)}
    if png is not None:
        write_confusion_png(
            np.array(result["confusion"]), labels, Path(png),
            f"{Path(data).name}: accuracy {result['accuracy']:.3f}",
        )  # fmt: skip
        result["png"] = str(png)
    return result


def _check_pipeline(trained: dict[str, Any], now: dict[str, Any]) -> None:
    keys = ("name", "version")
    if trained and any(trained.get(k) != now.get(k) for k in keys):
        log.warning(
            "the model was trained on parses of %s %s, this text is parsed by %s %s: features "
            "may shift", trained.get("name"), trained.get("version"), now.get("name"),
            now.get("version"),
        )  # fmt: skip
