"""`gramfast contexts`: a parsed store -> word2vecf input (pairs and count files)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..console import guarded, out, progress_bar, setup_logging
from .extract import ContextKind, ContextsConfig
from .word2vecf import write_word2vecf


@guarded
def contexts_cli(
    store: Annotated[
        Path, typer.Argument(help="Parsed store folder (from `gramfast parse`).", exists=True)
    ],
    out_dir: Annotated[
        Path, typer.Option("--out", help="Output folder for pairs.txt, words.tsv, contexts.tsv.")
    ],
    kind: Annotated[
        ContextKind,
        typer.Option(
            help="deps: Levy & Goldberg; window: k words each side; grammar: constructions."
        ),
    ] = ContextKind.deps,
    window: Annotated[int, typer.Option(help="Words on each side for --kind window.")] = 5,
    dynamic_window: Annotated[
        bool, typer.Option(help="word2vec's shrinking window: k drawn in 1..window per word.")
    ] = False,
    lowercase: Annotated[bool, typer.Option(help="Lowercase words and context words.")] = True,
    min_count: Annotated[int, typer.Option(help="Drop words seen fewer times.", min=1)] = 1,
    min_context_count: Annotated[
        int | None, typer.Option(help="Drop contexts seen fewer times (default: --min-count).")
    ] = None,
    max_words: Annotated[
        int | None, typer.Option(help="Keep only this many most frequent words.")
    ] = None,
    max_contexts: Annotated[
        int | None, typer.Option(help="Keep only this many most frequent contexts.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the shrinking-window draws.")] = 0,
    block_tokens: Annotated[
        int, typer.Option(help="Tokens read per block (bounds memory).", min=1)
    ] = 1 << 20,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress.")] = False,
) -> None:
    """Write a store's (word, context) pairs in word2vecf's format, with count files."""
    setup_logging(verbose)
    cfg = ContextsConfig(
        kind=kind,
        window=window,
        dynamic_window=dynamic_window,
        lowercase=lowercase,
        min_count=min_count,
        min_context_count=min_context_count,
        max_words=max_words,
        max_contexts=max_contexts,
        seed=seed,
    )
    with progress_bar("tokens") as bar:
        task = bar.add_task("contexts", total=None, rate=0.0)

        def advance(n: int) -> None:
            bar.update(task, advance=n, rate=bar.tasks[task].speed or 0.0)

        summary = write_word2vecf(store, out_dir, cfg, block_tokens=block_tokens, progress=advance)
    out.print(
        f"{summary['pairs_written']:,} pairs ({summary['words']:,} words, "
        f"{summary['contexts']:,} contexts) written to {out_dir}"
    )
