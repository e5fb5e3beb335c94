"""Prepare an edition for sending: articles, context and renderer, built once per worker."""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime
from pathlib import Path

from alerts.db import Sessionmaker
from alerts.digests.build import edition_articles, edition_context
from alerts.digests.render import DigestRenderer
from alerts.digests.send import Prepared
from alerts.links import Links
from alerts.mail.transactional import Branding
from alerts.models import Digest, Edition


class PreparedCache:
    """Keep the few editions a worker is sending; building one is the expensive part."""

    def __init__(self, size: int = 8) -> None:
        self._items: OrderedDict[int, Prepared] = OrderedDict()
        self._size = size

    def get(self, edition_id: int) -> Prepared | None:
        """Return a prepared edition if cached."""
        item = self._items.get(edition_id)
        if item is not None:
            self._items.move_to_end(edition_id)
        return item

    def put(self, prepared: Prepared) -> None:
        """Cache a prepared edition, dropping the oldest."""
        self._items[prepared.edition_id] = prepared
        while len(self._items) > self._size:
            self._items.popitem(last=False)


async def prepare_edition(
    sessionmaker: Sessionmaker,
    edition_id: int,
    *,
    links: Links,
    branding: Branding,
    templates_dir: Path,
    feeds_dir: Path,
    now: datetime,
) -> Prepared:
    """Load the edition's articles, build its context and compile its renderer."""
    async with sessionmaker() as session:
        edition = await session.get(Edition, edition_id)
        if edition is None:
            raise LookupError(f"no edition {edition_id}")
        digest = await session.get(Digest, edition.digest_id)
        assert digest is not None
        articles = await edition_articles(session, edition_id)
        context = await edition_context(
            session, edition, digest, articles, links=links, feeds_dir=feeds_dir, now=now
        )
    cadence = digest.audience.value if digest.audience in ("daily", "weekly") else None
    renderer = await DigestRenderer.create(templates_dir, context, branding, cadence=cadence)
    return Prepared(
        edition_id=edition_id,
        send_when_empty=digest.send_when_empty,
        articles=tuple(articles),
        context=context,
        renderer=renderer,
    )
