"""Skip-gram with negative sampling: reference (PyTorch), compiled (numba) and fused (Triton).

Submodules are imported on first use, so that the numba trainer does not pull in torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "sgns_step": "reference",
    "sgns_train_pairs": "compiled",
    "sgns_lr": "compiled",
    "build_alias_table": "sampler",
    "draw_negatives": "sampler",
    "sgns_update": "fused",
    "sgns_update_shared": "fused",
    "sample_negatives": "fused",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
