"""Editor accounts: argon2-hashed passwords, created, checked, enabled and disabled."""

from __future__ import annotations

import asyncio
import functools
import secrets
from collections.abc import Callable, Sequence
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.config import Settings
from alerts.editors.errors import EditorExists, EditorNotFound, WeakPassword
from alerts.errors import ValidationError
from alerts.models import Editor
from alerts.subscribers.validation import normalise_email

MIN_PASSWORD = 12
# Long enough for any passphrase, short enough that nobody makes us hash megabytes.
MAX_PASSWORD = 1024
DEFAULT_HASHER = PasswordHasher()

T = TypeVar("T")
_dummy_hashes: dict[tuple[object, ...], str] = {}


async def _off_loop(fn: Callable[[], T]) -> T:
    return await asyncio.get_running_loop().run_in_executor(None, fn)


def hasher_for(settings: Settings) -> PasswordHasher:
    """Return the argon2id hasher with the costs the settings ask for."""
    return PasswordHasher(
        time_cost=settings.argon2_time_cost, memory_cost=settings.argon2_memory_cost
    )


def check_password(password: str) -> None:
    """Raise WeakPassword unless the password meets the policy."""
    if len(password) < MIN_PASSWORD:
        raise WeakPassword(f"The password must be at least {MIN_PASSWORD} characters long.")
    if len(password) > MAX_PASSWORD:
        raise WeakPassword(f"The password must be at most {MAX_PASSWORD} characters long.")
    if not password.strip():
        raise WeakPassword("The password must not be only spaces.")


def generate_password() -> str:
    """Return a random password of 32 URL-safe characters."""
    return secrets.token_urlsafe(24)


def editor_email(raw: str) -> str:
    """Return the normalised, lower-case address an editor is stored under."""
    return normalise_email(raw)[1]


async def hash_password(password: str, *, hasher: PasswordHasher = DEFAULT_HASHER) -> str:
    """Hash a password with argon2id in a worker thread."""
    return await _off_loop(functools.partial(hasher.hash, password))


def _verify(hasher: PasswordHasher, hashed: str, password: str) -> bool:
    try:
        return hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


async def verify_password(
    hashed: str, password: str, *, hasher: PasswordHasher = DEFAULT_HASHER
) -> bool:
    """Tell whether the password matches the hash, checking in a worker thread."""
    return await _off_loop(functools.partial(_verify, hasher, hashed, password))


async def _dummy_hash(hasher: PasswordHasher) -> str:
    key = (
        hasher.time_cost,
        hasher.memory_cost,
        hasher.parallelism,
        hasher.hash_len,
        hasher.salt_len,
        hasher.type,
    )
    dummy = _dummy_hashes.get(key)
    if dummy is None:
        dummy = await hash_password(secrets.token_urlsafe(16), hasher=hasher)
        _dummy_hashes[key] = dummy
    return dummy


async def find_editor(session: AsyncSession, email: str) -> Editor | None:
    """Return the editor with this address, or None."""
    try:
        key = editor_email(email)
    except ValidationError:
        return None
    return await session.scalar(select(Editor).where(Editor.email == key))


async def get_editor(session: AsyncSession, email: str) -> Editor:
    """Return the editor with this address or raise EditorNotFound."""
    editor = await find_editor(session, email)
    if editor is None:
        raise EditorNotFound(f"There is no editor with the address {email.strip()}.")
    return editor


async def list_editors(session: AsyncSession) -> Sequence[Editor]:
    """Return every editor, by address."""
    return (await session.scalars(select(Editor).order_by(Editor.email))).all()


async def create_editor(
    session: AsyncSession,
    email: str,
    password: str,
    *,
    hasher: PasswordHasher = DEFAULT_HASHER,
) -> Editor:
    """Add an active editor; raise WeakPassword, EditorExists or ValidationError."""
    key = editor_email(email)
    check_password(password)
    # Hash before touching the database so no transaction waits on argon2.
    hashed = await hash_password(password, hasher=hasher)
    exists = EditorExists(f"An editor with the address {key} already exists.")
    if await session.scalar(select(Editor.id).where(Editor.email == key)) is not None:
        raise exists
    editor = Editor(email=key, password_hash=hashed, active=True)
    try:
        async with session.begin_nested():
            session.add(editor)
    except IntegrityError as e:
        raise exists from e
    return editor


async def verify_login(
    session: AsyncSession,
    email: str,
    password: str,
    *,
    hasher: PasswordHasher = DEFAULT_HASHER,
) -> Editor | None:
    """Return the active editor these credentials belong to, or None; rehash if costs changed.

    An unknown address is still checked against a dummy hash so that timing does not tell
    which addresses are editors. Call it in a write transaction: a rehash updates the row.
    """
    editor = await find_editor(session, email)
    if editor is None:
        await verify_password(await _dummy_hash(hasher), password, hasher=hasher)
        return None
    if not await verify_password(editor.password_hash, password, hasher=hasher):
        return None
    if not editor.active:
        return None
    if hasher.check_needs_rehash(editor.password_hash):
        editor.password_hash = await hash_password(password, hasher=hasher)
    return editor


async def set_active(session: AsyncSession, email: str, active: bool) -> Editor:
    """Enable or disable an editor; a disabled editor's logins and API tokens stop working."""
    editor = await get_editor(session, email)
    editor.active = active
    return editor
