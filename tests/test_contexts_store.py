"""Contexts stage on small hand-built stores: the paper's example, the files, the CLI, errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from gramfast.contexts import ContextsConfig, count_contexts, write_word2vecf
from gramfast.corpus.store import DocArrays, ParsedStore, StoreWriter
from gramfast.errors import InputError
from tests.helpers import PAPER_CONTEXTS

PAPER = (
    ["Australian", "scientist", "discovers", "star", "with", "telescope"],
    [1, 2, 2, 2, 2, 4],
    ["amod", "nsubj", "ROOT", "dobj", "prep", "pobj"],
    ["ADJ", "NOUN", "VERB", "NOUN", "ADP", "NOUN"],
)


def make_store(
    root: Path,
    docs: list[list[tuple[list[str], list[int], list[str], list[str]]]],
    scheme: str = "spacy",
    has_parse: bool = True,
    shard_size: int = 1 << 20,
) -> Path:
    """A store from documents of sentences (words, heads within the sentence, deps, pos)."""
    header = {"source": "test", "label_scheme": scheme, "has_parse": has_parse}
    w = StoreWriter(root, header, shard_size)
    for doc in docs:
        cols: dict[str, list[int]] = {"words": [], "heads": [], "labels": [], "pos": []}
        starts = []
        for words, heads, deps, pos in doc:
            base = len(cols["words"])
            starts.append(base)
            cols["words"] += [w.strings.get(x) for x in words]
            cols["heads"] += [base + h for h in heads]
            cols["labels"] += [w.labels.get(x) for x in deps]
            cols["pos"] += [w.pos.get(x) for x in pos]
        n = len(cols["words"])
        w.add(
            DocArrays(
                words=np.array(cols["words"], dtype=np.int32),
                heads=np.array(cols["heads"], dtype=np.int64),
                labels=np.array(cols["labels"]),
                pos=np.array(cols["pos"]),
                tags=np.zeros(n, dtype=np.int64),
                spaces=np.ones(n, dtype=bool),
                sent_starts=np.array(starts, dtype=np.int64),
            )
        )
    w.finish()
    return root


def _pairs(out: Path) -> set[tuple[str, str]]:
    lines = (out / "pairs.txt").read_text(encoding="utf-8").splitlines()
    return {tuple(line.split(" ")) for line in lines}


def test_paper_example(tmp_path: Path) -> None:
    store = make_store(tmp_path / "s", [[PAPER]])
    write_word2vecf(store, tmp_path / "out", ContextsConfig(kind="deps"))
    assert _pairs(tmp_path / "out") == PAPER_CONTEXTS


def test_space_tokens_and_whitespace_forms(tmp_path: Path) -> None:
    sent = (
        ["New York", "\n", "grows", "fast"],
        [2, 2, 2, 2],
        ["nsubj", "dep", "ROOT", "advmod"],
        ["PROPN", "SPACE", "VERB", "ADV"],
    )
    store = make_store(tmp_path / "s", [[sent]])
    write_word2vecf(store, tmp_path / "out", ContextsConfig(kind="deps"))
    assert _pairs(tmp_path / "out") == {
        ("grows", "nsubj_new_york"),
        ("new_york", "nsubjI_grows"),
        ("grows", "advmod_fast"),
        ("fast", "advmodI_grows"),
    }
    write_word2vecf(store, tmp_path / "win", ContextsConfig(kind="window", window=1))
    assert _pairs(tmp_path / "win") == {
        ("new_york", "grows"),
        ("grows", "new_york"),
        ("grows", "fast"),
        ("fast", "grows"),
    }


def test_grammar_pairs(tmp_path: Path) -> None:
    store = make_store(tmp_path / "s", [[PAPER]])
    write_word2vecf(store, tmp_path / "out", ContextsConfig(kind="grammar"))
    got = _pairs(tmp_path / "out")
    assert ("NOUN:nsubj", "head=VERB:ROOT") in got
    assert ("VERB:ROOT", "child=NOUN:nsubj") in got
    assert ("ADP:prep", "child=NOUN:pobj") in got
    assert ("NOUN:pobj", "head=ADP:prep") in got
    assert len(got) == 10  # five arcs, two directions each


def test_min_count_exact(tmp_path: Path) -> None:
    sents = [(["dogs", "run"], [1, 1], ["nsubj", "ROOT"], ["NOUN", "VERB"])] * 3
    sents += [(["cats", "run"], [1, 1], ["nsubj", "ROOT"], ["NOUN", "VERB"])]
    store = ParsedStore(make_store(tmp_path / "s", [sents]))
    counts = count_contexts(store, ContextsConfig(kind="deps", min_count=2))
    assert counts.words.tokens == ["run", "dogs"]
    assert counts.words.counts.tolist() == [4, 3]
    assert counts.contexts.tokens == ["nsubjI_run", "nsubj_dogs"]  # nsubj_cats: 1 < 2
    assert counts.contexts.counts.tolist() == [4, 3]
    summary = write_word2vecf(store.root, tmp_path / "o", ContextsConfig(min_count=2))
    # ("run", "nsubj_cats") and ("cats", ...) are dropped: one side fell under the count
    assert summary["pairs_written"] == 6
    lines = (tmp_path / "o" / "words.tsv").read_text().splitlines()
    assert lines == ["run\t4", "dogs\t3"]


def test_max_size_and_tie_break(tmp_path: Path) -> None:
    sents = [([w, "x"], [1, 1], ["nsubj", "ROOT"], ["NOUN", "VERB"]) for w in "dcba"]
    store = ParsedStore(make_store(tmp_path / "s", [sents]))
    counts = count_contexts(store, ContextsConfig(max_words=3))
    assert counts.words.tokens == ["x", "a", "b"]


def test_errors(tmp_path: Path) -> None:
    store = make_store(tmp_path / "s", [[PAPER]])
    with pytest.raises(InputError, match="--min-count 5 leaves no words.*lower --min-count"):
        write_word2vecf(store, tmp_path / "o", ContextsConfig(min_count=5))
    with pytest.raises(InputError, match="--min-context-count 3 leaves no contexts"):
        write_word2vecf(store, tmp_path / "o", ContextsConfig(min_context_count=3))
    tok_only = make_store(tmp_path / "t", [[PAPER]], has_parse=False)
    with pytest.raises(InputError, match="no dependency parse.*use --kind window"):
        write_word2vecf(tok_only, tmp_path / "o", ContextsConfig(kind="deps"))
    write_word2vecf(tok_only, tmp_path / "o", ContextsConfig(kind="window"))


def test_empty_store(tmp_path: Path) -> None:
    root = tmp_path / "e"
    StoreWriter(root, {"source": "test", "label_scheme": "spacy"}, 100).finish()
    with pytest.raises(InputError, match="holds no tokens: parse a non-empty input"):
        write_word2vecf(root, tmp_path / "o", ContextsConfig())


def test_head_outside_sentence(tmp_path: Path) -> None:
    two = [PAPER, (["It", "works"], [1, 1], ["nsubj", "ROOT"], ["PRON", "VERB"])]
    root = make_store(tmp_path / "s", [two])
    heads_path = root / "shard-000000" / "heads.npy"
    heads = np.load(heads_path)
    heads[6] = 2  # "It" now points into the first sentence
    np.save(heads_path, heads)
    with pytest.raises(InputError, match="token 6 has head 2 outside its sentence.*parse the"):
        write_word2vecf(root, tmp_path / "o", ContextsConfig())


def test_bad_config() -> None:
    with pytest.raises(InputError, match="window must be >= 1"):
        ContextsConfig(window=0)
    with pytest.raises(InputError, match="pass --min-count 1 or more"):
        ContextsConfig(min_count=0)


def test_cli(tmp_path: Path) -> None:
    typer_testing = pytest.importorskip("typer.testing")
    cli = pytest.importorskip("gramfast.cli", reason="gramfast.cli not written yet")
    store = make_store(tmp_path / "s", [[PAPER]])
    runner = typer_testing.CliRunner()
    out = tmp_path / "out"
    res = runner.invoke(cli.app, ["contexts", str(store), "--out", str(out), "--kind", "deps"])
    assert res.exit_code == 0, res.output
    assert ("discovers", "prep_with_telescope") in _pairs(out)
    assert json.loads((out / "contexts.json").read_text())["pairs_written"] == 8
    res = runner.invoke(cli.app, ["contexts", str(store), "--out", str(out), "--min-count", "9"])
    assert res.exit_code == 2
    assert "lower --min-count" in res.output
