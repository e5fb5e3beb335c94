"""Editors' digest services: create, change, pause, resume, list; every action audited."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import TemplateSyntaxError
from sqlalchemy import delete, insert, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.digests.build import _subjects
from alerts.digests.schedule import check_schedule, next_run
from alerts.errors import NotFound, ValidationError
from alerts.models import (
    Audience,
    Country,
    Digest,
    DigestCountry,
    DigestStatus,
    DigestTopic,
    Topic,
)

SECTIONS = ("articles", "countdowns", "upcoming", "observances")
GROUPS = ("topic", "country")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


@dataclass(frozen=True)
class DigestSpec:
    """A checked description of a digest, from the API, the CLI or the shipped file."""

    slug: str
    name: str
    cron: str | None
    timezone: str
    send_at: datetime | None
    audience: Audience
    sections: tuple[str, ...]
    group_by: str
    subject_template: str
    intro_markdown: str
    send_when_empty: bool
    grace_hours: int
    topics: frozenset[str]
    countries: frozenset[str]


def check_spec(data: Mapping[str, Any], *, current: Digest | None = None) -> DigestSpec:
    """Check digest fields (merged over ``current`` when changing one); report every problem."""
    base: dict[str, Any] = {}
    if current is not None:
        base = {
            "slug": current.slug,
            "name": current.name,
            "cron": current.cron,
            "timezone": current.timezone,
            "send_at": current.send_at,
            "audience": current.audience.value,
            "sections": current.sections,
            "group_by": current.group_by,
            "subject_template": current.subject_template,
            "intro_markdown": current.intro_markdown,
            "send_when_empty": current.send_when_empty,
            "grace_hours": current.grace_hours,
        }
    merged = {**base, **{k: v for k, v in data.items() if k not in ("topics", "countries")}}
    errors: dict[str, str] = {}
    slug = str(merged.get("slug") or "")
    if not _SLUG.match(slug):
        errors["slug"] = "Use lower-case letters, digits and hyphens (at most 63)."
    name = str(merged.get("name") or "").strip()
    if not name or len(name) > 200:
        errors["name"] = "Give a name of at most 200 characters."
    cron = merged.get("cron") or None
    send_at = merged.get("send_at") or None
    if isinstance(send_at, str):
        try:
            send_at = datetime.fromisoformat(send_at)
        except ValueError:
            errors["send_at"] = "Give an ISO 8601 date and time with its offset."
            send_at = None
    timezone = str(merged.get("timezone") or "Europe/Zurich")
    try:
        audience = Audience(str(merged.get("audience") or ""))
    except ValueError:
        errors["audience"] = "Choose daily, weekly, immediate, opted_in or all."
        audience = Audience.ALL
    # Immediate alerts follow ingestion, not a clock.
    if audience != Audience.IMMEDIATE or cron or send_at:
        try:
            check_schedule(cron, timezone, send_at)
        except ValidationError as e:
            errors.update(e.errors)
    sections = tuple(merged.get("sections") or ("articles", "countdowns"))
    if not sections or any(s not in SECTIONS for s in sections):
        errors["sections"] = "Choose among: " + ", ".join(SECTIONS) + "."
    group_by = str(merged.get("group_by") or "topic")
    if group_by not in GROUPS:
        errors["group_by"] = "Group articles by topic or by country."
    subject = str(merged.get("subject_template") or "{{ digest }}: {{ date }}")
    try:
        _subjects.parse(subject)
    except TemplateSyntaxError as e:
        errors["subject_template"] = f"The subject template does not parse: {e.message}"
    intro = str(merged.get("intro_markdown") or "")
    if len(intro) > 10_000:
        errors["intro_markdown"] = "Keep the intro under 10,000 characters."
    grace = merged.get("grace_hours", 12)
    if not isinstance(grace, int) or not 0 <= grace <= 24 * 14:
        errors["grace_hours"] = "Give a whole number of hours from 0 to 336."
        grace = 12
    if errors:
        raise ValidationError(errors)
    return DigestSpec(
        slug=slug,
        name=name,
        cron=cron,
        timezone=timezone,
        send_at=send_at,
        audience=audience,
        sections=sections,
        group_by=group_by,
        subject_template=subject,
        intro_markdown=intro,
        send_when_empty=bool(merged.get("send_when_empty", False)),
        grace_hours=grace,
        topics=frozenset(str(t) for t in data.get("topics") or ()),
        countries=frozenset(str(c).upper() for c in data.get("countries") or ()),
    )


async def _check_filter(session: AsyncSession, spec: DigestSpec) -> None:
    errors = {}
    if spec.topics:
        known = set(await session.scalars(select(Topic.slug).where(Topic.slug.in_(spec.topics))))
        if spec.topics - known:
            errors["topics"] = "Unknown topic: " + ", ".join(sorted(spec.topics - known))
    if spec.countries:
        known = set(
            await session.scalars(select(Country.code).where(Country.code.in_(spec.countries)))
        )
        if spec.countries - known:
            errors["countries"] = "Unknown country: " + ", ".join(sorted(spec.countries - known))
    if errors:
        raise ValidationError(errors)


async def _save_filter(session: AsyncSession, digest_id: int, spec: DigestSpec) -> None:
    await session.execute(delete(DigestTopic).where(DigestTopic.digest_id == digest_id))
    await session.execute(delete(DigestCountry).where(DigestCountry.digest_id == digest_id))
    if spec.topics:
        await session.execute(
            insert(DigestTopic).from_select(
                ["digest_id", "topic_id"],
                select(literal(digest_id), Topic.id).where(Topic.slug.in_(spec.topics)),
            )
        )
    if spec.countries:
        await session.execute(
            insert(DigestCountry),
            [{"digest_id": digest_id, "country_code": c} for c in sorted(spec.countries)],
        )


def _apply(digest: Digest, spec: DigestSpec, now: datetime) -> None:
    digest.slug, digest.name = spec.slug, spec.name
    digest.cron, digest.timezone, digest.send_at = spec.cron, spec.timezone, spec.send_at
    digest.audience, digest.group_by = spec.audience, spec.group_by
    digest.sections = list(spec.sections)
    digest.subject_template, digest.intro_markdown = spec.subject_template, spec.intro_markdown
    digest.send_when_empty, digest.grace_hours = spec.send_when_empty, spec.grace_hours
    digest.updated_at = now
    digest.next_run_at = next_run(digest, now)


async def create_digest(session: AsyncSession, spec: DigestSpec, *, now: datetime) -> Digest:
    """Create a digest; its first edition is due at the next scheduled time."""
    await _check_filter(session, spec)
    if await session.scalar(select(Digest.id).where(Digest.slug == spec.slug)) is not None:
        raise ValidationError({"slug": f"A digest called {spec.slug} exists already."})
    digest = Digest(created_at=now, status=DigestStatus.ACTIVE)
    _apply(digest, spec, now)
    session.add(digest)
    await session.flush()
    await _save_filter(session, digest.id, spec)
    return digest


async def update_digest(
    session: AsyncSession, digest: Digest, changes: Mapping[str, Any], *, now: datetime
) -> Digest:
    """Change a digest's fields; topics/countries replace the filter when given."""
    spec = check_spec(changes, current=digest)
    if "topics" not in changes or "countries" not in changes:
        current = await digest_filter(session, digest.id)
        spec = DigestSpec(
            **{
                **spec.__dict__,
                "topics": spec.topics if "topics" in changes else current[0],
                "countries": spec.countries if "countries" in changes else current[1],
            }
        )
    await _check_filter(session, spec)
    clash = await session.scalar(
        select(Digest.id).where(Digest.slug == spec.slug, Digest.id != digest.id)
    )
    if clash is not None:
        raise ValidationError({"slug": f"A digest called {spec.slug} exists already."})
    _apply(digest, spec, now)
    await _save_filter(session, digest.id, spec)
    return digest


async def digest_filter(
    session: AsyncSession, digest_id: int
) -> tuple[frozenset[str], frozenset[str]]:
    """Return the digest's topic slugs and country codes."""
    topics = await session.scalars(
        select(Topic.slug)
        .join(DigestTopic, DigestTopic.topic_id == Topic.id)
        .where(DigestTopic.digest_id == digest_id)
    )
    countries = await session.scalars(
        select(DigestCountry.country_code).where(DigestCountry.digest_id == digest_id)
    )
    return frozenset(topics), frozenset(countries)


async def get_digest(session: AsyncSession, slug_or_id: str | int) -> Digest:
    """Return a digest by slug or id, or raise NotFound."""
    query = select(Digest)
    if isinstance(slug_or_id, int) or str(slug_or_id).isdigit():
        query = query.where(Digest.id == int(slug_or_id))
    else:
        query = query.where(Digest.slug == slug_or_id)
    digest = await session.scalar(query)
    if digest is None:
        raise NotFound(f"No digest {slug_or_id}.")
    return digest


async def set_digest_status(
    session: AsyncSession, digest: Digest, status: DigestStatus, *, now: datetime
) -> None:
    """Pause or resume a digest; resuming schedules from now, not from the pause."""
    digest.status = status
    digest.updated_at = now
    if status == DigestStatus.ACTIVE:
        digest.next_run_at = next_run(digest, now)


async def list_digests(session: AsyncSession) -> list[Digest]:
    """Return every digest by name."""
    return list(await session.scalars(select(Digest).order_by(Digest.name)))


async def sync_shipped(session: AsyncSession, path: Path, *, now: datetime) -> int:
    """Create the shipped digests that do not exist yet; return how many were created."""
    with path.open("rb") as f:
        rows = tomllib.load(f).get("digest", [])
    created = 0
    for row in rows:
        spec = check_spec(row)
        if await session.scalar(select(Digest.id).where(Digest.slug == spec.slug)) is None:
            await create_digest(session, spec, now=now)
            created += 1
    return created
