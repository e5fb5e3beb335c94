"""Build RFC 5322 messages: text first, HTML last, with List-Unsubscribe headers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from alerts.mail.render import Rendered

# Long List-Unsubscribe URLs stay on one line (RFC 5322 allows 998 characters).
POLICY = SMTP.clone(max_line_length=998)


@dataclass(frozen=True)
class Envelope:
    """Who a message is from and to, and how it identifies itself."""

    sender: str
    recipient: str
    message_id: str
    list_id: str
    unsubscribe_url: str
    date: datetime


def build_message(envelope: Envelope, body: Rendered) -> EmailMessage:
    """Return a multipart/alternative message with the unsubscribe headers of RFC 2369/8058."""
    msg = EmailMessage(policy=POLICY)
    msg["From"] = envelope.sender
    msg["To"] = Address(addr_spec=envelope.recipient)
    msg["Subject"] = body.subject
    msg["Date"] = format_datetime(envelope.date)
    msg["Message-ID"] = envelope.message_id
    msg["List-Id"] = envelope.list_id
    msg["List-Unsubscribe"] = f"<{envelope.unsubscribe_url}>"
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(body.text, cte="quoted-printable")
    msg.add_alternative(body.html, subtype="html", cte="quoted-printable")
    return msg


def message_id_for(kind: str, key: int | str, host: str) -> str:
    """Return a stable Message-ID, so a retried send is recognisably the same message."""
    return f"<{kind}.{key}@{host}>"
