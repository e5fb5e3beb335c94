"""Digests, their editions, and the delivery ledger."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from alerts.models.base import Base, _enum
from alerts.timeutil import utcnow


class DigestStatus(enum.StrEnum):
    """Whether a digest's schedule runs."""

    ACTIVE = "active"
    PAUSED = "paused"


class Audience(enum.StrEnum):
    """Who an edition of a digest goes to."""

    DAILY = "daily"
    WEEKLY = "weekly"
    IMMEDIATE = "immediate"
    OPTED_IN = "opted_in"
    ALL = "all"


class Digest(Base):
    """An editor's newsletter: schedule, audience, filter, sections."""

    __tablename__ = "digests"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    cron: Mapped[str | None] = mapped_column(String(100))
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Zurich")
    send_at: Mapped[datetime | None]
    audience: Mapped[Audience] = mapped_column(_enum(Audience, "audience"))
    sections: Mapped[list[str]] = mapped_column(JSON, default=list)
    group_by: Mapped[str] = mapped_column(String(16), default="topic")
    subject_template: Mapped[str] = mapped_column(String(300))
    intro_markdown: Mapped[str] = mapped_column(Text, default="")
    send_when_empty: Mapped[bool] = mapped_column(default=False)
    status: Mapped[DigestStatus] = mapped_column(
        _enum(DigestStatus, "digest_status"), default=DigestStatus.ACTIVE
    )
    grace_hours: Mapped[int] = mapped_column(Integer, default=12)
    next_run_at: Mapped[datetime | None] = mapped_column(index=True)
    last_window_end: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class DigestTopic(Base):
    """A topic a digest is limited to (none: all)."""

    __tablename__ = "digest_topics"

    digest_id: Mapped[int] = mapped_column(
        ForeignKey("digests.id", ondelete="CASCADE"), primary_key=True
    )
    topic_id: Mapped[int] = mapped_column(
        ForeignKey("topics.id", ondelete="CASCADE"), primary_key=True
    )


class DigestCountry(Base):
    """A country a digest is limited to (none: all)."""

    __tablename__ = "digest_countries"

    digest_id: Mapped[int] = mapped_column(
        ForeignKey("digests.id", ondelete="CASCADE"), primary_key=True
    )
    country_code: Mapped[str] = mapped_column(
        ForeignKey("countries.code", ondelete="CASCADE"), primary_key=True
    )


class SubscriberDigest(Base):
    """A digest a subscriber opted in to."""

    __tablename__ = "subscriber_digests"

    subscriber_id: Mapped[int] = mapped_column(
        ForeignKey("subscribers.id", ondelete="CASCADE"), primary_key=True
    )
    digest_id: Mapped[int] = mapped_column(
        ForeignKey("digests.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class EditionStatus(enum.StrEnum):
    """Where one run of a digest stands."""

    SCHEDULED = "scheduled"
    SENDING = "sending"
    PAUSED = "paused"
    SENT = "sent"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"


class Edition(Base):
    """One run of a digest over a window of articles; created exactly once per due time."""

    __tablename__ = "editions"
    __table_args__ = (UniqueConstraint("digest_id", "due_at", name="uq_editions_digest_due"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    digest_id: Mapped[int] = mapped_column(ForeignKey("digests.id", ondelete="CASCADE"))
    due_at: Mapped[datetime]
    window_start: Mapped[datetime]
    window_end: Mapped[datetime]
    status: Mapped[EditionStatus] = mapped_column(
        _enum(EditionStatus, "edition_status"), default=EditionStatus.SCHEDULED, index=True
    )
    note: Mapped[str] = mapped_column(Text, default="")
    planned: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class DeliveryStatus(enum.StrEnum):
    """Where one message of an edition stands."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"


class Delivery(Base):
    """One row per (edition, subscriber): the ledger that makes digest sends exactly-once."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("edition_id", "subscriber_id", name="uq_deliveries_edition_subscriber"),
        # Only pending deliveries, in claim order: a claim reads the next rows to send instead
        # of every pending row, and leasing a row changes no indexed column (a HOT update).
        Index(
            "ix_deliveries_pending",
            "edition_id",
            "id",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int] = mapped_column(ForeignKey("editions.id", ondelete="CASCADE"))
    subscriber_id: Mapped[int] = mapped_column(
        ForeignKey("subscribers.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[DeliveryStatus] = mapped_column(
        _enum(DeliveryStatus, "delivery_status"), default=DeliveryStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    next_attempt_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    message_id: Mapped[str | None] = mapped_column(String(255))
    smtp_response: Mapped[str | None] = mapped_column(Text)


class EditionArticle(Base):
    """An article in an edition's window, frozen when the edition is planned."""

    __tablename__ = "edition_articles"

    edition_id: Mapped[int] = mapped_column(
        ForeignKey("editions.id", ondelete="CASCADE"), primary_key=True
    )
    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
