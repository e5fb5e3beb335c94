"""SMTP: where the server is (SMTP_URL), and one persistent connection to it."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

from alerts.errors import ConfigError, PermanentMailError, TransientMailError


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


class SmtpConnection:
    """One persistent SMTP connection that reconnects when dropped and classifies failures."""

    def __init__(self, config: SmtpConfig) -> None:
        self._config = config
        self._client: aiosmtplib.SMTP | None = None

    async def send(self, sender: str, recipients: Sequence[str], data: bytes) -> str:
        """Send raw message bytes; raise TransientMailError or PermanentMailError."""
        try:
            if self._client is None or not self._client.is_connected:
                self._client = await self._connect()
            _, response = await self._client.sendmail(sender, list(recipients), data)
            return response
        except aiosmtplib.SMTPRecipientsRefused as e:
            text = "; ".join(f"{r.code} {r.message}" for r in e.recipients)
            if all(500 <= r.code < 600 for r in e.recipients):
                raise PermanentMailError(text) from e
            raise TransientMailError(text) from e
        except aiosmtplib.SMTPResponseException as e:
            if e.code >= 500 or e.code < 400:
                await self._reset()
                if e.code >= 500:
                    raise PermanentMailError(f"{e.code} {e.message}") from e
            else:
                await self._reset()
            raise TransientMailError(f"{e.code} {e.message}") from e
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as e:
            self._drop()
            raise TransientMailError(f"SMTP connection failed: {e}") from e

    async def _connect(self) -> aiosmtplib.SMTP:
        c = self._config
        client = aiosmtplib.SMTP(
            hostname=c.host,
            port=c.port,
            use_tls=c.use_tls,
            start_tls=c.start_tls,
            timeout=c.timeout,
        )
        await client.connect()
        if c.username and c.password:
            await client.login(c.username, c.password)
        return client

    async def _reset(self) -> None:
        # After a refused DATA the session may be mid-transaction; RSET or reconnect.
        if self._client is not None and self._client.is_connected:
            try:
                await self._client.rset()
                return
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                pass
        self._drop()

    def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()

    async def close(self) -> None:
        """Say QUIT if connected."""
        client, self._client = self._client, None
        if client is not None and client.is_connected:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                client.close()
