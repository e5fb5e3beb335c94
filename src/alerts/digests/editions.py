"""Editors' digest and edition services: create, change, send now, cancel/pause/resume; audited."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.db import insert_for
from alerts.digests.manage import check_spec, create_digest, set_digest_status, update_digest
from alerts.digests.plan import plan_edition, set_status
from alerts.digests.schedule import previous_run
from alerts.editors.audit import Who, record_as
from alerts.errors import AlertsError, NotFound, ValidationError
from alerts.models import (
    Delivery,
    DeliveryStatus,
    Digest,
    DigestCountry,
    DigestStatus,
    DigestTopic,
    Edition,
    EditionStatus,
    Topic,
)

FIELDS = frozenset({
    "slug", "name", "cron", "timezone", "send_at", "audience", "sections", "group_by",
    "subject_template", "intro_markdown", "send_when_empty", "grace_hours", "topics", "countries",
})  # fmt: skip
_LISTS = ("sections", "topics", "countries")


class EditionStateError(AlertsError):
    """The edition is not in a state that allows the change asked for."""


@dataclass(frozen=True)
class EditionSummary:
    """An edition with its digest's slug and its delivery counts."""

    edition: Edition
    digest_slug: str
    counts: dict[str, int] = field(default_factory=dict)


def check_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    """Return digest fields from untrusted input; refuse unknown names and wrong shapes."""
    errors = {k: "Unknown field." for k in data if k not in FIELDS}
    for name in _LISTS:
        value = data.get(name)
        if value is not None and (
            not isinstance(value, list) or not all(isinstance(v, str) for v in value)
        ):
            errors[name] = "Give a list of strings."
    for name in ("send_when_empty",):
        if name in data and not isinstance(data[name], bool):
            errors[name] = "Give true or false."
    if "grace_hours" in data and (
        isinstance(data["grace_hours"], bool) or not isinstance(data["grace_hours"], int)
    ):
        errors["grace_hours"] = "Give a whole number of hours from 0 to 336."
    for name in FIELDS - {*_LISTS, "send_when_empty", "grace_hours"}:
        if data.get(name) is not None and not isinstance(data[name], str):
            errors[name] = "Give a string."
    if errors:
        raise ValidationError(errors)
    return dict(data)


async def create(
    session: AsyncSession, data: Mapping[str, Any], *, who: Who, now: datetime
) -> Digest:
    """Create a digest from checked fields and record who did it."""
    digest = await create_digest(session, check_spec(data), now=now)
    await record_as(session, who, "digest.create", digest.slug, {"fields": dict(data)}, now)
    return digest


async def change(
    session: AsyncSession, digest: Digest, changes: Mapping[str, Any], *, who: Who, now: datetime
) -> Digest:
    """Change a digest's fields and record who did it."""
    slug = digest.slug
    await update_digest(session, digest, changes, now=now)
    details: dict[str, Any] = {"changes": dict(changes)}
    if digest.slug != slug:
        details["renamed_from"] = slug
    await record_as(session, who, "digest.update", digest.slug, details, now)
    return digest


async def set_active(
    session: AsyncSession, digest: Digest, active: bool, *, who: Who, now: datetime
) -> Digest:
    """Pause or resume a digest's schedule and record who did it."""
    status = DigestStatus.ACTIVE if active else DigestStatus.PAUSED
    await set_digest_status(session, digest, status, now=now)
    action = "digest.resume" if active else "digest.pause"
    await record_as(session, who, action, digest.slug, {}, now)
    return digest


async def send_now(session: AsyncSession, digest: Digest, *, who: Who, now: datetime) -> Edition:
    """Create and plan an edition due now; the caller enqueues senders when it is sending."""
    # Lock the digest so two editors cannot take the same window.
    locked = await session.get(Digest, digest.id, with_for_update=True, populate_existing=True)
    if locked is None:
        raise NotFound(f"No digest {digest.slug}.")
    start = min(locked.last_window_end or previous_run(locked, now), now)
    edition_id = (
        await session.execute(
            insert_for(session, Edition.__table__)
            .values(
                digest_id=locked.id,
                due_at=now,
                window_start=start,
                window_end=now,
                status=EditionStatus.SCHEDULED.value,
                note=f"sent now by {who.actor}",
                planned=0,
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=["digest_id", "due_at"])
            .returning(Edition.__table__.c.id)
        )
    ).scalar_one_or_none()
    if edition_id is None:  # the same instant twice: that edition exists already
        existing = await session.scalar(
            select(Edition).where(Edition.digest_id == locked.id, Edition.due_at == now)
        )
        assert existing is not None
        return existing
    locked.last_window_end = now
    locked.updated_at = now
    edition = await plan_edition(session, edition_id, now=now)
    details = {"edition": edition.id, "status": edition.status.value, "planned": edition.planned}
    await record_as(session, who, "digest.send_now", locked.slug, details, now)
    return edition


_CONTROLS: dict[str, tuple[EditionStatus, frozenset[EditionStatus]]] = {
    "cancel": (
        EditionStatus.CANCELLED,
        frozenset({EditionStatus.SCHEDULED, EditionStatus.SENDING, EditionStatus.PAUSED}),
    ),
    "pause": (EditionStatus.PAUSED, frozenset({EditionStatus.SENDING})),
    "resume": (EditionStatus.SENDING, frozenset({EditionStatus.PAUSED})),
}
_PAST = {"cancel": "cancelled", "pause": "paused", "resume": "resumed"}


async def _control(
    session: AsyncSession, edition_id: int, verb: str, *, who: Who, now: datetime
) -> Edition:
    edition = await session.get(Edition, edition_id)
    if edition is None:
        raise NotFound(f"No edition {edition_id}.")
    status, allowed = _CONTROLS[verb]
    before = edition.status
    moved = await set_status(session, edition_id, status, allowed_from=set(allowed))
    await session.refresh(edition)
    if not moved:
        states = " or ".join(sorted(s.value for s in allowed))
        raise EditionStateError(
            f"Edition {edition_id} is {edition.status.value}: only a {states} edition "
            f"can be {_PAST[verb]}."
        )
    if status == EditionStatus.CANCELLED:
        edition.finished_at = now
    details = {"from": before.value, "to": status.value, "digest_id": edition.digest_id}
    await record_as(session, who, f"edition.{verb}", f"edition:{edition_id}", details, now)
    return edition


async def cancel_edition(
    session: AsyncSession, edition_id: int, *, who: Who, now: datetime
) -> Edition:
    """Cancel a scheduled, sending or paused edition: nothing more of it is sent."""
    return await _control(session, edition_id, "cancel", who=who, now=now)


async def pause_edition(
    session: AsyncSession, edition_id: int, *, who: Who, now: datetime
) -> Edition:
    """Pause a sending edition: senders stop after their current batch."""
    return await _control(session, edition_id, "pause", who=who, now=now)


async def resume_edition(
    session: AsyncSession, edition_id: int, *, who: Who, now: datetime
) -> Edition:
    """Resume a paused edition; the caller enqueues its senders."""
    return await _control(session, edition_id, "resume", who=who, now=now)


async def _counts(session: AsyncSession, edition_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    counts = {i: {s.value: 0 for s in DeliveryStatus} for i in edition_ids}
    if edition_ids:
        rows = await session.execute(
            select(Delivery.edition_id, Delivery.status, func.count())
            .where(Delivery.edition_id.in_(list(edition_ids)))
            .group_by(Delivery.edition_id, Delivery.status)
        )
        for edition_id, status, n in rows:
            counts[edition_id][DeliveryStatus(status).value] = int(n)
    return counts


async def list_editions(
    session: AsyncSession, digest: Digest | None = None, limit: int = 50
) -> list[EditionSummary]:
    """Return the latest editions, newest first, with their counts (two queries in all)."""
    query = (
        select(Edition, Digest.slug)
        .join(Digest, Digest.id == Edition.digest_id)
        .order_by(Edition.due_at.desc(), Edition.id.desc())
        .limit(limit)
    )
    if digest is not None:
        query = query.where(Edition.digest_id == digest.id)
    rows = (await session.execute(query)).all()
    counts = await _counts(session, [e.id for e, _ in rows])
    return [EditionSummary(e, slug, {"planned": e.planned, **counts[e.id]}) for e, slug in rows]


async def get_edition(session: AsyncSession, edition_id: int) -> EditionSummary:
    """Return one edition with its counts, or raise NotFound."""
    row = (
        await session.execute(
            select(Edition, Digest.slug)
            .join(Digest, Digest.id == Edition.digest_id)
            .where(Edition.id == edition_id)
        )
    ).first()
    if row is None:
        raise NotFound(f"No edition {edition_id}.")
    edition, slug = row
    counts = await _counts(session, [edition.id])
    return EditionSummary(edition, slug, {"planned": edition.planned, **counts[edition.id]})


async def digest_filters(
    session: AsyncSession, digest_ids: Sequence[int]
) -> dict[int, tuple[list[str], list[str]]]:
    """Return each digest's topic slugs and country codes, sorted: two queries for all."""
    found: dict[int, tuple[list[str], list[str]]] = {i: ([], []) for i in digest_ids}
    if digest_ids:
        ids = list(digest_ids)
        for digest_id, slug in await session.execute(
            select(DigestTopic.digest_id, Topic.slug)
            .join(Topic, Topic.id == DigestTopic.topic_id)
            .where(DigestTopic.digest_id.in_(ids))
            .order_by(Topic.slug)
        ):
            found[digest_id][0].append(slug)
        for digest_id, code in await session.execute(
            select(DigestCountry.digest_id, DigestCountry.country_code)
            .where(DigestCountry.digest_id.in_(ids))
            .order_by(DigestCountry.country_code)
        ):
            found[digest_id][1].append(code)
    return found
