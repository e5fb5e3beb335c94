"""Test helpers for editors: a cheap argon2 hasher, editors and tokens made in one call."""

from __future__ import annotations

import threading
from typing import Literal

from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.db import Sessionmaker
from alerts.editors.accounts import create_editor
from alerts.editors.tokens import issue_token
from alerts.models import Base, Editor

PASSWORD = "correct horse battery staple"


def fast_hasher(time_cost: int = 1) -> PasswordHasher:
    """Return an argon2id hasher cheap enough for tests."""
    return PasswordHasher(time_cost=time_cost, memory_cost=1024, parallelism=1)


class SpyHasher(PasswordHasher):
    """A cheap hasher that records which hashes it verified and on which threads it ran."""

    def __init__(self, time_cost: int = 1) -> None:
        super().__init__(time_cost=time_cost, memory_cost=1024, parallelism=1)
        self.verified: list[str] = []
        self.threads: set[int] = set()

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        self.threads.add(threading.get_ident())
        return super().hash(password, salt=salt)

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        self.threads.add(threading.get_ident())
        self.verified.append(hash if isinstance(hash, str) else hash.decode())
        return super().verify(hash, password)


async def make_editor(
    sessionmaker: Sessionmaker, email: str = "editor@example.org", password: str = PASSWORD
) -> Editor:
    """Create an editor in its own transaction."""
    async with sessionmaker.begin() as session:
        return await create_editor(session, email, password, hasher=fast_hasher())


async def make_token(sessionmaker: Sessionmaker, editor: Editor, name: str = "laptop") -> str:
    """Issue a token in its own transaction and return it in plain."""
    async with sessionmaker.begin() as session:
        return await issue_token(session, editor, name)


async def all_stored_text(session: AsyncSession) -> str:
    """Return every row of every table as text, to look for what must never be stored."""
    parts = []
    for table in Base.metadata.sorted_tables:
        rows = (await session.execute(select(table))).all()
        parts.extend(repr(tuple(row)) for row in rows)
    return "\n".join(parts)
