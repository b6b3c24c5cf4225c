"""Learning curve: dependency against window-5 vectors as the corpus grows, one store sampled.

Usage (the store is a parse of ../shared/data/corpus; keep it and --work outside the repository):

    python benchmarks/quality_curve.py /data/corpus.store --work /data/curve \\
        --data ../shared/data --fractions 0.125 0.25 0.5 1 --epochs 3

For each fraction it samples that share of the store's documents (``gramfast store sample``,
seed 0; fraction 1 is the store itself), trains gramfast dependency and window-5 vectors with
equal settings (those of ``quality_cpu.py``) and reports SimLex-999 ρ, its coverage and the
Google analogy accuracy of both. The question it answers: does the gap between the two close as
the corpus grows? Results go to ``benchmarks/results/quality_curve.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

from quality_cpu import RESULTS, train_gramfast

from gramfast.corpus.sample import sample_store
from gramfast.corpus.store import ParsedStore
from gramfast.vectors import evaluate_analogies, evaluate_similarity, load_output_vectors

log = logging.getLogger("curve")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("store", type=Path)
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--fractions", type=float, nargs="+", default=[0.125, 0.25, 0.5, 1.0])
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--dim", type=int, default=300)
    ap.add_argument("--negatives", type=int, default=5)
    ap.add_argument("--min-count", type=int, default=5)
    ap.add_argument("--context-min-count", type=int, default=None, help="default: --min-count")
    ap.add_argument("--sample", type=float, default=1e-3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--results", default="quality_curve", help="name of the results JSON")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    simlex = args.data / "similarity" / "simlex999.tsv"
    analogies = args.data / "similarity" / "questions-words.txt"
    source = ParsedStore(args.store)
    rows = []
    for fraction in args.fractions:
        work = args.work / f"fraction-{fraction:g}"
        store = args.store
        if fraction < 1:
            store = work / "sample.store"
            if not (store / "manifest.json").is_file():
                sample_store(source, store, fraction, seed=0)
        n_tokens = ParsedStore(store).n_tokens
        row = {"fraction": fraction, "tokens": n_tokens, "seconds": {}, "results": {}}
        for name, kind in (("deps", "deps"), ("window-5", "window")):
            start = time.perf_counter()
            train_gramfast(store, work / kind, kind, args)
            row["seconds"][name] = time.perf_counter() - start
            vec = load_output_vectors(work / kind)
            sim = evaluate_similarity(vec, simlex)
            ana = evaluate_analogies(vec, analogies)
            row["results"][name] = {
                "simlex_rho": sim["rho"],
                "simlex_coverage": sim["coverage"],
                "analogy_3cosadd": ana["total"]["cosadd"],
                "analogy_coverage": ana["total"]["coverage"],
                "vocab": len(vec.words),
            }
        r = row["results"]
        row["simlex_gap"] = r["deps"]["simlex_rho"] - r["window-5"]["simlex_rho"]
        log.info("fraction %g: %s", fraction, json.dumps(row))
        rows.append(row)
    report = {
        "settings": vars(args)
        | {"store": str(args.store), "work": str(args.work), "data": str(args.data)},
        "rows": rows,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.results}.json").write_text(json.dumps(report, indent=1, default=str) + "\n")
    print(f"{'fraction':>8} {'tokens':>11} {'deps':>7} {'win5':>7} {'gap':>7}")
    for row in rows:
        r = row["results"]
        print(
            f"{row['fraction']:>8g} {row['tokens']:>11,} {r['deps']['simlex_rho']:>7.4f} "
            f"{r['window-5']['simlex_rho']:>7.4f} {row['simlex_gap']:>+7.4f}"
        )


if __name__ == "__main__":
    main()
