"""The sentence classifier: feature embeddings -> bidirectional LSTM -> max over time -> linear.

Shapes: B sentences, T steps (the longest in the batch), H hidden units per direction,
L labels. Sequences are packed, so padding never enters the LSTM, and padded steps are -inf
before the max, so a sentence's output does not depend on the batch it is in.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from .features import N_SPECIAL


class SplitEmbedding(nn.Module):
    """An embedding table in two parts: ``free`` rows (pad, UNK, extra; trainable) and ``vocab``
    rows (pretrained or random; frozen with ``freeze``). Row 0 is always zero.

    Args:
        n_free: rows before the vocabulary (pad, UNK and the extra training words).
        n_vocab: vocabulary rows.
        dim: vector size D.
        freeze: keep the vocabulary rows fixed.
        train_unk: let UNK and the extra rows learn (else they stay at their start values).
    """

    def __init__(
        self, n_free: int, n_vocab: int, dim: int, freeze: bool, train_unk: bool = True
    ) -> None:
        super().__init__()
        if n_free < N_SPECIAL:
            raise ValueError(f"n_free must be >= {N_SPECIAL} (pad and UNK); got {n_free}")
        self.n_free, self.n_vocab, self.dim = n_free, n_vocab, dim
        self.free = nn.Parameter(torch.zeros(n_free, dim), requires_grad=train_unk)
        self.vocab = nn.Parameter(torch.zeros(n_vocab, dim), requires_grad=not freeze)
        # Sparse gradients for the vocabulary rows (only the rows a batch used), for a lazy
        # optimizer; set by training, not saved.
        self.sparse = False

    def reset(self, generator: torch.Generator, vocab: torch.Tensor | None = None) -> None:
        """Random rows (uniform in +-0.25, as Kim 2014 for unknown words); ``vocab`` copied in."""
        with torch.no_grad():
            self.free.uniform_(-0.25, 0.25, generator=generator)
            self.free[0].zero_()
            if vocab is None:
                self.vocab.uniform_(-0.25, 0.25, generator=generator)
            else:
                self.vocab.copy_(vocab)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """ids: int64 [B, T] -> [B, T, D]."""
        is_free = ids < self.n_free
        out = nn.functional.embedding(ids.clamp(max=self.n_free - 1), self.free)
        if self.n_vocab:
            rows = (ids - self.n_free).clamp(min=0)
            vocab = nn.functional.embedding(rows, self.vocab, sparse=self.sparse)
            out = torch.where(is_free.unsqueeze(-1), out, vocab)
        pad = (ids == 0).unsqueeze(-1)
        return out.masked_fill(pad, 0.0)


class SentenceLSTM(nn.Module):
    """Embeddings of each feature, concatenated; BiLSTM; max-pool; dropout; linear.

    Args:
        tables: per feature (in order), ``(n_free, n_vocab, dim)``.
        n_labels: L.
        hidden: H per direction.
        layers: stacked LSTM layers.
        dropout: on the embeddings and on the pooled vector.
        freeze: fix the vocabulary rows of every table.
        train_unk: let UNK and extra rows learn.
    """

    def __init__(
        self,
        tables: dict[str, tuple[int, int, int]],
        n_labels: int,
        hidden: int = 150,
        layers: int = 1,
        dropout: float = 0.5,
        freeze: bool = False,
        train_unk: bool = True,
    ) -> None:
        super().__init__()
        self.features = list(tables)
        self.embed = nn.ModuleDict(
            {f: SplitEmbedding(nf, nv, d, freeze, train_unk) for f, (nf, nv, d) in tables.items()}
        )
        dim = sum(d for _, _, d in tables.values())
        self.lstm = nn.LSTM(
            dim,
            hidden,
            num_layers=layers,
            batch_first=True,
            bidirectional=True,
            dropout=dropout if layers > 1 else 0.0,
        )
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(2 * hidden, n_labels)

    def forward(self, ids: dict[str, torch.Tensor], lengths: torch.Tensor) -> torch.Tensor:
        """ids: per feature int64 [B, T]; lengths: int64 [B] on the CPU -> logits [B, L]."""
        x = torch.cat([self.embed[f](ids[f]) for f in self.features], dim=-1)  # [B, T, E]
        x = self.drop(x)
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        h, _ = self.lstm(packed)
        h, _ = pad_packed_sequence(h, batch_first=True, padding_value=float("-inf"))  # [B, T, 2H]
        pooled = h.max(dim=1).values
        return self.out(self.drop(pooled))
