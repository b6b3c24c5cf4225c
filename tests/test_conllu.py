"""CoNLL-U input: gold heads and labels round-trip exactly; malformed files name the line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gramfast.corpus.parse import ParseConfig, parse
from gramfast.corpus.store import ParsedStore, verify_store
from gramfast.errors import InputError

SAMPLE = """# newdoc id = d1
# sent_id = 1
# text = Australian scientist discovers star with telescope.
1\tAustralian\taustralian\tADJ\tJJ\t_\t2\tamod\t_\t_
2\tscientist\tscientist\tNOUN\tNN\t_\t3\tnsubj\t_\t_
3\tdiscovers\tdiscover\tVERB\tVBZ\t_\t0\troot\t_\t_
4\tstar\tstar\tNOUN\tNN\t_\t3\tobj\t_\t_
5\twith\twith\tADP\tIN\t_\t6\tcase\t_\t_
6\ttelescope\ttelescope\tNOUN\tNN\t_\t3\tobl\t_\tSpaceAfter=No
7\t.\t.\tPUNCT\t.\t_\t3\tpunct\t_\t_

# sent_id = 2
1-2\tdon't\t_\t_\t_\t_\t_\t_\t_\t_
1\tdo\tdo\tAUX\tVBP\t_\t3\taux\t_\t_
2\tn't\tnot\tPART\tRB\t_\t3\tadvmod\t_\t_
3\tgo\tgo\tVERB\tVB\t_\t0\troot\t_\t_
3.1\tgo\tgo\tVERB\tVB\t_\t_\t_\t3:conj\t_

"""


def _expected(path: Path) -> tuple[list[str], list[int], list[str]]:
    """Forms, 0-based sentence-relative heads (root: itself) and labels, read independently."""
    forms, heads, labels = [], [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        cols = line.split("\t")
        if len(cols) != 10 or not cols[0].isdigit():
            continue
        i, h = int(cols[0]) - 1, int(cols[6])
        forms.append(cols[1])
        heads.append(i if h == 0 else h - 1)
        labels.append(cols[7])
    return forms, heads, labels


def _read_back(store: ParsedStore) -> tuple[list[str], list[int], list[str]]:
    forms, heads, labels = [], [], []
    for batch in store.iter_batches(4096):
        so = batch.sent_offsets
        sent_start = np.repeat(so[:-1], np.diff(so))
        forms += [store.strings[w] for w in batch.words.tolist()]
        heads += (batch.heads - sent_start).tolist()
        labels += [store.labels[x] for x in batch.labels.tolist()]
    return forms, heads, labels


def test_sample_round_trip(tmp_path: Path) -> None:
    src = tmp_path / "s.conllu"
    src.write_text(SAMPLE, encoding="utf-8")
    parse(ParseConfig(inputs=(str(src),), out=tmp_path / "st"))
    store = ParsedStore(tmp_path / "st")
    assert store.manifest["label_scheme"] == "ud"
    assert _read_back(store) == _expected(src)
    assert store.n_sentences == 2 and store.n_documents == 1
    assert (
        store.document_text(0, 0)
        == "Australian scientist discovers star with telescope. do n't go "
    )


def test_ewt_dev_heads_and_labels_exact(ewt_dev: Path, tmp_path: Path) -> None:
    parse(ParseConfig(inputs=(str(ewt_dev),), out=tmp_path / "ewt", shard_size=5000))
    store = ParsedStore(tmp_path / "ewt")
    assert verify_store(tmp_path / "ewt") == []
    assert len(store.shards) > 1
    forms, heads, labels = _read_back(store)
    ref_forms, ref_heads, ref_labels = _expected(ewt_dev)
    assert len(forms) == len(ref_forms) > 20_000
    assert forms == ref_forms
    assert heads == ref_heads
    assert labels == ref_labels
    n_sent = ewt_dev.read_text(encoding="utf-8").count("# sent_id")
    assert store.n_sentences == n_sent


@pytest.mark.parametrize(
    ("bad_line", "why"),
    [
        ("4\tstar\tstar\tNOUN\tNN\t_\t3\tobj\t_", "expected 10 tab-separated columns, found 9"),
        ("5\tstar\tstar\tNOUN\tNN\t_\t3\tobj\t_\t_", "ID '5' where 4 was expected"),
        ("4\tstar\tstar\tNOUN\tNN\t_\tx\tobj\t_\t_", "HEAD 'x' is not a number"),
        ("4\tstar\tstar\tNOUN\tNN\t_\t9\tobj\t_\t_", "HEAD 9 is outside the sentence of 7 words"),
        ("4\tstar\tstar\tNOUN\tNN\t_\t3\t_\t_\t_", "DEPREL is empty"),
    ],
)
def test_malformed_conllu_names_file_and_line(tmp_path: Path, bad_line: str, why: str) -> None:
    lines = SAMPLE.splitlines()
    idx = next(i for i, ln in enumerate(lines) if ln.startswith("4\tstar"))
    lines[idx] = bad_line
    src = tmp_path / "bad.conllu"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=rf"bad\.conllu:{idx + 1}: {why}"):
        parse(ParseConfig(inputs=(str(src),), out=tmp_path / "st"))
