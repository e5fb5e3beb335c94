"""`alerts editors`: editor accounts, their API tokens and the audit log."""

from __future__ import annotations

import json
import sys
from datetime import datetime

import click

from alerts.commands.common import database, load_settings, run
from alerts.editors import audit
from alerts.editors.accounts import (
    check_password,
    create_editor,
    generate_password,
    get_editor,
    hasher_for,
    list_editors,
    set_active,
)
from alerts.editors.errors import WeakPassword
from alerts.editors.tokens import find_token, issue_token, list_tokens, revoke_token
from alerts.timeutil import utcnow


def _when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S UTC") if at else "never"


def _checked_password(value: str) -> str:
    try:
        check_password(value)
    except WeakPassword as e:
        raise click.UsageError(str(e)) from e
    return value


def _interactive() -> bool:
    return sys.stdin.isatty()


def _read_password(password_stdin: bool, generate: bool) -> tuple[str, str]:
    if password_stdin and generate:
        raise click.UsageError("Use either --password-stdin or --generate, not both.")
    if generate:
        return generate_password(), "generated"
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n"), "stdin"
    if not _interactive():
        raise click.UsageError("Not at a terminal: use --password-stdin or --generate.")
    password: str = click.prompt(
        "Password", hide_input=True, confirmation_prompt=True, value_proc=_checked_password
    )
    return password, "prompt"


@click.group()
def editors() -> None:
    """Editor accounts, their API tokens and the audit log."""


@editors.command("add")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--generate", is_flag=True, help="Generate a password and print it once.")
def add(email: str, password_stdin: bool, generate: bool) -> None:
    """Add an editor who logs in with EMAIL."""
    settings = load_settings()
    password, how = _read_password(password_stdin, generate)

    async def go() -> str:
        async with database(settings) as sessionmaker, sessionmaker.begin() as session:
            editor = await create_editor(session, email, password, hasher=hasher_for(settings))
            await audit.record(
                session,
                editor=None,
                actor=audit.cli_actor(),
                action="editor.add",
                subject=editor.email,
                details={"password": how},
            )
            return editor.email

    added = run(go())
    click.echo(f"Added editor {added}.")
    if generate:
        click.echo(f"Password: {password}")
        click.echo("This password is shown only once: store it now.", err=True)


@editors.command("list")
def list_() -> None:
    """List editors."""
    settings = load_settings()

    async def go() -> list[str]:
        async with database(settings) as sessionmaker, sessionmaker() as session:
            return [
                f"{e.email}\t{'active' if e.active else 'disabled'}\tadded {_when(e.created_at)}"
                for e in await list_editors(session)
            ]

    lines = run(go())
    click.echo("\n".join(lines) if lines else "No editors yet. Add one with: alerts editors add")


def _set_active(email: str, active: bool) -> str:
    settings = load_settings()

    async def go() -> str:
        async with database(settings) as sessionmaker, sessionmaker.begin() as session:
            editor = await set_active(session, email, active)
            await audit.record(
                session,
                editor=None,
                actor=audit.cli_actor(),
                action="editor.enable" if active else "editor.disable",
                subject=editor.email,
            )
            return editor.email

    return run(go())


@editors.command("disable")
@click.argument("email")
def disable(email: str) -> None:
    """Disable an editor: their logins and API tokens stop working."""
    click.echo(f"Disabled {_set_active(email, False)}: their logins and API tokens stop working.")


@editors.command("enable")
@click.argument("email")
def enable(email: str) -> None:
    """Enable a disabled editor again (their unrevoked tokens work again)."""
    click.echo(f"Enabled {_set_active(email, True)}.")


@editors.group("token")
def token() -> None:
    """API tokens: issue, list, revoke."""


@token.command("issue")
@click.argument("email")
@click.option("--name", required=True, help="What the token is for, e.g. the script using it.")
def token_issue(email: str, name: str) -> None:
    """Issue an API token for the editor EMAIL and print it once."""
    settings = load_settings()

    async def go() -> tuple[str, int, str]:
        async with database(settings) as sessionmaker, sessionmaker.begin() as session:
            editor = await get_editor(session, email)
            plain = await issue_token(session, editor, name)
            stored = await find_token(session, plain)
            assert stored is not None
            await audit.record(
                session,
                editor=None,
                actor=audit.cli_actor(),
                action="token.issue",
                subject=f"token:{stored.id}",
                details={"editor": editor.email, "name": stored.name},
            )
            return plain, stored.id, editor.email

    plain, token_id, owner = run(go())
    click.echo(f"Token {token_id} ({name.strip()}) for {owner}:", err=True)
    click.echo(plain)
    click.echo("It is shown only once and cannot be recovered: store it now.", err=True)


@token.command("list")
@click.argument("email")
def token_list(email: str) -> None:
    """List the API tokens of the editor EMAIL (never the tokens themselves)."""
    settings = load_settings()

    async def go() -> list[str]:
        async with database(settings) as sessionmaker, sessionmaker() as session:
            editor = await get_editor(session, email)
            return [
                f"{t.id}\t{t.name}\tissued {_when(t.created_at)}\tlast used {_when(t.last_used_at)}"
                + (f"\trevoked {_when(t.revoked_at)}" if t.revoked_at else "\tactive")
                for t in await list_tokens(session, editor)
            ]

    lines = run(go())
    click.echo("\n".join(lines) if lines else f"{email.strip()} has no API tokens.")


@token.command("revoke")
@click.argument("token_id", type=click.IntRange(min=1))
def token_revoke(token_id: int) -> None:
    """Revoke the API token TOKEN_ID (see `alerts editors token list`)."""
    settings = load_settings()

    async def go() -> bool:
        now = utcnow()
        async with database(settings) as sessionmaker, sessionmaker.begin() as session:
            revoked = await revoke_token(session, token_id, now=now)
            if revoked.revoked_at != now:
                return False
            await audit.record(
                session,
                editor=None,
                actor=audit.cli_actor(),
                action="token.revoke",
                subject=f"token:{revoked.id}",
                details={"name": revoked.name, "editor_id": revoked.editor_id},
                at=now,
            )
            return True

    if run(go()):
        click.echo(f"Revoked token {token_id}.")
    else:
        click.echo(f"Token {token_id} was already revoked.")


@editors.command("audit")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
def audit_log(limit: int) -> None:
    """Show who did what, and when, newest first."""
    settings = load_settings()

    async def go() -> list[str]:
        async with database(settings) as sessionmaker, sessionmaker() as session:
            return [
                "\t".join(
                    [
                        _when(e.at),
                        e.actor,
                        e.action,
                        e.subject,
                        json.dumps(e.details, ensure_ascii=False) if e.details else "",
                    ]
                ).rstrip()
                for e in await audit.recent(session, limit=limit)
            ]

    lines = run(go())
    click.echo("\n".join(lines) if lines else "The audit log is empty.")
