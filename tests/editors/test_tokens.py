"""API tokens: shown once, stored hashed, revocable, tied to an active editor."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import select

from alerts.db import Sessionmaker
from alerts.editors.accounts import set_active
from alerts.editors.errors import ApiTokenNotFound, EditorError
from alerts.editors.tokens import (
    TOKEN_PREFIX,
    editor_for_token,
    find_token,
    issue_token,
    list_tokens,
    revoke_token,
)
from alerts.models import ApiToken
from alerts.timeutil import utcnow
from tests.editors.factories import all_stored_text, make_editor, make_token


async def test_token_is_returned_once_and_stored_hashed(sessionmaker: Sessionmaker) -> None:
    editor = await make_editor(sessionmaker)
    plain = await make_token(sessionmaker, editor, "  ci runner ")
    assert plain.startswith(TOKEN_PREFIX)
    assert len(plain) >= len(TOKEN_PREFIX) + 43
    async with sessionmaker() as session:
        stored = (await session.scalars(select(ApiToken))).one()
        assert stored.token_hash == hashlib.sha256(plain.encode()).hexdigest()
        assert stored.name == "ci runner"
        assert stored.editor_id == editor.id
        everything = await all_stored_text(session)
    assert plain not in everything
    assert plain.removeprefix(TOKEN_PREFIX) not in everything


async def test_tokens_differ(sessionmaker: Sessionmaker) -> None:
    editor = await make_editor(sessionmaker)
    assert await make_token(sessionmaker, editor) != await make_token(sessionmaker, editor)


async def test_valid_token_finds_its_editor_and_records_use_once_a_minute(
    sessionmaker: Sessionmaker,
) -> None:
    editor = await make_editor(sessionmaker)
    plain = await make_token(sessionmaker, editor)
    now = utcnow()
    for offset, expected in ((0, 0), (30, 0), (61, 61)):
        async with sessionmaker.begin() as session:
            found = await editor_for_token(session, plain, now=now + timedelta(seconds=offset))
            assert found is not None and found.id == editor.id
        async with sessionmaker() as session:
            token = await find_token(session, plain)
            assert token is not None and token.last_used_at is not None
            assert abs(token.last_used_at - (now + timedelta(seconds=expected))) < timedelta(
                milliseconds=1
            )


@pytest.mark.parametrize(
    "plain", ["", "alrt_", "alrt_" + "A" * 43, "Bearer alrt_x", "x" * 5000, "alrt_ä" * 10]
)
async def test_unknown_or_malformed_token_finds_nobody(
    sessionmaker: Sessionmaker, plain: str
) -> None:
    await make_token(sessionmaker, await make_editor(sessionmaker))
    async with sessionmaker.begin() as session:
        assert await editor_for_token(session, plain) is None


async def test_revoked_token_is_refused(sessionmaker: Sessionmaker) -> None:
    editor = await make_editor(sessionmaker)
    plain = await make_token(sessionmaker, editor)
    async with sessionmaker.begin() as session:
        token = await revoke_token(session, plain)
        first = token.revoked_at
        assert first is not None
    async with sessionmaker.begin() as session:
        assert await editor_for_token(session, plain) is None
        again = await revoke_token(session, token.id)
        assert again.revoked_at == first


async def test_revoke_by_id_as_text_and_within_one_editor(sessionmaker: Sessionmaker) -> None:
    owner = await make_editor(sessionmaker, "owner@example.org")
    other = await make_editor(sessionmaker, "other@example.org")
    plain = await make_token(sessionmaker, owner)
    async with sessionmaker.begin() as session:
        token = await find_token(session, plain)
        assert token is not None
        with pytest.raises(ApiTokenNotFound):
            await revoke_token(session, token.id, editor=other)
        with pytest.raises(ApiTokenNotFound):
            await revoke_token(session, 999_999)
        with pytest.raises(ApiTokenNotFound, match="token id"):
            await revoke_token(session, "not a token")
        await revoke_token(session, f" {token.id} ", editor=owner)
    async with sessionmaker.begin() as session:
        assert await editor_for_token(session, plain) is None


async def test_disabled_editor_tokens_are_refused(sessionmaker: Sessionmaker) -> None:
    editor = await make_editor(sessionmaker)
    plain = await make_token(sessionmaker, editor)
    async with sessionmaker.begin() as session:
        await set_active(session, editor.email, False)
    async with sessionmaker.begin() as session:
        assert await editor_for_token(session, plain) is None
        with pytest.raises(EditorError, match="disabled"):
            await issue_token(session, await set_active(session, editor.email, False), "more")


@pytest.mark.parametrize("name", ["", "   ", "x" * 101, "bad\nname"])
async def test_token_needs_a_reasonable_name(sessionmaker: Sessionmaker, name: str) -> None:
    editor = await make_editor(sessionmaker)
    async with sessionmaker.begin() as session:
        with pytest.raises(EditorError):
            await issue_token(session, editor, name)


async def test_list_tokens_oldest_first_per_editor(sessionmaker: Sessionmaker) -> None:
    editor = await make_editor(sessionmaker)
    other = await make_editor(sessionmaker, "other@example.org")
    for name in ("first", "second"):
        await make_token(sessionmaker, editor, name)
    await make_token(sessionmaker, other, "theirs")
    async with sessionmaker() as session:
        assert [t.name for t in await list_tokens(session, editor)] == ["first", "second"]
