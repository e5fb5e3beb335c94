"""Transports: a real SMTP server, or the local outbox when none is configured."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import parseaddr
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

from alerts.db import Sessionmaker
from alerts.errors import ConfigError, PermanentMailError, TransientMailError
from alerts.models import OutboxMessage
from alerts.timeutil import utcnow


def envelope_sender(message: EmailMessage) -> str:
    """Return the bare address of the From header, used as the SMTP envelope sender."""
    return parseaddr(str(message["From"]))[1]


class Transport(Protocol):
    """Something that delivers a message and returns the server's answer."""

    async def send(self, message: EmailMessage) -> str:
        """Deliver ``message``; raise TransientMailError or PermanentMailError."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to reach the SMTP server, parsed from SMTP_URL."""

    host: str
    port: int
    username: str | None
    password: str | None
    use_tls: bool
    start_tls: bool | None
    timeout: float

    @classmethod
    def from_url(cls, url: str, timeout: float = 30.0) -> SmtpConfig:
        """Parse smtp://user:pass@host:port, smtps://… (TLS) or smtp://…?starttls=required."""
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ConfigError("SMTP_URL must look like smtp://host:port or smtps://host:port")
        query = parse_qs(parts.query)
        starttls = query.get("starttls", [""])[0]
        return cls(
            host=parts.hostname,
            port=parts.port or (465 if parts.scheme == "smtps" else 25),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            use_tls=parts.scheme == "smtps",
            start_tls=True if starttls == "required" else (False if starttls == "off" else None),
            timeout=timeout,
        )


class SmtpTransport:
    """Send through one persistent SMTP connection, reconnecting when it drops."""

    def __init__(self, config: SmtpConfig) -> None:
        self._config = config
        self._client: aiosmtplib.SMTP | None = None
        self._lock = asyncio.Lock()

    async def _connect(self) -> aiosmtplib.SMTP:
        c = self._config
        client = aiosmtplib.SMTP(
            hostname=c.host,
            port=c.port,
            use_tls=c.use_tls,
            start_tls=c.start_tls,
            timeout=c.timeout,
            tls_context=ssl.create_default_context() if c.use_tls or c.start_tls else None,
        )
        await client.connect()
        if c.username and c.password:
            await client.login(c.username, c.password)
        return client

    async def send(self, message: EmailMessage) -> str:
        """Send one message; classify failures as transient or permanent."""
        async with self._lock:
            try:
                if self._client is None or not self._client.is_connected:
                    self._client = await self._connect()
                _, response = await self._client.sendmail(
                    envelope_sender(message), [str(message["To"])], message.as_bytes()
                )
            except aiosmtplib.SMTPRecipientsRefused as e:
                codes = [r.code for r in e.recipients]
                text = "; ".join(f"{r.code} {r.message}" for r in e.recipients)
                if all(500 <= code < 600 for code in codes):
                    raise PermanentMailError(text) from e
                raise TransientMailError(text) from e
            except aiosmtplib.SMTPResponseException as e:
                await self._drop()
                if 500 <= e.code < 600:
                    raise PermanentMailError(f"{e.code} {e.message}") from e
                raise TransientMailError(f"{e.code} {e.message}") from e
            except (aiosmtplib.SMTPException, OSError, TimeoutError) as e:
                await self._drop()
                raise TransientMailError(f"SMTP connection failed: {e}") from e
            return response

    async def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):  # the connection is already unusable
                client.close()

    async def close(self) -> None:
        """Say QUIT if connected."""
        client, self._client = self._client, None
        if client is not None and client.is_connected:
            try:
                await client.quit()
            except aiosmtplib.SMTPException:
                client.close()


class OutboxTransport:
    """Catch messages in the database so a developer can read them on /outbox."""

    def __init__(self, sessionmaker: Sessionmaker) -> None:
        self._sessionmaker = sessionmaker

    async def send(self, message: EmailMessage) -> str:
        """Store the message; the Message-ID is unique, so a resend stores nothing twice."""
        message_id = str(message["Message-ID"])
        async with self._sessionmaker.begin() as session:
            exists = await session.scalar(
                OutboxMessage.__table__.select().where(OutboxMessage.message_id == message_id)
            )
            if exists is None:
                session.add(
                    OutboxMessage(
                        created_at=utcnow(),
                        recipient=str(message["To"]),
                        subject=str(message["Subject"]),
                        message_id=message_id,
                        raw=message.as_bytes(),
                    )
                )
        return "250 stored in the local outbox"

    async def close(self) -> None:
        """Nothing to release."""


def transport_for(smtp_url: str, sessionmaker: Sessionmaker, timeout: float) -> Transport:
    """Return the SMTP transport when SMTP_URL is set, else the local outbox."""
    if smtp_url:
        return SmtpTransport(SmtpConfig.from_url(smtp_url, timeout))
    return OutboxTransport(sessionmaker)
