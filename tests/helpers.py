"""Shared test helpers: data location, tolerances and a verbose assert_close."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

# Absolute and relative tolerances per dtype of the fast implementation's output.
TOLERANCES: dict[str, tuple[float, float]] = {
    "float64": (1e-10, 1e-10),
    "float32": (1e-5, 1e-4),
    "bfloat16": (1e-2, 2e-2),
    "float16": (1e-3, 5e-3),
}


def data_dir() -> Path | None:
    """Where the shared data lives: $GRAMFAST_DATA, else ../shared/data beside the checkout."""
    env = os.environ.get("GRAMFAST_DATA")
    candidates = [Path(env)] if env else []
    candidates += [ROOT.parent / "shared" / "data", ROOT / "shared" / "data"]
    for c in candidates:
        if (c / "corpus").is_dir() or (c / "treebank").is_dir():
            return c
    return None


def assert_close(actual, expected, *, atol: float, rtol: float, name: str = "value") -> None:
    """Assert elementwise closeness; on failure report max abs error, relative RMS, worst index."""
    a = np.asarray(_to_numpy(actual), dtype=np.float64)
    e = np.asarray(_to_numpy(expected), dtype=np.float64)
    if a.shape != e.shape:
        raise AssertionError(f"{name}: shape {a.shape} != expected {e.shape}")
    if a.size == 0:
        return
    if np.isnan(a).any() and not np.isnan(e).any():
        idx = np.unravel_index(int(np.argmax(np.isnan(a))), a.shape)
        raise AssertionError(f"{name}: NaN at {idx} (an element was never written?)")
    err = np.abs(a - e)
    bad = err > atol + rtol * np.abs(e)
    if bad.any():
        worst = np.unravel_index(int(np.argmax(err - rtol * np.abs(e))), a.shape)
        rms = float(np.sqrt(np.mean(err**2)) / max(np.sqrt(np.mean(e**2)), 1e-30))
        raise AssertionError(
            f"{name}: {int(bad.sum())}/{a.size} elements off; "
            f"max abs error {float(err.max()):.3e}, "
            f"relative RMS {rms:.3e}, worst at {worst}: got {a[worst]!r}, expected {e[worst]!r}"
        )


def _to_numpy(x):
    if hasattr(x, "detach"):
        import torch

        if x.dtype in (torch.bfloat16, torch.float16):
            x = x.float()  # NumPy has no bfloat16; float64 stays float64
        return x.detach().cpu().numpy()
    return x


SYNTH_LABELS = ("nsubj", "dobj", "amod", "det", "advmod", "prep", "pobj", "punct", "compound")
SYNTH_POS = ("NOUN", "VERB", "ADJ", "DET", "ADV", "ADP", "PUNCT", "PROPN")


def synthetic_store(root: Path, *, n_sentences: int = 400, vocab: int = 300, seed: int = 0):
    """A parsed store of random trees over Zipf-distributed words, spaCy label scheme.

    No model and no shared data are needed, so tests that use it run everywhere.
    """
    from gramfast.corpus.store import DocArrays, StoreWriter

    rng = np.random.default_rng(seed)
    header = {"source": "synthetic", "label_scheme": "spacy", "has_parse": True, "pipeline": {}}
    writer = StoreWriter(Path(root), header, shard_size=2000)
    ranks = np.arange(1, vocab + 1, dtype=np.float64)
    p = (1.0 / ranks) / (1.0 / ranks).sum()
    for _ in range(n_sentences // 4):
        words, heads, labels, pos, starts = [], [], [], [], []
        for _ in range(4):
            n = int(rng.integers(2, 15))
            base = len(words)
            starts.append(base)
            root_i = int(rng.integers(n))
            for i in range(n):
                words.append(f"w{int(rng.choice(vocab, p=p))}")
                heads.append(base + (i if i == root_i else int(rng.integers(n))))
                labels.append("ROOT" if i == root_i else SYNTH_LABELS[int(rng.integers(9))])
                pos.append(SYNTH_POS[int(rng.integers(len(SYNTH_POS)))])
            # make every tree acyclic: point each non-root token at an earlier root path
            for i in range(n):
                if i != root_i:
                    j = int(rng.integers(n))
                    heads[base + i] = base + (root_i if j == i else j if j < i else root_i)
        writer.add(
            DocArrays(
                words=np.array([writer.strings.get(w) for w in words], np.int32),
                heads=np.array(heads, np.int64),
                labels=np.array([writer.labels.get(x) for x in labels]),
                pos=np.array([writer.pos.get(x) for x in pos]),
                tags=np.array([writer.tags.get(x) for x in pos]),
                spaces=np.ones(len(words), bool),
                sent_starts=np.array(starts, np.int64),
            )
        )
    writer.finish()
    return Path(root)


def zipf_store(
    root: Path, *, n_tokens: int, vocab: int, seed: int = 0, shard_size: int = 1_000_000
) -> Path:
    """A large synthetic store, built vectorised: Zipf(1) words, random trees, spaCy labels.

    Each sentence (3 to 30 tokens) is a tree rooted at its first token; every other token hangs
    from a uniformly chosen earlier one. Used by benchmarks that need millions of tokens.
    """
    from gramfast.corpus.store import DocArrays, StoreWriter

    rng = np.random.default_rng(seed)
    header = {"source": "synthetic", "label_scheme": "spacy", "has_parse": True, "pipeline": {}}
    writer = StoreWriter(Path(root), header, shard_size=shard_size)
    for name in (f"w{i}" for i in range(vocab)):
        writer.strings.get(name)
    label_ids = np.array([writer.labels.get(x) for x in SYNTH_LABELS])
    pos_ids = np.array([writer.pos.get(x) for x in SYNTH_POS])
    tag_ids = np.array([writer.tags.get(x) for x in SYNTH_POS])
    root_label = writer.labels.get("ROOT")
    cdf = np.cumsum(1.0 / np.arange(1, vocab + 1))
    cdf /= cdf[-1]
    done = 0
    while done < n_tokens:
        lengths = rng.integers(3, 31, size=64)
        n = int(lengths.sum())
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        offset = np.arange(n) - np.repeat(starts, lengths)  # position within the sentence
        heads = np.repeat(starts, lengths) + np.floor(rng.random(n) * offset).astype(np.int64)
        labels = label_ids[rng.integers(len(label_ids), size=n)]
        labels[starts] = root_label
        pos = rng.integers(len(pos_ids), size=n)
        writer.add(
            DocArrays(
                words=np.searchsorted(cdf, rng.random(n)).astype(np.int32),
                heads=heads,
                labels=labels,
                pos=pos_ids[pos],
                tags=tag_ids[pos],
                spaces=np.ones(n, bool),
                sent_starts=starts.astype(np.int64),
            )
        )
        done += n
    writer.finish()
    return Path(root)


# Levy & Goldberg (2014), figure 1: "Australian scientist discovers star with telescope".
PAPER_CONTEXTS = {
    ("discovers", "nsubj_scientist"),
    ("discovers", "dobj_star"),
    ("discovers", "prep_with_telescope"),
    ("scientist", "amod_australian"),
    ("scientist", "nsubjI_discovers"),
    ("star", "dobjI_discovers"),
    ("telescope", "prep_withI_discovers"),
    ("australian", "amodI_scientist"),
}
