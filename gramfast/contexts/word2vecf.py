"""word2vecf's input: one ``word context`` pair a line, plus word and context count files.

Output folder::

    pairs.txt      one surviving pair a line, ``word context``, in store order
    words.tsv      ``word<TAB>count`` by frequency (word2vecf -wvocab; constructions for grammar)
    contexts.tsv   ``context<TAB>count`` by frequency (word2vecf -cvocab)
    contexts.json  the configuration and the counts of this run

Then, for example: ``word2vecf -train pairs.txt -wvocab words.tsv -cvocab contexts.tsv
-output vecs -size 300 -negative 15 -threads 8``.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..corpus.store import ParsedStore
from ..errors import InputError
from ..io import atomic_write_json
from .extract import ContextsConfig
from .stream import _where, block_pairs, block_spans, count_contexts, read_block

log = logging.getLogger(__name__)


def write_word2vecf(
    store: str | Path,
    out: str | Path,
    cfg: ContextsConfig,
    *,
    block_tokens: int = 1 << 20,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Count, filter and write a store's pairs in word2vecf's format (see the module docstring).

    Args:
        store: a complete parsed store.
        out: output folder (created; existing files in it are replaced).
        cfg: what to extract and the minimum counts.
        block_tokens: tokens per block of sentences read at once.
        progress: called with the number of tokens of each block read (two passes).

    Returns:
        The summary written to contexts.json.

    Raises:
        InputError, StoreError: a missing, incomplete or damaged store, a store without parse
            for deps/grammar, or minimum counts that leave nothing.
    """
    store = ParsedStore(store)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} is a file: give a folder for pairs.txt and the counts")
    out.mkdir(parents=True, exist_ok=True)
    counts = count_contexts(store, cfg, block_tokens, progress)
    words = np.array(counts.words.tokens, dtype=object)
    contexts = np.array(counts.contexts.tokens, dtype=object)

    n_written = 0
    tmp = out / f".pairs.txt.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        for block in block_spans(store, block_tokens):
            batch = read_block(store, block)
            wi, ci, _ = block_pairs(counts, batch, _where(block))
            if wi.size:
                f.write("\n".join(map(" ".join, zip(words[wi], contexts[ci]))))
                f.write("\n")
            n_written += wi.shape[0]
            if progress is not None:
                progress(batch.words.shape[0])
    os.replace(tmp, out / "pairs.txt")
    counts.words.save_tsv(out / "words.tsv")
    counts.contexts.save_tsv(out / "contexts.tsv")

    summary = {
        "store": str(store.root),
        "config": {k: getattr(v, "value", v) for k, v in dataclasses.asdict(cfg).items()},
        "tokens": counts.n_tokens,
        "pairs_extracted": counts.n_pairs,
        "pairs_written": n_written,
        "words": len(counts.words),
        "contexts": len(counts.contexts),
    }
    atomic_write_json(out / "contexts.json", summary)
    log.info(
        "wrote %d pairs, %d words, %d contexts to %s", n_written, len(words), len(contexts), out
    )
    return summary
