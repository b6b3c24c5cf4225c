"""Fast CPU inference for a one-layer ``SentenceLSTM``: the input projection is a table lookup.

At inference the LSTM's input at a token is the concatenation of one embedding row per feature,
so its input projection ``W_ih x + b`` is a sum of one projected row per feature:

    W_ih x = Σ_f W_ih[:, cols_f] E_f[id_f]

``ProjectedLSTM`` projects each embedding row the first time a batch uses it and keeps it
(``RowCache``; rows of both directions side by side, 8H floats a row), so a stream of batches
multiplies each vocabulary row by ``W_ih`` once instead of every token by it. What remains per
token is the recurrence ``h W_hh``, a quarter to a fifth of the work at the accuracy runs' shape
(E = 600, H = 150). The recurrence runs over the batch sorted by length, in the time-major
order of a packed sequence: at step t the first ``n_t`` sentences are the ones still running, so
the backward direction starts each sentence at its last token from a zero state, as
``pack_padded_sequence`` does, and the max over time is kept as a running maximum.

The logits equal ``SentenceLSTM.forward`` in eval mode up to float32 rounding (tested); the
cache holds the rows of the weights it was built from, so build a new predictor after training.
"""

from __future__ import annotations

import numpy as np
import torch

from .features import Encoded
from .model import SentenceLSTM


class RowCache:
    """Projected rows of one embedding table, filled on first use.

    Args:
        embed: the feature's ``SplitEmbedding`` (rows by id; id 0 is the zero padding row).
        weight: [D, 8H] float32, the feature's columns of both directions' ``W_ih``, transposed.
        bias: [8H] added to every projected row (the LSTM's biases go into one feature's cache).
    """

    def __init__(
        self, embed: torch.nn.Module, weight: torch.Tensor, bias: torch.Tensor | None = None
    ) -> None:
        self.embed, self.weight = embed, weight
        self.bias = torch.zeros(weight.shape[1]) if bias is None else bias
        n_rows = embed.n_free + embed.n_vocab
        self.slot = np.full(n_rows, -1, dtype=np.int64)  # id -> row of ``rows`` (-1: not yet)
        self.rows = torch.empty((0, weight.shape[1]), dtype=weight.dtype)
        self.size = 0

    def __len__(self) -> int:
        return self.size

    def _grow(self, need: int) -> None:
        cap = self.rows.shape[0]
        if need <= cap:
            return
        new = torch.empty((max(need, 2 * cap, 1024), self.rows.shape[1]), dtype=self.rows.dtype)
        new[: self.size] = self.rows[: self.size]
        self.rows = new

    def slots(self, ids: np.ndarray) -> np.ndarray:
        """[N] int64 ids -> [N] int64 rows of ``rows`` (projecting the ids not seen before)."""
        slots = self.slot[ids]
        missing = np.unique(ids[slots < 0])
        if missing.size:
            with torch.no_grad():
                vectors = self.embed(torch.from_numpy(missing)).float()  # [m, D]
            self._grow(self.size + missing.size)
            torch.addmm(
                self.bias, vectors, self.weight, out=self.rows[self.size : self.size + missing.size]
            )
            self.slot[missing] = np.arange(self.size, self.size + missing.size)
            self.size += missing.size
            slots = self.slot[ids]
        return slots


class ProjectedLSTM:
    """Logits of a trained one-layer bidirectional ``SentenceLSTM`` on the CPU, in float32.

    Args:
        model: the classifier; its weights are read now (build a new predictor after training).

    Raises:
        ValueError: a model this path does not cover (``supports`` says which it does).

    Example:
        >>> fast = ProjectedLSTM(model)            # doctest: +SKIP
        >>> logits = fast.logits(enc, index)       # doctest: +SKIP
    """

    def __init__(self, model: SentenceLSTM) -> None:
        if not self.supports(model):
            raise ValueError(
                "ProjectedLSTM covers one-layer bidirectional LSTMs with biases and without "
                "projections, on the CPU; run the model itself (predict_proba falls back to it)"
            )
        lstm = model.lstm
        self.hidden = lstm.hidden_size
        self.features = list(model.features)
        with torch.no_grad():
            w_ih = torch.cat([lstm.weight_ih_l0, lstm.weight_ih_l0_reverse]).float()  # [8H, E]
            bias = torch.cat([
                lstm.bias_ih_l0 + lstm.bias_hh_l0,
                lstm.bias_ih_l0_reverse + lstm.bias_hh_l0_reverse,
            ]).float()  # fmt: skip
            self.w_hh = [
                lstm.weight_hh_l0.float().t().contiguous(),  # [H, 4H]
                lstm.weight_hh_l0_reverse.float().t().contiguous(),
            ]
            self.out_w = model.out.weight.float().t().contiguous()  # [2H, L]
            self.out_b = model.out.bias.float().clone()
            self.caches: dict[str, RowCache] = {}
            col = 0
            for i, f in enumerate(self.features):
                embed = model.embed[f]
                part = w_ih[:, col : col + embed.dim].t().contiguous()  # [D_f, 8H]
                self.caches[f] = RowCache(embed, part, bias if i == 0 else None)
                col += embed.dim

    @staticmethod
    def supports(model: SentenceLSTM) -> bool:
        """Whether ``model`` is a one-layer bidirectional LSTM with biases, on the CPU."""
        lstm = model.lstm
        return (
            all(p.device.type == "cpu" for p in model.parameters())
            and lstm.num_layers == 1
            and lstm.bidirectional
            and getattr(lstm, "proj_size", 0) == 0
            and lstm.bias
        )

    @torch.no_grad()
    def logits(self, enc: Encoded, index: np.ndarray) -> torch.Tensor:
        """float32 [B, L] logits of documents ``index`` of ``enc`` (any order, lengths >= 1)."""
        index = np.asarray(index, dtype=np.int64)
        lengths = enc.lengths[index]
        if lengths.size == 0:
            return torch.empty((0, self.out_b.shape[0]))
        if lengths.min() < 1:
            raise ValueError("every document needs at least one token (Encoded pads empty ones)")
        order = np.argsort(-lengths, kind="stable")  # longest first
        sorted_len = lengths[order]
        n_steps = int(sorted_len[0])
        # batch_sizes[t]: sentences longer than t, a prefix of the sorted order.
        batch_sizes = (sorted_len[None, :] > np.arange(n_steps)[:, None]).sum(1)
        starts = np.concatenate([[0], np.cumsum(batch_sizes)])
        # Packed row (t, j) is token t of document index[order[j]].
        step = np.repeat(np.arange(n_steps), batch_sizes)
        rank = np.arange(int(starts[-1])) - np.repeat(starts[:-1], batch_sizes)
        src = enc.offsets[index[order]][rank] + step
        slots = [(self.caches[f], torch.from_numpy(self.caches[f].slots(enc.ids[f][src])))
                 for f in self.features]  # fmt: skip
        pooled = torch.empty((index.shape[0], 2 * self.hidden))
        pooled[torch.from_numpy(order)] = torch.cat(
            [self._direction(d, slots, batch_sizes, starts) for d in (0, 1)], dim=1
        )  # back to the order of ``index``
        return torch.addmm(self.out_b, pooled, self.out_w)

    def _direction(
        self,
        d: int,
        slots: list[tuple[RowCache, torch.Tensor]],
        batch_sizes: np.ndarray,
        starts: np.ndarray,
    ) -> torch.Tensor:
        """Max over time of direction d's hidden states (1: backward): [B, H], sorted order."""
        hid = self.hidden
        h4 = 4 * hid
        w_hh = self.w_hh[d]
        tables = [cache.rows[: len(cache), d * h4 : (d + 1) * h4] for cache, _ in slots]
        b = int(batch_sizes[0])
        h = torch.zeros((b, hid))
        c = torch.zeros((b, hid))
        best = torch.full((b, hid), float("-inf"))
        z = torch.empty((b, h4))
        tmp = torch.empty((b, h4))
        tanh_c = torch.empty((b, hid))
        steps = range(len(batch_sizes) - 1, -1, -1) if d == 1 else range(len(batch_sizes))
        for t in steps:
            n, a = int(batch_sizes[t]), int(starts[t])
            zt = z[:n]
            # Input projection (with the biases) from the caches, then + h W_hh: i, f, g, o.
            torch.index_select(tables[0], 0, slots[0][1][a : a + n], out=zt)
            for table, (_, rows) in zip(tables[1:], slots[1:]):
                zt.add_(torch.index_select(table, 0, rows[a : a + n], out=tmp[:n]))
            zt.addmm_(h[:n], w_hh)
            zt[:, : 2 * hid].sigmoid_()
            zt[:, 3 * hid :].sigmoid_()
            g = zt[:, 2 * hid : 3 * hid].tanh_()
            ct = c[:n]
            ct.mul_(zt[:, hid : 2 * hid]).addcmul_(zt[:, :hid], g)
            torch.tanh(ct, out=tanh_c[:n])
            torch.mul(zt[:, 3 * hid :], tanh_c[:n], out=h[:n])
            torch.maximum(best[:n], h[:n], out=best[:n])
        return best
