"""Editor accounts: argon2id hashes, login checks, the password policy."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from alerts.config import Settings
from alerts.db import Sessionmaker
from alerts.editors.accounts import (
    MIN_PASSWORD,
    check_password,
    create_editor,
    generate_password,
    get_editor,
    hasher_for,
    list_editors,
    set_active,
    verify_login,
)
from alerts.editors.errors import EditorExists, EditorNotFound, WeakPassword
from alerts.errors import ValidationError
from alerts.models import Editor
from tests.editors.factories import PASSWORD, SpyHasher, fast_hasher, make_editor


async def test_password_is_hashed_with_argon2id(sessionmaker: Sessionmaker) -> None:
    await make_editor(sessionmaker, "  Ed@Example.ORG ")
    async with sessionmaker() as session:
        editor = (await session.scalars(select(Editor))).one()
    assert editor.email == "ed@example.org"
    assert editor.password_hash.startswith("$argon2id$")
    assert PASSWORD not in editor.password_hash
    assert editor.active


async def test_hashing_and_checking_run_off_the_event_loop(sessionmaker: Sessionmaker) -> None:
    spy = SpyHasher()
    async with sessionmaker.begin() as session:
        await create_editor(session, "ed@example.org", PASSWORD, hasher=spy)
        assert await verify_login(session, "ed@example.org", PASSWORD, hasher=spy)
    assert spy.threads
    assert threading.get_ident() not in spy.threads


async def test_right_password_logs_in_whatever_the_case_of_the_address(
    sessionmaker: Sessionmaker,
) -> None:
    created = await make_editor(sessionmaker, "ed@example.org")
    async with sessionmaker.begin() as session:
        editor = await verify_login(session, "ED@example.org", PASSWORD, hasher=fast_hasher())
    assert editor is not None and editor.id == created.id


async def test_wrong_password_is_refused(sessionmaker: Sessionmaker) -> None:
    await make_editor(sessionmaker)
    async with sessionmaker.begin() as session:
        assert await verify_login(session, "editor@example.org", PASSWORD + "!") is None
        assert await verify_login(session, "editor@example.org", "") is None


@pytest.mark.parametrize("email", ["nobody@example.org", "not an address", ""])
async def test_unknown_address_still_checks_a_hash(sessionmaker: Sessionmaker, email: str) -> None:
    editor = await make_editor(sessionmaker)
    spy = SpyHasher()
    async with sessionmaker.begin() as session:
        assert await verify_login(session, email, PASSWORD, hasher=spy) is None
    assert len(spy.verified) == 1
    assert spy.verified[0].startswith("$argon2id$")
    assert spy.verified[0] != editor.password_hash


async def test_known_address_checks_exactly_one_hash(sessionmaker: Sessionmaker) -> None:
    editor = await make_editor(sessionmaker)
    spy = SpyHasher()
    async with sessionmaker.begin() as session:
        assert await verify_login(session, editor.email, "wrong password!", hasher=spy) is None
    assert spy.verified == [editor.password_hash]


async def test_disabled_editor_cannot_log_in(sessionmaker: Sessionmaker) -> None:
    await make_editor(sessionmaker)
    async with sessionmaker.begin() as session:
        await set_active(session, "editor@example.org", False)
    async with sessionmaker.begin() as session:
        assert await verify_login(session, "editor@example.org", PASSWORD) is None
        await set_active(session, "editor@example.org", True)
    async with sessionmaker.begin() as session:
        assert await verify_login(session, "editor@example.org", PASSWORD, hasher=fast_hasher())


async def test_login_rehashes_when_costs_changed(sessionmaker: Sessionmaker) -> None:
    old = (await make_editor(sessionmaker)).password_hash
    stronger = fast_hasher(time_cost=2)
    async with sessionmaker.begin() as session:
        assert await verify_login(session, "editor@example.org", PASSWORD, hasher=stronger)
    async with sessionmaker() as session:
        new = (await get_editor(session, "editor@example.org")).password_hash
    assert new != old
    assert ",t=2," in new
    assert not stronger.check_needs_rehash(new)


async def test_short_password_is_refused_with_a_clear_message(sessionmaker: Sessionmaker) -> None:
    async with sessionmaker.begin() as session:
        with pytest.raises(WeakPassword, match=f"at least {MIN_PASSWORD} characters"):
            await create_editor(session, "ed@example.org", "x" * (MIN_PASSWORD - 1))
    async with sessionmaker() as session:
        assert not await list_editors(session)


def test_password_policy_edges() -> None:
    check_password("x" * MIN_PASSWORD)
    with pytest.raises(WeakPassword, match="only spaces"):
        check_password(" " * 20)
    with pytest.raises(WeakPassword, match="at most"):
        check_password("x" * 5000)


async def test_duplicate_editor_is_refused(sessionmaker: Sessionmaker) -> None:
    await make_editor(sessionmaker, "ed@example.org")
    async with sessionmaker.begin() as session:
        with pytest.raises(EditorExists, match="already exists"):
            await create_editor(session, "ED@example.org", PASSWORD, hasher=fast_hasher())
    async with sessionmaker() as session:
        assert len(await list_editors(session)) == 1


async def test_invalid_address_is_refused(sessionmaker: Sessionmaker) -> None:
    async with sessionmaker.begin() as session:
        with pytest.raises(ValidationError, match="not a valid email"):
            await create_editor(session, "ed@", PASSWORD, hasher=fast_hasher())


async def test_unknown_editor_cannot_be_disabled(sessionmaker: Sessionmaker) -> None:
    async with sessionmaker.begin() as session:
        with pytest.raises(EditorNotFound, match="no editor"):
            await set_active(session, "nobody@example.org", False)


def test_generated_passwords_are_long_random_and_valid() -> None:
    passwords = {generate_password() for _ in range(20)}
    assert len(passwords) == 20
    for password in passwords:
        assert len(password) >= 20
        check_password(password)


def test_hasher_follows_settings(settings: Settings) -> None:
    hasher = hasher_for(settings.model_copy(update={"argon2_time_cost": 2}))
    assert hasher.time_cost == 2
    assert hasher.memory_cost == settings.argon2_memory_cost == 65536
