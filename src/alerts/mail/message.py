"""Build RFC 5322 messages: text first, HTML last, with List-Unsubscribe headers.

A digest run builds one message per subscriber, and the email package spends milliseconds on
each (header objects, a pure-Python quoted-printable encoder). ``message_bytes`` writes the
same headers and MIME structure directly: headers that are the same for a whole edition are
folded by the email package once and cached, plain per-subscriber values are written as they
are, and bodies are encoded by ``binascii.b2a_qp`` (C, 76-character lines as RFC 2045 asks).
``build_message`` parses those bytes, so every message, digest or not, has one source.
"""

from __future__ import annotations

import random
import re
import sys
from binascii import b2a_qp
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import SMTP
from email.utils import format_datetime
from functools import lru_cache

from alerts.mail.render import Lines, Rendered, RenderedParts

# Long List-Unsubscribe URLs stay on one line (RFC 5322 allows 998 characters).
POLICY = SMTP.clone(max_line_length=998)

CRLF = b"\r\n"
_STATIC = (
    b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
    b"Auto-Submitted: auto-generated\r\n"
    b"MIME-Version: 1.0\r\n"
)
_TEXT_PART = (
    b'Content-Type: text/plain; charset="utf-8"\r\n'
    b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
)
# The email package writes MIME-Version into the second part too; kept for identical output.
_HTML_PART = (
    b'Content-Type: text/html; charset="utf-8"\r\n'
    b"Content-Transfer-Encoding: quoted-printable\r\nMIME-Version: 1.0\r\n\r\n"
)
# Values written as they are: printable ASCII, no encoded-word lookalikes, no folding needed.
_PLAIN = re.compile(r"[!-~]+(?: [!-~]+)*")
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_ADDR = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*")
_MAX_PLAIN = 900
_rng = random.Random()
# Enough for the distinct lines of a few editions; per-recipient lines make it overflow, and
# then it starts again rather than grow with the audience.
_QP_CACHE_LINES = 20_000
_qp_lines: dict[bytes, bytes] = {}
# Encoded ``Lines`` pieces: a few hundred per edition (template blocks, articles, headings).
_QP_CACHE_PIECES = 5_000
_qp_pieces: dict[str, bytes] = {}


@dataclass(frozen=True)
class Envelope:
    """Who a message is from and to, and how it identifies itself."""

    sender: str
    recipient: str
    message_id: str
    list_id: str
    unsubscribe_url: str
    date: datetime


def message_bytes(envelope: Envelope, body: Rendered | RenderedParts) -> bytes:
    """Return a multipart/alternative message with the unsubscribe headers of RFC 2369/8058."""
    # The email package's boundary form. It cannot occur in the parts: quoted-printable
    # writes every "=" of the content as "=3D", so no encoded line holds "==".
    boundary = b"===============%019d==" % _rng.randrange(sys.maxsize)
    dash = b"--" + boundary
    return b"".join(
        (
            _folded("From", envelope.sender),
            _to(envelope.recipient),
            _folded("Subject", body.subject),
            b"Date: %s\r\n" % format_datetime(envelope.date).encode("ascii"),
            _header("Message-ID", envelope.message_id),
            _folded("List-Id", envelope.list_id),
            _header("List-Unsubscribe", f"<{envelope.unsubscribe_url}>"),
            _STATIC,
            b'Content-Type: multipart/alternative; boundary="%s"\r\n\r\n' % boundary,
            dash,
            CRLF,
            _TEXT_PART,
            _encode(body.text),
            CRLF,
            dash,
            CRLF,
            _HTML_PART,
            _encode(body.html),
            CRLF,
            dash,
            b"--\r\n",
        )
    )


def build_message(envelope: Envelope, body: Rendered) -> EmailMessage:
    """Return the message of ``message_bytes`` as an EmailMessage."""
    message = BytesParser(policy=POLICY).parsebytes(message_bytes(envelope, body))
    assert isinstance(message, EmailMessage)
    return message


def message_id_for(kind: str, key: int | str, host: str) -> str:
    """Return a stable Message-ID, so a retried send is recognisably the same message."""
    return f"<{kind}.{key}@{host}>"


def _encode(body: str | Sequence[str]) -> bytes:
    return _qp(body) if isinstance(body, str) else _qp_parts(body)


def _qp_parts(parts: Sequence[str]) -> bytes:
    # A ``Lines`` piece that starts a line is encoded once per run and looked up (by the same
    # string object, whose hash is cached); the pieces between are encoded line by line.
    cache = _qp_pieces
    if len(cache) > _QP_CACHE_PIECES:
        cache.clear()
    out: list[bytes] = []
    pending: list[str] = []
    line_start = True
    for part in parts:
        if not part:
            continue
        if line_start and type(part) is Lines:
            if pending:
                out.append(_qp("".join(pending)))
                pending = []
            encoded = cache.get(part)
            if encoded is None:
                encoded = cache[part] = _qp(part)
            out.append(encoded)
        else:
            pending.append(part)
        line_start = part[-1] == "\n"
    if pending or not out:
        out.append(_qp("".join(pending)))
    return b"".join(out)


def _qp(text: str) -> bytes:
    # Quoted-printable encodes each line on its own, and most lines of a digest are the same
    # for every recipient (article blocks), so encoded lines are cached. Lines are split as
    # the email package splits them (\r, \n or \r\n) and end in CRLF for SMTP.
    cache = _qp_lines
    if len(cache) > _QP_CACHE_LINES:
        cache.clear()
    out = []
    for line in text.encode("utf-8").splitlines() or (b"",):
        encoded = cache.get(line)
        if encoded is None:
            encoded = cache[line] = _dots_escaped(b2a_qp(line + CRLF, istext=True))
        out.append(encoded)
    return b"".join(out)


def _dots_escaped(encoded: bytes) -> bytes:
    # SMTP doubles a dot that starts a line, copying the whole message (the HTML part has CSS
    # lines such as ".mj-column-per-100 {"). Quoted-printable may write that dot as "=2E",
    # which decodes the same; a line that would then pass 76 characters keeps its dot.
    if encoded[:1] != b"." and b"\n." not in encoded:
        return encoded
    lines = encoded.split(CRLF)
    return CRLF.join(
        b"=2E" + line[1:] if line[:1] == b"." and len(line) <= 74 else line for line in lines
    )


def _header(name: str, value: str) -> bytes:
    if len(value) <= _MAX_PLAIN and _PLAIN.fullmatch(value) and "=?" not in value:
        return f"{name}: {value}\r\n".encode("ascii")
    return _fold(name, value)


def _to(address: str) -> bytes:
    if len(address) <= _MAX_PLAIN and _ADDR.fullmatch(address):
        return f"To: {address}\r\n".encode("ascii")
    return _fold("To", address, address=True)


@lru_cache(maxsize=256)
def _folded(name: str, value: str) -> bytes:
    """Return a header that is the same for a whole edition, folded by the email package."""
    return _fold(name, value)


def _fold(name: str, value: str, *, address: bool = False) -> bytes:
    msg = EmailMessage(policy=POLICY)
    msg[name] = Address(addr_spec=value) if address else value
    [(key, parsed)] = msg.raw_items()
    return POLICY.fold_binary(key, parsed)
