"""Accuracy of the classifier with random and with pretrained word + grammar rows.

TREC and SST-2: five seeds each, scored on their test sets; MR: 10-fold cross-validation with
the shared fold file (fold i uses seed i). Every run has the same architecture and options;
the variants differ only in the embedding rows: ``random`` (``--init random``, trained),
``pretrained`` (``--init pretrained --freeze``), ``pretrained-tuned`` (``--init pretrained
--fine-tune``, the default since the second round of runs) and ``pretrained-rescaled`` (frozen,
``--rescale-rows``; added after the first three had run). Which pretrained variant stands for
"pretrained" in the comparison is decided by the mean dev accuracy (never by test accuracy).
Runs go to ``--work/runs.jsonl`` as they finish (a rerun skips finished ones), the table to
``--work/summary.json`` and, with ``--results``, to that file. Trained rows (random, tuned) use
lazy Adam, the default; ``--dense-rows`` gives the dense AdamW of the first runs. ``--merge
FILE:VARIANTS`` adds an earlier file's runs of those variants to the summary (frozen rows do not
depend on the row optimizer).

    python benchmarks/classify_accuracy.py --vectors VECTORS --data ../shared/data \
        --work runs/classify --jobs 2
"""

from __future__ import annotations

import argparse
import json
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

# variant: (--init, --freeze, --rescale-rows)
VARIANTS = {"random": ("random", False, False), "pretrained": ("pretrained", True, False),
            "pretrained-tuned": ("pretrained", False, False),
            "pretrained-rescaled": ("pretrained", True, True)}  # fmt: skip
PRETRAINED = [v for v, (init, _, _) in VARIANTS.items() if init == "pretrained"]
KIM_2014 = {"TREC": 92.8, "SST-2": 86.8, "MR": 81.0}  # CNN with word2vec (Kim 2014, Table 2)


def _runs(data: Path, seeds: int) -> list[dict[str, Any]]:
    c = data / "classify"
    runs = []
    for init in VARIANTS:  # MR first: one job of ten folds, the longest
        runs.append({"set": "MR", "init": init, "seed": 0, "train": c / "MR/all.tsv",
                     "cv": 10, "folds": c / "MR/cv10_folds.txt"})  # fmt: skip
    for init in VARIANTS:
        for seed in range(seeds):
            runs.append({"set": "TREC", "init": init, "seed": seed,
                         "train": c / "TREC/train.tsv", "test": c / "TREC/test.tsv"})  # fmt: skip
            runs.append({"set": "SST-2", "init": init, "seed": seed,
                         "train": c / "SST-2/train.tsv", "dev": c / "SST-2/dev.tsv",
                         "test": c / "SST-2/test.tsv"})  # fmt: skip
    return runs


def _key(run: dict[str, Any]) -> str:
    return f"{run['set']}/{run['init']}/{run['seed']}"


def _one(
    run: dict[str, Any], vectors: str, work: str, threads: int, lazy_rows: bool = True
) -> dict[str, Any]:
    import torch

    torch.set_num_threads(threads)
    from gramfast.classify.config import ClassifierConfig
    from gramfast.classify.run import train_classifier

    out = Path(work) / "models" / _key(run).replace("/", "-")
    cfg = ClassifierConfig(
        train=Path(run["train"]),
        out=out,
        vectors=Path(vectors),
        dev=Path(run["dev"]) if run.get("dev") else None,
        test=Path(run["test"]) if run.get("test") else None,
        features=("words", "grammar"),
        init=VARIANTS[run["init"]][0],
        freeze=VARIANTS[run["init"]][1],
        rescale_rows=VARIANTS[run["init"]][2],
        cv=run.get("cv", 0),
        folds=Path(run["folds"]) if run.get("folds") else None,
        seed=run["seed"],
        device="cpu",
        lazy_rows=lazy_rows,
    )
    t0 = time.perf_counter()
    summary = train_classifier(cfg, overwrite=True)
    row = {"key": _key(run), "set": run["set"], "init": run["init"], "seed": run["seed"],
           "rows": "lazy" if lazy_rows else "dense"}  # fmt: skip
    if run.get("cv"):
        row["accuracies"] = [f["accuracy"] for f in summary["folds"]]
        row["dev_accuracies"] = [f["dev_accuracy"] for f in summary["folds"]]
    else:
        row["accuracies"] = [summary["test"]["accuracy"]]
        row["dev_accuracies"] = [summary["dev"]["accuracy"]]
        row["best_epoch"] = summary["best_epoch"]
        row["train_sentences_per_s"] = summary["train_sentences_per_s"]
    row["seconds"] = time.perf_counter() - t0
    return row


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean and sample standard deviation of test accuracy (in points) per set and variant; the
    pretrained variant with the higher mean dev accuracy is compared with random and Kim 2014."""
    table: dict[str, Any] = {}
    for name in ("TREC", "SST-2", "MR"):
        entry: dict[str, Any] = {"kim_2014": KIM_2014[name]}
        for init in VARIANTS:
            mine = [r for r in rows if r["set"] == name and r["init"] == init]
            if not mine:
                continue
            a = 100 * np.array([x for r in mine for x in r["accuracies"]])
            d = 100 * np.array([x for r in mine for x in r.get("dev_accuracies", [])])
            entry[init] = {
                "mean": float(a.mean()),
                "std": float(a.std(ddof=1)) if a.size > 1 else 0.0,
                "n": int(a.size),
                "dev_mean": float(d.mean()) if d.size else None,
            }
        tried = [v for v in PRETRAINED if v in entry]
        if "random" in entry and tried:
            chosen = max(tried, key=lambda v: entry[v]["dev_mean"] or 0.0)
            entry["chosen_by_dev"] = chosen
            entry["gain"] = entry[chosen]["mean"] - entry["random"]["mean"]
            entry["gap_to_kim"] = KIM_2014[name] - entry[chosen]["mean"]
        table[name] = entry
    return table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--vectors", required=True)
    ap.add_argument("--data", default=os.environ.get("GRAMFAST_DATA", "../shared/data"))
    ap.add_argument("--work", required=True)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--jobs", type=int, default=2, help="runs at once (each on one thread)")
    ap.add_argument("--only", default="", help="comma list of sets to run (default: all)")
    ap.add_argument("--skip", default="", help="comma list of set/variant runs to leave out")
    ap.add_argument("--variants", default="", help="comma list of variants to run (default: all)")
    ap.add_argument("--results", default=None, help="also write the summary here")
    ap.add_argument(
        "--dense-rows",
        action="store_true",
        help="trained rows with dense AdamW (the optimizer of the first runs)",
    )
    ap.add_argument("--merge", action="append", default=[], metavar="FILE:VARIANTS",
                    help="also summarise these variants' runs from an earlier results JSON "
                    "(e.g. frozen runs, which the row optimizer does not touch)")  # fmt: skip
    args = ap.parse_args()

    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    log_path = work / "runs.jsonl"
    done = {}
    if log_path.is_file():
        for line in log_path.read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                done[row["key"]] = row
    merged = []
    for spec in args.merge:
        path, _, names = spec.rpartition(":")
        old = json.loads(Path(path).read_text())["runs"]
        merged += [dict(r, merged_from=path) for r in old if r["init"] in names.split(",")]
    todo = [r for r in _runs(Path(args.data), args.seeds) if _key(r) not in done]
    if args.only:
        todo = [r for r in todo if r["set"] in args.only.split(",")]
    if args.variants:
        todo = [r for r in todo if r["init"] in args.variants.split(",")]
    skip = {x for x in args.skip.split(",") if x}
    todo = [r for r in todo if f"{r['set']}/{r['init']}" not in skip]
    with ProcessPoolExecutor(args.jobs) as pool:
        futures = [
            pool.submit(_one, r, args.vectors, str(work), 1, not args.dense_rows) for r in todo
        ]
        for f in futures:
            row = f.result()
            done[row["key"]] = row
            with open(log_path, "a") as fh:
                fh.write(json.dumps(row) + "\n")
            print(f"{row['key']}: {100 * np.mean(row['accuracies']):.2f} ({row['seconds']:.0f} s)",
                  flush=True)  # fmt: skip
    runs = list(done.values())
    mine = {r["init"] for r in runs}
    runs += [r for r in merged if r["init"] not in mine]
    summary = {"table": summarise(runs), "runs": runs, "vectors": args.vectors}
    text = json.dumps(summary, indent=1) + "\n"
    (work / "summary.json").write_text(text)
    if args.results:
        Path(args.results).write_text(text)
    for name, e in summary["table"].items():
        parts = [f"{name:6s}"]
        for init in VARIANTS:
            if init in e:
                parts.append(
                    f"{init} {e[init]['mean']:.2f} ± {e[init]['std']:.2f} (n={e[init]['n']})"
                )
        parts.append(f"Kim 2014 {e['kim_2014']}")
        print("  ".join(parts))


if __name__ == "__main__":
    main()
