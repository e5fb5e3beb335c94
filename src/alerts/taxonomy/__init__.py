"""Topics, countries and regions, and the tagger that finds them in articles."""

from alerts.errors import AlertsError


class TaxonomyError(AlertsError):
    """A taxonomy data file is missing or malformed."""


__all__ = ["TaxonomyError"]
