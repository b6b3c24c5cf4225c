"""``gramfast vectors ...``: nearest neighbours and intrinsic evaluation of trained vectors.

The lead's app registers this sub-app with ``app.add_typer(vectors_app, name="vectors")``.
"""

from __future__ import annotations

import json
import math
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from ..console import err, guarded, out
from ..errors import InputError
from .evaluate import evaluate_analogies, evaluate_similarity
from .io import Vectors, load_native, load_output_vectors, load_vectors
from .neighbors import neighbors

vectors_app = typer.Typer(
    no_args_is_help=True,
    help="Inspect and evaluate trained vectors: neighbours, similarity, analogies.",
)


class Space(str, Enum):
    word = "word"
    context = "context"
    grammar = "grammar"


DirArg = Annotated[
    Path,
    typer.Argument(
        exists=True,
        metavar="DIR",
        help="A `gramfast pretrain` output folder, a native vectors folder or a word2vec file "
        "(.txt text, .bin binary).",
    ),
]
SpaceOpt = Annotated[
    Space,
    typer.Option("--space", help="Which vectors of an output folder: word, context or grammar."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]


def open_vectors(path: Path, space: Space = Space.word) -> Vectors:
    """The vectors the CLI reads: an output folder's ``space``, a native folder or a file."""
    if path.is_dir() and not (path / "vectors.npy").is_file():
        return load_output_vectors(path, space.value)
    if path.is_dir():
        return load_native(path)
    return load_vectors(path)


@vectors_app.command("neighbors")
@guarded
def neighbors_cli(
    path: DirArg,
    words: Annotated[
        list[str], typer.Argument(metavar="WORD", help="Words to look up (exact spelling).")
    ],
    top: Annotated[int, typer.Option("--top", min=1, help="Neighbours per word.")] = 10,
    space: SpaceOpt = Space.word,
    as_json: JsonOpt = False,
) -> None:
    """Top-N cosine neighbours of each WORD, within the chosen space."""
    vectors = open_vectors(path, space)
    known = [w for w in words if w in vectors]
    missing = [w for w in words if w not in vectors]
    if not known:
        raise InputError(
            f"none of {', '.join(map(repr, words))} is in the {space.value} vocabulary "
            f"({len(vectors)} words) of {path}"
        )
    if missing:
        err.print(f"[yellow]not in the vocabulary:[/] {', '.join(missing)}", highlight=False)
    result = neighbors(vectors, known, top)

    if as_json:
        rows = {w: [{"word": n, "cosine": c} for n, c in pairs] for w, pairs in result.items()}
        typer.echo(json.dumps({"space": space.value, "neighbors": rows, "missing": missing}))
        return
    for word, pairs in result.items():
        table = Table(title=f"{word} ({space.value})", title_justify="left")
        table.add_column("#", justify="right")
        table.add_column("neighbour")
        table.add_column("cosine", justify="right")
        for rank, (n, c) in enumerate(pairs, start=1):
            table.add_row(str(rank), n, f"{c:.4f}")
        out.print(table)


@vectors_app.command("evaluate")
@guarded
def evaluate_cli(
    path: DirArg,
    pairs: Annotated[
        list[Path] | None,
        typer.Option(
            "--pairs",
            exists=True,
            dir_okay=False,
            help="Word-pair file (word1<TAB>word2<TAB>score), e.g. SimLex-999; repeat for more.",
        ),
    ] = None,
    analogies: Annotated[
        Path | None,
        typer.Option(
            "--analogies", exists=True, dir_okay=False, help="Google-format analogy questions."
        ),
    ] = None,
    restrict_vocab: Annotated[
        int,
        typer.Option(
            "--restrict-vocab", min=4, help="Analogy candidates: the first N (most frequent) words."
        ),
    ] = 300_000,
    lowercase: Annotated[
        bool,
        typer.Option(
            "--lowercase/--exact-case", help="Match test words case-insensitively, or exactly."
        ),
    ] = True,
    space: SpaceOpt = Space.word,
    as_json: JsonOpt = False,
) -> None:
    """Spearman rho on word-pair files and 3CosAdd / 3CosMul analogy accuracy."""
    if not pairs and analogies is None:
        raise typer.BadParameter("give at least one --pairs FILE or --analogies FILE")
    vectors = open_vectors(path, space)
    report: dict[str, Any] = {"vectors": str(path), "space": space.value, "similarity": {}}
    for p in pairs or []:
        report["similarity"][p.stem] = evaluate_similarity(vectors, p, lowercase=lowercase)
    if analogies is not None:
        report["analogies"] = evaluate_analogies(
            vectors, analogies, restrict_vocab=restrict_vocab, lowercase=lowercase
        )

    if as_json:
        typer.echo(json.dumps(_no_nan(report), ensure_ascii=False))
        return
    if report["similarity"]:
        table = Table(title="word similarity (Spearman rho)", title_justify="left")
        for name in ("dataset", "pairs", "found", "coverage", "rho"):
            table.add_column(name, justify="left" if name == "dataset" else "right")
        for name, r in report["similarity"].items():
            row = [name, str(r["n_pairs"]), str(r["n_found"]), _pct(r["coverage"])]
            table.add_row(*row, _num(r["rho"]))
        out.print(table)
    if "analogies" in report:
        out.print(_analogy_table(report["analogies"]))


def _analogy_table(result: dict[str, Any]) -> Table:
    table = Table(title=f"analogies (top {result['restrict_vocab']} words)", title_justify="left")
    for name in ("section", "questions", "found", "coverage", "3CosAdd", "3CosMul"):
        table.add_column(name, justify="left" if name == "section" else "right")
    for name, s in result["sections"].items():
        table.add_row(name or "(none)", *_analogy_cells(s))
    table.add_section()
    for key in ("semantic", "syntactic", "total"):
        if key in result:
            table.add_row(
                key, *_analogy_cells(result[key]), style="bold" if key == "total" else None
            )
    return table


def _analogy_cells(s: dict[str, Any]) -> list[str]:
    return [
        str(s["n"]),
        str(s["n_found"]),
        _pct(s["coverage"]),
        _pct(s["cosadd"]),
        _pct(s["cosmul"]),
    ]


def _pct(x: float) -> str:
    return "-" if math.isnan(x) else f"{100 * x:.1f}%"


def _num(x: float) -> str:
    return "-" if math.isnan(x) else f"{x:.4f}"


def _no_nan(obj: Any) -> Any:
    if isinstance(obj, float) and math.isnan(obj):
        return None
    if isinstance(obj, dict):
        return {k: _no_nan(v) for k, v in obj.items()}
    return obj
