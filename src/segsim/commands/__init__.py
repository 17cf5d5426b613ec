"""CLI commands, one module per area; each registers its commands on segsim.commands.app.app."""
