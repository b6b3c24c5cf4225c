"""``gramfast store sample``: a seeded share of a store's documents, exactly as they were."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from gramfast.cli import app
from gramfast.corpus.sample import sample_store
from gramfast.corpus.store import ParsedStore, read_manifest, verify_store
from gramfast.errors import InputError
from tests.helpers import synthetic_store

runner = CliRunner()


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> ParsedStore:
    # shard_size 2000 tokens: several shards, so the per-shard copying is exercised
    return ParsedStore(synthetic_store(tmp_path_factory.mktemp("src") / "store", n_sentences=600))


def _documents(store: ParsedStore) -> list[dict]:
    """Every document as plain values: forms, heads relative to the document, tables' names."""
    docs = []
    strings = store.strings
    for shard in store.shards:
        so, do = shard.sent_offsets, shard.doc_offsets
        for d in range(do.shape[0] - 1):
            a, b = int(so[do[d]]), int(so[do[d + 1]])
            docs.append(
                {
                    "forms": [strings[w] for w in shard.words[a:b].tolist()],
                    "heads": (np.asarray(shard.heads[a:b]) - a).tolist(),
                    "labels": [store.labels[x] for x in shard.labels[a:b].tolist()],
                    "pos": [store.pos[x] for x in shard.pos[a:b].tolist()],
                    "tags": [store.tags[x] for x in shard.tags[a:b].tolist()],
                    "spaces": shard.spaces[a:b].tolist(),
                    "sentences": (so[do[d] : do[d + 1]] - a).tolist(),
                }
            )
    return docs


def test_sample_keeps_the_drawn_documents_unchanged(source: ParsedStore, tmp_path: Path) -> None:
    fraction, seed = 0.4, 3
    manifest = sample_store(source, tmp_path / "s", fraction, seed=seed)
    assert verify_store(tmp_path / "s") == []
    sample = ParsedStore(tmp_path / "s")
    keep = np.random.default_rng(seed).random(source.n_documents) < fraction
    want = [d for d, k in zip(_documents(source), keep.tolist(), strict=True) if k]
    got = _documents(sample)
    assert got == want and 0 < len(got) < source.n_documents
    assert manifest["counts"]["tokens"] == sum(len(d["forms"]) for d in want)
    assert manifest["sampled_from"]["fraction"] == fraction
    assert manifest["sampled_from"]["seed"] == seed
    # only the forms the sample uses, each once
    used = {f for d in want for f in d["forms"]}
    assert sorted(sample.strings) == sorted(used)
    assert sample.labels == source.labels and sample.tags == source.tags
    assert not list(tmp_path.glob(".*"))  # the hidden work folder is gone


def test_fraction_one_copies_everything_and_seeds_matter(source, tmp_path: Path) -> None:
    sample_store(source, tmp_path / "all", 1.0)
    assert _documents(ParsedStore(tmp_path / "all")) == _documents(source)
    sample_store(source, tmp_path / "a", 0.5, seed=1)
    sample_store(source, tmp_path / "b", 0.5, seed=1)
    sample_store(source, tmp_path / "c", 0.5, seed=2)
    a, b, c = (_documents(ParsedStore(tmp_path / x)) for x in "abc")
    assert a == b and a != c


@pytest.mark.parametrize("fraction", [0.0, -0.5, 1.5, float("nan"), float("inf")])
def test_bad_fractions_are_usage_errors(source, tmp_path: Path, fraction: float) -> None:
    with pytest.raises(InputError, match=r"--fraction must lie in \(0, 1\]"):
        sample_store(source, tmp_path / "s", fraction)
    args = ["store", "sample", str(source.root), "--out", str(tmp_path / "s")]
    result = runner.invoke(app, [*args, "--fraction", str(fraction)])
    assert result.exit_code == 2, result.output
    assert not (tmp_path / "s").exists()


def test_a_fraction_that_keeps_nothing_says_so(source, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="keeps none of the .* pass a larger fraction"):
        sample_store(source, tmp_path / "s", 1e-9)


def test_existing_outputs_and_the_source_are_protected(source, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is the source store itself"):
        sample_store(source, source.root, 0.5)
    sample_store(source, tmp_path / "s", 0.5, seed=1)
    before = read_manifest(tmp_path / "s")["counts"]
    with pytest.raises(InputError, match="already exists; pass --overwrite"):
        sample_store(source, tmp_path / "s", 0.5, seed=2)
    assert read_manifest(tmp_path / "s")["counts"] == before
    sample_store(source, tmp_path / "s", 0.5, seed=2, overwrite=True)
    assert read_manifest(tmp_path / "s")["sampled_from"]["seed"] == 2
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "keep.txt").write_text("mine")
    with pytest.raises(InputError, match="is not a gramfast store"):
        sample_store(source, tmp_path / "notes", 0.5, overwrite=True)
    assert (tmp_path / "notes" / "keep.txt").read_text() == "mine"


def test_an_interrupted_sample_leaves_no_store_and_a_rerun_completes(
    source, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gramfast.corpus.sample as mod

    calls = {"n": 0}
    real = mod._copy_documents

    def dies_on_the_second_shard(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(mod, "_copy_documents", dies_on_the_second_shard)
    with pytest.raises(KeyboardInterrupt):
        sample_store(source, tmp_path / "s", 0.9)
    assert not (tmp_path / "s").exists()
    monkeypatch.setattr(mod, "_copy_documents", real)
    sample_store(source, tmp_path / "s", 0.9)
    assert verify_store(tmp_path / "s") == []
    assert not list(tmp_path.glob(".*"))


def test_cli_reports_the_share_kept(source, tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["store", "sample", str(source.root), "--out", str(tmp_path / "s"), "--fraction", "0.5"],
    )
    assert result.exit_code == 0, result.output
    m = read_manifest(tmp_path / "s")
    text = " ".join(result.output.split())  # the console wraps long lines
    assert f"{m['counts']['documents']:,} of {source.n_documents:,} documents" in text
    info = runner.invoke(app, ["store", "info", str(tmp_path / "s"), "--json"])
    assert info.exit_code == 0, info.output
    assert "fraction 0.5 of its documents, seed 0" in " ".join(info.output.split())
