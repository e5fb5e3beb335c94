"""`alerts sessions`: the Human Rights Council calendar."""

from __future__ import annotations

import click


@click.group()
def sessions() -> None:
    """Human Rights Council sessions and their countdowns."""
