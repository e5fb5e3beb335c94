"""Subcommands of the `alerts` CLI, one module per feature."""
