"""Signed, scoped, expiring link tokens for confirm, manage and unsubscribe links."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import timedelta

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from alerts.errors import TokenError, TokenExpired


class Purpose(enum.StrEnum):
    """What a token may be used for; a token for one purpose never works for another."""

    CONFIRM = "confirm"
    MANAGE = "manage"
    UNSUBSCRIBE = "unsubscribe"


@dataclass(frozen=True)
class LinkClaim:
    """What a valid token says: whose link it is and which token version issued it."""

    subscriber_id: int
    version: int


class LinkSigner:
    """Issue and check link tokens; each purpose has its own salt and lifetime."""

    def __init__(self, secret: str, lifetimes: dict[Purpose, timedelta]) -> None:
        self._serializers = {
            p: URLSafeTimedSerializer(secret, salt=f"alerts.link.{p.value}") for p in Purpose
        }
        self._lifetimes = lifetimes

    def issue(self, purpose: Purpose, subscriber_id: int, version: int) -> str:
        """Return a token for ``purpose`` naming the subscriber and token version."""
        return str(self._serializers[purpose].dumps([subscriber_id, version]))

    def check(self, purpose: Purpose, token: str) -> LinkClaim:
        """Return the claim in ``token`` or raise TokenError / TokenExpired."""
        max_age = int(self._lifetimes[purpose].total_seconds())
        try:
            data = self._serializers[purpose].loads(token, max_age=max_age)
        except SignatureExpired as e:
            raise TokenExpired("This link has expired.") from e
        except BadSignature as e:
            raise TokenError("This link is not valid.") from e
        if (
            not isinstance(data, list)
            or len(data) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in data)
        ):
            raise TokenError("This link is not valid.")
        return LinkClaim(subscriber_id=data[0], version=data[1])


def signer_for(secret: str, confirm_days: int, link_days: int) -> LinkSigner:
    """Return a LinkSigner with the configured lifetimes."""
    return LinkSigner(
        secret,
        {
            Purpose.CONFIRM: timedelta(days=confirm_days),
            Purpose.MANAGE: timedelta(days=link_days),
            Purpose.UNSUBSCRIBE: timedelta(days=link_days),
        },
    )
