"""The GPU epoch: fused Triton updates, fed from device memory or by a host thread.

Two feeds (``--gpu-feed``). ``device`` (the default): the space's pairs are extracted once and
held in device memory, and each epoch's subsampling, window spans and order are drawn there
(``resident.py``); it falls back to ``thread`` when the pairs would take more than half of the
free device memory. ``thread``: the numba extractor (``PairStream``) runs in a background
thread and fills pinned host buffers; each buffer is copied to its device twin on a side
stream, and the compute stream waits for that copy only (an event), never the host. Two slots
alternate (double buffering): a slot is refilled only after the kernel that read it has
finished (another event). With either feed the loss stays
on the device and is read every few seconds, so there is no host synchronisation per batch.

On a machine without CUDA the same loop runs on CPU tensors when ``TRITON_INTERPRET=1`` (tests),
with plain copies in place of streams and events.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Any

import numpy as np
import torch

from ..errors import GramfastError

log = logging.getLogger(__name__)

SLOTS = 2


class DeviceSpace:
    """A space's matrices and sampler on the device (views of the host Space's vocabularies),
    and its pairs when the device feed holds them (``resident``; None: the host thread feeds)."""

    def __init__(self, space: Any, device: torch.device, cfg: Any = None) -> None:
        self.space = space
        self.device = device
        self.resident = None if cfg is None else choose_feed(cfg, space, device)
        self.word_vectors = torch.from_numpy(space.word_vectors).to(device)
        self.context_vectors = torch.from_numpy(space.context_vectors).to(device)
        self.alias_prob = torch.from_numpy(space.alias_prob.astype(np.float32)).to(device)
        self.alias_index = torch.from_numpy(space.alias_index.astype(np.int64)).to(device)

    def to_host(self) -> None:
        """Copy the trained matrices back into the host Space (for checkpoints and outputs)."""
        self.space.word_vectors[...] = self.word_vectors.cpu().numpy()
        self.space.context_vectors[...] = self.context_vectors.cpu().numpy()


def choose_feed(cfg: Any, space: Any, device: torch.device) -> Any:
    """The space's ResidentPairs for ``--gpu-feed device`` when they fit in half of the free
    device memory; None (the host thread feed) otherwise."""
    from .resident import ResidentPairs, bytes_needed

    if cfg.gpu_feed != "device":
        return None
    window = cfg.contexts.value == "window" and space.name != "grammar"
    need = bytes_needed(space, window)
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        if need > free // 2:
            log.warning(
                "%s space: its pairs need up to %.1f GB, more than half of the %.1f GB free on "
                "%s; feeding from the host thread instead (--gpu-feed thread)",
                space.name, need / 1e9, free / 1e9, device,
            )  # fmt: skip
            return None
    return ResidentPairs(space, device, dynamic_window=cfg.dynamic_window)


class _DeviceFeed:
    """Batches already on the device (ResidentPairs.epoch), behind the _Feeder interface."""

    def __init__(self, batches: Any) -> None:
        self.batches = batches

    def __iter__(self):
        for w, c in self.batches:
            yield None, w, c

    def release(self, slot: Any) -> None:
        pass

    def close(self) -> None:
        pass


class _Feeder:
    """Background thread: PairStream batches -> pinned buffers -> device buffers (side stream)."""

    def __init__(self, batches: Any, batch_pairs: int, device: torch.device) -> None:
        cuda = device.type == "cuda"
        self.device, self.cuda = device, cuda
        shape = (SLOTS, 2, batch_pairs)
        self.host = torch.empty(shape, dtype=torch.int32, pin_memory=cuda)
        self.dev = torch.empty(shape, dtype=torch.int32, device=device)
        self.copy_stream = torch.cuda.Stream(device) if cuda else None
        self.copied = [torch.cuda.Event() if cuda else None for _ in range(SLOTS)]
        self.consumed = [torch.cuda.Event() if cuda else None for _ in range(SLOTS)]
        self.free = [threading.Semaphore(1) for _ in range(SLOTS)]
        self.ready: queue.Queue = queue.Queue(maxsize=SLOTS)
        self.error: BaseException | None = None
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(batches,), daemon=True)
        self.thread.start()

    def _run(self, batches: Any) -> None:
        try:
            slot = 0
            for w, c in batches:
                while not self.free[slot].acquire(timeout=0.1):
                    if self.stop.is_set():
                        return
                n = w.shape[0]
                if self.cuda:
                    self.consumed[slot].synchronize()  # the kernel that read this slot is done
                self.host[slot, 0, :n] = torch.from_numpy(w)
                self.host[slot, 1, :n] = torch.from_numpy(c)
                if self.cuda:
                    with torch.cuda.stream(self.copy_stream):
                        self.dev[slot, :, :n].copy_(self.host[slot, :, :n], non_blocking=True)
                        self.copied[slot].record(self.copy_stream)
                else:
                    self.dev[slot, :, :n].copy_(self.host[slot, :, :n])
                self._put((slot, n))
                slot = (slot + 1) % SLOTS
        except BaseException as e:  # handed to the consumer, which re-raises it
            self.error = e
        self._put(None)

    def _put(self, item: Any) -> None:
        while not self.stop.is_set():
            try:
                self.ready.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def __iter__(self):
        while True:
            item = self.ready.get()
            if item is None:
                if self.error is not None:
                    raise self.error
                return
            slot, n = item
            if self.cuda:
                torch.cuda.current_stream(self.device).wait_event(self.copied[slot])
            yield slot, self.dev[slot, 0, :n], self.dev[slot, 1, :n]

    def release(self, slot: int) -> None:
        if self.cuda:
            self.consumed[slot].record(torch.cuda.current_stream(self.device))
        self.free[slot].release()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=5)


def train_epoch_gpu(
    cfg: Any, dev: DeviceSpace, epoch: int, report: Any, metrics_every_s: float
) -> int:
    """Train one epoch of ``dev.space`` on the device; returns the pairs trained."""
    from ..kernels.sgns.fused import sgns_update

    space = dev.space
    total = max(space.pairs_per_epoch * cfg.epochs, 1.0)
    floor = cfg.lr * 1e-4
    loss_buf = torch.empty(cfg.batch_pairs, dtype=torch.float32, device=dev.device)
    loss_sum = torch.zeros((), dtype=torch.float64, device=dev.device)
    offsets = torch.arange(cfg.batch_pairs, dtype=torch.float32, device=dev.device)
    window_pairs, trained = 0, 0
    last = time.perf_counter()
    if dev.resident is not None:
        feeder: Any = _DeviceFeed(dev.resident.epoch(epoch, cfg.batch_pairs, space.stream.seed))
    else:
        feeder = _Feeder(space.stream.epoch(epoch), cfg.batch_pairs, dev.device)
    try:
        for slot, w, c in feeder:
            n = w.shape[0]
            progress = (offsets[:n] + float(space.pairs_done)) / total
            lr = torch.clamp(cfg.lr * (1.0 - progress), min=floor)
            sgns_update(
                dev.word_vectors,
                dev.context_vectors,
                w,
                c,
                lr=lr,
                num_negatives=cfg.negatives,
                alias_prob=dev.alias_prob,
                alias_index=dev.alias_index,
                seed=cfg.seed * 2 + (space.name == "grammar"),
                pairs_done=space.pairs_done,
                loss_out=loss_buf[:n],
            )
            loss_sum += loss_buf[:n].sum(dtype=torch.float64)
            feeder.release(slot)
            space.pairs_done += n
            trained += n
            window_pairs += n
            now = time.perf_counter()
            if now - last >= metrics_every_s:
                _flush(cfg, space, epoch, loss_sum, window_pairs, now - last, total, report)
                loss_sum.zero_()
                window_pairs, last = 0, now
        if window_pairs:
            _flush(
                cfg, space, epoch, loss_sum, window_pairs, time.perf_counter() - last, total, report
            )
    finally:
        feeder.close()
    return trained


def _flush(cfg, space, epoch, loss_sum, pairs, seconds, total, report) -> None:
    loss = float(loss_sum.item())  # the only host synchronisation, every few seconds
    if not np.isfinite(loss):
        raise GramfastError(
            f"training diverged: {space.name} loss is {loss} in epoch {epoch + 1} on the GPU; "
            f"the checkpoint of epoch {epoch} in {cfg.out / 'checkpoints'} is intact: lower "
            "--lr and start again"
        )
    report(space, epoch, loss, pairs, seconds, total)
