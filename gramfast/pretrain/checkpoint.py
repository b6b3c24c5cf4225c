"""Per-epoch checkpoints of a pretraining run, written atomically; the last one is kept.

Layout: ``checkpoints/epoch-0003/`` holds ``<space>.word.npy``, ``<space>.context.npy`` and
``state.json`` (epoch, pairs done per space). The folder is written under a temporary name and
renamed, so a checkpoint folder that exists is complete.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import GramfastError
from ..io import atomic_write_json, fsync_dir

log = logging.getLogger(__name__)

KEEP = 1


def save_checkpoint(out: Path, epoch: int, spaces: list[Any]) -> Path:
    root = Path(out) / "checkpoints"
    root.mkdir(exist_ok=True)
    final = root / f"epoch-{epoch:04d}"
    tmp = root / f".epoch-{epoch:04d}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    for s in spaces:
        np.save(tmp / f"{s.name}.word.npy", s.word_vectors)
        np.save(tmp / f"{s.name}.context.npy", s.context_vectors)
    atomic_write_json(
        tmp / "state.json",
        {"epoch": epoch, "pairs_done": {s.name: s.pairs_done for s in spaces}},
    )
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    fsync_dir(root)
    for old in sorted(root.glob("epoch-*"))[:-KEEP]:
        shutil.rmtree(old)
    log.info("checkpoint %s", final)
    return final


def latest_checkpoint(out: Path) -> dict[str, Any] | None:
    """The state of the newest complete checkpoint, with its folder; None before epoch 1."""
    found = sorted((Path(out) / "checkpoints").glob("epoch-*"))
    if not found:
        return None
    state = json.loads((found[-1] / "state.json").read_text(encoding="utf-8"))
    state["path"] = str(found[-1])
    return state


def load_checkpoint(out: Path, state: dict[str, Any], spaces: list[Any]) -> int:
    """Load matrices into ``spaces`` in place; return the number of epochs already done."""
    folder = Path(state["path"])
    for s in spaces:
        for attr, part in (("word_vectors", "word"), ("context_vectors", "context")):
            saved = np.load(folder / f"{s.name}.{part}.npy")
            mine = getattr(s, attr)
            if saved.shape != mine.shape:
                raise GramfastError(
                    f"checkpoint {folder} holds {s.name} {part} vectors of shape {saved.shape}, "
                    f"the run needs {mine.shape}: the store or options changed; start again "
                    "with --overwrite"
                )
            mine[...] = saved
        s.pairs_done = int(state["pairs_done"][s.name])
    return int(state["epoch"])
