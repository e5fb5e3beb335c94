"""SMTP: where the server is (SMTP_URL), and one persistent connection to it.

A digest message is ~90 KB, and aiosmtplib's ``sendmail`` runs three regular expressions over
every byte of it (line endings twice, once for the SIZE option; leading dots once): more CPU than
everything else a worker does per message. ``SmtpConnection`` speaks the same commands through
aiosmtplib's client but puts the message in its DATA form with ``bytes.count``/``replace``, which
are C loops, and skips the regular expressions when the line endings are already CRLF, as the
messages of ``alerts.mail.message`` always are.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib
from aiosmtplib.protocol import normalize_message_line_endings

from alerts.errors import ConfigError, PermanentMailError, TransientMailError

# An address that can go between <> as it is: printable ASCII without spaces or angle brackets.
_BARE_ADDRESS = re.compile(r"[!-;=?-~]+@[!-;=?-~]+")


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

    async def send(
        self, sender: str, recipients: Sequence[str], data: bytes, *, crlf: bool = False
    ) -> str:
        """Send raw message bytes; raise TransientMailError or PermanentMailError.

        ``crlf``: the caller vouches that every line of ``data`` ends in CRLF (as
        ``message_bytes`` writes them), so the line endings are not checked again.
        """
        try:
            if self._client is None or not self._client.is_connected:
                self._client = await self._connect()
            if all(_BARE_ADDRESS.fullmatch(a) for a in (sender, *recipients)):
                return await _transaction(self._client, sender, recipients, data, crlf)
            # Display names are parsed, and internationalised addresses need SMTPUTF8: sendmail
            # does both.
            _, response = await self._client.sendmail(sender, list(recipients), data)
            return response
        except aiosmtplib.SMTPRecipientsRefused as e:
            await self._reset()
            text = "; ".join(f"{r.code} {r.message}" for r in e.recipients)
            if all(500 <= r.code < 600 for r in e.recipients):
                raise PermanentMailError(text) from e
            raise TransientMailError(text) from e
        except aiosmtplib.SMTPResponseException as e:
            await self._reset()
            if e.code >= 500:
                raise PermanentMailError(f"{e.code} {e.message}") from e
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
        if client.is_ehlo_or_helo_needed:
            try:
                await client.ehlo()
            except aiosmtplib.SMTPHeloError:
                await client.helo()
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


def data_form(message: bytes, *, crlf: bool = False) -> tuple[bytes, int]:
    """Return ``message`` as it goes after DATA, and its SIZE (RFC 1870).

    The same transformation as aiosmtplib's ``execute_data_command`` (RFC 5321 4.5.2: CRLF line
    ends, leading dots doubled, a final dot line), without its regular expressions when the
    line endings are CRLF already (checked, unless ``crlf`` says so). SIZE counts the message
    before dots are doubled.
    """
    if crlf or message.count(b"\n") == message.count(b"\r") == message.count(b"\r\n"):
        if not message.endswith(b"\r\n"):
            message += b"\r\n"
    else:
        message = normalize_message_line_endings(message)
    size = len(message)
    if message.startswith(b"."):
        message = b"." + message
    if b"\n." in message:
        message = message.replace(b"\r\n.", b"\r\n..")
    return message + b".\r\n", size


async def _transaction(
    client: aiosmtplib.SMTP, sender: str, recipients: Sequence[str], message: bytes, crlf: bool
) -> str:
    """Send one message with MAIL, RCPT and DATA; the caller resets the session on a refusal."""
    data, size = data_form(message, crlf=crlf)
    mail = [b"MAIL", b"FROM:<%s>" % sender.encode()]
    if client.supports_extension("size"):
        mail.append(b"SIZE=%d" % size)
    response = await client.execute_command(*mail)
    if response.code != 250:
        raise aiosmtplib.SMTPSenderRefused(response.code, response.message, sender)
    refused = []
    for recipient in recipients:
        response = await client.execute_command(b"RCPT", b"TO:<%s>" % recipient.encode())
        if response.code not in (250, 251):
            refused.append(
                aiosmtplib.SMTPRecipientRefused(response.code, response.message, recipient)
            )
    if len(refused) == len(recipients):
        raise aiosmtplib.SMTPRecipientsRefused(refused)
    response = await client.execute_command(b"DATA")
    if response.code != 354:
        raise aiosmtplib.SMTPDataError(response.code, response.message)
    protocol = client.protocol
    if protocol is None:
        raise aiosmtplib.SMTPServerDisconnected("Connection lost")
    protocol.write(data)
    response = await protocol.read_response(timeout=client.timeout)
    if response.code != 250:
        raise aiosmtplib.SMTPDataError(response.code, response.message)
    return response.message
