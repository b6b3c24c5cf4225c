"""End-to-end `pretrain --device cuda` on a synthetic Zipf store (for benchmarks/gpu_check.sh).

Builds a store of ``--tokens`` tokens over ``--vocab`` words (random trees, spaCy labels), runs
one epoch of dependency-context pretraining at D=300, K=5 on the GPU through the same trainer
the CLI uses, once per ``--gpu-feed`` (``device``: pairs held and drawn in GPU memory;
``thread``: numba extraction in a background thread, pinned double buffers), and writes pairs/s
per feed and the space sizes as JSON. Needs no spaCy and no typer.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gramfast.pretrain import PretrainConfig, pretrain  # noqa: E402
from tests.helpers import zipf_store  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tokens", type=int, default=20_000_000)
    ap.add_argument("--vocab", type=int, default=100_000)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--json", type=Path, required=True)
    args = ap.parse_args()
    ap.add_argument("--feeds", default="device,thread", help="--gpu-feed values to time")
    args = ap.parse_args()
    result: dict = {"tokens": args.tokens, "feeds": {}}
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        store = zipf_store(Path(tmp) / "store", n_tokens=args.tokens, vocab=args.vocab)
        result["store_build_s"] = time.perf_counter() - t0
        for feed in args.feeds.split(","):
            cfg = PretrainConfig(
                input=(str(store),),
                out=Path(tmp) / f"vectors-{feed}",
                contexts="deps",
                dim=300,
                negatives=5,
                epochs=1,
                min_count=1,
                grammar=False,
                device=args.device,
                batch_pairs=1 << 20,
                gpu_feed=feed,
            )
            t0 = time.perf_counter()
            summary = pretrain(cfg)
            wall = time.perf_counter() - t0
            rows = [json.loads(x) for x in (cfg.out / "metrics.jsonl").read_text().splitlines()]
            config = json.loads((cfg.out / "config.json").read_text())
            result["words"] = config["spaces"]["word"]["words"]
            result["contexts"] = config["spaces"]["word"]["contexts"]
            result["feeds"][feed] = {
                "pairs": summary["pairs_trained"],
                "train_s": summary["seconds"],
                "wall_s_with_counting": wall,
                "pairs_per_s_end_to_end": summary["pairs_per_s"],
                "pairs_per_s_best_window": max(r["pairs_per_s"] for r in rows),
                "final_loss": rows[-1]["loss"],
            }
            print(feed, json.dumps(result["feeds"][feed]), flush=True)
    args.json.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
