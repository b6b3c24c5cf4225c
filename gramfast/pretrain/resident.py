"""The device feed: a space's pairs held in device memory, each epoch drawn on the device.

Dependency pairs are a fixed function of the trees, so they are extracted once (numba, on the
host, one pass over the store) and copied to the device with, per pair, its target token; window
pairs are extracted at the full width k with their distance. What changes from epoch to epoch
is drawn on the device, with a generator seeded by (seed, space, epoch):

- subsampling: one uniform draw per token, and a pair survives when its target's draw is below
  the target word's keep probability, so a dropped occurrence loses all its pairs (as the host
  stream does);
- word2vec's shrinking window (``--dynamic-window``): one span in 1..k per token, and a pair
  survives when its distance is at most its target's span;
- the order: segments (runs of whole blocks, at most ``segment_pairs`` pairs; the shared 20M-word
  corpus is one segment) in a permuted order, and a full permutation of the pairs inside each.

Batches are slices of the permuted pairs, so the trainer's kernel reads them where they lie: no
host extraction, no host-to-device copy and no host synchronisation per batch (one per segment,
to learn how many pairs survived). Memory: 12 bytes a pair (13 for window pairs), plus the
segment being drawn: ``bytes_needed`` tells, and the trainer falls back to the host feed when it
does not fit.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from ..contexts.extract import ContextKind
from ..contexts.stream import _where, iter_blocks

log = logging.getLogger(__name__)

SEGMENT_PAIRS = 1 << 25  # pairs permuted together (about 33M)
BYTES_PER_PAIR = 12  # word id, context id, target token: int32 each (+1 distance for window)


class ResidentPairs:
    """All pairs of one space on ``device``, grouped in segments of whole blocks.

    Args:
        space: the trainer's Space (its counts, stream and keep probabilities).
        device: where the pairs live.
        dynamic_window: redraw word2vec's shrinking window each epoch (window contexts only).
        segment_pairs: at most this many pairs are permuted together (one segment).

    Example:
        >>> pairs = ResidentPairs(space, torch.device("cuda"))         # doctest: +SKIP
        >>> for w, c in pairs.epoch(0, batch_size=1 << 20, seed=0):    # doctest: +SKIP
        ...     pass  # int32 device tensors, one batch each
    """

    def __init__(
        self,
        space: Any,
        device: torch.device,
        dynamic_window: bool = False,
        segment_pairs: int = SEGMENT_PAIRS,
    ) -> None:
        stream, counts = space.stream, space.counts
        ex = counts.extractor
        self.device = device
        self.window = ex.cfg.kind == ContextKind.window
        self.k = ex.cfg.window if self.window else 0
        self.dynamic = bool(dynamic_window and self.window)
        self.subsample = stream.subsample > 0
        self.keep_prob = torch.from_numpy(stream.keep_prob.astype(np.float32)).to(device)
        # per segment: words, contexts, target tokens (segment-local), distances, token count
        self.segments: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor, Any, int]] = []
        parts: list[tuple[np.ndarray, ...]] = []
        n_pairs = n_tokens = 0
        for block, batch in iter_blocks(stream.store, stream.blocks):
            if self.window:
                wk, ck, tok, dist = ex.window_distances(batch)
            else:
                wk, ck, tok = ex.pairs(batch, _where(block))
                dist = None
            wi, ci = counts.words.lookup(wk), counts.contexts.lookup(ck)
            keep = (wi >= 0) & (ci >= 0)
            tok = tok[keep].astype(np.int32) + np.int32(n_tokens)
            parts.append((wi[keep], ci[keep], tok, None if dist is None else dist[keep]))
            n_pairs += int(keep.sum())
            n_tokens += batch.words.shape[0]
            if n_pairs >= segment_pairs:
                self._add_segment(parts, n_tokens)
                parts, n_pairs, n_tokens = [], 0, 0
        if parts:
            self._add_segment(parts, n_tokens)
        self.n_pairs = sum(int(s[0].shape[0]) for s in self.segments)
        log.info(
            "%s space: %d pairs held on %s in %d segment(s), %.0f MB",
            space.name,
            self.n_pairs,
            device,
            len(self.segments),
            self.n_pairs * (BYTES_PER_PAIR + self.window) / 1e6,
        )

    def _add_segment(self, parts: list[tuple[np.ndarray, ...]], n_tokens: int) -> None:
        def cat(i: int) -> torch.Tensor:
            return torch.from_numpy(np.concatenate([p[i] for p in parts])).to(self.device)

        dist = cat(3) if self.dynamic else None
        self.segments.append((cat(0), cat(1), cat(2), dist, n_tokens))

    def select(self, segment: int, gen: torch.Generator) -> torch.Tensor:
        """int64 indices of the segment's pairs that survive this draw, in a random order."""
        words, _, tokens, dist, n_tokens = self.segments[segment]
        keep = None
        if self.subsample:
            draws = torch.rand(n_tokens, generator=gen, device=self.device)
            keep = draws[tokens] < self.keep_prob[words]
        if self.dynamic:
            spans = torch.randint(1, self.k + 1, (n_tokens,), generator=gen, device=self.device)
            inside = dist <= spans.to(dist.dtype)[tokens]
            keep = inside if keep is None else keep & inside
        if keep is None:
            index = torch.arange(words.shape[0], device=self.device)
        else:
            index = keep.nonzero().squeeze(1)  # the one host synchronisation of a segment
        order = torch.randperm(index.shape[0], generator=gen, device=self.device)
        return index[order]

    def epoch(self, epoch: int, batch_size: int, seed: int) -> Iterator[tuple[torch.Tensor, ...]]:
        """The epoch's batches, int32 (words, contexts) on the device; the last may be short."""
        gen = torch.Generator(device=self.device)
        gen.manual_seed(int(np.random.default_rng([seed, epoch, 101]).integers(1 << 62)))
        order = np.random.default_rng([seed, epoch, 103]).permutation(len(self.segments))
        carry: tuple[torch.Tensor, torch.Tensor] | None = None
        for s in order.tolist():
            index = self.select(s, gen)
            w, c = self.segments[s][0][index], self.segments[s][1][index]
            if carry is not None:
                w, c = torch.cat([carry[0], w]), torch.cat([carry[1], c])
            n_full = w.shape[0] // batch_size * batch_size
            for i in range(0, n_full, batch_size):
                yield w[i : i + batch_size], c[i : i + batch_size]
            carry = (w[n_full:], c[n_full:]) if n_full < w.shape[0] else None
        if carry is not None:
            yield carry


def bytes_needed(space: Any, window: bool) -> int:
    """Device bytes the resident pairs of ``space`` take (all pairs at full width for window
    contexts, whose expected count is not known before extraction: an upper bound from k)."""
    stream = space.stream
    per_pair = BYTES_PER_PAIR + int(window)
    if window:
        k = space.counts.extractor.cfg.window
        return int(space.counts.n_tokens * 2 * k * per_pair)
    return int(space.counts.n_pairs * per_pair) + int(stream.keep_prob.size * 4)
