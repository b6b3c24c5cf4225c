"""Accuracy, macro-F1 and the confusion matrix (as numbers, a table and a PNG)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)


def confusion(gold: np.ndarray, pred: np.ndarray, n_labels: int) -> np.ndarray:
    """int64 [L, L]: row = gold label, column = predicted label."""
    m = np.zeros((n_labels, n_labels), dtype=np.int64)
    np.add.at(m, (gold, pred), 1)
    return m


def scores(gold: np.ndarray, pred: np.ndarray, labels: list[str]) -> dict[str, Any]:
    """Accuracy, macro-F1 (mean over labels that occur in gold or predictions), per-label
    precision/recall/F1 and the confusion matrix."""
    gold, pred = np.asarray(gold, dtype=np.int64), np.asarray(pred, dtype=np.int64)
    m = confusion(gold, pred, len(labels))
    tp = np.diag(m).astype(np.float64)
    predicted, actual = m.sum(axis=0), m.sum(axis=1)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, actual, out=np.zeros_like(tp), where=actual > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    present = (predicted + actual) > 0
    return {
        "n": int(gold.shape[0]),
        "accuracy": float((gold == pred).mean()) if gold.size else float("nan"),
        "macro_f1": float(f1[present].mean()) if present.any() else float("nan"),
        "per_label": {
            lab: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(a)}
            for lab, p, r, f, a in zip(labels, precision, recall, f1, actual)
        },
        "labels": list(labels),
        "confusion": m.tolist(),
    }


def write_confusion_png(matrix: np.ndarray, labels: list[str], path: Path, title: str) -> None:
    """A heat map of the confusion matrix with counts in the cells (matplotlib, no display)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    m = np.asarray(matrix)
    size = max(4.0, 0.6 * len(labels) + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    rows = m.sum(axis=1, keepdims=True)
    share = np.divide(m, rows, out=np.zeros(m.shape), where=rows > 0)
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    ax.set_title(title)
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            color = "white" if share[i, j] > 0.5 else "black"
            ax.text(j, i, str(m[i, j]), ha="center", va="center", color=color, fontsize=8)
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=120)
    plt.close(fig)
    tmp.replace(path)
