"""Contexts stage: a parsed store -> vocabularies and (word, context) pair batches."""

from .extract import ContextKind, ContextsConfig, Extractor, form_table, label_roles
from .stream import ContextCounts, PairStream, block_spans, count_contexts, read_block
from .subsample import keep_probabilities, subsample_mask
from .vocab import KeyCounter, Vocab
from .word2vecf import write_word2vecf

__all__ = [
    "ContextCounts",
    "ContextKind",
    "ContextsConfig",
    "Extractor",
    "KeyCounter",
    "PairStream",
    "Vocab",
    "block_spans",
    "count_contexts",
    "form_table",
    "keep_probabilities",
    "label_roles",
    "read_block",
    "subsample_mask",
    "write_word2vecf",
]
