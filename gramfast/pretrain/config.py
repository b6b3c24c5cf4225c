"""``PretrainConfig``: every option of ``gramfast pretrain``, checked on construction."""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from ..errors import InputError


class ContextChoice(str, Enum):
    deps = "deps"
    window = "window"


class Device(str, Enum):
    cpu = "cpu"
    cuda = "cuda"
    auto = "auto"


@dataclass(frozen=True)
class PretrainConfig:
    """Options of a pretraining run; saved as ``config.json`` beside the vectors.

    Attributes:
        input: a parsed store, or raw text/JSONL/CoNLL-U inputs (parsed first into a cached store).
        out: output folder.
        contexts: ``deps`` (Levy & Goldberg) or ``window``.
        window: k words each side for window contexts.
        dynamic_window: word2vec's shrinking window (k drawn in 1..window per token).
        dim: D, the vector size.
        negatives: K, negatives per pair.
        epochs: passes over the pairs.
        min_count: words and contexts seen fewer times are dropped (a pair needs both).
        context_min_count: contexts seen fewer times are dropped (None: ``min_count``), as
            word2vecf's separate word and context vocabularies allow.
        sample: word2vec's subsampling threshold t (0 disables).
        lr: starting learning rate, decaying linearly to lr * 1e-4.
        threads: Hogwild threads on CPU.
        seed: seeds initialisation, shuffling, subsampling and negatives.
        device: cpu, cuda or auto.
        grammar: also train construction (grammar) vectors in the same run.
        batch_pairs: pairs handed to the kernel at a time.
        gpu_feed: how pairs reach the GPU: ``device`` (held in device memory, drawn there each
            epoch) or ``thread`` (extracted on the host by a background thread, copied in).
        model: spaCy pipeline for raw-text input.
    """

    input: tuple[str, ...]
    out: Path
    contexts: ContextChoice = ContextChoice.deps
    window: int = 5
    dynamic_window: bool = False
    dim: int = 300
    negatives: int = 15
    epochs: int = 5
    min_count: int = 5
    context_min_count: int | None = None
    sample: float = 1e-3
    lr: float = 0.025
    threads: int = 0  # 0: all cores
    seed: int = 0
    device: Device = Device.auto
    grammar: bool = True
    batch_pairs: int = 1 << 17
    gpu_feed: str = "device"
    model: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "contexts", ContextChoice(self.contexts))
        object.__setattr__(self, "device", Device(self.device))
        object.__setattr__(self, "out", Path(self.out))
        if self.threads == 0:
            object.__setattr__(self, "threads", os.cpu_count() or 1)
        positive = {
            "dim": (self.dim, "300"),
            "epochs": (self.epochs, "5"),
            "min_count": (self.min_count, "5"),
            "window": (self.window, "5"),
            "threads": (self.threads, "the number of cores"),
            "batch_pairs": (self.batch_pairs, str(1 << 17)),
        }
        if self.context_min_count is not None:
            positive["context_min_count"] = (self.context_min_count, "--min-count's value")
        for name, (value, hint) in positive.items():
            if value < 1:
                flag = "--" + name.replace("_", "-")
                raise InputError(f"{flag} must be at least 1; got {value} (try {hint})")
        if self.gpu_feed not in ("device", "thread"):
            raise InputError(f"--gpu-feed must be device or thread; got {self.gpu_feed}")
        if self.negatives < 0:
            raise InputError(f"--negatives must be 0 or more; got {self.negatives} (try 15)")
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise InputError(f"--lr must be a positive number; got {self.lr} (try 0.025)")
        if not (math.isfinite(self.sample) and self.sample >= 0):
            raise InputError(f"--sample must be 0 or a small positive number; got {self.sample}")

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["out"] = str(self.out)
        d["input"] = list(self.input)
        d["contexts"] = self.contexts.value
        d["device"] = self.device.value
        return d

    def same_training(self, other: dict[str, Any]) -> list[str]:
        """Options that differ from a saved config and change the result (for --resume)."""
        mine = self.to_json()
        ignore = {"out", "threads", "device", "gpu_feed"}
        return sorted(k for k in mine if k not in ignore and other.get(k) != mine[k])
