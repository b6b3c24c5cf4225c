"""Training: AdamW over length-bucketed batches, early stopping on dev accuracy, k-fold CV."""

from __future__ import annotations

import copy
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from ..errors import InputError
from ..vectors.io import Vectors, load_output_vectors
from .config import ClassifierConfig, Init
from .data import Examples, check_classes, read_examples
from .features import SPACES, Encoded, Lexicon, encode, token_strings, training_lexicon
from .infer import ProjectedLSTM
from .model import SentenceLSTM
from .parsing import ParsedTexts, TextParser

log = logging.getLogger(__name__)

ProgressFn = Callable[[dict[str, Any]], None]


@dataclass
class Split:
    """Encoded documents with label indices (``y``: int64 [n])."""

    enc: Encoded
    y: np.ndarray


# -- set-up ----------------------------------------------------------------------------------
def resolve_device(name: str) -> torch.device:
    """``auto`` takes the GPU when torch sees one; ``cuda`` without one is a usage error."""
    if name == "cpu" or (name == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise InputError(
            "--device cuda: torch sees no CUDA device on this machine; use --device cpu (or "
            "auto), or check the driver with `gramfast info`"
        )
    return torch.device("cuda")


def load_pretrained(cfg: ClassifierConfig) -> dict[str, Vectors]:
    """The vectors of each feature from ``cfg.vectors`` (most frequent ``max_vocab`` rows)."""
    if cfg.vectors is None:
        return {}
    out = {}
    for f in cfg.features:
        try:
            vec = load_output_vectors(cfg.vectors, SPACES[f])
        except InputError as e:
            raise InputError(
                f"{e}. --features {f} needs them: pretrain with --grammar (for grammar), or "
                f"leave {f} out of --features"
            ) from None
        out[f] = vec.head(cfg.max_vocab) if cfg.max_vocab and cfg.max_vocab < len(vec) else vec
    return out


def vectors_fingerprint(vectors: dict[str, Vectors]) -> str:
    """sha256 over each feature's words and matrix: identifies the vectors a model was built on."""
    h = hashlib.sha256()
    for f in sorted(vectors):
        v = vectors[f]
        h.update(f.encode())
        h.update("\n".join(v.words).encode("utf-8"))
        h.update(np.ascontiguousarray(v.matrix).tobytes())
    return h.hexdigest()


def doc_strings(strings: list[Any], offsets: np.ndarray, index: np.ndarray) -> list[Any]:
    return [s for i in index.tolist() for s in strings[offsets[i] : offsets[i + 1]]]


def build_lexicons(
    cfg: ClassifierConfig, strings: dict[str, list[Any]], vectors: dict[str, Vectors]
) -> dict[str, Lexicon]:
    """Per feature: the vectors' rows (+ missing training strings) or the training strings."""
    lexicons = {}
    for f in cfg.features:
        if cfg.init == Init.pretrained:
            lex = Lexicon(list(vectors[f].words))
            if cfg.extend_vocab and cfg.train_unk:
                lex = Lexicon(lex.vocab, training_lexicon(strings[f], cfg.min_count, lex))
        else:
            lex = Lexicon(training_lexicon(strings[f], cfg.min_count, None))
        lexicons[f] = lex
    return lexicons


def table_shapes(
    cfg: ClassifierConfig, lexicons: dict[str, Lexicon], vectors: dict[str, Vectors]
) -> dict[str, tuple[int, int, int]]:
    dims = {f: vectors[f].dim if f in vectors else cfg.dims[f] for f in cfg.features}
    return {f: (lex.first_vocab_row, len(lex.vocab), dims[f]) for f, lex in lexicons.items()}


def new_model(
    cfg: ClassifierConfig,
    lexicons: dict[str, Lexicon],
    vectors: dict[str, Vectors],
    n_labels: int,
    seed: int,
) -> SentenceLSTM:
    """A model with pretrained or random rows, seeded."""
    torch.manual_seed(seed)
    model = SentenceLSTM(
        table_shapes(cfg, lexicons, vectors),
        n_labels,
        hidden=cfg.hidden,
        layers=cfg.layers,
        dropout=cfg.dropout,
        freeze=cfg.freeze,
        train_unk=cfg.train_unk,
    )
    gen = torch.Generator().manual_seed(seed)
    for f in cfg.features:
        rows = None
        if cfg.init == Init.pretrained:
            rows = torch.from_numpy(np.array(vectors[f].matrix, dtype=np.float32))
            if cfg.rescale_rows:
                rows = rescale(rows)
        model.embed[f].reset(gen, rows)
    return model


def rescale(rows: torch.Tensor) -> torch.Tensor:
    """Rows [V, D] scaled to 0.25 sqrt(D / 3), the expected length of a random row (uniform in
    +-0.25); directions kept, zero rows left zero."""
    target = 0.25 * (rows.shape[1] / 3) ** 0.5
    norms = rows.norm(dim=1, keepdim=True)
    return torch.where(norms > 0, rows * (target / norms.clamp_min(1e-30)), rows)


# -- batches ---------------------------------------------------------------------------------
def make_batches(
    lengths: np.ndarray, batch_size: int, rng: np.random.Generator | None
) -> list[np.ndarray]:
    """Batches of similar length: shuffled pools of 50 batches sorted by length, then the
    batches shuffled (``rng`` None: all sorted by length, in order, for prediction)."""
    n = lengths.shape[0]
    if rng is None:
        order = np.argsort(lengths, kind="stable")
        return [order[i : i + batch_size] for i in range(0, n, batch_size)]
    order = rng.permutation(n)
    pool = batch_size * 50
    batches = []
    for i in range(0, n, pool):
        chunk = order[i : i + pool]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches.extend(chunk[j : j + batch_size] for j in range(0, chunk.shape[0], batch_size))
    return [batches[i] for i in rng.permutation(len(batches))]


def batch_tensors(
    enc: Encoded, index: np.ndarray, device: torch.device
) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """Padded ids per feature int64 [B, T] on ``device`` and lengths int64 [B] on the CPU."""
    lengths = enc.lengths[index]
    t = int(lengths.max())
    rows = np.repeat(np.arange(index.shape[0]), lengths)
    cols = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    src = np.repeat(enc.offsets[index], lengths) + cols
    ids = {}
    for f, flat in enc.ids.items():
        m = np.zeros((index.shape[0], t), dtype=np.int64)
        m[rows, cols] = flat[src]
        ids[f] = torch.from_numpy(m).to(device, non_blocking=True)
    return ids, torch.from_numpy(lengths.astype(np.int64))


def _autocast(device: torch.device, amp: bool):
    if device.type == "cuda" and amp:
        return torch.autocast("cuda", dtype=torch.float16)
    return torch.autocast("cpu", enabled=False)


@torch.no_grad()
def predict_proba(
    model: SentenceLSTM,
    enc: Encoded,
    batch_size: int,
    device: torch.device,
    amp: bool = True,
    cpu_bf16: bool = False,
    projected: ProjectedLSTM | None = None,
) -> np.ndarray:
    """float32 [n, L] class probabilities, in document order.

    On the CPU a one-layer model runs through ``ProjectedLSTM`` (input projections looked up per
    vocabulary row; equal to the model up to float32 rounding). Pass ``projected`` to keep its
    cache across calls (a stream of chunks); it must have been built from ``model``'s current
    weights. ``cpu_bf16`` instead runs the model itself under bfloat16 autocast on the CPU (fast
    where the CPU has AMX or AVX-512 BF16; probabilities move by about 1e-3).
    """
    model.eval()
    out = np.empty((enc.n_docs, model.out.out_features), dtype=np.float32)
    if device.type != "cpu" or cpu_bf16:
        projected = None
    elif projected is None and ProjectedLSTM.supports(model):
        projected = ProjectedLSTM(model)
    for index in make_batches(enc.lengths, max(batch_size, 256), None):
        if projected is not None:
            logits = projected.logits(enc, index)
        else:
            ids, lengths = batch_tensors(enc, index, device)
            cast = _autocast(device, amp)
            if device.type == "cpu" and cpu_bf16:
                cast = torch.autocast("cpu", dtype=torch.bfloat16)
            with cast:
                logits = model(ids, lengths)
        out[index] = torch.softmax(logits.float(), dim=-1).cpu().numpy()
    return out


# -- training --------------------------------------------------------------------------------
def optimizers(
    model: SentenceLSTM, cfg: ClassifierConfig
) -> tuple[list[torch.optim.Optimizer], list[nn.Parameter]]:
    """The optimizers of a run and every parameter they train.

    Dense parameters: AdamW, with weight decay on the LSTM and the output layer only (pretrained
    rows must not decay towards zero). Trainable vocabulary rows with ``cfg.lazy_rows``: sparse
    gradients and lazy Adam (``torch.optim.SparseAdam``), which touches only the rows a batch used,
    so a step costs the batch's rows, not the whole table; rows the training data never uses stay
    exactly as they started. Without it, the rows join AdamW's no-decay group (dense Adam: every
    row is read and written each step, and rows keep moving on their momentum).
    """
    lazy: list[nn.Parameter] = []
    for emb in model.embed.values():
        emb.sparse = bool(cfg.lazy_rows and emb.vocab.requires_grad and emb.n_vocab)
        if emb.sparse:
            lazy.append(emb.vocab)
    lazy_ids = {id(p) for p in lazy}
    trainable = [
        (n, p) for n, p in model.named_parameters() if p.requires_grad and id(p) not in lazy_ids
    ]
    decay = [p for n, p in trainable if not n.startswith("embed")]
    no_decay = [p for n, p in trainable if n.startswith("embed")]
    groups = [
        {"params": decay, "weight_decay": cfg.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    opts: list[torch.optim.Optimizer] = [torch.optim.AdamW(groups, lr=cfg.lr)]
    if lazy:
        opts.append(torch.optim.SparseAdam(lazy, lr=cfg.lr))
    return opts, [*decay, *no_decay, *lazy]


def clip_grad_norm(params: list[nn.Parameter], max_norm: float) -> torch.Tensor:
    """Scale all gradients, dense and sparse, so that their joint 2-norm is at most ``max_norm``
    (``torch.nn.utils.clip_grad_norm_``'s rule; that function does not take sparse gradients).
    Sparse gradients are coalesced first, so a row used twice in a batch counts once."""
    norms = []
    for p in params:
        if p.grad is None:
            continue
        if p.grad.is_sparse:
            p.grad = p.grad.coalesce()
            norms.append(torch.linalg.vector_norm(p.grad._values()))
        else:
            norms.append(torch.linalg.vector_norm(p.grad))
    if not norms:
        return torch.zeros(())
    total = torch.linalg.vector_norm(torch.stack(norms))
    coef = torch.clamp(max_norm / (total + 1e-6), max=1.0)
    for p in params:
        if p.grad is not None:
            (p.grad._values() if p.grad.is_sparse else p.grad).mul_(coef)
    return total


def fit(
    model: SentenceLSTM,
    train: Split,
    dev: Split,
    cfg: ClassifierConfig,
    device: torch.device,
    seed: int,
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Train with early stopping on dev accuracy; the best epoch's weights are loaded back."""
    model.to(device)
    opts, params = optimizers(model, cfg)
    scaler = torch.amp.GradScaler("cuda", enabled=device.type == "cuda" and cfg.amp)
    loss_fn = nn.CrossEntropyLoss()
    rng = np.random.default_rng(seed)
    y_train = torch.from_numpy(train.y)
    best = {"accuracy": -1.0, "epoch": 0, "state": None}
    history = []
    stale = 0
    start = time.perf_counter()
    seen = 0
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        total_t, steps = torch.zeros((), device=device), 0  # summed on the device: no sync
        t0 = time.perf_counter()
        batches = make_batches(train.enc.lengths, cfg.batch_size, rng)
        for index in batches:
            ids, lengths = batch_tensors(train.enc, index, device)
            target = y_train[index].to(device, non_blocking=True)
            with _autocast(device, cfg.amp):
                loss = loss_fn(model(ids, lengths).float(), target)
            for opt in opts:
                opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            for opt in opts:
                scaler.unscale_(opt)
            clip_grad_norm(params, cfg.clip)
            for opt in opts:
                scaler.step(opt)
            scaler.update()
            total_t += loss.detach()
            steps += 1
            seen += index.shape[0]
            if progress is not None and steps % 20 == 0:
                rate = seen / max(time.perf_counter() - start, 1e-9)
                progress({"epoch": epoch, "step": steps, "steps": len(batches),
                          "loss": float(total_t) / steps, "sentences_per_s": rate})  # fmt: skip
        total = float(total_t)
        if not np.isfinite(total):
            raise InputError(f"the training loss is not finite in epoch {epoch}: lower --lr")
        dev_pred = predict_proba(model, dev.enc, cfg.batch_size, device, cfg.amp).argmax(1)
        dev_acc = float((dev_pred == dev.y).mean())
        row = {
            "epoch": epoch,
            "loss": total / max(steps, 1),
            "dev_accuracy": dev_acc,
            "sentences_per_s": train.enc.n_docs / max(time.perf_counter() - t0, 1e-9),
        }
        history.append(row)
        log.info("epoch %d: loss %.4f, dev accuracy %.4f", epoch, row["loss"], dev_acc)
        if progress is not None:
            progress({**row, "step": steps, "steps": len(batches)})
        if dev_acc > best["accuracy"]:
            best = {"accuracy": dev_acc, "epoch": epoch, "state": copy.deepcopy(model.state_dict())}
            stale = 0
        else:
            stale += 1
            if stale >= cfg.patience:
                break
    model.load_state_dict(best["state"])
    seconds = time.perf_counter() - start
    return {
        "history": history,
        "best_epoch": best["epoch"],
        "dev_accuracy": best["accuracy"],
        "seconds": seconds,
        "train_sentences_per_s": seen / max(seconds, 1e-9),
    }


def label_index(examples: Examples, labels: list[str], what: str) -> np.ndarray:
    """Label indices; labels the model does not know are an error that lists them."""
    index = {lab: i for i, lab in enumerate(labels)}
    unknown = sorted({x for x in examples.labels if x not in index}, key=str)
    if unknown:
        n = sum(1 for x in examples.labels if x not in index)
        shown = ", ".join(map(str, unknown[:10])) + (" ..." if len(unknown) > 10 else "")
        raise InputError(
            f"{examples.source} ({what}): {n} examples carry labels the training data never "
            f"had: {shown}; known labels: {', '.join(labels)}. Check the file or the label "
            "column"
        )
    return np.array([index[x] for x in examples.labels], dtype=np.int64)


def heldout_dev(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train index, dev index): a seeded random ``fraction`` held out for early stopping."""
    perm = np.random.default_rng(seed + 7919).permutation(n)
    k = max(1, int(round(n * fraction)))
    return np.sort(perm[k:]), np.sort(perm[:k])


def read_folds(path: Any, k: int) -> np.ndarray:
    """One fold id in 0..k-1 per example (a line per line of the data, empty lines included)."""
    ids = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            s = line.strip()
            if not s.lstrip("-").isdigit() or not 0 <= int(s) < k:
                raise InputError(f"{path}:{lineno}: expected a fold id in 0..{k - 1}; got {s!r}")
            ids.append(int(s))
    return np.array(ids, dtype=np.int64)


def fold_ids(cfg: ClassifierConfig, examples: Examples) -> np.ndarray:
    if cfg.folds is None:
        perm = np.random.default_rng(cfg.seed).permutation(len(examples))
        out = np.empty(len(examples), dtype=np.int64)
        out[perm] = np.arange(len(examples)) % cfg.cv
        return out
    ids = read_folds(cfg.folds, cfg.cv)
    if ids.shape[0] < max(examples.lines):
        raise InputError(
            f"{cfg.folds} has {ids.shape[0]} fold ids but {cfg.train} has {max(examples.lines)} "
            "lines: give one fold id per line of the data"
        )
    return ids[np.array(examples.lines) - 1]


class Workspace:
    """What one ``train`` call shares between its runs: the parses, the strings, the vectors."""

    def __init__(self, cfg: ClassifierConfig) -> None:
        self.cfg = cfg
        self.train = read_examples(cfg.train, **self._read_args())
        self.labels = check_classes(self.train)
        self.vectors = load_pretrained(cfg)
        self.fingerprint = vectors_fingerprint(self.vectors) if self.vectors else None
        self.lowercase = True
        self.pipeline: dict[str, Any] = {}
        self.parses: dict[str, ParsedTexts] = {}
        self.strings: dict[str, dict[str, list[Any]]] = {}
        self.dev = read_examples(cfg.dev, **self._read_args()) if cfg.dev else None
        self.test = read_examples(cfg.test, **self._read_args()) if cfg.test else None
        for what, ex in (("--dev", self.dev), ("--test", self.test)):
            if ex is not None:
                label_index(ex, self.labels, what)

    def _read_args(self) -> dict[str, Any]:
        c = self.cfg
        return {"fmt": c.data_format, "text_column": c.text_column, "label_column": c.label_column}

    def parse_all(self, parser: TextParser) -> None:
        self.pipeline = parser.info
        for name, ex in (("train", self.train), ("dev", self.dev), ("test", self.test)):
            if ex is None:
                continue
            parsed = parser.parse_cached(ex.texts)
            self.parses[name] = parsed
            self.strings[name] = {
                f: token_strings(parsed, f, self.lowercase) for f in self.cfg.features
            }

    def encode(self, name: str, lexicons: dict[str, Lexicon]) -> Encoded:
        enc = encode(
            self.parses[name], lexicons, self.cfg.max_tokens, self.lowercase, self.strings[name]
        )
        if enc.truncated:
            log.warning("%s: %d sentences longer than --max-tokens %d were truncated",
                        name, enc.truncated, self.cfg.max_tokens)  # fmt: skip
        if enc.all_unknown:
            log.warning("%s: %d sentences have no known word (only UNK rows)",
                        name, enc.all_unknown)  # fmt: skip
        return enc
