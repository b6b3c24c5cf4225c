"""Contexts on real parses: UD English EWT dev (gold) and a spaCy-parsed corpus slice."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from gramfast.kernels.contexts import (
    dependency_pairs,
    dependency_pairs_ref,
    relation_chains,
    relation_chains_ref,
)

from gramfast.contexts import ContextsConfig, label_roles, write_word2vecf
from gramfast.corpus.store import ParsedStore


def _parse(inputs: list[Path], out: Path) -> ParsedStore:
    from gramfast.corpus.parse import ParseConfig, parse

    parse(ParseConfig(inputs=tuple(str(p) for p in inputs), out=out))
    return ParsedStore(out)


@pytest.fixture(scope="module")
def ewt_store(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> ParsedStore:
    path = shared_data / "treebank" / "UD_English-EWT" / "en_ewt-ud-dev.conllu"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    return _parse([path], tmp_path_factory.mktemp("ewt") / "store")


@pytest.fixture(scope="module")
def spacy_store(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> ParsedStore:
    src = shared_data / "corpus" / "nltk_brown" / "brown.txt"
    if not src.is_file():
        pytest.skip(f"{src} not found")
    from gramfast.corpus.pipeline import installed_pipelines

    if not installed_pipelines():
        pytest.skip("no spaCy English pipeline is installed")
    tmp = tmp_path_factory.mktemp("brown")
    with open(src, encoding="utf-8") as f:
        (tmp / "slice.txt").write_text("".join(f.readline() for _ in range(150)), encoding="utf-8")
    return _parse([tmp / "slice.txt"], tmp / "store")


def _compare_store(store: ParsedStore) -> int:
    roles = label_roles(store.labels, store.manifest["label_scheme"])
    space = store.pos.index("SPACE") if "SPACE" in store.pos else -1
    n_pairs = 0
    for b in store.iter_batches(1 << 14):
        args = (b.heads, b.labels, b.pos, b.sent_offsets, roles, space)
        ref = dependency_pairs_ref(*args)
        out = dependency_pairs(*args, debug=True)
        for name, r, o in zip(ref._fields, ref, out):
            np.testing.assert_array_equal(o, r, err_msg=name)
        anchors = np.unique(-1 - ref.relations[ref.relations < 0])
        for r, o in zip(relation_chains_ref(anchors, *args), relation_chains(anchors, *args)):
            np.testing.assert_array_equal(o, r)
        n_pairs += ref.targets.shape[0]
    return n_pairs


@pytest.mark.data
def test_ewt_dev_numba_equals_reference(ewt_store: ParsedStore) -> None:
    assert ewt_store.manifest["label_scheme"] == "ud"
    assert _compare_store(ewt_store) > ewt_store.n_tokens  # about two pairs per non-punct word


@pytest.mark.data
def test_ewt_dev_word2vecf(ewt_store: ParsedStore, tmp_path: Path) -> None:
    summary = write_word2vecf(ewt_store.root, tmp_path / "o", ContextsConfig(kind="deps"))
    lines = (tmp_path / "o" / "pairs.txt").read_text(encoding="utf-8").splitlines()
    assert len(lines) == summary["pairs_written"] == summary["pairs_extracted"]
    pairs = [line.split(" ") for line in lines]
    assert all(len(p) == 2 and p[0] and p[1] for p in pairs)
    got = {tuple(p) for p in pairs}
    # "From the AP comes this story :" and "... on Tuesday nominated ..." (first sentences)
    assert {("comes", "obl_from_ap"), ("ap", "obl_fromI_comes")} <= got
    assert ("nominated", "obl_on_tuesday") in got
    contexts = [c for _, c in pairs]
    assert not any(c.startswith("punct") for c in contexts)
    # case arcs stay plain only under heads that cannot collapse (nmod:poss, root nominals)
    n_case = sum(c.startswith("case") for c in contexts)
    assert n_case < 0.1 * sum(c.startswith(("obl_", "nmod_")) for c in contexts)
    counts = (tmp_path / "o" / "contexts.tsv").read_text(encoding="utf-8").splitlines()
    assert sum(int(line.rsplit("\t", 1)[1]) for line in counts) == len(lines)


@pytest.mark.data
@pytest.mark.slow
def test_spacy_slice_numba_equals_reference(spacy_store: ParsedStore, tmp_path: Path) -> None:
    assert spacy_store.manifest["label_scheme"] == "spacy"
    assert _compare_store(spacy_store) > 0
    write_word2vecf(spacy_store.root, tmp_path / "o", ContextsConfig(kind="deps"))
    contexts = (tmp_path / "o" / "contexts.tsv").read_text(encoding="utf-8")
    assert "\tprep_" not in contexts and "prep_of_" in contexts
