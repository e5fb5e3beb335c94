"""Subscribers, their choices, and the ledger of one-to-one messages."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from alerts.models.base import Base, _enum
from alerts.timeutil import utcnow


class SubscriberStatus(enum.StrEnum):
    """Where a subscriber stands."""

    PENDING = "pending"
    ACTIVE = "active"
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"
    COMPLAINED = "complained"


class Frequency(enum.StrEnum):
    """How often a subscriber wants mail."""

    IMMEDIATE = "immediate"
    DAILY = "daily"
    WEEKLY = "weekly"


class MailKind(enum.StrEnum):
    """Messages sent to one subscriber outside digests."""

    CONFIRM = "confirm"
    WELCOME = "welcome"
    MANAGE_LINK = "manage_link"
    ALREADY_SUBSCRIBED = "already_subscribed"


class MailStatus(enum.StrEnum):
    """Where a queued message stands."""

    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Subscriber(Base):
    """A person on the list, with their consent record and choices."""

    __tablename__ = "subscribers"
    __table_args__ = (CheckConstraint("token_version >= 1", name="token_version_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    email_key: Mapped[str] = mapped_column(String(320), unique=True)
    status: Mapped[SubscriberStatus] = mapped_column(
        _enum(SubscriberStatus, "subscriber_status"), default=SubscriberStatus.PENDING, index=True
    )
    frequency: Mapped[Frequency] = mapped_column(
        _enum(Frequency, "frequency"), default=Frequency.WEEKLY
    )
    language: Mapped[str] = mapped_column(String(8), default="en")
    token_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    confirmed_at: Mapped[datetime | None]
    unsubscribed_at: Mapped[datetime | None]
    consent_at: Mapped[datetime | None]
    consent_source: Mapped[str | None] = mapped_column(String(64))
    consent_ip_hash: Mapped[str | None] = mapped_column(String(64))
    hard_bounces: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class SubscriberTopic(Base):
    """A topic a subscriber chose (none chosen means all)."""

    __tablename__ = "subscriber_topics"

    subscriber_id: Mapped[int] = mapped_column(
        ForeignKey("subscribers.id", ondelete="CASCADE"), primary_key=True
    )
    topic_id: Mapped[int] = mapped_column(
        ForeignKey("topics.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class SubscriberCountry(Base):
    """A country a subscriber chose (none chosen means all)."""

    __tablename__ = "subscriber_countries"

    subscriber_id: Mapped[int] = mapped_column(
        ForeignKey("subscribers.id", ondelete="CASCADE"), primary_key=True
    )
    country_code: Mapped[str] = mapped_column(
        ForeignKey("countries.code", ondelete="CASCADE"), primary_key=True, index=True
    )


class SubscriberMail(Base):
    """One message to one subscriber outside digests: the ledger that makes sends idempotent."""

    __tablename__ = "subscriber_mail"
    __table_args__ = (
        Index("ix_subscriber_mail_subscriber_kind", "subscriber_id", "kind", "created_at"),
        Index("ix_subscriber_mail_status_created", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    kind: Mapped[MailKind] = mapped_column(_enum(MailKind, "mail_kind"))
    status: Mapped[MailStatus] = mapped_column(
        _enum(MailStatus, "mail_status"), default=MailStatus.QUEUED
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    message_id: Mapped[str | None] = mapped_column(String(255))
    smtp_response: Mapped[str | None] = mapped_column(Text)


class OutboxMessage(Base):
    """A message caught by the local outbox when no SMTP server is configured."""

    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(998))
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
