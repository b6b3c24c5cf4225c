"""Vectors formats: round trips, bad input, and compatibility with gensim and spaCy."""

from __future__ import annotations

import logging
import mmap
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gramfast.errors import InputError
from gramfast.vectors import (
    Vectors,
    load_native,
    load_output_vectors,
    load_vectors,
    read_word2vec_binary,
    read_word2vec_text,
    save_native,
    write_output_vectors,
    write_word2vec_binary,
    write_word2vec_text,
)

WORDS = ["the", "naïve", "日本", "co-op", "don't", "Ωmega", "x"]


def random_vectors(
    rng: np.random.Generator, v: int = 7, d: int = 5, counts: bool = True
) -> Vectors:
    words = (WORDS + [f"w{i}" for i in range(v)])[:v]
    matrix = rng.standard_normal((v, d)).astype(np.float32) * 10.0 ** rng.integers(-8, 8, (v, d))
    c = np.sort(rng.integers(1, 1000, v))[::-1] if counts else None
    return Vectors(words, matrix, c)


def memory_mapped(a: np.ndarray) -> bool:
    while a is not None and not isinstance(a, (np.memmap, mmap.mmap)):
        a = getattr(a, "base", None)
    return a is not None


def assert_same(actual: Vectors, expected: Vectors, counts: bool = True) -> None:
    assert actual.words == expected.words
    assert actual.matrix.dtype == np.float32
    np.testing.assert_array_equal(actual.matrix, expected.matrix)
    if counts:
        np.testing.assert_array_equal(actual.counts, expected.counts)


@pytest.mark.parametrize("v,d", [pytest.param(1, 1, id="V1-D1"), pytest.param(7, 63, id="V7-D63")])
@pytest.mark.parametrize("fmt", ["text", "binary", "native"])
def test_round_trip(tmp_path: Path, rng: np.random.Generator, fmt: str, v: int, d: int) -> None:
    ref = random_vectors(rng, v, d)
    path = tmp_path / {"text": "v.txt", "binary": "v.bin", "native": "v"}[fmt]
    {"text": write_word2vec_text, "binary": write_word2vec_binary, "native": save_native}[fmt](
        ref, path
    )
    out = load_vectors(path)
    assert_same(out, ref, counts=fmt == "native")
    if fmt != "native":
        assert out.counts is None
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary left behind


def test_native_is_memory_mapped_and_keeps_missing_counts(tmp_path: Path, rng) -> None:
    ref = random_vectors(rng, counts=False)
    save_native(ref, tmp_path / "n")
    out = load_native(tmp_path / "n")
    assert memory_mapped(out.matrix)
    assert not memory_mapped(load_native(tmp_path / "n", mmap=False).matrix)
    assert out.counts is None
    assert_same(out, ref, counts=False)
    assert (tmp_path / "n" / "vocab.tsv").read_text(encoding="utf-8").split("\n")[0] == "the"


def test_native_overwrite(tmp_path: Path, rng) -> None:
    first, second = random_vectors(rng, 3), random_vectors(rng, 5)
    save_native(first, tmp_path / "n")
    with pytest.raises(InputError, match="exists; pass overwrite=True"):
        save_native(second, tmp_path / "n")
    save_native(second, tmp_path / "n", overwrite=True)
    assert_same(load_native(tmp_path / "n", mmap=False), second)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["n"]


@pytest.mark.parametrize("word", ["new york", "tab\there", "line\nbreak", ""])
@pytest.mark.parametrize("writer", [write_word2vec_text, write_word2vec_binary])
def test_word2vec_refuses_whitespace_words(tmp_path: Path, writer, word: str) -> None:
    v = Vectors(["a", word], np.ones((2, 3), dtype=np.float32))
    with pytest.raises(InputError, match=r"word 1 .* empty or contains whitespace.*replace_"):
        writer(v, tmp_path / "v.out")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("fmt", ["text", "binary"])
def test_word2vec_replace_whitespace(tmp_path: Path, fmt: str) -> None:
    v = Vectors(["new york", "a\tb", "c"], np.arange(6, dtype=np.float32).reshape(3, 2))
    writer = write_word2vec_text if fmt == "text" else write_word2vec_binary
    writer(v, tmp_path / "v", replace_whitespace="_")
    out = load_vectors(tmp_path / "v", format=fmt)
    assert out.words == ["new_york", "a_b", "c"]
    np.testing.assert_array_equal(out.matrix, v.matrix)
    clash = Vectors(["a b", "a_b"], np.ones((2, 2), dtype=np.float32))
    with pytest.raises(InputError, match="makes two words equal"):
        writer(clash, tmp_path / "w", replace_whitespace="_")


def test_native_refuses_tab_words(tmp_path: Path) -> None:
    v = Vectors(["ok", "new york", "a\tb"], np.ones((3, 2), dtype=np.float32))
    with pytest.raises(InputError, match=r"word 2 \('a\\tb'\) is empty or holds a tab"):
        save_native(v, tmp_path / "n")
    save_native(v.head(2), tmp_path / "n")
    assert load_native(tmp_path / "n").words == ["ok", "new york"]


TEXT_CASES = [
    pytest.param(b"", "file is empty", id="empty"),
    pytest.param(b"2\na 1\n", "line 1: expected a header 'N D'", id="one-int"),
    pytest.param(b"2 x\na 1\n", "line 1: expected a header 'N D'", id="not-int"),
    pytest.param(b"a 1 2\nb 3 4\n", "line 1: .*GloVe", id="no-header"),
    pytest.param(b"1 0\na\n", "line 1: expected a header 'N D'", id="D0"),
    pytest.param(b"0 3\n", "line 1: expected a header 'N D'", id="N0"),
    pytest.param(
        b"2 3\na 1 2 3\nb 1 2\n", "line 3: expected a word and 3 values.*got 2", id="short"
    ),
    pytest.param(b"2 3\na 1 2 3\n\n", "line 3: expected a word and 3 values", id="blank-row"),
    pytest.param(b"2 2\na 1 2 3\nb 1 2\n", "line 2: .*got 3 values", id="long-row"),
    pytest.param(b"3 2\na 1 2\nb 1 2\n", "line 4: file ends after 2 rows; header says 3", id="few"),
    pytest.param(b"1 2\na 1 2\n\nb 1 2\n", "line 4: more rows than the header's N=1", id="many"),
    pytest.param(b"1 2\na 1 zz\n", "line 2: bad number", id="bad-number"),
]


@pytest.mark.parametrize("content,match", TEXT_CASES)
def test_text_bad_input(tmp_path: Path, content: bytes, match: str) -> None:
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(InputError, match=f"{path}: {match}"):
        read_word2vec_text(path)


def binary_bytes(
    rows: list[tuple[bytes, list[float]]], header: bytes, newline: bool = True
) -> bytes:
    body = b"".join(w + b" " + np.array(v, "<f4").tobytes() + b"\n" * newline for w, v in rows)
    return header + body


BINARY_CASES = [
    pytest.param(b"", "file is empty", id="empty"),
    pytest.param(b"2 3\n", "header says 2 rows of 3 values, but no rows follow", id="header-only"),
    pytest.param(b"2 three\n", "line 1: expected a header", id="bad-header"),
    pytest.param(b"1 0\n", "line 1: expected a header", id="D0"),
    pytest.param(
        binary_bytes([(b"a", [1, 2, 3])], b"2 3\n"), r"row 2 \(byte 19\): file ends", id="few"
    ),
    pytest.param(binary_bytes([(b"a", [1, 2])], b"1 3\n"), "row 1 .*file ends", id="short-row"),
    pytest.param(
        binary_bytes([(b"a", [1, 2, 3]), (b"b", [1, 2, 3])], b"1 3\n"),
        r"16 bytes follow row 1, the header's last: its N or D is wrong",
        id="many",
    ),
    pytest.param(
        binary_bytes([(b"a", [1, 2, 3, 4]), (b"b", [1, 2, 3, 4])], b"2 3\n"),
        r"5 bytes follow row 2",
        id="wrong-D",
    ),
]


@pytest.mark.parametrize("content,match", BINARY_CASES)
def test_binary_bad_input(tmp_path: Path, content: bytes, match: str) -> None:
    path = tmp_path / "bad.bin"
    path.write_bytes(content)
    with pytest.raises(InputError, match=f"{path}: {match}"):
        read_word2vec_binary(path)


@pytest.mark.parametrize("fmt", ["text", "binary"])
def test_bad_utf8_replaced_and_counted(tmp_path: Path, caplog, fmt: str) -> None:
    words = [b"ok", b"caf\xc3", b"\xff\xfeab"]  # a cut multi-byte character, then stray bytes
    if fmt == "binary":
        content = binary_bytes([(w, [1.0, 2.0]) for w in words], b"3 2\n", newline=False)
    else:
        content = b"3 2\n" + b"".join(w + b" 1 2\n" for w in words)
    path = tmp_path / f"v.{fmt}"
    path.write_bytes(content)
    with caplog.at_level(logging.WARNING, logger="gramfast.vectors.io"):
        out = load_vectors(path, format=fmt)
    assert out.words == ["ok", "caf\ufffd", "\ufffd\ufffdab"]
    assert "2 rows had bad UTF-8" in caplog.text
    reader = read_word2vec_text if fmt == "text" else read_word2vec_binary
    where = "line 3" if fmt == "text" else r"row 2 \(byte 15\)"
    with pytest.raises(InputError, match=f"{where}: not UTF-8"):
        reader(path, unicode_errors="strict")


@pytest.mark.parametrize("fmt", ["text", "binary"])
def test_duplicate_words_keep_first(tmp_path: Path, caplog, fmt: str) -> None:
    v = Vectors(["a", "b", "c"], np.arange(6, dtype=np.float32).reshape(3, 2))
    path = tmp_path / "v"
    (write_word2vec_text if fmt == "text" else write_word2vec_binary)(v, path)
    path.write_bytes(path.read_bytes().replace(b"c ", b"a ", 1))
    with caplog.at_level(logging.WARNING, logger="gramfast.vectors.io"):
        out = load_vectors(path, format=fmt)
    assert out.words == ["a", "b"]
    np.testing.assert_array_equal(out.matrix, v.matrix[:2])
    assert "1 repeated words; kept the first row of each (e.g. 'a' at rows 1 and 3)" in caplog.text


def test_limit_and_sniffing(tmp_path: Path, rng) -> None:
    ref = random_vectors(rng, 6, 4)
    write_word2vec_text(ref, tmp_path / "v.vectors")
    write_word2vec_binary(ref, tmp_path / "v.data")
    save_native(ref, tmp_path / "native")
    for name in ("v.vectors", "v.data", "native"):
        out = load_vectors(tmp_path / name, limit=3)
        assert out.words == ref.words[:3]
        np.testing.assert_array_equal(out.matrix, ref.matrix[:3])
    with pytest.raises(InputError, match="vectors not found"):
        load_vectors(tmp_path / "missing.txt")


def test_output_folder(tmp_path: Path, rng) -> None:
    word, context = random_vectors(rng, 6, 4), random_vectors(rng, 5, 4)
    write_output_vectors(tmp_path, "word", word)
    write_output_vectors(tmp_path, "context", context)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["contexts", "contexts.bin", "contexts.txt", "words", "words.bin", "words.txt"]
    assert_same(load_output_vectors(tmp_path, "word"), word)
    assert_same(load_output_vectors(tmp_path, "context"), context)
    for fallback in ("words", "words.bin"):  # without the native copy, then without the binary
        p = tmp_path / fallback
        shutil.rmtree(p) if p.is_dir() else p.unlink()
        assert_same(load_output_vectors(tmp_path, "word"), word, counts=False)
    with pytest.raises(InputError, match=r"no grammar vectors in .*grammar/, grammar.bin"):
        load_output_vectors(tmp_path, "grammar")
    with pytest.raises(InputError, match="space must be one of word, context, grammar"):
        load_output_vectors(tmp_path, "heads")


def test_vectors_checks_and_most_similar(rng) -> None:
    with pytest.raises(ValueError, match=r"V = len\(words\) = 2 > 0 and D > 0; got \(3, 2\)"):
        Vectors(["a", "b"], np.ones((3, 2), dtype=np.float32))
    with pytest.raises(ValueError, match=r"words must be distinct; 'a' is at rows 0 and 2"):
        Vectors(["a", "b", "a"], np.ones((3, 2), dtype=np.float32))
    with pytest.raises(ValueError, match=r"counts must be \[V=2\]"):
        Vectors(["a", "b"], np.ones((2, 2)), counts=[1])
    v = Vectors([f"w{i}" for i in range(50)], rng.standard_normal((50, 8)))
    assert v.matrix.dtype == np.float32 and not v.matrix.flags.writeable
    got = v.most_similar(["w1", "w2"], negative=["w3"], topn=4)
    m = v.matrix.astype(np.float64)
    unit = m / np.linalg.norm(m, axis=1, keepdims=True)
    query = unit[1] + unit[2] - unit[3]
    scores = unit @ (query / np.linalg.norm(query))
    scores[[1, 2, 3]] = -np.inf
    expected = np.argsort(-scores)[:4]
    assert [w for w, _ in got] == [f"w{i}" for i in expected]
    np.testing.assert_allclose([s for _, s in got], scores[expected], rtol=1e-5)
    with pytest.raises(KeyError, match="'nope' is not in the vocabulary of 50 words"):
        v.vector("nope")
    with pytest.raises(ValueError, match="needs at least one word"):
        v.most_similar([])


def test_gensim_reads_ours_and_we_read_gensim(tmp_path: Path, rng) -> None:
    models = pytest.importorskip("gensim.models", reason="gensim is not installed (dev extra)")
    ref = random_vectors(rng, 7, 9)
    write_word2vec_text(ref, tmp_path / "ours.txt")
    write_word2vec_binary(ref, tmp_path / "ours.bin")
    for name, binary in (("ours.txt", False), ("ours.bin", True)):
        kv = models.KeyedVectors.load_word2vec_format(tmp_path / name, binary=binary)
        assert list(kv.index_to_key) == ref.words
        np.testing.assert_array_equal(kv.vectors, ref.matrix)
        kv.save_word2vec_format(tmp_path / f"gensim-{name}", binary=binary)
        out = load_vectors(tmp_path / f"gensim-{name}", format="binary" if binary else "text")
        assert_same(out, ref, counts=False)


@pytest.mark.slow
def test_spacy_init_vectors_imports_text(tmp_path: Path, rng) -> None:
    spacy = pytest.importorskip("spacy", reason="spaCy is not installed")
    ref = random_vectors(rng, 7, 6)
    write_word2vec_text(ref, tmp_path / "words.txt")
    cmd = [sys.executable, "-m", "spacy", "init", "vectors", "en", "words.txt", "model"]
    done = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    nlp = spacy.load(tmp_path / "model")
    assert nlp.vocab.vectors.shape == (7, 6)
    for w in ref.words:
        np.testing.assert_array_equal(nlp.vocab.get_vector(w), ref.vector(w))


@pytest.mark.parametrize("fmt,where", [("text", "line 3"), ("binary", "row 2")])
def test_non_finite_values_warn(tmp_path: Path, caplog, fmt: str, where: str) -> None:
    v = Vectors(["a", "b", "c"], np.array([[1, 2], [np.nan, 0], [np.inf, 1]], dtype=np.float32))
    path = tmp_path / "v"
    (write_word2vec_text if fmt == "text" else write_word2vec_binary)(v, path)
    with caplog.at_level(logging.WARNING, logger="gramfast.vectors.io"):
        out = load_vectors(path, format=fmt)
    np.testing.assert_array_equal(out.matrix, v.matrix)
    assert f"2 rows hold NaN or infinite values (first: {where})" in caplog.text
    with pytest.raises(ValueError, match="limit must be >= 1 or None; got 0"):
        load_vectors(path, format=fmt, limit=0)
