"""A trained classifier on disk: ``weights.pt`` (a state dict) and ``model.json`` (the rest).

``model.json`` holds the config, the label set, each feature's lexicon and table shape, the
pipeline that parsed the training text, the fingerprint of the vectors and the sha256 of the
weights file. Loading checks that all of these fit together and reads the weights with
``torch.load(weights_only=True)``, so a model file cannot run code.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..errors import InputError
from ..io import atomic_write_json, fsync_dir, sha256_file
from .features import Lexicon
from .model import SentenceLSTM

log = logging.getLogger(__name__)

FORMAT = "gramfast-classifier"
VERSION = 1
WEIGHTS, META = "weights.pt", "model.json"


@dataclass
class SavedModel:
    model: SentenceLSTM
    meta: dict[str, Any]

    @property
    def labels(self) -> list[str]:
        return list(self.meta["labels"])

    @property
    def lexicons(self) -> dict[str, Lexicon]:
        return {f: Lexicon.from_json(x) for f, x in self.meta["lexicons"].items()}


def is_model_dir(path: Path) -> bool:
    return (Path(path) / META).is_file()


def prepare_out(out: Path, overwrite: bool) -> None:
    """Refuse an existing non-empty folder unless ``overwrite`` and it holds a model."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        if not overwrite:
            raise InputError(
                f"{out} exists and is not empty: pass --overwrite to replace the model in it, "
                "or choose another --out"
            )
        if not is_model_dir(out) and not (out / "cv.json").is_file():
            raise InputError(
                f"{out} holds files that are not a gramfast model; --overwrite only replaces a "
                "model folder: choose another --out"
            )


def save_model(out: Path, model: SentenceLSTM, meta: dict[str, Any]) -> None:
    """Write the model folder atomically: a temporary folder renamed into place."""
    out = Path(out)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    torch.save(state, tmp / WEIGHTS)
    meta = {
        **meta,
        "format": FORMAT,
        "version": VERSION,
        "features": list(model.features),
        "tables": {f: [e.n_free, e.n_vocab, e.dim] for f, e in model.embed.items()},
        "hidden": model.lstm.hidden_size,
        "layers": model.lstm.num_layers,
        "weights_sha256": sha256_file(tmp / WEIGHTS),
    }
    atomic_write_json(tmp / META, meta)
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    if out.exists():
        out.rename(old)
    tmp.rename(out)
    fsync_dir(out.parent)
    shutil.rmtree(old, ignore_errors=True)


def load_model(path: Path, device: torch.device | str = "cpu") -> SavedModel:
    """Load a model folder, checking that weights, lexicons and labels belong together.

    Raises:
        InputError: not a model folder, another format or version, a weights file that is not
            the one the metadata describes, tables that do not match the lexicons.
    """
    path = Path(path)
    if not is_model_dir(path):
        raise InputError(f"{path} is not a gramfast model folder (no {META}): pass the --out "
                         "folder of `gramfast train`")  # fmt: skip
    try:
        meta = json.loads((path / META).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise InputError(f"{path / META} is unreadable ({e}): train the model again") from None
    if meta.get("format") != FORMAT or meta.get("version") != VERSION:
        raise InputError(
            f"{path} holds format {meta.get('format')!r} version {meta.get('version')!r}; this "
            f"gramfast reads {FORMAT!r} version {VERSION}: train the model again"
        )
    weights = path / WEIGHTS
    if not weights.is_file():
        raise InputError(f"{path} has no {WEIGHTS}: the model folder is incomplete")
    digest = sha256_file(weights)
    if digest != meta["weights_sha256"]:
        raise InputError(
            f"{weights} is not the weights file {META} describes (sha256 {digest[:12]} vs "
            f"{meta['weights_sha256'][:12]}): the two files come from different models"
        )
    # NOTE: the features' order is the order of the concatenated embeddings; model.json's keys
    # are sorted, so the order comes from the "features" list.
    order = meta.get("features") or list(meta["tables"])
    if sorted(order) != sorted(meta["tables"]):
        raise InputError(
            f"{path}: features {order} do not match the tables {sorted(meta['tables'])}"
        )
    tables = {f: tuple(meta["tables"][f]) for f in order}
    for f, lex in meta["lexicons"].items():
        rows = 2 + len(lex["extra"]) + len(lex["vocab"])
        if f not in tables or tables[f][0] + tables[f][1] != rows:
            raise InputError(f"{path}: the {f} table does not match its lexicon ({rows} rows)")
    cfg = meta["config"]
    model = SentenceLSTM(
        tables,
        len(meta["labels"]),
        hidden=meta["hidden"],
        layers=meta["layers"],
        dropout=cfg["dropout"],
    )
    state = torch.load(weights, map_location="cpu", weights_only=True)
    missing = set(model.state_dict()) ^ set(state)
    if missing:
        raise InputError(f"{weights}: parameters do not fit the model ({sorted(missing)[:4]})")
    for k, v in model.state_dict().items():
        if tuple(state[k].shape) != tuple(v.shape):
            raise InputError(
                f"{weights}: {k} is {tuple(state[k].shape)}, expected {tuple(v.shape)}"
            )
    model.load_state_dict(state)
    model.to(device).eval()
    return SavedModel(model, meta)


def check_vectors(saved: SavedModel, fingerprint: str | None, vectors_dir: Path) -> None:
    """A model and the vectors it is used with must be the ones it was trained on."""
    expected = saved.meta.get("vectors", {}).get("fingerprint")
    if fingerprint != expected:
        raise InputError(
            f"the vectors in {vectors_dir} are not the ones this model was trained with "
            f"(fingerprint {str(fingerprint)[:12]} vs {str(expected)[:12]} from "
            f"{saved.meta.get('vectors', {}).get('path')}): use the model's own vectors"
        )
