"""The audit log: entries written with the action, read newest first."""

from __future__ import annotations

from datetime import timedelta

import pytest

from alerts.db import Sessionmaker
from alerts.editors import audit
from alerts.timeutil import utcnow
from tests.editors.factories import make_editor


async def test_record_and_read_newest_first(sessionmaker: Sessionmaker) -> None:
    editor = await make_editor(sessionmaker)
    start = utcnow()
    async with sessionmaker.begin() as session:
        for minutes, action in ((0, "digest.create"), (2, "digest.send"), (1, "feed.add")):
            await audit.record(
                session,
                editor=editor,
                actor=editor.email,
                action=action,
                subject="digest:1",
                details={"n": minutes, "name": "Geneva ✓"},
                at=start + timedelta(minutes=minutes),
            )
        await audit.record(
            session,
            editor=None,
            actor="cli:root",
            action="editor.add",
            at=start + timedelta(minutes=3),
        )
    async with sessionmaker() as session:
        entries = await audit.recent(session)
        assert [e.action for e in entries] == [
            "editor.add",
            "digest.send",
            "feed.add",
            "digest.create",
        ]
        assert entries[1].details == {"n": 2, "name": "Geneva ✓"}
        assert entries[1].editor_id == editor.id and entries[0].editor_id is None
        assert entries[0].subject == "" and entries[0].details == {}
        assert [e.action for e in await audit.recent(session, limit=1)] == ["editor.add"]
        mine = await audit.recent(session, editor_id=editor.id)
        assert {e.actor for e in mine} == {editor.email}


async def test_entry_is_rolled_back_with_its_action(sessionmaker: Sessionmaker) -> None:
    with pytest.raises(RuntimeError):
        async with sessionmaker.begin() as session:
            await audit.record(session, editor=None, actor="cli:root", action="editor.add")
            raise RuntimeError("the action failed")
    async with sessionmaker() as session:
        assert not await audit.recent(session)


async def test_long_subject_is_clipped_and_bad_action_refused(sessionmaker: Sessionmaker) -> None:
    async with sessionmaker.begin() as session:
        await audit.record(session, editor=None, actor="a" * 400, action="x", subject="s" * 500)
        with pytest.raises(ValueError, match="action"):
            await audit.record(session, editor=None, actor="cli:root", action="")
    async with sessionmaker() as session:
        (entry,) = await audit.recent(session)
    assert len(entry.subject) == 200 and entry.subject.endswith("…")
    assert len(entry.actor) == 320


def test_cli_actor_names_the_os_user() -> None:
    actor = audit.cli_actor()
    assert actor.startswith("cli:") and len(actor) > 4
