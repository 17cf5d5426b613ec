"""The one Typer app. Each command lives in segsim/commands/<area>.py as a thin function that
parses flags and calls the library; this file only wires them up and turns user mistakes
(SegsimError, bad flags) into a one-line message with exit code 2 -- never a traceback."""

from __future__ import annotations

import sys

import typer

from segsim.errors import SegsimError

app = typer.Typer(
    name="segsim",
    help="Segmentation models without hand-labelling: generate, train, evaluate, predict, serve.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register() -> None:
    # Each module adds its commands to `app`. Imports inside the modules stay lazy, so
    # `segsim --help` does not pay for torch or GL.
    from segsim.commands import generate, train, infer, serve, demo  # noqa: F401


def main(argv: list[str] | None = None) -> int:
    _register()
    try:
        app(args=argv, standalone_mode=False)
    except SegsimError as e:
        typer.secho(f"error: {e.message}", fg="red", err=True)
        return 2
    except KeyboardInterrupt:
        typer.secho("interrupted", err=True)
        return 130
    except Exception as e:  # click's own usage errors arrive here in non-standalone mode
        import click

        if isinstance(e, click.exceptions.UsageError):
            e.show()
            return 2
        if isinstance(e, click.exceptions.Abort):
            return 1
        if isinstance(e, click.exceptions.Exit):
            return e.exit_code
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
