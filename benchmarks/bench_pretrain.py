"""End-to-end CPU pretraining: pairs/s and peak resident memory against the matrices' bytes.

Run: ``pytest --benchmark-only benchmarks/bench_pretrain.py``. The store is
``$GRAMFAST_BENCH_STORE`` when set (a parsed corpus), else a synthetic Zipf store of 2M tokens
and 100k words. Target: peak RSS at most 1.3 × (bytes of W, C and the grammar matrices + the
store's bytes on disk, all of which may be mapped).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gramfast.corpus.store import store_bytes
from tests.helpers import zipf_store


@pytest.fixture(scope="module")
def bench_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    env = os.environ.get("GRAMFAST_BENCH_STORE")
    if env:
        return Path(env)
    return zipf_store(tmp_path_factory.mktemp("zipf") / "store", n_tokens=2_000_000, vocab=100_000)


@pytest.mark.parametrize("contexts", ["deps", "window"])
def test_pretrain_memory_and_speed(benchmark, bench_store: Path, tmp_path: Path, contexts: str):
    out = tmp_path / "vectors"
    cmd = [
        sys.executable, "-m", "gramfast.cli", "pretrain", str(bench_store), "--out", str(out),
        "--contexts", contexts, "--dim", "300", "--negatives", "5", "--epochs", "1",
        "--threads", str(os.cpu_count() or 1), "--overwrite",
    ]  # fmt: skip

    peaks: list[int] = []

    def run() -> None:
        # A fresh parent per run, so that its children's peak RSS is this run's alone.
        probe = (
            "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, "
            "capture_output=True); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
        )
        done = subprocess.run([sys.executable, "-c", probe, *cmd], check=True, capture_output=True)
        peaks.append(int(done.stdout.split()[-1]) * 1024)

    benchmark.pedantic(run, rounds=1, warmup_rounds=0, iterations=1)
    peak = peaks[-1]
    config = json.loads((out / "config.json").read_text(encoding="utf-8"))
    dim = config["options"]["dim"]
    matrices = sum((s["words"] + s["contexts"]) * dim * 4 for s in config["spaces"].values())
    mapped = store_bytes(bench_store)["total"]
    rows = [json.loads(ln) for ln in (out / "metrics.jsonl").read_text().splitlines()]
    word_rows = [r for r in rows if r["space"] == "word"]
    benchmark.group = f"pretrain {contexts}"
    benchmark.extra_info.update(
        {
            "peak_rss_bytes": peak,
            "matrix_bytes": matrices,
            "store_bytes": mapped,
            "rss_ratio": peak / (matrices + mapped),
            "word_pairs": word_rows[-1]["pairs"],
            "word_pairs_per_s_last_window": word_rows[-1]["pairs_per_s"],
            "threads": os.cpu_count(),
        }
    )
