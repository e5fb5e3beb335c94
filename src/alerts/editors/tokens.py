"""API bearer tokens: shown once, stored only as SHA-256, revocable."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.editors.errors import ApiTokenNotFound, EditorError
from alerts.models import ApiToken, Editor
from alerts.timeutil import utcnow

TOKEN_PREFIX = "alrt_"  # noqa: S105 - a prefix, not a secret
TOKEN_BYTES = 32
MAX_NAME = 100
# Record use at most once a minute so authenticated reads do not each cost a write.
TOUCH_INTERVAL = timedelta(minutes=1)

_TOKEN = re.compile(r"alrt_[A-Za-z0-9_-]{20,100}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DIGITS = re.compile(r"[0-9]{1,18}")


def hash_token(plain: str) -> str:
    """Return the SHA-256 hex digest stored for a token."""
    return hashlib.sha256(plain.encode()).hexdigest()


def looks_like_token(value: str) -> bool:
    """Tell whether a string has the shape of an API token."""
    return _TOKEN.fullmatch(value) is not None


def _check_name(name: str) -> str:
    clean = name.strip()
    if not clean:
        raise EditorError("Give the token a name, such as the machine or script that will use it.")
    if len(clean) > MAX_NAME:
        raise EditorError(f"The token name must be at most {MAX_NAME} characters long.")
    if _CONTROL.search(clean):
        raise EditorError("The token name must not contain control characters.")
    return clean


async def issue_token(session: AsyncSession, editor: Editor, name: str) -> str:
    """Create a token for an active editor and return it in plain; only its hash is stored."""
    clean = _check_name(name)
    if not editor.active:
        raise EditorError(f"The editor {editor.email} is disabled; enable them first.")
    plain = TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
    session.add(ApiToken(editor_id=editor.id, name=clean, token_hash=hash_token(plain)))
    await session.flush()
    return plain


async def find_token(session: AsyncSession, plain: str) -> ApiToken | None:
    """Return the stored token matching a plain token, revoked or not."""
    if not looks_like_token(plain):
        return None
    return await session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(plain)))


async def revoke_token(
    session: AsyncSession,
    token: int | str,
    *,
    editor: Editor | None = None,
    now: datetime | None = None,
) -> ApiToken:
    """Revoke a token given by id or in plain (limited to one editor's when given)."""
    stmt = select(ApiToken)
    if isinstance(token, int):
        stmt = stmt.where(ApiToken.id == token)
    elif _DIGITS.fullmatch(token.strip()):
        stmt = stmt.where(ApiToken.id == int(token.strip()))
    elif looks_like_token(token.strip()):
        stmt = stmt.where(ApiToken.token_hash == hash_token(token.strip()))
    else:
        raise ApiTokenNotFound("Give a token id (see the token list) or the token itself.")
    if editor is not None:
        stmt = stmt.where(ApiToken.editor_id == editor.id)
    found = await session.scalar(stmt)
    if found is None:
        raise ApiTokenNotFound("No API token matches.")
    if found.revoked_at is None:
        found.revoked_at = now or utcnow()
    return found


async def editor_for_token(
    session: AsyncSession, plain: str, *, now: datetime | None = None
) -> Editor | None:
    """Return the active editor a valid, unrevoked token belongs to, or None."""
    if not looks_like_token(plain):
        return None
    stmt = (
        select(ApiToken, Editor)
        .join(Editor, Editor.id == ApiToken.editor_id)
        .where(ApiToken.token_hash == hash_token(plain))
    )
    row = (await session.execute(stmt)).one_or_none()
    if row is None:
        return None
    token, editor = row
    if token.revoked_at is not None or not editor.active:
        return None
    now = now or utcnow()
    if token.last_used_at is None or token.last_used_at <= now - TOUCH_INTERVAL:
        token.last_used_at = now
        await session.flush()
    return editor


async def list_tokens(session: AsyncSession, editor: Editor) -> Sequence[ApiToken]:
    """Return an editor's tokens, oldest first, revoked ones included."""
    stmt = select(ApiToken).where(ApiToken.editor_id == editor.id).order_by(ApiToken.id)
    return (await session.scalars(stmt)).all()
