"""Console output for the CLI: Rich consoles, logging set-up, progress bars, error exits.

Only the CLI uses this module; library code logs through ``logging`` and reports progress
through callbacks.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from .errors import GramfastError

out = Console()
err = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])


def setup_logging(verbose: bool) -> None:
    level = logging.DEBUG if verbose else logging.WARNING
    logging.basicConfig(
        level=level,
        format="%(message)s",
        handlers=[RichHandler(console=err, show_path=False)],
        force=True,
    )


def guarded(fn: F) -> F:
    """Turn GramfastError into a red message on stderr and its exit code (2: usage errors)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except GramfastError as e:
            err.print(f"[bold red]error:[/] {e}", highlight=False, soft_wrap=True)
            raise typer.Exit(code=e.exit_code) from None

    return wrapper  # type: ignore[return-value]


def progress_bar(unit: str = "items", *, counter: bool = False) -> Progress:
    """A Rich progress bar with a rate field (``rate``, in ``unit``/s) and an ETA."""
    columns = [
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        *([MofNCompleteColumn()] if counter else []),
        TextColumn("{task.fields[rate]:>10,.0f} " + unit + "/s"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    ]
    return Progress(*columns, console=err, transient=False)
