"""The pretraining loop: vocabularies, matrices, epochs of pair batches, checkpoints, outputs.

Two spaces are trained in one run: ``word`` (words against dependency or window contexts) and,
unless disabled, ``grammar`` (constructions such as ``NOUN:nsubj`` against the constructions of
their heads and children). Each space has its own vocabularies, matrices, negative sampler and
pair stream; an epoch trains the word pairs, then the grammar pairs.

The learning rate of a space decays linearly over the pairs it is expected to see in the whole
run (the exact expectation of the subsampled pair count, computed in one pass before training),
from ``lr`` to word2vec's floor ``lr * 1e-4``.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..contexts import ContextsConfig
from ..contexts.stream import (
    ContextCounts,
    PairStream,
    block_pairs,
    block_spans,
    count_contexts,
    iter_blocks,
)
from ..corpus.store import ParsedStore
from ..errors import GramfastError, InputError
from ..io import atomic_write_json
from ..kernels.sgns.compiled import sgns_train_pairs
from ..kernels.sgns.sampler import build_alias_table
from .checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint
from .config import ContextChoice, Device, PretrainConfig
from .inputs import open_input
from .memory import fix_mmap_threshold, release_free_memory
from .outputs import write_outputs

log = logging.getLogger(__name__)

METRICS_EVERY_S = 5.0
LOSS_STRIDE = 16  # the reported loss is estimated from every 16th pair (a log1p per row saved)
# With several threads each keeps its own copy of the most frequent context rows (the vocabulary
# is sorted by count), merged every HOT_SYNC_PAIRS pairs: see kernels/sgns/compiled.py.
HOT_ROWS, HOT_SYNC_PAIRS = 256, 1024
BLOCK_TOKENS = 1 << 16  # sentences are shuffled in blocks of about this many tokens

# (space, epoch, pairs done in the space, expected pairs of the space, mean loss, lr, pairs/s)
ProgressFn = Callable[[dict[str, Any]], None]


@dataclass
class Space:
    """One trained pair of matrices with its vocabularies, sampler and stream."""

    name: str
    counts: ContextCounts
    stream: PairStream
    alias_prob: np.ndarray
    alias_index: np.ndarray
    word_vectors: np.ndarray  # W [Vw, D] float32
    context_vectors: np.ndarray  # C [Vc, D] float32
    pairs_per_epoch: float  # expected, after subsampling
    pairs_done: int = 0


def _contexts_config(cfg: PretrainConfig, kind: str) -> ContextsConfig:
    if kind == "grammar":
        return ContextsConfig(kind="grammar", min_count=1, seed=cfg.seed)
    return ContextsConfig(
        kind=cfg.contexts.value,
        window=cfg.window,
        dynamic_window=cfg.dynamic_window,
        min_count=cfg.min_count,
        min_context_count=cfg.context_min_count,
        seed=cfg.seed,
    )


def expected_pairs(store: ParsedStore, counts: ContextCounts, keep_prob: np.ndarray) -> float:
    """Expected pairs per epoch after subsampling: Σ over surviving pairs of P(keep word)."""
    total = 0.0
    for _, batch in iter_blocks(store, block_spans(store, BLOCK_TOKENS)):
        wi, _, _ = block_pairs(counts, batch)
        total += float(keep_prob[wi].sum())
    return total


def _build_space(name: str, store: ParsedStore, cfg: PretrainConfig, seed: int) -> Space:
    # Small blocks bound the transient pair arrays (a window-5 block yields ~10 pairs a token).
    counts = count_contexts(store, _contexts_config(cfg, name), block_tokens=BLOCK_TOKENS)
    stream = PairStream(
        store, counts, cfg.batch_pairs, block_tokens=BLOCK_TOKENS, subsample=cfg.sample, seed=seed
    )
    prob, index = build_alias_table(counts.contexts.counts)
    rng = np.random.default_rng([cfg.seed, 17 if name == "grammar" else 0])
    half = 0.5 / cfg.dim
    w = rng.uniform(-half, half, (len(counts.words), cfg.dim)).astype(np.float32)
    c = np.zeros((len(counts.contexts), cfg.dim), dtype=np.float32)
    per_epoch = expected_pairs(store, counts, stream.keep_prob)
    log.info(
        "%s space: %d words, %d contexts, %.0f pairs per epoch expected",
        name,
        len(counts.words),
        len(counts.contexts),
        per_epoch,
    )
    return Space(name, counts, stream, prob, index, w, c, per_epoch)


def _prepare_out(cfg: PretrainConfig, resume: bool, overwrite: bool) -> dict[str, Any] | None:
    """Check the output folder; return the checkpoint state to resume from, if any."""
    out = cfg.out
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} is a file; give a folder for the vectors")
    busy = out.is_dir() and any(out.iterdir())
    if busy and overwrite:
        if not (out / "config.json").is_file():
            raise InputError(
                f"--out {out} is not a gramfast pretraining folder (no config.json); "
                "--overwrite only replaces those: choose a new folder"
            )
        shutil.rmtree(out)
        busy = False
    if busy and not resume:
        raise InputError(
            f"--out {out} already holds files; pass --resume to continue its training or "
            "--overwrite to start again"
        )
    out.mkdir(parents=True, exist_ok=True)
    if not busy:
        return None
    saved = json.loads((out / "config.json").read_text(encoding="utf-8"))
    differ = cfg.same_training(saved.get("options", {}))
    if differ:
        raise InputError(
            f"--resume: options differ from the run in {out} ({', '.join(differ)}); resume "
            "with the same options or start again with --overwrite"
        )
    return latest_checkpoint(out)


def pretrain(
    cfg: PretrainConfig,
    *,
    resume: bool = False,
    overwrite: bool = False,
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Train word (and grammar) vectors on ``cfg.input``; write them to ``cfg.out``.

    Returns:
        A summary: pairs per space, seconds, pairs/s, final mean loss per space.

    Raises:
        InputError: bad options, a busy output folder, an empty store or vocabulary.
        GramfastError: a non-finite loss (the last good checkpoint stays usable).
    """
    device = resolve_device(cfg.device)
    fix_mmap_threshold()
    state = _prepare_out(cfg, resume, overwrite)
    store = open_input(cfg)
    names = ["word", "grammar"] if cfg.grammar else ["word"]
    spaces = []
    for n in names:
        spaces.append(_build_space(n, store, cfg, cfg.seed))
        store.release_pages()  # counting read every page; training maps them block by block
        release_free_memory()  # the counting buffers
    start_epoch = 0
    if state is not None:
        start_epoch = load_checkpoint(cfg.out, state, spaces)
        log.info("resuming after epoch %d", start_epoch)
    _write_config(cfg, store, spaces)

    started = time.perf_counter()
    trained = 0
    with open(cfg.out / "metrics.jsonl", "a", encoding="utf-8") as metrics:
        if device is None:
            for epoch in range(start_epoch, cfg.epochs):
                for space in spaces:
                    trained += _train_epoch(cfg, space, epoch, metrics, progress)
                save_checkpoint(cfg.out, epoch + 1, spaces)
        else:
            trained = _train_on_device(cfg, spaces, device, start_epoch, metrics, progress)
    seconds = time.perf_counter() - started
    store.release_pages()  # the outputs need the matrices and vocabularies, not the store
    release_free_memory()  # the last blocks' pair buffers, before the outputs' text buffers
    write_outputs(cfg.out, spaces)
    return {
        "pairs_trained": trained,
        "seconds": seconds,
        "pairs_per_s": trained / max(seconds, 1e-9),
        "spaces": {
            s.name: {
                "words": len(s.counts.words),
                "contexts": len(s.counts.contexts),
                "pairs": s.pairs_done,
            }
            for s in spaces
        },
    }


def _may_have_gpu() -> bool:
    """False only where no GPU can exist: Linux without NVIDIA, ROCm or WSL device nodes."""
    if not sys.platform.startswith("linux"):
        return True
    return any(os.path.exists(p) for p in ("/dev/nvidiactl", "/dev/kfd", "/dev/dxg"))


def resolve_device(choice: Device) -> Any:
    """None for the numba CPU trainer, else the torch device the fused kernels run on.

    ``auto`` takes the GPU when torch sees one. ``cuda`` without a CUDA device is a usage error,
    except under ``TRITON_INTERPRET=1``, where the GPU loop runs interpreted on CPU tensors
    (slow; for tests of the loop itself).
    """
    if choice == Device.cpu:
        return None
    if choice == Device.auto and "torch" not in sys.modules and not _may_have_gpu():
        return None  # importing torch only to learn there is no GPU costs ~180 MB of RSS
    import torch

    if torch.cuda.is_available():
        return torch.device("cuda")
    if choice == Device.auto:
        return None
    if os.environ.get("TRITON_INTERPRET") == "1":
        log.warning("--device cuda without CUDA: Triton kernels run interpreted on CPU tensors")
        return torch.device("cpu")
    raise InputError(
        "--device cuda: torch sees no CUDA device on this machine; use --device cpu (or auto), "
        "or check the driver with `gramfast info`"
    )


def _train_on_device(cfg, spaces, device, start_epoch, metrics, progress) -> int:
    from .gpu import DeviceSpace, train_epoch_gpu

    def report(space, epoch, loss, pairs, seconds, total) -> None:
        _report(cfg, space, epoch, loss, pairs, seconds, total, metrics, progress)

    on_device = [DeviceSpace(s, device, cfg) for s in spaces]
    trained = 0
    for epoch in range(start_epoch, cfg.epochs):
        for dev in on_device:
            trained += train_epoch_gpu(cfg, dev, epoch, report, METRICS_EVERY_S)
        for dev in on_device:
            dev.to_host()
        save_checkpoint(cfg.out, epoch + 1, spaces)
    return trained


def _hot_rows(n_contexts: int) -> np.ndarray:
    return np.arange(min(HOT_ROWS, n_contexts), dtype=np.int64)


def _train_epoch(
    cfg: PretrainConfig, space: Space, epoch: int, metrics: Any, progress: ProgressFn | None
) -> int:
    total = space.pairs_per_epoch * cfg.epochs
    window_loss, window_pairs, trained = 0.0, 0, 0
    last = time.perf_counter()
    for step, (w, c) in enumerate(space.stream.epoch(epoch)):
        loss = sgns_train_pairs(
            space.word_vectors,
            space.context_vectors,
            w,
            c,
            lr_start=cfg.lr,
            lr_end=0.0,
            pairs_done=space.pairs_done,
            pairs_total=max(int(total), 1),
            alias_prob=space.alias_prob,
            alias_index=space.alias_index,
            n_neg=cfg.negatives,
            seed=cfg.seed * 2 + (space.name == "grammar"),  # draws are keyed by global pair
            n_threads=cfg.threads,
            loss_stride=LOSS_STRIDE,
            hot_rows=_hot_rows(space.context_vectors.shape[0]),
            sync_every=HOT_SYNC_PAIRS,
        )
        if not np.isfinite(loss):
            raise GramfastError(
                f"training diverged: {space.name} loss is {loss} at epoch {epoch + 1}, batch "
                f"{step + 1}; the checkpoint of epoch {epoch} in {cfg.out / 'checkpoints'} is "
                "intact: lower --lr and start again (or --resume with the same options)"
            )
        space.pairs_done += w.shape[0]
        trained += w.shape[0]
        window_loss += loss
        window_pairs += w.shape[0]
        now = time.perf_counter()
        if now - last >= METRICS_EVERY_S:
            _report(
                cfg, space, epoch, window_loss, window_pairs, now - last, total, metrics, progress
            )
            window_loss, window_pairs, last = 0.0, 0, now
    if window_pairs:
        elapsed = time.perf_counter() - last
        _report(cfg, space, epoch, window_loss, window_pairs, elapsed, total, metrics, progress)
    return trained


def _report(cfg, space, epoch, loss, pairs, seconds, total, metrics, progress) -> None:
    lr = max(cfg.lr * (1.0 - min(space.pairs_done / max(total, 1.0), 1.0)), cfg.lr * 1e-4)
    row = {
        "space": space.name,
        "epoch": epoch + 1,
        "pairs": space.pairs_done,
        "expected_pairs": round(total),
        "loss": loss / max(pairs, 1),
        "lr": lr,
        "pairs_per_s": pairs / max(seconds, 1e-9),
    }
    metrics.write(json.dumps(row) + "\n")
    metrics.flush()
    log.info(
        "%(space)s epoch %(epoch)d: loss %(loss).4f lr %(lr).5f %(pairs_per_s).0f pairs/s", row
    )
    if progress is not None:
        progress(row)


def _write_config(cfg: PretrainConfig, store: ParsedStore, spaces: list[Space]) -> None:
    manifest = store.manifest
    atomic_write_json(
        cfg.out / "config.json",
        {
            "options": cfg.to_json(),
            "store": {
                "path": str(store.root),
                "sha256": store_checksum(manifest),
                "tokens": store.n_tokens,
                "pipeline": manifest.get("pipeline", {}),
            },
            "spaces": {
                s.name: {
                    "words": len(s.counts.words),
                    "contexts": len(s.counts.contexts),
                    "expected_pairs_per_epoch": s.pairs_per_epoch,
                }
                for s in spaces
            },
        },
    )


def store_checksum(manifest: dict[str, Any]) -> str:
    """One sha256 over the store's shard checksums: names the data the vectors came from."""
    import hashlib

    h = hashlib.sha256()
    for shard in manifest["shards"]:
        for name, digest in sorted(shard["sha256"].items()):
            h.update(f"{shard['name']}/{name}:{digest}\n".encode())
    return h.hexdigest()


__all__ = ["ContextChoice", "PretrainConfig", "pretrain", "store_checksum"]
