"""The store format: round trips, verification, refusal of incomplete stores."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from gramfast.corpus.store import (
    DocArrays,
    ParsedStore,
    StoreWriter,
    read_manifest,
    verify_store,
)
from gramfast.errors import StoreError

HEADER = {"source": "test", "label_scheme": "ud", "has_parse": True, "pipeline": {}}


def _random_doc(writer: StoreWriter, rng: np.random.Generator, n_sent: int) -> tuple:
    """A document of random sentences with random trees; returns (DocArrays, forms, labels)."""
    forms, labels, heads, starts = [], [], [], []
    for _ in range(n_sent):
        n = int(rng.integers(1, 12))
        base = len(forms)
        starts.append(base)
        root = int(rng.integers(n))
        for i in range(n):
            forms.append(f"w{int(rng.integers(50))}")
            labels.append(f"l{int(rng.integers(5))}")
            heads.append(base + (root if i != root else i))
    doc = DocArrays(
        words=np.array([writer.strings.get(f) for f in forms], np.int32),
        heads=np.array(heads, np.int64),
        labels=np.array([writer.labels.get(x) for x in labels]),
        pos=np.array([writer.pos.get("X") for _ in forms]),
        tags=np.array([writer.tags.get("XX") for _ in forms]),
        spaces=rng.random(len(forms)) < 0.8,
        sent_starts=np.array(starts, np.int64),
    )
    return doc, forms, labels


def _write_store(root: Path, rng: np.random.Generator, n_docs: int = 30, shard_size: int = 100):
    writer = StoreWriter(root, HEADER, shard_size)
    docs = [_random_doc(writer, rng, int(rng.integers(1, 5))) for _ in range(n_docs)]
    for doc, _, _ in docs:
        writer.add(doc)
    writer.finish()
    return docs


def test_round_trip(tmp_path: Path, rng: np.random.Generator) -> None:
    docs = _write_store(tmp_path / "s", rng)
    store = ParsedStore(tmp_path / "s")
    assert len(store.shards) > 1
    ref_forms = [f for _, forms, _ in docs for f in forms]
    ref_labels = [x for _, _, labels in docs for x in labels]
    out_forms, out_labels, out_heads = [], [], []
    for batch in store.iter_batches(max_tokens=37):
        assert batch.sent_offsets[0] == 0 and batch.sent_offsets[-1] == batch.words.shape[0]
        out_forms += [store.strings[w] for w in batch.words.tolist()]
        out_labels += [store.labels[x] for x in batch.labels.tolist()]
        sent = np.repeat(np.arange(len(batch.sent_offsets) - 1), np.diff(batch.sent_offsets))
        assert (sent[batch.heads] == sent).all(), "a head left its sentence"
        out_heads.append(batch.heads - batch.sent_offsets[sent])
    assert out_forms == ref_forms
    assert out_labels == ref_labels
    ref_heads = np.concatenate(
        [
            d.heads - np.repeat(d.sent_starts, np.diff(np.append(d.sent_starts, d.n_tokens)))
            for d, _, _ in docs
        ]
    )
    np.testing.assert_array_equal(np.concatenate(out_heads), ref_heads)
    assert store.n_tokens == len(ref_forms)
    assert store.n_documents == len(docs)
    assert verify_store(tmp_path / "s") == []


def test_lower_is_a_view(tmp_path: Path) -> None:
    writer = StoreWriter(tmp_path / "s", HEADER, 1000)
    forms = ["The", "the", "THE", "Cat"]
    writer.add(
        DocArrays(
            words=np.array([writer.strings.get(f) for f in forms], np.int32),
            heads=np.arange(4),
            labels=np.zeros(4, int),
            pos=np.zeros(4, int),
            tags=np.zeros(4, int),
            spaces=np.ones(4, bool),
            sent_starts=np.array([0]),
        )
    )
    writer.finish()
    store = ParsedStore(tmp_path / "s")
    lower_ids, lower_forms = store.lower
    assert store.strings == forms
    assert [lower_forms[i] for i in lower_ids] == ["the", "the", "the", "cat"]
    assert store.document_text(0, 0) == "The the THE Cat "


def test_incomplete_store_is_refused(tmp_path: Path, rng: np.random.Generator) -> None:
    writer = StoreWriter(tmp_path / "s", HEADER, 50)
    for _ in range(10):
        writer.add(_random_doc(writer, rng, 3)[0])
    assert read_manifest(tmp_path / "s")["complete"] is False
    with pytest.raises(StoreError, match="incomplete store .* run the same `gramfast parse`"):
        ParsedStore(tmp_path / "s")
    assert any("incomplete" in p for p in verify_store(tmp_path / "s"))


def test_verify_catches_one_flipped_byte(tmp_path: Path, rng: np.random.Generator) -> None:
    _write_store(tmp_path / "s", rng)
    target = tmp_path / "s" / "shard-000001" / "heads.npy"
    data = bytearray(target.read_bytes())
    data[-3] ^= 0x01
    target.write_bytes(bytes(data))
    problems = verify_store(tmp_path / "s")
    assert problems == ["shard-000001: checksum mismatch in heads.npy"]


def test_verify_catches_head_outside_sentence(tmp_path: Path, rng: np.random.Generator) -> None:
    _write_store(tmp_path / "s", rng)
    shard = tmp_path / "s" / "shard-000000"
    heads = np.load(shard / "heads.npy")
    so = np.load(shard / "sent_offsets.npy")
    heads[0] = so[1]  # first token of sentence 0 now points into sentence 1
    np.save(shard / "heads.npy", heads)
    manifest = json.loads((tmp_path / "s" / "manifest.json").read_text())
    from gramfast.io import sha256_file

    manifest["shards"][0]["sha256"]["heads.npy"] = sha256_file(shard / "heads.npy")
    (tmp_path / "s" / "manifest.json").write_text(json.dumps(manifest))
    problems = verify_store(tmp_path / "s")
    assert len(problems) == 1 and "token 0 (sentence 0) has head" in problems[0]


def test_not_a_store(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=r"is not a gramfast store .*`gramfast parse`"):
        ParsedStore(tmp_path)


def test_release_pages_unmaps_and_maps_again(tmp_path: Path) -> None:
    from tests.helpers import synthetic_store

    store = ParsedStore(synthetic_store(tmp_path / "s", n_sentences=50))
    before = store.batch(0, 0, 10)
    held = store.shards[0].words  # a view kept across the release stays valid
    assert "words" in vars(store.shards[0])
    store.release_pages(0)
    assert not any(isinstance(v, np.ndarray) for v in vars(store.shards[0]).values())
    after = store.batch(0, 0, 10)
    assert np.array_equal(before.words, after.words) and np.array_equal(held, store.shards[0].words)
    assert np.array_equal(before.heads, after.heads)
