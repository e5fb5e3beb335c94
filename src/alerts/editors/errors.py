"""Errors raised by editor accounts and API tokens; messages are plain words."""

from __future__ import annotations

from alerts.errors import AlertsError, NotFound


class EditorError(AlertsError):
    """An editor account or API token request cannot be carried out."""


class WeakPassword(EditorError):
    """The password does not meet the policy."""


class EditorExists(EditorError):
    """An editor with this email address already exists."""


class EditorNotFound(EditorError, NotFound):
    """No editor has this email address."""


class ApiTokenNotFound(EditorError, NotFound):
    """No API token matches."""
