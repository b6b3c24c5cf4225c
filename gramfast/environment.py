"""Facts about the machine and the libraries: what ``gramfast info`` prints."""

from __future__ import annotations

import importlib.metadata as md
import os
import platform
from typing import Any


def _version(dist: str) -> str:
    try:
        return md.version(dist)
    except md.PackageNotFoundError:
        return "not installed"


def triton_mode() -> str:
    """How Triton kernels would run here: compiled on a CUDA device, interpreted, or not at all."""
    if _version("triton") == "not installed":
        return "unavailable (triton not installed)"
    if os.environ.get("TRITON_INTERPRET") == "1":
        return "interpreted (TRITON_INTERPRET=1)"
    import torch

    if torch.cuda.is_available():
        return "compiled (CUDA)"
    return "interpreted only (no CUDA device; set TRITON_INTERPRET=1 to run kernels on CPU)"


def environment_info() -> dict[str, Any]:
    """Versions, pipelines, CUDA devices and Triton mode, as a flat dict."""
    import torch

    from .corpus.pipeline import DEFAULT_MODELS, installed_pipelines

    pipelines = installed_pipelines()
    default = next((m for m in DEFAULT_MODELS if m in pipelines), "none installed")
    devices = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return {
        "gramfast": _version("gramfast"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu cores": os.cpu_count(),
        "torch": torch.__version__,
        "triton": _version("triton"),
        "numba": _version("numba"),
        "numpy": _version("numpy"),
        "spacy": _version("spacy"),
        "pipelines": ", ".join(pipelines) or "none",
        "default pipeline": default,
        "default pipeline version": _version(default.replace("_", "-"))
        if default != "none installed"
        else "-",
        "cuda devices": ", ".join(devices) or "none",
        "triton kernels": triton_mode(),
    }
