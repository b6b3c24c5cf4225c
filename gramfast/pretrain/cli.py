"""``gramfast pretrain``: the typer command over ``gramfast.pretrain.pretrain``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ..console import guarded, out, progress_bar
from .config import ContextChoice, Device, PretrainConfig


@guarded
def pretrain_cli(
    inputs: Annotated[
        list[str], typer.Argument(help="A parsed store, or text/JSONL/CoNLL-U to parse first.")
    ],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Output folder for the vectors.")],
    contexts: Annotated[ContextChoice, typer.Option(help="Dependency or window contexts.")] = (
        ContextChoice.deps
    ),
    window: Annotated[int, typer.Option(help="Words each side for --contexts window.")] = 5,
    dynamic_window: Annotated[
        bool, typer.Option(help="word2vec's shrinking window (k drawn in 1..window).")
    ] = False,
    dim: Annotated[int, typer.Option(help="Vector size D.")] = 300,
    negatives: Annotated[int, typer.Option(help="Negatives per pair K.")] = 15,
    epochs: Annotated[int, typer.Option(help="Passes over the pairs.")] = 5,
    min_count: Annotated[int, typer.Option(help="Drop words and contexts seen less often.")] = 5,
    context_min_count: Annotated[
        int | None,
        typer.Option(help="Drop contexts seen less often (default: --min-count)."),
    ] = None,
    sample: Annotated[float, typer.Option(help="Subsampling threshold t (0: off).")] = 1e-3,
    lr: Annotated[float, typer.Option(help="Starting learning rate.")] = 0.025,
    threads: Annotated[int, typer.Option(help="CPU threads (0: all cores).")] = 0,
    seed: Annotated[int, typer.Option(help="Seed for everything random.")] = 0,
    device: Annotated[Device, typer.Option(help="cpu, cuda or auto.")] = Device.auto,
    grammar: Annotated[bool, typer.Option(help="Also train grammar vectors.")] = True,
    gpu_feed: Annotated[
        str,
        typer.Option(
            help="With --device cuda: 'device' holds the pairs in GPU memory and draws each "
            "epoch there; 'thread' extracts them on the host in a background thread."
        ),
    ] = "device",
    model: Annotated[str | None, typer.Option(help="spaCy pipeline for raw text.")] = None,
    resume: Annotated[bool, typer.Option(help="Continue from the last checkpoint.")] = False,
    overwrite: Annotated[bool, typer.Option(help="Replace an earlier run in --out.")] = False,
) -> None:
    """Train word, context and grammar vectors (skip-gram with negative sampling)."""
    from .trainer import pretrain

    cfg = PretrainConfig(
        input=tuple(inputs),
        out=out_dir,
        contexts=contexts,
        window=window,
        dynamic_window=dynamic_window,
        dim=dim,
        negatives=negatives,
        epochs=epochs,
        min_count=min_count,
        context_min_count=context_min_count,
        sample=sample,
        lr=lr,
        threads=threads,
        seed=seed,
        device=device,
        grammar=grammar,
        model=model,
        gpu_feed=gpu_feed,
    )
    with progress_bar("pairs") as bar:
        tasks: dict[str, int] = {}

        def report(row: dict) -> None:
            name = row["space"]
            if name not in tasks:
                tasks[name] = bar.add_task(f"{name} vectors", total=row["expected_pairs"], rate=0)
            bar.update(
                tasks[name],
                completed=row["pairs"],
                rate=row["pairs_per_s"],
                description=f"{name} vectors, epoch {row['epoch']}, loss {row['loss']:.3f}",
            )

        summary = pretrain(cfg, resume=resume, overwrite=overwrite, progress=report)
    table = Table(title=f"vectors in {out_dir}", show_header=False)
    for name, s in summary["spaces"].items():
        table.add_row(f"{name} space", f"{s['words']:,} words, {s['contexts']:,} contexts")
        table.add_row(f"{name} pairs trained", f"{s['pairs']:,}")
    table.add_row("pairs/s", f"{summary['pairs_per_s']:,.0f}")
    table.add_row("seconds", f"{summary['seconds']:,.1f}")
    out.print(table)
