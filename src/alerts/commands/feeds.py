"""`alerts feeds`: follow sources, fetch them, correct tags."""

from __future__ import annotations

import click


@click.group()
def feeds() -> None:
    """Sources of articles (RSS/Atom) and the articles read from them."""
