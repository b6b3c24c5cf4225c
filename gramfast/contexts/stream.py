"""Counting pass and pair stream over a whole store, one block of sentences at a time.

A block is a run of whole sentences of one shard, at most ``block_tokens`` tokens (a longer
sentence alone). Memory is bounded by the block: no pass ever holds every pair at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from ..corpus.store import ParsedStore, SentenceBatch
from ..errors import InputError
from .extract import ContextsConfig, Extractor
from .subsample import keep_probabilities
from .vocab import KeyCounter, Vocab

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Block:
    shard: int
    start: int  # first sentence
    stop: int  # one past the last sentence


def block_spans(store: ParsedStore, block_tokens: int) -> list[Block]:
    """The store cut into runs of whole sentences of at most ``block_tokens`` tokens."""
    if block_tokens < 1:
        raise InputError(f"block_tokens must be >= 1; got {block_tokens}: use 1 << 20")
    return [Block(*span) for span in store.sentence_spans(block_tokens)]


def read_block(store: ParsedStore, block: Block) -> SentenceBatch:
    return store.batch(block.shard, block.start, block.stop)


def iter_blocks(store: ParsedStore, blocks: list[Block]) -> Iterator[tuple[Block, SentenceBatch]]:
    """Read ``blocks`` in order; a shard's memory maps are dropped when the loop leaves it, so
    that a pass over the store does not keep every page it read resident."""
    last = None
    for block in blocks:
        if last is not None and block.shard != last:
            store.release_pages(last)
        last = block.shard
        yield block, read_block(store, block)
    if last is not None:
        store.release_pages(last)


def _where(block: Block) -> str:
    return f"shard {block.shard}, sentences {block.start}..{block.stop - 1}:"


@dataclass
class ContextCounts:
    """Vocabularies of one store and config, with the extractor whose keys they use."""

    extractor: Extractor
    words: Vocab
    contexts: Vocab
    n_tokens: int  # non-space tokens
    n_pairs: int  # before any filtering


def count_contexts(
    store: ParsedStore,
    cfg: ContextsConfig,
    block_tokens: int = 1 << 20,
    progress: Callable[[int], None] | None = None,
) -> ContextCounts:
    """One pass over the store: word (construction) and context counts, cut to vocabularies.

    Words are counted over non-space tokens, contexts over every extracted pair. A word is kept
    when counted at least ``cfg.min_count`` times, a context at least ``cfg.context_min_count``
    times; a pair is used only when both its word and its context are kept.

    Raises:
        InputError: an empty store, a store without parse for deps/grammar, a damaged tree, or
            a minimum count that leaves an empty vocabulary.
    """
    ex = Extractor(store, cfg)
    words, contexts = KeyCounter(), KeyCounter()
    n_tokens = n_pairs = 0
    for block, batch in iter_blocks(store, block_spans(store, block_tokens)):
        wk = ex.word_keys(batch)
        wk = wk[wk >= 0]
        words.add(wk)
        _, ck, _ = ex.pairs(batch, _where(block))
        contexts.add(ck)
        n_tokens += wk.shape[0]
        n_pairs += ck.shape[0]
        if progress is not None:
            progress(batch.words.shape[0])
    if n_pairs == 0:
        raise InputError(
            f"{store.root} gives no {cfg.kind.value} pairs ({n_tokens} words): "
            "give a corpus with sentences of two or more words"
        )
    wkeys, wcounts = words.result()
    ckeys, ccounts = contexts.result()
    what = "constructions" if cfg.kind.value == "grammar" else "words"
    wv = Vocab.build(wkeys, wcounts, ex.word_strings, cfg.min_count, cfg.max_words, what)
    cv = Vocab.build(
        ckeys,
        ccounts,
        ex.context_strings,
        cfg.context_min_count,
        cfg.max_contexts,
        "contexts",
        "--min-context-count" if cfg.min_context_count is not None else "--min-count",
    )
    return ContextCounts(ex, wv, cv, n_tokens, n_pairs)


def block_pairs(
    counts: ContextCounts,
    batch: SentenceBatch,
    where: str = "batch",
    rng: np.random.Generator | None = None,
):
    """(word ids int32, context ids int32, target tokens int32) of the surviving pairs."""
    wk, ck, tok = counts.extractor.pairs(batch, where, rng)
    wi, ci = counts.words.lookup(wk), counts.contexts.lookup(ck)
    keep = (wi >= 0) & (ci >= 0)
    return wi[keep], ci[keep], tok[keep]


class PairStream:
    """Shuffled fixed-size (word ids, context ids) int32 batches, epoch by epoch.

    Each epoch visits the blocks in an order drawn from ``(seed, epoch)``, subsamples frequent
    words (a dropped occurrence loses all its pairs), shuffles the pairs within the block and
    cuts them into batches of ``batch_size``; the remainder carries over to the next block. The
    last batch of an epoch may be shorter (dropped with ``drop_last``).

    Example:
        >>> counts = count_contexts(store, ContextsConfig(kind="deps"))   # doctest: +SKIP
        >>> for words, contexts in PairStream(store, counts, 4096).epoch(0):  # doctest: +SKIP
        ...     pass
    """

    def __init__(
        self,
        store: ParsedStore,
        counts: ContextCounts,
        batch_size: int,
        *,
        block_tokens: int = 1 << 20,
        subsample: float = 0.0,
        seed: int = 0,
        drop_last: bool = False,
    ) -> None:
        if batch_size < 1:
            raise InputError(f"batch_size must be >= 1; got {batch_size}: use 4096 or so")
        self.store, self.counts, self.batch_size = store, counts, batch_size
        self.blocks = block_spans(store, block_tokens)
        self.keep_prob = keep_probabilities(counts.words.counts, subsample, counts.n_tokens)
        self.subsample, self.seed, self.drop_last = subsample, seed, drop_last

    def epoch(self, epoch: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        rng = np.random.default_rng([self.seed, epoch])
        carry_w = np.zeros(0, dtype=np.int32)
        carry_c = np.zeros(0, dtype=np.int32)
        bs = self.batch_size
        for k in rng.permutation(len(self.blocks)).tolist():
            block = self.blocks[k]
            batch = read_block(self.store, block)
            window_rng = np.random.default_rng([self.seed, epoch, k])
            wi, ci, tok = block_pairs(self.counts, batch, _where(block), window_rng)
            # NOTE: a streamed epoch reads every page of the store; unmapping each block's shard
            # keeps them from adding up in the resident set (re-mapping costs microseconds).
            self.store.release_pages(block.shard)
            if self.subsample > 0:
                draws = rng.random(batch.words.shape[0])
                keep = draws[tok] < self.keep_prob[wi]
                wi, ci = wi[keep], ci[keep]
            perm = rng.permutation(wi.shape[0])
            w = np.concatenate([carry_w, wi[perm]])
            c = np.concatenate([carry_c, ci[perm]])
            n_full = w.shape[0] // bs * bs
            for i in range(0, n_full, bs):
                yield w[i : i + bs], c[i : i + bs]
            carry_w, carry_c = w[n_full:], c[n_full:]
        if carry_w.shape[0] and not self.drop_last:
            yield carry_w, carry_c
