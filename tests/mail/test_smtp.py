"""One SMTP connection: what the server receives, and how its refusals are classified."""

from __future__ import annotations

import pytest
from aiosmtplib.protocol import PERIOD_REGEX, normalize_message_line_endings
from hypothesis import given
from hypothesis import strategies as st

from alerts.errors import PermanentMailError, TransientMailError
from alerts.mail.smtp import SmtpConfig, SmtpConnection, data_form
from tests.support.smtp import RecordingSMTP

SENDER = "alerts@loop.example"

# Lines that SMTP treats specially: a lone dot ends DATA, a leading dot is doubled.
TRICKY = b"Subject: dots\r\n\r\n.\r\n..two\r\n.leading dot\r\nbare LF\nbare CR\rend without newline"


def aiosmtplib_form(message: bytes) -> bytes:
    """What aiosmtplib's own DATA command would write."""
    return PERIOD_REGEX.sub(b"..", normalize_message_line_endings(message)) + b".\r\n"


@given(st.binary(max_size=300))
def test_data_form_writes_what_aiosmtplib_writes(message: bytes) -> None:
    data, size = data_form(message)
    assert data == aiosmtplib_form(message)
    assert size == len(normalize_message_line_endings(message))


@given(st.lists(st.sampled_from([b".", b"..", b"a", b"\r\n", b"\n", b"\r", b"x.y"]), max_size=40))
def test_data_form_of_line_soup(pieces: list[bytes]) -> None:
    message = b"".join(pieces)
    assert data_form(message)[0] == aiosmtplib_form(message)
    # A caller that vouches for CRLF line ends skips the check, with the same result.
    crlf = normalize_message_line_endings(message)
    assert data_form(crlf, crlf=True) == data_form(crlf)


def test_size_counts_the_message_before_dots_are_doubled() -> None:
    data, size = data_form(b".a\r\n.b\r\n")
    assert data == b"..a\r\n..b\r\n.\r\n"
    assert size == 8


@pytest.fixture
def connection(smtp: RecordingSMTP) -> SmtpConnection:
    return SmtpConnection(SmtpConfig.from_url(f"smtp://127.0.0.1:{smtp.port}", timeout=5))


async def test_the_server_receives_the_message_as_written(
    connection: SmtpConnection, smtp: RecordingSMTP
) -> None:
    try:
        answer = await connection.send(SENDER, ["reader@example.org"], TRICKY)
    finally:
        await connection.close()
    assert answer.startswith("OK")
    [received] = smtp.messages
    assert (received.mail_from, received.rcpt_tos) == (SENDER, ["reader@example.org"])
    assert received.raw == normalize_message_line_endings(TRICKY)
    assert received.message.get_payload().splitlines()[:3] == [".", "..two", ".leading dot"]


async def test_refusals_are_classified_and_the_connection_goes_on(
    connection: SmtpConnection, smtp: RecordingSMTP
) -> None:
    message = b"Subject: hello\r\n\r\nhello\r\n"
    try:
        smtp.fail_with("550 5.1.1 no such mailbox")
        with pytest.raises(PermanentMailError, match=r"550 5\.1\.1 no such mailbox"):
            await connection.send(SENDER, ["gone@example.org"], message)
        smtp.fail_with("451 4.3.0 try again later")
        with pytest.raises(TransientMailError, match=r"451 4\.3\.0"):
            await connection.send(SENDER, ["busy@example.org"], message)
        smtp.fail_with(None)
        await connection.send(SENDER, ["ok@example.org"], message)
    finally:
        await connection.close()
    assert [m.rcpt_tos for m in smtp.messages] == [["ok@example.org"]]


async def test_a_dropped_connection_is_transient_and_the_next_send_reconnects(
    connection: SmtpConnection, smtp: RecordingSMTP
) -> None:
    message = b"Subject: hello\r\n\r\nhello\r\n"
    try:
        smtp.flaky(drop_every=1)
        with pytest.raises(TransientMailError):
            await connection.send(SENDER, ["a@example.org"], message)
        smtp.flaky()
        await connection.send(SENDER, ["b@example.org"], message)
    finally:
        await connection.close()
    assert [m.rcpt_tos for m in smtp.messages] == [["b@example.org"]]


async def test_an_address_with_a_display_name_is_sent_to_its_mailbox(
    connection: SmtpConnection, smtp: RecordingSMTP
) -> None:
    try:
        await connection.send(
            f"Stay in the loop <{SENDER}>", ["Reader <reader@example.org>"], TRICKY
        )
    finally:
        await connection.close()
    [received] = smtp.messages
    assert (received.mail_from, received.rcpt_tos) == (SENDER, ["reader@example.org"])
