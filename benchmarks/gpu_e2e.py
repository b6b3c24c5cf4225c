"""End-to-end synthetic SGNS pretraining on one GPU: host pair stream -> pinned buffers -> kernel.

A stand-in for the trainer's data feed until gramfast/pretrain has its GPU loop (issue #5): a pool
of Zipf-distributed (word, context) pairs lives in host memory like a memory-mapped pair store; a
background thread copies batches into two pinned buffers, the main thread copies them to the GPU
on a side stream and launches ``sgns_update`` with device-drawn negatives, with no host sync per
batch (the loss is read every few seconds). Reports pairs/s end to end and kernel only (batches
already on the device). No spaCy, no network.

    python benchmarks/gpu_e2e.py --seconds 20 --json results/e2e.json
    TRITON_INTERPRET=1 python benchmarks/gpu_e2e.py --smoke    # plumbing check on CPU
"""

from __future__ import annotations

import argparse
import json
import queue
import sys
import threading
import time

import numpy as np
import torch


def _zipf_ids(rng: np.random.Generator, n: int, vocab: int, chunk: int = 1 << 22) -> np.ndarray:
    cdf = np.cumsum(1.0 / np.arange(1, vocab + 1))
    cdf /= cdf[-1]
    out = np.empty(n, np.int32)
    for i in range(0, n, chunk):
        u = rng.random(min(chunk, n - i))
        out[i : i + u.size] = np.minimum(np.searchsorted(cdf, u), vocab - 1)
    return out


def make_pool(n_pairs: int, n_words: int, n_contexts: int, seed: int = 0) -> np.ndarray:
    """[n_pairs, 2] int32 (word, context): Zipf words, contexts tied to words plus Zipf noise."""
    rng = np.random.default_rng(seed)
    pool = np.empty((n_pairs, 2), np.int32)
    pool[:, 0] = _zipf_ids(rng, n_pairs, n_words)
    related = (pool[:, 0].astype(np.int64) * 3 + rng.integers(0, 3, n_pairs)) % n_contexts
    noise = _zipf_ids(rng, n_pairs, n_contexts)
    pool[:, 1] = np.where(rng.random(n_pairs) < 0.5, related, noise)
    return pool


class PinnedFeed:
    """Two host buffers filled by a background thread from the pool, in order, round robin."""

    def __init__(self, pool: np.ndarray, batch: int, pin: bool) -> None:
        self.pool, self.batch = pool, batch
        self.buffers = [torch.empty((batch, 2), dtype=torch.int32, pin_memory=pin) for _ in "ab"]
        self.copied = [None, None]  # CUDA events: the buffer's H2D copy has finished
        self.free: queue.Queue = queue.Queue()
        self.ready: queue.Queue = queue.Queue()
        self.stop = threading.Event()
        self.fill_s = 0.0
        for slot in (0, 1):
            self.free.put(slot)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        start, n_pool = 0, self.pool.shape[0] - self.batch
        while not self.stop.is_set():
            try:
                slot = self.free.get(timeout=0.5)
            except queue.Empty:
                continue
            if self.copied[slot] is not None:
                self.copied[slot].synchronize()
            t = time.perf_counter()
            np.copyto(self.buffers[slot].numpy(), self.pool[start : start + self.batch])
            self.fill_s += time.perf_counter() - t
            start = (start + self.batch) % max(n_pool, 1)
            self.ready.put(slot)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=5)


def train(args, pool, table, device, feed: bool) -> dict:
    from gramfast.kernels.sgns.fused import sgns_update

    dtype = torch.bfloat16 if args.dtype == "bf16" else torch.float32
    gen = torch.Generator(device=device).manual_seed(0)
    w = ((torch.rand(args.words, args.dim, device=device, generator=gen) - 0.5) / args.dim).to(
        dtype
    )
    c = torch.zeros(args.contexts, args.dim, device=device, dtype=dtype)
    prob, index = table
    cuda = device.type == "cuda"
    dev_bufs = [torch.empty((args.batch, 2), dtype=torch.int32, device=device) for _ in "ab"]
    losses = [torch.zeros(args.batch, device=device) for _ in "ab"]
    if not feed:  # kernel only: two batches resident on the device
        for i, buf in enumerate(dev_bufs):
            buf.copy_(torch.from_numpy(pool[i * args.batch : (i + 1) * args.batch]))
    copy_stream = torch.cuda.Stream() if cuda else None
    used = [torch.cuda.Event() if cuda else None for _ in "ab"]
    src = PinnedFeed(pool, args.batch, pin=cuda) if feed else None
    planned = args.seconds * 3e8
    step, curve, t0, last = 0, [], time.perf_counter(), time.perf_counter()
    try:
        while time.perf_counter() - t0 < args.seconds and step < args.max_steps:
            i = step % 2
            if feed:
                slot = src.ready.get(timeout=60)
                if cuda:
                    with torch.cuda.stream(copy_stream):
                        copy_stream.wait_event(used[i])
                        dev_bufs[i].copy_(src.buffers[slot], non_blocking=True)
                        src.copied[slot] = torch.cuda.Event()
                        src.copied[slot].record(copy_stream)
                    torch.cuda.current_stream().wait_event(src.copied[slot])
                else:
                    dev_bufs[i].copy_(src.buffers[slot])
                src.free.put(slot)
            done = step * args.batch
            lr = args.lr * max(1e-4, 1.0 - done / planned)
            sgns_update(
                w,
                c,
                dev_bufs[i][:, 0],
                dev_bufs[i][:, 1],
                lr=lr,
                loss_out=losses[i],
                num_negatives=args.neg,
                alias_prob=prob,
                alias_index=index,
                seed=1,
                pairs_done=done,
            )
            if cuda:
                used[i].record()
            step += 1
            if time.perf_counter() - last > args.report_s:
                last = time.perf_counter()
                curve.append(round(float(losses[i].mean()), 4))  # a sync every few seconds only
        if cuda:
            torch.cuda.synchronize()
        elapsed = time.perf_counter() - t0
    finally:
        if src is not None:
            src.close()
    result = dict(pairs_per_s=step * args.batch / elapsed, steps=step, seconds=elapsed)
    result.update(loss_curve=curve, final_loss=float(losses[(step - 1) % 2].mean()))
    result["finite"] = bool(torch.isfinite(w.float()).all() and torch.isfinite(c.float()).all())
    if src is not None:
        result["host_fill_s"] = src.fill_s
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--words", type=int, default=100_000)
    p.add_argument("--contexts", type=int, default=300_000)
    p.add_argument("--dim", type=int, default=300)
    p.add_argument("--neg", type=int, default=5)
    p.add_argument("--batch", type=int, default=1 << 20)
    p.add_argument("--pool-pairs", type=int, default=1 << 25)
    p.add_argument("--dtype", choices=["fp32", "bf16"], default="fp32")
    p.add_argument("--lr", type=float, default=0.025)
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--max-steps", type=int, default=1 << 30)
    p.add_argument("--report-s", type=float, default=3.0)
    p.add_argument("--json", default=None, help="write the results here")
    p.add_argument("--smoke", action="store_true", help="tiny sizes; runs on CPU (interpreter)")
    args = p.parse_args(argv)
    if args.smoke:
        args.words, args.contexts, args.dim, args.batch = 50, 60, 8, 64
        args.pool_pairs, args.seconds, args.max_steps, args.report_s = 512, 30, 6, 0.0
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.type != "cuda" and not args.smoke:
        print("gpu_e2e: no CUDA device; run on a GPU machine (or --smoke on CPU)", file=sys.stderr)
        return 2

    from gramfast.kernels.sgns.sampler import build_alias_table

    t = time.perf_counter()
    pool = make_pool(args.pool_pairs, args.words, args.contexts)
    prob, index = build_alias_table(np.bincount(pool[:, 1], minlength=args.contexts) + 1)
    table = (
        torch.tensor(prob, dtype=torch.float32, device=device),
        torch.tensor(index, dtype=torch.int32, device=device),
    )
    setup_s = time.perf_counter() - t
    kernel = train(args, pool, table, device, feed=False)
    e2e = train(args, pool, table, device, feed=True)
    out = dict(
        gpu=torch.cuda.get_device_name() if device.type == "cuda" else "cpu (interpreter)",
        config={k: v for k, v in vars(args).items() if k != "json"},
        setup_s=setup_s,
        kernel_only=kernel,
        end_to_end=e2e,
        e2e_over_kernel=e2e["pairs_per_s"] / kernel["pairs_per_s"],
    )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)
    print(f"{'mode':<12} {'pairs/s':>14} {'steps':>7} {'final loss':>11}")
    for mode in ("kernel_only", "end_to_end"):
        r = out[mode]
        print(f"{mode:<12} {r['pairs_per_s']:>14,.0f} {r['steps']:>7} {r['final_loss']:>11.4f}")
    print(f"end-to-end / kernel-only: {out['e2e_over_kernel']:.2f} (target >= 0.70)")
    if not (kernel["finite"] and e2e["finite"]):
        # NOTE: not a throughput failure: summed updates of hot Zipf rows grow with the batch.
        print("warning: vectors went non-finite; lower --lr or --batch for a quality run")
    return 0


if __name__ == "__main__":
    sys.exit(main())
