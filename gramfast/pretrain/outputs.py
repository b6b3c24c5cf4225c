"""Write a run's vectors (word2vec text and binary, native) and vocabularies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..vectors.io import Vectors, write_output_vectors


def write_outputs(out: Path, spaces: list[Any]) -> None:
    """``words``/``contexts`` from the word space, ``grammar``/``grammar-contexts`` from grammar.

    Vocabularies with counts go beside them as ``vocab.<space>.tsv``.
    """
    for s in spaces:
        words, contexts = s.counts.words, s.counts.contexts
        if s.name == "word":
            write_output_vectors(out, "word", Vectors(words.tokens, s.word_vectors, words.counts))
            write_output_vectors(
                out, "context", Vectors(contexts.tokens, s.context_vectors, contexts.counts)
            )
            words.save_tsv(Path(out) / "vocab.words.tsv")
            contexts.save_tsv(Path(out) / "vocab.contexts.tsv")
        else:
            write_output_vectors(
                out, "grammar", Vectors(words.tokens, s.word_vectors, words.counts)
            )
            words.save_tsv(Path(out) / "vocab.grammar.tsv")
            contexts.save_tsv(Path(out) / "vocab.grammar-contexts.tsv")
