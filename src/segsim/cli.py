"""The `segsim` entry point. Each command lives in segsim/commands/<area>.py as a thin function
that parses flags and calls the library, registered on the app in segsim/commands/app.py; this
file only loads them and turns user mistakes (SegsimError, bad flags) into a one-line message
with exit code 2, never a traceback."""

from __future__ import annotations

import sys

import typer

from segsim.commands.app import app
from segsim.errors import SegsimError


def _register() -> None:
    # Each module adds its commands to `app`. Imports inside the modules stay lazy, so
    # `segsim --help` does not pay for torch or GL.
    from segsim.commands import assets, data, demo, generate, infer, serve, train  # noqa: F401


def main(argv: list[str] | None = None) -> int:
    _register()
    try:
        # Without standalone mode click *returns* the code of a `typer.Exit(n)` instead of exiting.
        rc = app(args=argv, standalone_mode=False)
        if isinstance(rc, int) and not isinstance(rc, bool):
            return rc
    except SegsimError as e:
        typer.secho(f"error: {_as_flags(e, argv).message}", fg="red", err=True)
        return 2
    except KeyboardInterrupt:
        typer.secho("interrupted", err=True)
        return 130
    except Exception as e:  # click's own usage errors arrive here in non-standalone mode
        if isinstance(e, _click_exceptions("UsageError")):
            e.show()
            return 2
        if isinstance(e, _click_exceptions("Abort")):
            return 1
        if isinstance(e, _click_exceptions("Exit")):
            return e.exit_code
        raise
    return 0


def _as_flags(error: SegsimError, argv: list[str] | None) -> SegsimError:
    """The library names its parameters; the user typed flags: show them the flag."""
    if not error.param:
        return error
    words = [a for a in (sys.argv[1:] if argv is None else argv) if not a.startswith("-")]
    command = typer.main.get_command(app)
    sub = command.commands.get(words[0]) if words and hasattr(command, "commands") else None
    for p in getattr(sub, "params", []):
        if p.name == error.param and getattr(p, "opts", None):
            return error.renamed(max(p.opts, key=len))
    return error


def _click_exceptions(name: str) -> tuple[type, ...]:
    """click's exception class `name`, and typer's vendored copy of it (typer >= 0.20 ships its
    own `typer._click`, whose errors are not subclasses of click's)."""
    import click

    classes = [getattr(click.exceptions, name)]
    try:
        from typer._click import exceptions as vendored

        classes.append(getattr(vendored, name))
    except (ImportError, AttributeError):
        pass
    return tuple(classes)


if __name__ == "__main__":
    sys.exit(main())
