"""Preview a digest's next edition as one subscriber would get it, and send it as a test."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.db import Sessionmaker
from alerts.digests.build import edition_articles, edition_context
from alerts.digests.content import Recipient, select_for
from alerts.digests.plan import freeze_window
from alerts.digests.recipients import SubscriberRow, load_subscribers
from alerts.digests.render import DigestRenderer
from alerts.digests.schedule import previous_run
from alerts.editors.audit import Who, record_as
from alerts.errors import NotFound, ValidationError
from alerts.links import Links
from alerts.mail.message import Envelope, build_message, message_id_for
from alerts.mail.render import Rendered
from alerts.mail.transactional import Branding
from alerts.mail.transport import Transport
from alerts.models import Digest, Edition, EditionStatus, Subscriber
from alerts.subscribers.validation import normalise_email

TEST_PREFIX = "[Test] "
PREVIEW_EMAIL = "reader@example.invalid"
# Subscriber ids start at 1: links signed for id 0 are well-formed but name nobody, so a
# test message's unsubscribe link and one-click header work end to end and unsubscribe no one.
NOBODY = 0


@dataclass(frozen=True)
class SentTest:
    """Where a test message went and what the server said."""

    to: str
    subject: str
    message_id: str
    response: str


@dataclass(frozen=True)
class _Nobody:
    id: int = NOBODY
    token_version: int = 1


async def find_reader(session: AsyncSession, key: int | str) -> SubscriberRow:
    """Return a subscriber, by id or address, with their topics and countries."""
    if isinstance(key, int) or str(key).strip().isdigit():
        subscriber_id = await session.scalar(select(Subscriber.id).where(Subscriber.id == int(key)))
    else:
        try:
            email_key = normalise_email(key)[1]
        except ValidationError as e:
            raise ValidationError({"subscriber": e.errors["email"]}) from e
        subscriber_id = await session.scalar(
            select(Subscriber.id).where(Subscriber.email_key == email_key)
        )
    if subscriber_id is None:
        raise NotFound(f"No subscriber {str(key).strip()}.")
    return (await load_subscribers(session, [subscriber_id]))[subscriber_id]


async def _render(
    sessionmaker: Sessionmaker,
    digest: Digest,
    subscriber: int | str | None,
    email: str | None,
    *,
    links: Links,
    branding: Branding,
    templates_dir: Path,
    feeds_dir: Path,
    now: datetime,
) -> Rendered:
    async with sessionmaker() as session:
        try:
            reader = await find_reader(session, subscriber) if subscriber is not None else None
            current = await session.get(Digest, digest.id)
            if current is None:
                raise NotFound(f"No digest {digest.slug}.")
            next_run = current.next_run_at
            due = next_run if next_run is not None and next_run > now else now
            start = min(current.last_window_end or previous_run(current, due), due)
            while await session.scalar(
                select(Edition.id).where(Edition.digest_id == current.id, Edition.due_at == due)
            ):
                due += timedelta(microseconds=1)
            # A throw-away edition: the same SQL as a real one freezes the window, then rolls back.
            edition = Edition(
                digest_id=current.id, due_at=due, window_start=start, window_end=due,
                status=EditionStatus.SCHEDULED, note="preview", planned=0, created_at=now,
            )  # fmt: skip
            session.add(edition)
            await session.flush()
            await freeze_window(session, edition)
            articles = await edition_articles(session, edition.id)
            context = await edition_context(
                session, edition, current, articles, links=links, feeds_dir=feeds_dir, now=due
            )
            audience = current.audience.value
        finally:
            await session.rollback()
    cadence = audience if audience in ("daily", "weekly") else None
    renderer = await DigestRenderer.create(templates_dir, context, branding, cadence=cadence)
    topics = reader.topics if reader else frozenset[str]()
    countries = reader.countries if reader else frozenset[str]()
    recipient = Recipient(
        subscriber_id=reader.id if reader else NOBODY,
        email=email or (reader.email if reader else PREVIEW_EMAIL),
        topics=topics,
        countries=countries,
        manage_url=links.page("/manage"),
        unsubscribe_url=links.unsubscribe(_Nobody()),
    )
    return renderer.render(recipient, select_for(articles, topics, countries))


async def preview(
    sessionmaker: Sessionmaker,
    digest: Digest,
    subscriber: int | str | None,
    *,
    links: Links,
    branding: Branding,
    templates_dir: Path,
    feeds_dir: Path,
    now: datetime,
) -> Rendered:
    """Render the digest's next edition as ``subscriber`` (None: everything) would get it."""
    return await _render(
        sessionmaker, digest, subscriber, None, links=links, branding=branding,
        templates_dir=templates_dir, feeds_dir=feeds_dir, now=now,
    )  # fmt: skip


async def send_test(
    sessionmaker: Sessionmaker,
    digest: Digest,
    to: str,
    subscriber: int | str | None,
    *,
    transport: Transport,
    who: Who,
    links: Links,
    branding: Branding,
    templates_dir: Path,
    feeds_dir: Path,
    now: datetime,
) -> SentTest:
    """Send the next edition, as ``subscriber`` would get it, to any address, marked [Test]."""
    try:
        address = normalise_email(to)[0]
    except ValidationError as e:
        raise ValidationError({"to": e.errors["email"]}) from e
    body = await _render(
        sessionmaker, digest, subscriber, address, links=links, branding=branding,
        templates_dir=templates_dir, feeds_dir=feeds_dir, now=now,
    )  # fmt: skip
    subject = TEST_PREFIX + body.subject
    message_id = message_id_for("test", f"{digest.id}.{now.timestamp():.6f}", branding.host)
    envelope = Envelope(
        sender=branding.sender,
        recipient=address,
        message_id=message_id,
        list_id=branding.list_id,
        unsubscribe_url=links.unsubscribe(_Nobody()),
        date=now,
    )
    message = build_message(envelope, Rendered(subject=subject, text=body.text, html=body.html))
    # No transaction is open while the server answers: SQLite would hold its write lock.
    response = await transport.send(message)
    async with sessionmaker.begin() as session:
        details = {"to": address, "subscriber": subscriber, "message_id": message_id}
        await record_as(session, who, "digest.test", digest.slug, details, now)
    return SentTest(to=address, subject=subject, message_id=message_id, response=response)
