"""Absolute, signed links to the subscriber pages."""

from __future__ import annotations

from typing import Protocol

from alerts.config import Settings
from alerts.tokens import LinkSigner, Purpose, signer_for


class Linkable(Protocol):
    """Anything that names a subscriber and their current token version."""

    @property
    def id(self) -> int: ...

    @property
    def token_version(self) -> int: ...


class Links:
    """Build the signed URLs that go into emails."""

    @classmethod
    def from_settings(cls, settings: Settings) -> Links:
        """Return the links the settings describe: base URL, secret and lifetimes."""
        return cls(
            settings.base_url,
            signer_for(settings.secret, settings.confirm_token_days, settings.link_token_days),
        )

    def __init__(self, base_url: str, signer: LinkSigner) -> None:
        self.base_url = base_url.rstrip("/")
        self.signer = signer

    def _url(self, path: str, purpose: Purpose, subscriber: Linkable) -> str:
        token = self.signer.issue(purpose, subscriber.id, subscriber.token_version)
        return f"{self.base_url}/{path}/{token}"

    def confirm(self, subscriber: Linkable) -> str:
        """Return the link that confirms a subscription."""
        return self._url("confirm", Purpose.CONFIRM, subscriber)

    def manage(self, subscriber: Linkable) -> str:
        """Return the link to the preference centre."""
        return self._url("preferences", Purpose.MANAGE, subscriber)

    def unsubscribe(self, subscriber: Linkable) -> str:
        """Return the one-click unsubscribe link (RFC 8058)."""
        return self._url("u", Purpose.UNSUBSCRIBE, subscriber)

    def page(self, path: str) -> str:
        """Return an absolute URL for a public page."""
        return f"{self.base_url}/{path.lstrip('/')}"
