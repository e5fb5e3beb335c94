"""Typed ORM models: the schema every migration builds."""

from alerts.models.base import Base
from alerts.models.catalog import Country, Topic
from alerts.models.content import (
    Article,
    ArticleCountry,
    ArticleTopic,
    HrcSession,
    Source,
    SourceTopic,
)
from alerts.models.digests import (
    Audience,
    Delivery,
    DeliveryStatus,
    Digest,
    DigestCountry,
    DigestStatus,
    DigestTopic,
    Edition,
    EditionArticle,
    EditionStatus,
    SubscriberDigest,
)
from alerts.models.editors import ApiToken, AuditEntry, Editor
from alerts.models.subscribers import (
    Frequency,
    MailKind,
    MailStatus,
    OutboxMessage,
    Subscriber,
    SubscriberCountry,
    SubscriberMail,
    SubscriberStatus,
    SubscriberTopic,
)

__all__ = [
    "ApiToken",
    "Article",
    "ArticleCountry",
    "ArticleTopic",
    "Audience",
    "AuditEntry",
    "Base",
    "Country",
    "Delivery",
    "DeliveryStatus",
    "Digest",
    "DigestCountry",
    "DigestStatus",
    "DigestTopic",
    "Edition",
    "EditionArticle",
    "EditionStatus",
    "Editor",
    "Frequency",
    "HrcSession",
    "MailKind",
    "MailStatus",
    "OutboxMessage",
    "Source",
    "SourceTopic",
    "Subscriber",
    "SubscriberCountry",
    "SubscriberDigest",
    "SubscriberMail",
    "SubscriberStatus",
    "SubscriberTopic",
    "Topic",
]
