"""Shared test helpers: data location, tolerances and a verbose assert_close."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

# Absolute and relative tolerances per dtype of the fast implementation's output.
TOLERANCES: dict[str, tuple[float, float]] = {
    "float64": (1e-10, 1e-10),
    "float32": (1e-5, 1e-4),
    "bfloat16": (1e-2, 2e-2),
    "float16": (1e-3, 5e-3),
}


def data_dir() -> Path | None:
    """Where the shared data lives: $GRAMFAST_DATA, else ../shared/data beside the checkout."""
    env = os.environ.get("GRAMFAST_DATA")
    candidates = [Path(env)] if env else []
    candidates += [ROOT.parent / "shared" / "data", ROOT / "shared" / "data"]
    for c in candidates:
        if (c / "corpus").is_dir() or (c / "treebank").is_dir():
            return c
    return None


def assert_close(actual, expected, *, atol: float, rtol: float, name: str = "value") -> None:
    """Assert elementwise closeness; on failure report max abs error, relative RMS, worst index."""
    a = np.asarray(_to_numpy(actual), dtype=np.float64)
    e = np.asarray(_to_numpy(expected), dtype=np.float64)
    if a.shape != e.shape:
        raise AssertionError(f"{name}: shape {a.shape} != expected {e.shape}")
    if a.size == 0:
        return
    if np.isnan(a).any() and not np.isnan(e).any():
        idx = np.unravel_index(int(np.argmax(np.isnan(a))), a.shape)
        raise AssertionError(f"{name}: NaN at {idx} (an element was never written?)")
    err = np.abs(a - e)
    bad = err > atol + rtol * np.abs(e)
    if bad.any():
        worst = np.unravel_index(int(np.argmax(err - rtol * np.abs(e))), a.shape)
        rms = float(np.sqrt(np.mean(err**2)) / max(np.sqrt(np.mean(e**2)), 1e-30))
        raise AssertionError(
            f"{name}: {int(bad.sum())}/{a.size} elements off; "
            f"max abs error {float(err.max()):.3e}, "
            f"relative RMS {rms:.3e}, worst at {worst}: got {a[worst]!r}, expected {e[worst]!r}"
        )


def _to_numpy(x):
    if hasattr(x, "detach"):
        return x.detach().float().cpu().numpy() if x.dtype.is_floating_point else x.cpu().numpy()
    return x
