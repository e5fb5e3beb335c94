"""Domain errors; user-facing messages are plain words."""


class AlertsError(Exception):
    """Base class for every error the service raises on purpose."""


class ConfigError(AlertsError):
    """The configuration cannot be used."""


class ValidationError(AlertsError):
    """Input was rejected; ``errors`` maps field names to plain-word messages."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class TokenError(AlertsError):
    """A link token cannot be used."""

    reason = "invalid"


class TokenExpired(TokenError):
    """The link token is older than its purpose allows."""

    reason = "expired"


class TokenRevoked(TokenError):
    """The subscriber revoked every link sent before."""

    reason = "revoked"


class NotFound(AlertsError):
    """The thing asked for does not exist."""


class MailError(AlertsError):
    """A message could not be sent."""


class TransientMailError(MailError):
    """Sending failed for a reason that may pass (4xx, dropped connection, timeout)."""


class PermanentMailError(MailError):
    """The server refused the message for good (5xx)."""
