"""CLI commands for this area (registered on segsim.cli.app). Placeholder until implemented."""

from segsim.cli import app  # noqa: F401
