"""Write a run's vectors (word2vec text and binary, native) and vocabularies."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from ..vectors.io import Vectors, write_output_vectors

log = logging.getLogger(__name__)


def _distinct(tokens: list[str], matrix: np.ndarray, counts: np.ndarray, what: str) -> Vectors:
    """Vectors with one row per string: where two keys render alike (a form that contains
    ``_`` can spell another relation's context), the more frequent row is kept."""
    seen: set[str] = set()
    keep = [i for i, t in enumerate(tokens) if not (t in seen or seen.add(t))]
    if len(keep) < len(tokens):
        log.warning("%s: %d rows share a string with a more frequent row and are left out",
                    what, len(tokens) - len(keep))  # fmt: skip
        idx = np.array(keep)
        return Vectors([tokens[i] for i in keep], matrix[idx], counts[idx])
    return Vectors(tokens, matrix, counts)


def write_outputs(out: Path, spaces: list[Any]) -> None:
    """``words``/``contexts`` from the word space, ``grammar`` from the grammar space.

    Vocabularies with counts go beside them as ``vocab.<space>.tsv``.
    """
    for s in spaces:
        words, contexts = s.counts.words, s.counts.contexts
        if s.name == "word":
            write_output_vectors(
                out, "word", _distinct(words.tokens, s.word_vectors, words.counts, "words")
            )
            write_output_vectors(
                out,
                "context",
                _distinct(contexts.tokens, s.context_vectors, contexts.counts, "contexts"),
            )
            words.save_tsv(Path(out) / "vocab.words.tsv")
            contexts.save_tsv(Path(out) / "vocab.contexts.tsv")
        else:
            write_output_vectors(
                out, "grammar", _distinct(words.tokens, s.word_vectors, words.counts, "grammar")
            )
            words.save_tsv(Path(out) / "vocab.grammar.tsv")
            contexts.save_tsv(Path(out) / "vocab.grammar-contexts.tsv")
