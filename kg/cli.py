"""The `kg` command line: thin wrappers over plain functions in the package.

Each command parses its options and calls one function; all logic lives in the modules.
Exit codes: 0 success, 1 findings at or above --fail-on, 2 bad input (file, line, column reported).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from kg import __version__

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Remit knowledge graph tools.")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"remit {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """Remit: who oversees what in places of detention in England and Wales."""


def main() -> None:  # console-script entry point
    app(prog_name="kg")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
