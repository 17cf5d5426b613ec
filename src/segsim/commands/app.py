"""The one Typer app every command registers on. It lives here, below cli.py, so a command module
imports it without importing the entry point that imports the commands."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="segsim",
    help="Segmentation models without hand-labelling: generate, train, evaluate, predict, serve.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
