"""The MIME writer produces what the standard library would, readable by any mail client."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alerts.mail.message import Envelope, message_bytes
from alerts.mail.render import Lines, Rendered, RenderedParts

ENVELOPE = Envelope(
    sender="Stay in the loop <alerts@loop.example>",
    recipient="o'hara@example.org",
    message_id="<edition-7.42@loop.example>",
    list_id="Stay in the loop <loop.example>",
    unsubscribe_url="https://loop.example/u/" + "x" * 120,
    date=datetime(2026, 3, 2, 7, 0, tzinfo=UTC),
)


def parse(data: bytes) -> EmailMessage:
    return cast(EmailMessage, message_from_bytes(data, policy=policy.default))


def parts(message: EmailMessage) -> list[tuple[str, str]]:
    # Line endings are the transport's business (CRLF on the wire): compare them normalised.
    return [(p.get_content_type(), norm(str(p.get_content()))) for p in message.iter_parts()]


def norm(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").rstrip("\n")


def test_headers_and_parts_are_what_a_client_reads() -> None:
    body = Rendered(
        subject="Weekly digest: 3 new articles — Türkiye, Côte d'Ivoire",
        text="Hello\n\nA line with = signs and trailing spaces   \n" + "long " * 60 + "\n",
        html="<p>Hello <a href='https://x.example/?a=1&b=2'>link</a></p>\n" + "<td>x</td>" * 200,
    )
    message = parse(message_bytes(ENVELOPE, body))
    assert message["Subject"] == body.subject
    assert message["From"] == ENVELOPE.sender
    assert message["To"] == ENVELOPE.recipient
    assert message["Message-ID"] == ENVELOPE.message_id
    assert message["List-Id"] == ENVELOPE.list_id
    assert message["List-Unsubscribe"] == f"<{ENVELOPE.unsubscribe_url}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Date"] == "Mon, 02 Mar 2026 07:00:00 +0000"
    assert message.get_content_type() == "multipart/alternative"
    assert parts(message) == [("text/plain", norm(body.text)), ("text/html", norm(body.html))]


def test_every_line_is_short_and_seven_bit() -> None:
    body = Rendered(subject="S", text="é" * 500 + "\n", html="<p>" + "ü" * 2000 + "</p>\n")
    data = message_bytes(ENVELOPE, body)
    assert all(len(line) <= 998 for line in data.split(b"\r\n"))
    assert max(len(line) for line in data.split(b"\r\n\r\n", 1)[1].split(b"\r\n")) <= 78
    data.decode("ascii")


@settings(max_examples=60, deadline=None)
@given(
    text=st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=400),
    html=st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=400),
)
def test_any_text_survives_the_round_trip(text: str, html: str) -> None:
    body = Rendered(subject="Round trip", text=text + "\n", html=html + "\n")
    got = parts(parse(message_bytes(ENVELOPE, body)))
    assert got == [
        ("text/plain", norm(body.text)),
        ("text/html", norm(body.html)),
    ]


@pytest.mark.parametrize("bad", ["a\r\nBcc: x@example.org", "a\nb"])
def test_header_injection_is_refused(bad: str) -> None:
    body = Rendered(subject=bad, text="t\n", html="<p>h</p>\n")
    with pytest.raises(ValueError, match="linefeed or carriage return"):
        message_bytes(ENVELOPE, body)


def _without_boundary(data: bytes) -> bytes:
    boundary = data.split(b'boundary="', 1)[1].split(b'"', 1)[0]
    return data.replace(boundary, b"BOUNDARY")


_piece = st.one_of(
    st.text(alphabet="ab=. \n\r\u00e9", max_size=30),
    st.text(alphabet="ab=. \u00e9", max_size=90).map(lambda s: Lines(s + "\n")),
)


@settings(max_examples=200, deadline=None)
@given(text=st.lists(_piece, max_size=12), html=st.lists(_piece, max_size=12))
def test_a_body_in_pieces_is_written_as_the_joined_body(text: list[str], html: list[str]) -> None:
    pieces = RenderedParts(subject="Pieces", text=text, html=html)
    # Twice: the second time shared pieces come from the cache.
    for _ in range(2):
        assert _without_boundary(message_bytes(ENVELOPE, pieces)) == _without_boundary(
            message_bytes(ENVELOPE, pieces.joined())
        )


def test_a_dot_that_starts_a_line_is_written_as_an_escape() -> None:
    body = Rendered(subject="S", text=".hidden\n..\n.\n", html=".mj-column { width: 100% }\n")
    data = message_bytes(ENVELOPE, body)
    assert b"\n." not in data  # nothing for SMTP to double
    assert parts(parse(data)) == [("text/plain", norm(body.text)), ("text/html", norm(body.html))]
