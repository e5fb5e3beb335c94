"""Link tokens: signed, scoped to one purpose, expiring."""

from __future__ import annotations

import pytest
import time_machine

from alerts.errors import TokenError, TokenExpired
from alerts.tokens import LinkClaim, Purpose, signer_for

SECRET = "a-test-secret-that-is-long-enough-for-hmac-0123"


def test_round_trip_and_purpose_scoping() -> None:
    signer = signer_for(SECRET, 7, 90)
    token = signer.issue(Purpose.MANAGE, 42, 3)
    assert signer.check(Purpose.MANAGE, token) == LinkClaim(42, 3)
    for other in (Purpose.CONFIRM, Purpose.UNSUBSCRIBE):
        with pytest.raises(TokenError):
            signer.check(other, token)


def test_tampered_and_foreign_tokens_are_rejected() -> None:
    signer = signer_for(SECRET, 7, 90)
    token = signer.issue(Purpose.UNSUBSCRIBE, 1, 1)
    with pytest.raises(TokenError):
        tampered = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
        signer.check(Purpose.UNSUBSCRIBE, tampered)
    with pytest.raises(TokenError):
        signer_for(SECRET + "x", 7, 90).check(Purpose.UNSUBSCRIBE, token)
    with pytest.raises(TokenError):
        signer.check(Purpose.UNSUBSCRIBE, "")


def test_confirm_links_expire_after_seven_days_and_manage_links_outlive_a_weekly_digest() -> None:
    signer = signer_for(SECRET, 7, 90)
    with time_machine.travel("2026-03-01 12:00 +0000"):
        confirm = signer.issue(Purpose.CONFIRM, 5, 1)
        manage = signer.issue(Purpose.MANAGE, 5, 1)
    with time_machine.travel("2026-03-07 12:00 +0000"):
        assert signer.check(Purpose.CONFIRM, confirm).subscriber_id == 5
    with time_machine.travel("2026-03-08 12:01 +0000"), pytest.raises(TokenExpired):
        signer.check(Purpose.CONFIRM, confirm)
    with time_machine.travel("2026-04-30 12:00 +0000"):  # 60 days later
        assert signer.check(Purpose.MANAGE, manage).version == 1
    with time_machine.travel("2026-06-01 12:00 +0000"), pytest.raises(TokenExpired):
        signer.check(Purpose.MANAGE, manage)
