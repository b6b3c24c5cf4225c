"""``ClassifierConfig``: every option of ``gramfast train``, checked once."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from ..errors import InputError
from .features import FEATURES


class Init(str, Enum):
    pretrained = "pretrained"
    random = "random"


@dataclass(frozen=True)
class ClassifierConfig:
    """Options of a classifier run (one field per ``gramfast train`` option).

    Attributes:
        train: labelled training data; dev/test: optional labelled files.
        vectors: a ``gramfast pretrain`` output folder (required for ``init=pretrained``).
        out: the model folder to write.
        features: any of words, grammar, contexts.
        init: pretrained rows or random rows for the vocabulary.
        freeze: fix the vocabulary rows (default: train them; pretrained rows fine-tuned scored
            higher on the dev sets of TREC, SST-2 and MR than fixed rows).
        rescale_rows: scale each pretrained row to the length a random row has in expectation
            (0.25 sqrt(D / 3)), keeping its direction: SGNS rows grow with word frequency.
        lazy_rows: train vocabulary rows with sparse gradients and lazy Adam (only the rows a
            batch uses are read and written); off: dense AdamW over the whole table.
        train_unk: UNK and extra rows learn.
        extend_vocab: training words (seen >= min_count) missing from the vectors get rows.
        max_vocab: keep the most frequent rows of each pretrained table (None: all).
        dims: vector size per feature for random init without vectors.
        cv: k-fold cross-validation (0: off); folds: a file with one fold id per example.
    """

    train: Path
    out: Path
    vectors: Path | None = None
    dev: Path | None = None
    test: Path | None = None
    features: tuple[str, ...] = ("words", "grammar")
    init: Init = Init.pretrained
    freeze: bool = False
    rescale_rows: bool = False
    lazy_rows: bool = True
    train_unk: bool = True
    extend_vocab: bool = True
    min_count: int = 1
    max_vocab: int | None = None
    dims: dict[str, int] = field(
        default_factory=lambda: {"words": 300, "grammar": 50, "contexts": 300}
    )
    hidden: int = 150
    layers: int = 1
    dropout: float = 0.5
    lr: float = 1e-3
    weight_decay: float = 0.01
    batch_size: int = 50
    epochs: int = 20
    patience: int = 4
    clip: float = 5.0
    max_tokens: int = 100
    dev_fraction: float = 0.1
    cv: int = 0
    folds: Path | None = None
    seed: int = 0
    device: str = "auto"
    threads: int = 0
    amp: bool = True
    model: str | None = None
    processes: int = 1
    text_column: str = "text"
    label_column: str = "label"
    data_format: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "init", Init(self.init))
        feats = tuple(self.features)
        bad = [f for f in feats if f not in FEATURES]
        if not feats or bad or len(set(feats)) != len(feats):
            raise InputError(
                f"--features must list distinct names from {', '.join(FEATURES)}; got "
                f"{','.join(feats) or 'nothing'}"
            )
        object.__setattr__(self, "features", feats)
        if self.init == Init.pretrained and self.vectors is None:
            raise InputError(
                "--init pretrained needs --vectors DIR (a `gramfast pretrain` output); pass it, "
                "or use --init random"
            )
        if self.rescale_rows and self.init != Init.pretrained:
            raise InputError(
                "--rescale-rows rescales pretrained rows; use it with --init pretrained, or drop it"
            )
        positive = {
            "hidden": self.hidden,
            "layers": self.layers,
            "batch_size": self.batch_size,
            "epochs": self.epochs,
            "max_tokens": self.max_tokens,
            "min_count": self.min_count,
            "processes": self.processes,
            **{f"dims[{k}]": v for k, v in self.dims.items()},
        }
        for name, value in positive.items():
            if value < 1:
                raise InputError(f"--{name.replace('_', '-')} must be >= 1; got {value}")
        checks = [
            (0 <= self.dropout < 1, f"--dropout must be in [0, 1); got {self.dropout}"),
            (self.lr > 0, f"--lr must be > 0; got {self.lr}"),
            (self.patience >= 1, f"--patience must be >= 1; got {self.patience}"),
            (0 < self.dev_fraction < 1, f"--dev-fraction: in (0, 1); got {self.dev_fraction}"),
            (self.cv == 0 or self.cv >= 2, f"--cv must be 0 (off) or >= 2; got {self.cv}"),
            (self.max_vocab is None or self.max_vocab >= 1, "--max-vocab must be >= 1"),
            (self.device in ("cpu", "cuda", "auto"), f"--device: cpu/cuda/auto; got {self.device}"),
        ]  # fmt: skip
        for ok, message in checks:
            if not ok:
                raise InputError(message)
        if self.folds is not None and self.cv == 0:
            raise InputError("--folds needs --cv K (the number of folds)")

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        for k, v in d.items():
            if isinstance(v, Path):
                d[k] = str(v)
            elif isinstance(v, Enum):
                d[k] = v.value
            elif isinstance(v, tuple):
                d[k] = list(v)
        return d
