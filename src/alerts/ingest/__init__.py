"""Feed ingestion: guard URLs, fetch over HTTP, parse feeds and sanitise their HTML.

The modules hold no database code: ``fetch`` returns a ``FetchResult`` and ``parse`` returns a
``ParsedFeed``; storing them is a later step.
"""

from alerts.errors import AlertsError


class IngestError(AlertsError):
    """Base class for errors raised while taking in a feed."""


class UnsafeURLError(IngestError):
    """The URL may not be fetched: wrong scheme, or it reaches a non-public address."""


class FeedParseError(IngestError):
    """The document is not a feed that can be read."""


class FeedTooLargeError(IngestError):
    """The document is larger than the size cap."""


__all__ = ["FeedParseError", "FeedTooLargeError", "IngestError", "UnsafeURLError"]
