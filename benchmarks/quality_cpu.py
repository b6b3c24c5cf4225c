"""Quality of CPU-pretrained vectors: dependency vs window-5 vs gensim's skip-gram, one store.

Usage (the store is a parse of ../shared/data/corpus; keep it outside the repository):

    gramfast parse ../shared/data/corpus --out /data/corpus.store --processes 2
    python benchmarks/quality_cpu.py /data/corpus.store --work /data/quality \\
        --data ../shared/data --epochs 5 --dim 300 --negatives 5 --min-count 5

It trains, with equal settings, gramfast dependency vectors, gramfast window-5 vectors (word2vec's
shrinking window, as gensim) and gensim's Word2Vec (skip-gram) on the same tokens (the store's
lowercased forms, whitespace tokens dropped), then reports SimLex-999 Spearman ρ, Google analogy
accuracy (3CosAdd, 3CosMul) and nearest neighbours of probe words. Results go to
``benchmarks/results/quality_cpu.json`` (``--results NAME``: ``NAME.json``).
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import numpy as np

from gramfast.contexts.extract import form_table
from gramfast.corpus.store import ParsedStore
from gramfast.pretrain import PretrainConfig, pretrain
from gramfast.vectors import (
    Vectors,
    evaluate_analogies,
    evaluate_similarity,
    load_output_vectors,
    neighbors,
)

PROBES = [
    "florida", "hogwarts", "dancing", "turing", "object", "good", "movie",
    "discovers", "telescope", "quickly",
]  # fmt: skip
RESULTS = Path(__file__).parent / "results"
log = logging.getLogger("quality")


class StoreSentences:
    """The store's sentences as lists of lowercased forms (restartable, for gensim)."""

    def __init__(self, store: ParsedStore) -> None:
        self.store = store
        self.form_ids, self.forms = form_table(store.strings, lowercase=True)
        space = store.pos.index("SPACE") if "SPACE" in store.pos else -1
        self.space = space

    def __iter__(self):
        forms = np.array(self.forms, dtype=object)
        for batch in self.store.iter_batches(1 << 18):
            keep = batch.pos != self.space
            words = forms[self.form_ids[batch.words]]
            so = batch.sent_offsets
            for a, b in zip(so[:-1].tolist(), so[1:].tolist()):
                sent = words[a:b][keep[a:b]].tolist()
                if sent:
                    yield sent


def train_gramfast(store: Path, out: Path, contexts: str, args) -> float:
    cfg = PretrainConfig(
        input=(str(store),),
        out=out,
        contexts=contexts,
        window=5,
        dynamic_window=contexts == "window",
        dim=args.dim,
        negatives=args.negatives,
        epochs=args.epochs,
        min_count=args.min_count,
        context_min_count=args.context_min_count,
        sample=args.sample,
        threads=args.threads,
        seed=args.seed,
        grammar=False,
    )
    if (out / "words.txt").is_file():
        log.info("reusing %s", out)
        return float("nan")
    start = time.perf_counter()
    pretrain(cfg, overwrite=True)
    return time.perf_counter() - start


def train_gensim(store: Path, out: Path, args) -> tuple[Vectors, float]:
    from gensim.models import Word2Vec

    path = out / "gensim.bin"
    if path.is_file():
        from gramfast.vectors import load_vectors

        return load_vectors(path), float("nan")
    out.mkdir(parents=True, exist_ok=True)
    sentences = StoreSentences(ParsedStore(store))
    start = time.perf_counter()
    model = Word2Vec(
        sentences=sentences,
        vector_size=args.dim,
        window=5,
        sg=1,
        negative=args.negatives,
        epochs=args.epochs,
        min_count=args.min_count,
        sample=args.sample,
        workers=args.threads,
        seed=args.seed,
        alpha=0.025,
    )
    seconds = time.perf_counter() - start
    model.wv.save_word2vec_format(str(path), binary=True)
    from gramfast.vectors import load_vectors

    return load_vectors(path), seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("store", type=Path)
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--dim", type=int, default=300)
    ap.add_argument("--negatives", type=int, default=5)
    ap.add_argument("--min-count", type=int, default=5)
    ap.add_argument(
        "--context-min-count",
        type=int,
        default=None,
        help="gramfast's context minimum count (default: --min-count); gensim has one vocabulary",
    )
    ap.add_argument("--sample", type=float, default=1e-3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-gensim", action="store_true", help="train gramfast's two runs only")
    ap.add_argument("--results", default="quality_cpu", help="name of the results JSON")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    seconds = {
        "deps": train_gramfast(args.store, args.work / "deps", "deps", args),
        "window5": train_gramfast(args.store, args.work / "win5", "window", args),
    }
    runs = {
        "gramfast deps": load_output_vectors(args.work / "deps"),
        "gramfast window-5": load_output_vectors(args.work / "win5"),
    }
    if not args.no_gensim:
        runs["gensim window-5"], seconds["gensim"] = train_gensim(args.store, args.work, args)

    simlex = args.data / "similarity" / "simlex999.tsv"
    analogies = args.data / "similarity" / "questions-words.txt"
    table = {}
    for name, vec in runs.items():
        sim = evaluate_similarity(vec, simlex)
        ana = evaluate_analogies(vec, analogies)
        table[name] = {"simlex": sim, "analogies": ana, "vocab": len(vec.words)}
        log.info("%s: %s", name, json.dumps({"simlex": sim}, default=str)[:300])
    probes = {}
    for name in ("gramfast deps", "gramfast window-5"):
        found = [w for w in PROBES if w in runs[name].index]
        probes[name] = neighbors(runs[name], found, topn=5)
    report = {
        "settings": vars(args)
        | {"store": str(args.store), "work": str(args.work), "data": str(args.data)},
        "seconds": seconds,
        "results": table,
        "neighbours": probes,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.results}.json").write_text(json.dumps(report, indent=1, default=str) + "\n")
    print(json.dumps(report, indent=1, default=str)[:6000])


if __name__ == "__main__":
    main()
