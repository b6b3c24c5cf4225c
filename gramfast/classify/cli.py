"""``gramfast train``, ``gramfast evaluate`` and ``gramfast predict``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from ..console import guarded, out, progress_bar
from ..errors import InputError
from .config import ClassifierConfig, Init

Device = Annotated[str, typer.Option(help="cpu, cuda or auto (the GPU when there is one).")]
Processes = Annotated[int, typer.Option(help="Parser processes.")]
TextColumn = Annotated[str, typer.Option(help="Text column (CSV) or field (JSONL).")]
LabelColumn = Annotated[str, typer.Option(help="Label column (CSV) or field (JSONL).")]
Format = Annotated[
    str | None, typer.Option("--format", help="tsv, csv, jsonl or txt (default: by extension).")
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


@guarded
def train_cli(
    data: Annotated[Path, typer.Argument(help="Labelled training data: .tsv, .csv or .jsonl.")],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Model folder to write.")],
    vectors: Annotated[
        Path | None, typer.Option(help="A `gramfast pretrain` output folder.")
    ] = None,
    dev: Annotated[
        Path | None, typer.Option(help="Dev data (default: 10% of train held out).")
    ] = None,
    test: Annotated[Path | None, typer.Option(help="Test data, scored once at the end.")] = None,
    features: Annotated[
        str, typer.Option(help="Comma list of words, grammar, contexts.")
    ] = "words,grammar",
    init: Annotated[
        Init, typer.Option(help="Vocabulary rows from the vectors or random.")
    ] = Init.pretrained,
    freeze: Annotated[
        bool,
        typer.Option(
            "--freeze/--fine-tune",
            help="Fix the vocabulary rows, or train them (from the pretrained values with "
            "--init pretrained).",
        ),
    ] = False,
    rescale_rows: Annotated[
        bool,
        typer.Option(
            help="Scale each pretrained row to a random row's expected length, keeping its "
            "direction (SGNS rows grow with word frequency)."
        ),
    ] = False,
    lazy_rows: Annotated[
        bool,
        typer.Option(
            "--lazy-rows/--dense-rows",
            help="Trained vocabulary rows: sparse gradients and lazy Adam (only the rows a batch "
            "uses) or dense AdamW over the whole table.",
        ),
    ] = True,
    train_unk: Annotated[
        bool, typer.Option(help="UNK and words missing from the vectors learn.")
    ] = True,
    extend_vocab: Annotated[
        bool, typer.Option(help="Give training words missing from the vectors their own rows.")
    ] = True,
    min_count: Annotated[int, typer.Option(help="Training words need this count for a row.")] = 1,
    max_vocab: Annotated[
        int | None, typer.Option(help="Keep the most frequent pretrained rows.")
    ] = None,
    hidden: Annotated[int, typer.Option(help="LSTM units per direction H.")] = 150,
    layers: Annotated[int, typer.Option(help="Stacked LSTM layers.")] = 1,
    dropout: Annotated[
        float, typer.Option(help="Dropout on embeddings and the pooled vector.")
    ] = 0.5,
    lr: Annotated[float, typer.Option(help="AdamW learning rate.")] = 1e-3,
    batch_size: Annotated[int, typer.Option(help="Sentences per batch.")] = 50,
    epochs: Annotated[int, typer.Option(help="Most epochs.")] = 20,
    patience: Annotated[
        int, typer.Option(help="Stop after this many epochs without a better dev accuracy.")
    ] = 4,
    max_tokens: Annotated[
        int, typer.Option(help="Longer sentences are truncated (counted).")
    ] = 100,
    cv: Annotated[
        int, typer.Option(help="k-fold cross-validation instead of one model (0: off).")
    ] = 0,
    folds: Annotated[
        Path | None, typer.Option(help="One fold id per data line (MR's cv10_folds.txt).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed for everything random.")] = 0,
    device: Device = "auto",
    threads: Annotated[int, typer.Option(help="CPU threads for torch (0: its default).")] = 0,
    model: Annotated[
        str | None, typer.Option(help="spaCy pipeline (default: the corpus's).")
    ] = None,
    processes: Processes = 1,
    text_column: TextColumn = "text",
    label_column: LabelColumn = "label",
    fmt: Format = None,
    overwrite: Annotated[bool, typer.Option(help="Replace the model in --out.")] = False,
    as_json: AsJson = False,
) -> None:
    """Train the LSTM sentence classifier on pretrained (or random) word and grammar rows."""
    from .run import train_classifier

    if model is None and vectors is not None:
        model = _vectors_pipeline(vectors)
    cfg = ClassifierConfig(
        train=data, out=out_dir, vectors=vectors, dev=dev, test=test,
        features=tuple(x.strip() for x in features.split(",") if x.strip()), init=init,
        freeze=freeze, rescale_rows=rescale_rows, lazy_rows=lazy_rows,
        train_unk=train_unk, extend_vocab=extend_vocab,
        min_count=min_count, max_vocab=max_vocab, hidden=hidden, layers=layers, dropout=dropout,
        lr=lr,
        batch_size=batch_size, epochs=epochs, patience=patience, max_tokens=max_tokens, cv=cv,
        folds=folds, seed=seed, device=device, threads=threads, model=model,
        processes=processes, text_column=text_column, label_column=label_column,
        data_format=fmt,
    )  # fmt: skip
    with progress_bar("sentences") as bar:
        task = bar.add_task("training", total=None, rate=0)

        def report(row: dict[str, Any]) -> None:
            fold = f"fold {row['fold']}, " if "fold" in row else ""
            desc = f"{fold}epoch {row['epoch']}, loss {row['loss']:.3f}"
            if "dev_accuracy" in row:
                desc += f", dev {row['dev_accuracy']:.3f}"
            bar.update(task, total=row["steps"], completed=row["step"],
                       rate=row["sentences_per_s"], description=desc)  # fmt: skip

        summary = train_classifier(cfg, overwrite=overwrite, progress=report)
    if as_json:
        out.print_json(json.dumps({k: v for k, v in summary.items() if k != "history"}))
        return
    table = Table(title=f"classifier in {out_dir}", show_header=False)
    if cv:
        for r in summary["folds"]:
            table.add_row(f"fold {r['fold']}", f"accuracy {r['accuracy']:.4f}")
        table.add_row(
            "mean ± sd", f"{summary['accuracy_mean']:.4f} ± {summary['accuracy_std']:.4f}"
        )
    else:
        table.add_row("best epoch", str(summary["best_epoch"]))
        table.add_row("dev accuracy", f"{summary['dev']['accuracy']:.4f}")
        if "test" in summary:
            table.add_row("test accuracy", f"{summary['test']['accuracy']:.4f}")
            table.add_row("test macro-F1", f"{summary['test']['macro_f1']:.4f}")
        table.add_row("train sentences/s", f"{summary['train_sentences_per_s']:,.0f}")
        for key in ("truncated", "all_unknown", "empty_skipped"):
            if summary["train"].get(key):
                table.add_row(f"train {key.replace('_', ' ')}", str(summary["train"][key]))
    out.print(table)


def _vectors_pipeline(vectors: Path) -> str | None:
    """The pipeline that parsed the vectors' corpus, from their ``config.json``."""
    try:
        cfg = json.loads((vectors / "config.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    model = (cfg.get("store") or {}).get("pipeline", {}).get("model")
    return model if isinstance(model, str) and not model.startswith("gold") else None


@guarded
def evaluate_cli(
    model_dir: Annotated[Path, typer.Argument(help="A `gramfast train` model folder.")],
    data: Annotated[Path, typer.Argument(help="Labelled data: .tsv, .csv or .jsonl.")],
    png: Annotated[Path | None, typer.Option(help="Write the confusion matrix as a PNG.")] = None,
    vectors: Annotated[
        Path | None, typer.Option(help="Check the model was trained on these vectors.")
    ] = None,
    device: Device = "auto",
    processes: Processes = 1,
    text_column: TextColumn = "text",
    label_column: LabelColumn = "label",
    fmt: Format = None,
    as_json: AsJson = False,
) -> None:
    """Accuracy, macro-F1 and the confusion matrix of a model on labelled data."""
    from .run import evaluate_model

    r = evaluate_model(
        model_dir, data, vectors=vectors, png=png, device=device, processes=processes,
        fmt=fmt, text_column=text_column, label_column=label_column,
    )  # fmt: skip
    if as_json:
        out.print_json(json.dumps(r))
        return
    out.print(f"{data}: {r['n']} sentences, accuracy {r['accuracy']:.4f}, "
              f"macro-F1 {r['macro_f1']:.4f}")  # fmt: skip
    table = Table(title="confusion (rows: gold, columns: predicted)")
    table.add_column("gold")
    for lab in r["labels"]:
        table.add_column(lab, justify="right")
    for lab, row in zip(r["labels"], r["confusion"]):
        table.add_row(lab, *(str(x) for x in row))
    out.print(table)
    for key in ("truncated", "all_unknown", "empty_skipped"):
        if r.get(key):
            out.print(f"{key.replace('_', ' ')}: {r[key]}")


@guarded
def predict_cli(
    model_dir: Annotated[Path, typer.Argument(help="A `gramfast train` model folder.")],
    input_path: Annotated[
        Path, typer.Argument(help="Texts: .txt (a text per line), .tsv, .csv, .jsonl.")
    ],
    out_path: Annotated[
        Path, typer.Option("--out", "-o", help="JSONL predictions, a record per line.")
    ],
    processes: Processes = 1,
    chunk_lines: Annotated[int, typer.Option(help="Lines parsed and classified at a time.")] = 4096,
    device: Device = "auto",
    text_column: TextColumn = "text",
    fmt: Format = None,
    overwrite: Annotated[bool, typer.Option(help="Replace --out and any partial run.")] = False,
    bf16: Annotated[
        bool,
        typer.Option(
            "--bf16",
            help="Run the model itself in bfloat16 on the CPU (AMX/AVX-512 BF16) instead of the "
            "float32 projected path; pays only for models with --layers above 1.",
        ),
    ] = False,
) -> None:
    """Classify a file of any size as a stream; an interrupted run resumes where it stopped."""
    from .predict import predict_file

    if chunk_lines < 1:
        raise InputError(f"--chunk-lines must be >= 1; got {chunk_lines}")
    with progress_bar("lines") as bar:
        task = bar.add_task("predicting", total=None, rate=0)

        def report(done: int, total: int, rate: float) -> None:
            bar.update(task, completed=done, total=max(total, done), rate=rate)

        r = predict_file(
            model_dir, input_path, out_path, processes=processes, chunk_lines=chunk_lines,
            device=device, fmt=fmt, text_column=text_column, overwrite=overwrite,
            cpu_bf16=bf16, progress=report,
        )  # fmt: skip
    out.print(f"{r['lines']:,} lines -> {out_path} ({r['classified']:,} classified, "
              f"{r['empty_skipped']:,} empty, {r['truncated']:,} truncated; "
              f"{r['lines_per_s']:,.0f} lines/s)")  # fmt: skip
