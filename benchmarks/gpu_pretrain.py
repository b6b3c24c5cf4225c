"""End-to-end `pretrain --device cuda` on a synthetic Zipf store (for benchmarks/gpu_check.sh).

Builds a store of ``--tokens`` tokens over ``--vocab`` words (random trees, spaCy labels), runs
one epoch of dependency-context pretraining at D=300, K=5 on the GPU through the same trainer
the CLI uses (numba extraction in a background thread, pinned double buffers, fused updates),
and writes pairs/s and the space sizes as JSON. Needs no spaCy and no typer.
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
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        store = zipf_store(Path(tmp) / "store", n_tokens=args.tokens, vocab=args.vocab)
        built = time.perf_counter() - t0
        cfg = PretrainConfig(
            input=(str(store),),
            out=Path(tmp) / "vectors",
            contexts="deps",
            dim=300,
            negatives=5,
            epochs=1,
            min_count=1,
            grammar=False,
            device=args.device,
            batch_pairs=1 << 20,
        )
        summary = pretrain(cfg)
        rows = [json.loads(x) for x in (cfg.out / "metrics.jsonl").read_text().splitlines()]
        config = json.loads((cfg.out / "config.json").read_text())
    result = {
        "tokens": args.tokens,
        "store_build_s": built,
        "words": config["spaces"]["word"]["words"],
        "contexts": config["spaces"]["word"]["contexts"],
        "pairs": summary["pairs_trained"],
        "train_s": summary["seconds"],
        "pairs_per_s_end_to_end": summary["pairs_per_s"],
        "pairs_per_s_best_window": max(r["pairs_per_s"] for r in rows),
        "final_loss": rows[-1]["loss"],
    }
    args.json.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
