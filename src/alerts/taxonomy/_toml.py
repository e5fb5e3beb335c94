"""Reading and checking the taxonomy's TOML files."""

import tomllib
from pathlib import Path
from typing import Any

from alerts.taxonomy import TaxonomyError


def read_tables(path: Path, key: str) -> list[dict[str, Any]]:
    """Return the array of tables under `key`, or raise TaxonomyError."""
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except OSError as e:
        raise TaxonomyError(f"cannot read {path}: {e.strerror or e}") from e
    except tomllib.TOMLDecodeError as e:
        raise TaxonomyError(f"{path} is not valid TOML: {e}") from e
    tables = data.get(key)
    if not isinstance(tables, list) or not tables:
        raise TaxonomyError(f"{path} has no [[{key}]] entries")
    if not all(isinstance(t, dict) for t in tables):
        raise TaxonomyError(f"{path}: every {key} must be a table")
    return tables


def get_str(table: dict[str, Any], field: str, where: str, *, required: bool = True) -> str:
    """Return a string field, or raise TaxonomyError naming the entry."""
    value = table.get(field, None if required else "")
    if not isinstance(value, str) or (required and not value.strip()):
        raise TaxonomyError(
            f"{where}: '{field}' must be a {'non-empty ' if required else ''}string"
        )
    return value.strip()


def get_strs(table: dict[str, Any], field: str, where: str) -> tuple[str, ...]:
    """Return a list-of-strings field (missing means empty), or raise TaxonomyError."""
    value = table.get(field, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise TaxonomyError(f"{where}: '{field}' must be a list of non-empty strings")
    return tuple(v.strip() for v in value)


def check_slug(slug: str, where: str, seen: set[str]) -> None:
    """Raise TaxonomyError unless the slug is lower-case-hyphenated and new."""
    if not slug.replace("-", "").isalnum() or slug != slug.lower() or slug.strip("-") != slug:
        raise TaxonomyError(f"{where}: slug {slug!r} must be lower-case words joined by '-'")
    if slug in seen:
        raise TaxonomyError(f"{where}: slug {slug!r} is used twice")
    seen.add(slug)
