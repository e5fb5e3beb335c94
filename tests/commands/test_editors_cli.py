"""`alerts editors`: accounts, tokens and the audit log from the command line."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from alerts.cli import cli
from alerts.commands import editors as editors_cmd
from alerts.config import Settings
from alerts.db import Sessionmaker
from alerts.editors import audit
from alerts.editors.accounts import get_editor, verify_login
from alerts.editors.tokens import TOKEN_PREFIX, editor_for_token
from alerts.models import ApiToken, AuditEntry, Editor
from tests.editors.factories import PASSWORD, all_stored_text, fast_hasher


@pytest.fixture
def cli_env(
    monkeypatch: pytest.MonkeyPatch, settings: Settings, engine: Any, tmp_path: Path
) -> None:
    """Point the command at the test database, with cheap argon2 costs."""
    monkeypatch.chdir(tmp_path)
    for name, value in {
        "ENVIRONMENT": "test",
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "SMTP_URL": settings.smtp_url,
        "BASE_URL": settings.base_url,
        "SECRET_KEY": settings.secret_key,
        "VAR_DIR": str(settings.var_dir),
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_COST": "1024",
    }.items():
        monkeypatch.setenv(name, value)


async def run(*args: str, input: str | None = None) -> Result:
    """Run `alerts ...` in a thread, as the CLI starts its own event loop."""
    return await asyncio.to_thread(CliRunner().invoke, cli, list(args), input=input)


def assert_failed(result: Result, message: str, code: int = 1) -> None:
    assert result.exit_code == code, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


async def audit_actions(sessionmaker: Sessionmaker) -> list[tuple[str, str, str]]:
    async with sessionmaker() as session:
        entries = (await session.scalars(select(AuditEntry).order_by(AuditEntry.id))).all()
    return [(e.actor, e.action, e.subject) for e in entries]


async def add(email: str = "ed@example.org", password: str = PASSWORD) -> Result:
    return await run("editors", "add", email, "--password-stdin", input=password + "\n")


async def test_add_with_password_on_stdin(cli_env: None, sessionmaker: Sessionmaker) -> None:
    result = await add("Ed@Example.org")
    assert result.exit_code == 0, result.output
    assert "Added editor ed@example.org." in result.output
    async with sessionmaker.begin() as session:
        editor = await get_editor(session, "ed@example.org")
        assert editor.password_hash.startswith("$argon2id$")
        assert await verify_login(session, "ed@example.org", PASSWORD, hasher=fast_hasher())
    actor = audit.cli_actor()
    assert await audit_actions(sessionmaker) == [(actor, "editor.add", "ed@example.org")]


async def test_add_generates_a_password_shown_once(
    cli_env: None, sessionmaker: Sessionmaker
) -> None:
    result = await run("editors", "add", "ed@example.org", "--generate")
    assert result.exit_code == 0, result.output
    (line,) = [x for x in result.stdout.splitlines() if x.startswith("Password: ")]
    password = line.removeprefix("Password: ")
    assert len(password) >= 20
    assert result.output.count(password) == 1
    assert "shown only once" in result.stderr
    async with sessionmaker.begin() as session:
        assert await verify_login(session, "ed@example.org", password, hasher=fast_hasher())
        assert password not in await all_stored_text(session)


async def test_add_prompts_twice_and_asks_again_after_a_short_password(
    cli_env: None, sessionmaker: Sessionmaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(editors_cmd, "_interactive", lambda: True)
    typed = f"too short\n{PASSWORD}\n{PASSWORD}\n"
    result = await run("editors", "add", "ed@example.org", input=typed)
    assert result.exit_code == 0, result.output
    assert "at least 12 characters" in result.output
    assert PASSWORD not in result.output
    async with sessionmaker.begin() as session:
        assert await verify_login(session, "ed@example.org", PASSWORD, hasher=fast_hasher())


async def test_add_refuses_short_password_duplicate_and_bad_options(
    cli_env: None, sessionmaker: Sessionmaker
) -> None:
    assert_failed(await add(password="short"), "at least 12 characters")
    assert_failed(await add(email="not-an-address"), "not a valid email address")
    assert (await add()).exit_code == 0
    assert_failed(await add(email="ED@example.org"), "already exists")
    assert_failed(
        await run("editors", "add", "x@example.org", "--generate", "--password-stdin"),
        "not both",
        code=2,
    )
    assert_failed(await run("editors", "add", "x@example.org"), "--password-stdin", code=2)
    assert len(await audit_actions(sessionmaker)) == 1


async def test_list_disable_and_enable(cli_env: None, sessionmaker: Sessionmaker) -> None:
    assert "No editors yet" in (await run("editors", "list")).output
    await add("b@example.org")
    await add("a@example.org")
    assert (await run("editors", "disable", "B@example.org")).exit_code == 0
    listed = (await run("editors", "list")).output.splitlines()
    assert [line.split("\t")[:2] for line in listed] == [
        ["a@example.org", "active"],
        ["b@example.org", "disabled"],
    ]
    assert (await run("editors", "enable", "b@example.org")).exit_code == 0
    assert_failed(await run("editors", "disable", "nobody@example.org"), "no editor")
    async with sessionmaker() as session:
        assert all((await session.scalars(select(Editor.active))).all())
    actions = [action for _, action, _ in await audit_actions(sessionmaker)]
    assert actions == ["editor.add", "editor.add", "editor.disable", "editor.enable"]


async def test_token_issue_list_and_revoke(cli_env: None, sessionmaker: Sessionmaker) -> None:
    await add()
    issued = await run("editors", "token", "issue", "ed@example.org", "--name", "newsroom script")
    assert issued.exit_code == 0, issued.output
    plain = issued.stdout.strip()
    assert plain.startswith(TOKEN_PREFIX) and "\n" not in plain
    assert issued.output.count(plain) == 1
    assert "shown only once" in issued.stderr
    async with sessionmaker.begin() as session:
        token = (await session.scalars(select(ApiToken))).one()
        assert await editor_for_token(session, plain) is not None
        assert plain not in await all_stored_text(session)

    listed = await run("editors", "token", "list", "ed@example.org")
    assert listed.exit_code == 0
    assert f"{token.id}\tnewsroom script\t" in listed.output
    assert "active" in listed.output and plain not in listed.output

    revoked = await run("editors", "token", "revoke", str(token.id))
    assert revoked.exit_code == 0 and "Revoked token" in revoked.output
    assert "already revoked" in (await run("editors", "token", "revoke", str(token.id))).output
    assert "revoked 2" in (await run("editors", "token", "list", "ed@example.org")).output
    async with sessionmaker.begin() as session:
        assert await editor_for_token(session, plain) is None

    assert_failed(await run("editors", "token", "revoke", "999999"), "No API token")
    assert_failed(await run("editors", "token", "revoke", "abc"), "abc", code=2)
    assert_failed(
        await run("editors", "token", "issue", "nobody@example.org", "--name", "x"), "no editor"
    )
    assert_failed(await run("editors", "token", "issue", "ed@example.org", "--name", " "), "name")

    subjects = [(action, subject) for _, action, subject in await audit_actions(sessionmaker)]
    assert subjects == [
        ("editor.add", "ed@example.org"),
        ("token.issue", f"token:{token.id}"),
        ("token.revoke", f"token:{token.id}"),
    ]


async def test_audit_shows_who_did_what_and_when(cli_env: None, sessionmaker: Sessionmaker) -> None:
    assert "empty" in (await run("editors", "audit")).output
    await add()
    await run("editors", "disable", "ed@example.org")
    result = await run("editors", "audit", "--limit", "1")
    assert result.exit_code == 0
    (line,) = result.output.splitlines()
    when, actor, action, subject = line.split("\t")
    assert when.endswith(" UTC") and actor == audit.cli_actor()
    assert (action, subject) == ("editor.disable", "ed@example.org")
    full = (await run("editors", "audit")).output.splitlines()
    assert len(full) == 2 and '{"password": "stdin"}' in full[1]
    assert_failed(await run("editors", "audit", "--limit", "0"), "0", code=2)


async def test_unusable_database_is_a_plain_error(
    cli_env: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    assert_failed(await run("editors", "list"), "alerts db upgrade")
