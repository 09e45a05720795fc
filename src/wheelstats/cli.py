"""The `wheelstats` command: thin verbs over the library, one function each."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from wheelstats import store

app = typer.Typer(
    help="Download statistics for a Python package repository.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
import_app = typer.Typer(help="Load builds and history from elsewhere.", no_args_is_help=True)
app.add_typer(import_app, name="import")

console = Console()
errors = Console(stderr=True)

DbOption = Annotated[
    Optional[Path],
    typer.Option(
        "--db",
        help="The store file. Default: $WHEELSTATS_DB or ./wheelstats.duckdb.",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def fail(message: str) -> typer.Exit:
    """Print a one-line error and return the exit to raise."""
    errors.print(f"[bold red]Error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code=1)


def db_path(db: Optional[Path]) -> Path:
    return db if db is not None else store.default_db_path()


def main() -> None:  # pragma: no cover - console entry point
    app()
