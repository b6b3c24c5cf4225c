"""`gramfast parse` against plain `nlp.pipe` with the same pipeline, components and batch size.

Run: ``pytest --benchmark-only benchmarks/bench_parse.py``. Figures land in ``extra_info``:
words/s of both, their ratio (target: at least 0.9) and the store's bytes per token (target:
at most 12 plus the string table).
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from gramfast.corpus.parse import ParseConfig, parse
from gramfast.corpus.pipeline import load_pipeline
from gramfast.corpus.store import ParsedStore, store_bytes
from tests.helpers import data_dir

LINES = 1500
BATCH = 256


@pytest.fixture(scope="module")
def slice_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = data_dir()
    if data is None:
        pytest.skip("shared data not found: set GRAMFAST_DATA to the folder with corpus/")
    src = data / "corpus" / "reuters21578_aptemod" / "reuters_aptemod.txt"
    lines = [ln for ln in src.read_text(encoding="utf-8").splitlines() if ln.strip()][:LINES]
    path = tmp_path_factory.mktemp("bench") / "slice.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _plain_pipe(texts: list[str]) -> tuple[int, float]:
    nlp = load_pipeline(None)  # fresh each round, as `parse` loads its own: equal warm-up
    start = time.perf_counter()
    n = sum(len(doc) for doc in nlp.pipe(texts, batch_size=BATCH))
    return n, time.perf_counter() - start


def test_parse_vs_nlp_pipe(benchmark, slice_file: Path, tmp_path: Path) -> None:
    texts = slice_file.read_text(encoding="utf-8").splitlines()
    nlp = load_pipeline(None)  # the components gramfast parse keeps
    out = tmp_path / "store"
    results = []

    def run() -> None:
        shutil.rmtree(out, ignore_errors=True)
        results.append(parse(ParseConfig(inputs=(str(slice_file),), out=out, batch_size=BATCH)))

    # Correctness gate before timing: the store holds exactly nlp.pipe's tokens.
    run()
    n_plain, _ = _plain_pipe(texts)
    assert ParsedStore(out).n_tokens == n_plain

    peer_times = []

    def timed_round() -> None:
        peer_times.append(_plain_pipe(texts)[1])  # interleave the peer with each round
        run()

    benchmark.pedantic(timed_round, rounds=3, warmup_rounds=0, iterations=1)
    ours = min(r.parse_seconds for r in results[1:])
    peer = min(peer_times)
    size = store_bytes(out)
    benchmark.group = "parse"
    benchmark.extra_info.update(
        {
            "tokens": n_plain,
            "gramfast_words_per_s": n_plain / ours,
            "nlp_pipe_words_per_s": n_plain / peer,
            "ratio_vs_nlp_pipe": peer / ours,
            "bytes_per_token": size["total"] / n_plain,
            "bytes_per_token_without_strings": size["columns"] / n_plain,
            "components": ",".join(nlp.pipe_names),
            "batch_size": BATCH,
        }
    )
