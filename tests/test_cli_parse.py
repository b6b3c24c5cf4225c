"""`gramfast parse` / `store` through the CLI: bad input gets a clear error and exit code 2."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gramfast.cli import app
from gramfast.corpus.store import ParsedStore, read_manifest

runner = CliRunner()
BLANK = ["--model", "blank:en"]


def _run(*args: str, input: str | None = None):
    return runner.invoke(app, [str(a) for a in args], input=input)


def test_help_and_info() -> None:
    result = _run("--help")
    assert result.exit_code == 0
    for command in ("parse", "store", "info"):
        assert command in result.output
    info = _run("info", "--json")
    assert info.exit_code == 0
    facts = json.loads(info.output)
    import torch

    assert facts["torch"] == torch.__version__
    assert facts["triton kernels"].startswith(("interpreted", "compiled", "unavailable"))


def test_missing_path(tmp_path: Path) -> None:
    result = _run("parse", tmp_path / "nope.txt", "--out", tmp_path / "st")
    assert result.exit_code == 2
    assert "nope.txt does not exist" in result.output
    assert not (tmp_path / "st").exists()


def test_empty_input(tmp_path: Path) -> None:
    src = tmp_path / "empty.txt"
    src.write_text("\n  \n\n", encoding="utf-8")
    result = _run("parse", src, "--out", tmp_path / "st", *BLANK)
    assert result.exit_code == 2
    assert "holds no documents" in result.output and "empty.txt" in result.output
    assert not (tmp_path / "st").exists()


def test_invalid_utf8_is_replaced_counted_and_reported(tmp_path: Path) -> None:
    src = tmp_path / "bad.txt"
    src.write_bytes(b"good line\nbad \xff\xfe bytes\nmore \xc3 here\n")
    result = _run("parse", src, "--out", tmp_path / "st", *BLANK)
    assert result.exit_code == 0, result.output
    assert "invalid UTF-8 replaced" in result.output
    stats = read_manifest(tmp_path / "st")["stats"]
    assert stats["invalid_utf8_replaced"] == 3 and stats["invalid_utf8_lines"] == 2
    store = ParsedStore(tmp_path / "st")
    assert store.document_text(0, 1) == "bad \ufffd\ufffd bytes"


def test_one_50mb_line_is_split_counted_and_lossless(tmp_path: Path) -> None:
    word = "lorem" * 199 + " "  # 1,000 characters a word keeps the tokenizer's work small
    line = word * 50_000
    src = tmp_path / "big.txt"
    src.write_text(line + "\n", encoding="utf-8")
    result = _run("parse", src, "--out", tmp_path / "st", *BLANK, "--max-doc-chars", "200000")
    assert result.exit_code == 0, result.output
    assert "long documents split" in result.output
    stats = read_manifest(tmp_path / "st")["stats"]
    assert stats["long_documents_split"] == 1
    assert stats["long_document_pieces"] == 250
    store = ParsedStore(tmp_path / "st")
    assert store.n_documents == 250
    text = "".join(
        store.document_text(si, d)
        for si, s in enumerate(store.shards)
        for d in range(s.info["documents"])
    )
    assert text == line


def test_unknown_pipeline_lists_installed(tmp_path: Path) -> None:
    src = tmp_path / "a.txt"
    src.write_text("hello\n", encoding="utf-8")
    result = _run("parse", src, "--out", tmp_path / "st", "--model", "xx_no_such_pipeline")
    assert result.exit_code == 2
    assert "unknown spaCy pipeline 'xx_no_such_pipeline'" in result.output
    assert "en_core_web_sm" in result.output  # the installed ones are listed


def test_existing_store_needs_overwrite(tmp_path: Path) -> None:
    src = tmp_path / "a.txt"
    src.write_text("one two\nthree four\n", encoding="utf-8")
    assert _run("parse", src, "--out", tmp_path / "st", *BLANK).exit_code == 0
    again = _run("parse", src, "--out", tmp_path / "st", *BLANK)
    assert again.exit_code == 2
    assert "already holds a complete store" in again.output and "--overwrite" in again.output
    src.write_text("five six\n", encoding="utf-8")
    forced = _run("parse", src, "--out", tmp_path / "st", *BLANK, "--overwrite")
    assert forced.exit_code == 0
    assert ParsedStore(tmp_path / "st").n_documents == 1


def test_non_store_folder_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "a.txt"
    src.write_text("hello\n", encoding="utf-8")
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "thesis.tex").write_text("precious", encoding="utf-8")
    result = _run("parse", src, "--out", tmp_path / "busy", *BLANK, "--overwrite")
    assert result.exit_code == 2 and "not a gramfast store" in result.output
    assert (tmp_path / "busy" / "thesis.tex").read_text(encoding="utf-8") == "precious"


def test_inputs_of_every_kind(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("alpha beta\n", encoding="utf-8")
    with gzip.open(folder / "sub" / "b.txt.gz", "wt", encoding="utf-8") as f:
        f.write("gamma delta\n")
    (folder / "c.jsonl").write_text(
        json.dumps({"body": "epsilon zeta"}) + "\n" + json.dumps({"body": ""}) + "\n",
        encoding="utf-8",
    )
    (folder / "ignored.csv").write_text("x,y\n", encoding="utf-8")
    result = _run("parse", folder, "--out", tmp_path / "st", *BLANK, "--text-field", "body")
    assert result.exit_code == 0, result.output
    store = ParsedStore(tmp_path / "st")
    texts = [store.document_text(0, d) for d in range(store.n_documents)]
    assert texts == ["alpha beta", "epsilon zeta", "gamma delta"]  # sorted paths
    globbed = _run("parse", str(folder / "*.txt"), "--out", tmp_path / "g", *BLANK)
    assert globbed.exit_code == 0 and ParsedStore(tmp_path / "g").n_documents == 1
    piped = _run("parse", "-", "--out", tmp_path / "p", *BLANK, input="eta theta\n\niota\n")
    assert piped.exit_code == 0, piped.output
    store = ParsedStore(tmp_path / "p")
    assert [store.document_text(0, d) for d in range(2)] == ["eta theta", "iota"]


def test_jsonl_without_the_field(tmp_path: Path) -> None:
    src = tmp_path / "a.jsonl"
    src.write_text('{"text": "ok"}\n{"body": "x"}\n', encoding="utf-8")
    result = _run("parse", src, "--out", tmp_path / "st", *BLANK)
    assert result.exit_code == 2
    assert "a.jsonl:2: no field 'text' (found: body)" in result.output


@pytest.mark.parametrize(
    ("option", "value"), [("--processes", "0"), ("--shard-size", "0"), ("--batch-size", "-1")]
)
def test_bad_option_values(tmp_path: Path, option: str, value: str) -> None:
    src = tmp_path / "a.txt"
    src.write_text("hello\n", encoding="utf-8")
    result = _run("parse", src, "--out", tmp_path / "st", option, value)
    assert result.exit_code == 2
    assert f"{option} must be at least" in result.output


def test_store_info_and_verify(tmp_path: Path) -> None:
    src = tmp_path / "a.txt"
    src.write_text("one two three\nfour five\n", encoding="utf-8")
    assert _run("parse", src, "--out", tmp_path / "st", *BLANK).exit_code == 0
    info = _run("store", "info", tmp_path / "st", "--json")
    assert info.exit_code == 0
    facts = json.loads(info.output)
    assert facts["tokens"] == 5 and facts["documents"] == 2 and facts["complete"] is True
    ok = _run("store", "verify", tmp_path / "st")
    assert ok.exit_code == 0 and "ok" in ok.output
    words = tmp_path / "st" / "shard-000000" / "words.npy"
    data = bytearray(words.read_bytes())
    data[-1] ^= 0x10
    words.write_bytes(bytes(data))
    bad = _run("store", "verify", tmp_path / "st")
    assert bad.exit_code == 1 and "checksum mismatch in words.npy" in bad.output
    missing = _run("store", "info", tmp_path / "nothing")
    assert missing.exit_code == 2 and "not a gramfast store" in missing.output
