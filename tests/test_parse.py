"""`gramfast parse` with spaCy: faithful arrays, lossless text, resume, processes."""

from __future__ import annotations

import filecmp
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from gramfast.corpus.parse import ParseConfig, parse
from gramfast.corpus.store import ParsedStore, read_manifest, verify_store


def _tree_files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_store_holds_what_spacy_parsed(corpus_slice: Path, corpus_slice_store: Path) -> None:
    from gramfast.corpus.pipeline import load_pipeline

    store = ParsedStore(corpus_slice_store)
    assert verify_store(corpus_slice_store) == []
    assert len(store.shards) >= 3
    lines = [ln for ln in corpus_slice.read_text(encoding="utf-8").splitlines() if ln.strip()]
    assert store.n_documents == len(lines)
    nlp = load_pipeline(None)
    sample = list(range(0, len(lines), 97))
    docs = list(nlp.pipe([lines[i] for i in sample]))
    doc_index = [(si, d) for si, s in enumerate(store.shards) for d in range(s.info["documents"])]
    for i, doc in zip(sample, docs):
        si, d = doc_index[i]
        shard = store.shards[si]
        a = int(shard.sent_offsets[shard.doc_offsets[d]])
        b = int(shard.sent_offsets[shard.doc_offsets[d + 1]])
        assert [store.strings[w] for w in shard.words[a:b]] == [t.text for t in doc]
        assert (np.asarray(shard.heads[a:b]) - a).tolist() == [t.head.i for t in doc]
        assert [store.labels[x] for x in shard.labels[a:b]] == [t.dep_ for t in doc]
        assert [store.pos[x] for x in shard.pos[a:b]] == [t.pos_ for t in doc]
        assert [store.tags[x] for x in shard.tags[a:b]] == [t.tag_ for t in doc]
        n_sents = int(shard.doc_offsets[d + 1] - shard.doc_offsets[d])
        assert n_sents == len(list(doc.sents))
        assert store.document_text(si, d) == lines[i]


SUBJECTS = ("The old farmer", "A young scientist", "Her brother", "The committee", "Nobody")
VERBS = ("discovered", "sold", "described", "ignored", "painted", "wrote about")
OBJECTS = ("a star", "the house", "his bicycle", "an old letter", "the river")
EXTRAS = ("with a telescope", "in the morning", "out of the window", "because of the rain", "")


@pytest.fixture
def english_lines() -> list[str]:
    """300 generated English lines of one or two sentences (no shared data needed)."""
    rng = np.random.default_rng(3)

    def sentence() -> str:
        parts = [rng.choice(SUBJECTS), rng.choice(VERBS), rng.choice(OBJECTS), rng.choice(EXTRAS)]
        return " ".join(p for p in parts if p) + "."

    return [" ".join(sentence() for _ in range(int(rng.integers(1, 3)))) for _ in range(300)]


def test_two_processes_give_the_same_store(english_lines: list[str], tmp_path: Path) -> None:
    lines = english_lines[:150]
    src = tmp_path / "in.txt"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    one, two = tmp_path / "one", tmp_path / "two"
    parse(ParseConfig(inputs=(str(src),), out=one, shard_size=1000, batch_size=16))
    parse(ParseConfig(inputs=(str(src),), out=two, shard_size=1000, batch_size=16, processes=2))
    assert _tree_files(one) == _tree_files(two)


def test_resume_after_interrupt_matches_straight_run(
    english_lines: list[str], tmp_path: Path
) -> None:
    lines = english_lines
    src = tmp_path / "in.txt"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    parse(ParseConfig(inputs=(str(src),), out=straight, shard_size=1500, batch_size=8))

    class Stop(Exception):
        pass

    def stop_after_first_shard(*_: object) -> None:
        if read_manifest(resumed)["shards"]:
            raise Stop

    cfg = ParseConfig(inputs=(str(src),), out=resumed, shard_size=1500, batch_size=8)
    with pytest.raises(Stop):
        parse(cfg, progress=stop_after_first_shard)
    manifest = read_manifest(resumed)
    assert manifest["complete"] is False and len(manifest["shards"]) == 1
    result = parse(cfg)
    assert result.resumed_documents == manifest["shards"][0]["documents"]
    assert _tree_files(straight) == _tree_files(resumed)


def test_killed_parse_resumes(tmp_path: Path) -> None:
    """A real SIGKILL at an arbitrary moment; the rerun completes an identical store."""
    src = tmp_path / "in.txt"
    rng = np.random.default_rng(7)
    vocab = [f"w{i}" for i in range(500)]
    with open(src, "w", encoding="utf-8") as f:
        for _ in range(20_000):
            f.write(" ".join(rng.choice(vocab, size=int(rng.integers(3, 30)))) + "\n")
    cmd = [
        sys.executable,
        "-m",
        "gramfast.cli",
        "parse",
        str(src),
        "--model",
        "blank:en",
        "--shard-size",
        "5000",
    ]
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    subprocess.run([*cmd, "--out", str(straight)], check=True, capture_output=True)
    proc = subprocess.Popen(
        [*cmd, "--out", str(killed)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.time() + 120
    while not (killed / "shard-000002").exists() and time.time() < deadline:
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not read_manifest(killed)["complete"]
    subprocess.run([*cmd, "--out", str(killed)], check=True, capture_output=True)
    cmp = filecmp.dircmp(straight, killed)
    assert not cmp.left_only and not cmp.right_only
    assert _tree_files(straight) == _tree_files(killed)
