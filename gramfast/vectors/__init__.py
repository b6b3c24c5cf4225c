"""Trained vectors: word2vec text/binary and native formats, neighbours and evaluation.

The CLI sub-app lives in ``gramfast.vectors.cli`` (imported by ``gramfast.cli`` only), so that
library users do not import typer.
"""

from .evaluate import (
    evaluate_analogies,
    evaluate_similarity,
    read_analogies,
    read_similarity_pairs,
    solve_analogies,
    spearman,
)
from .io import (
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
from .neighbors import neighbors, top_cosine

__all__ = [
    "Vectors",
    "evaluate_analogies",
    "evaluate_similarity",
    "load_native",
    "load_output_vectors",
    "load_vectors",
    "neighbors",
    "read_analogies",
    "read_similarity_pairs",
    "read_word2vec_binary",
    "read_word2vec_text",
    "save_native",
    "solve_analogies",
    "spearman",
    "top_cosine",
    "write_output_vectors",
    "write_word2vec_binary",
    "write_word2vec_text",
]
