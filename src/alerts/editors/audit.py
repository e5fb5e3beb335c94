"""The audit log: who did what, when, written in the same transaction as the action."""

from __future__ import annotations

import getpass
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.models import AuditEntry, Editor
from alerts.timeutil import utcnow

MAX_ACTOR = 320
MAX_ACTION = 64
MAX_SUBJECT = 200


def _clip(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def cli_actor() -> str:
    """Return the actor name for CLI actions: ``cli:`` and the operating-system user."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = f"uid-{os.getuid()}" if hasattr(os, "getuid") else "unknown"
    return f"cli:{user}"


async def record(
    session: AsyncSession,
    *,
    editor: Editor | None,
    actor: str,
    action: str,
    subject: str = "",
    details: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> None:
    """Add an audit entry to the session's transaction (committed with the action)."""
    if not action or len(action) > MAX_ACTION:
        raise ValueError(f"audit action must be 1 to {MAX_ACTION} characters: {action!r}")
    session.add(
        AuditEntry(
            at=at or utcnow(),
            editor_id=editor.id if editor is not None else None,
            actor=_clip(actor, MAX_ACTOR),
            action=action,
            subject=_clip(subject, MAX_SUBJECT),
            details=dict(details or {}),
        )
    )


async def recent(
    session: AsyncSession, limit: int = 100, editor_id: int | None = None
) -> Sequence[AuditEntry]:
    """Return the latest audit entries, newest first, optionally for one editor."""
    stmt = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
    if editor_id is not None:
        stmt = stmt.where(AuditEntry.editor_id == editor_id)
    return (await session.scalars(stmt)).all()


@dataclass(frozen=True)
class Who:
    """Who acts, as the audit log records it: an editor (API) or an operator (CLI)."""

    editor: Editor | None
    actor: str

    @classmethod
    def of(cls, editor: Editor) -> Who:
        """Return the actor for an editor using the API."""
        return cls(editor, editor.email)

    @classmethod
    def cli(cls) -> Who:
        """Return the actor for the command line."""
        return cls(None, cli_actor())


async def record_as(
    session: AsyncSession,
    who: Who,
    action: str,
    subject: str,
    details: Mapping[str, Any],
    at: datetime | None = None,
) -> None:
    """Add an audit entry for ``who`` to the session's transaction."""
    await record(
        session,
        editor=who.editor,
        actor=who.actor,
        action=action,
        subject=subject,
        details=dict(details),
        at=at,
    )
