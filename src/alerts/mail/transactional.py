"""Compose the one-to-one messages: confirmation, welcome, manage link, already subscribed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import parseaddr

from alerts.config import Settings
from alerts.links import Links
from alerts.mail.message import Envelope, build_message, message_id_for
from alerts.mail.render import MailRenderer
from alerts.models import MailKind, Subscriber, SubscriberStatus

SUBJECTS: dict[MailKind, str] = {
    MailKind.CONFIRM: "Please confirm your subscription",
    MailKind.WELCOME: "Welcome: you are subscribed",
    MailKind.MANAGE_LINK: "Your link to manage your subscription",
    MailKind.ALREADY_SUBSCRIBED: "You are already subscribed",
}


@dataclass(frozen=True)
class Branding:
    """What every message says about who sends it."""

    sender: str
    organisation: str
    address: str
    list_id: str
    host: str

    @classmethod
    def from_settings(cls, settings: Settings) -> Branding:
        """Return the sender identity the settings describe."""
        return cls(
            sender=settings.mail_from,
            organisation=settings.organisation_name,
            address=settings.organisation_address,
            list_id=settings.effective_list_id,
            host=settings.site_host,
        )

    @property
    def envelope_from(self) -> str:
        """Return the bare sender address for the SMTP envelope."""
        return parseaddr(self.sender)[1]


def still_wanted(kind: MailKind, status: SubscriberStatus) -> bool:
    """Tell whether a queued message still makes sense for the subscriber's current status."""
    if kind == MailKind.CONFIRM:
        return status in (SubscriberStatus.PENDING, SubscriberStatus.UNSUBSCRIBED)
    return status == SubscriberStatus.ACTIVE


async def compose(
    renderer: MailRenderer,
    links: Links,
    branding: Branding,
    *,
    mail_id: int,
    kind: MailKind,
    subscriber: Subscriber,
    confirm_days: int,
    now: datetime,
) -> EmailMessage:
    """Render the message of ``kind`` for ``subscriber``."""
    unsubscribe_url = links.unsubscribe(subscriber)
    context = {
        "organisation": branding.organisation,
        "postal_address": branding.address,
        "email": subscriber.email,
        "confirm_url": links.confirm(subscriber),
        "confirm_days": confirm_days,
        "manage_url": links.manage(subscriber),
        "unsubscribe_url": unsubscribe_url,
        "signup_url": links.page("/"),
    }
    body = await renderer.render(kind.value, SUBJECTS[kind], context)
    envelope = Envelope(
        sender=branding.sender,
        recipient=subscriber.email,
        message_id=message_id_for(f"mail-{kind.value}", mail_id, branding.host),
        list_id=branding.list_id,
        unsubscribe_url=unsubscribe_url,
        date=now,
    )
    return build_message(envelope, body)
