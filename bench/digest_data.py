"""Digest bench data: subscribers and articles by COPY, bench digests, and a timed plan."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
from sqlalchemy import update

from alerts.db import Sessionmaker
from alerts.digests.manage import check_spec, create_digest
from alerts.digests.plan import plan_edition
from alerts.digests.schedule import create_due_editions
from alerts.models import Digest, EditionStatus

# Countries that most articles and readers are about; picking from all ~250 would make
# almost every country choice match nothing.
FOCUS = [
    "AF",
    "BH",
    "BD",
    "BY",
    "BR",
    "BI",
    "KH",
    "CM",
    "CN",
    "CO",
    "CU",
    "EG",
    "ER",
    "ET",
    "GT",
    "HN",
    "IN",
    "IR",
    "IQ",
    "KE",
    "LY",
    "MX",
    "MM",
    "NI",
    "NG",
    "PK",
    "PS",
    "PH",
    "RU",
    "SA",
    "SD",
    "SS",
    "SY",
    "TZ",
    "TH",
    "TR",
    "UG",
    "UA",
    "AE",
    "VE",
    "VN",
    "YE",
    "ZW",
]
FIRST = [
    "ana",
    "amir",
    "chen",
    "dara",
    "elif",
    "fatima",
    "grace",
    "hugo",
    "ines",
    "jamal",
    "kofi",
    "lena",
    "maria",
    "nour",
    "omar",
    "priya",
]
LAST = [
    "abebe",
    "bauer",
    "costa",
    "diallo",
    "evans",
    "garcia",
    "haddad",
    "ito",
    "khan",
    "lopez",
    "mensah",
    "novak",
    "okafor",
    "silva",
]
DOMAINS = ("example.org", "example.net", "mail.example.com", "ngo.example")
WHO = [
    "Lawyer Ding Jiaxi",
    "Defender Maria Lopez",
    "Activist Ahmed Mansoor",
    "Journalist Jimmy Lai",
]
WHAT = (
    "detained after meeting UN experts",
    "faces reprisals for cooperation with the UN",
    "released on bail after months in custody",
    "barred from travelling to the Human Rights Council",
    "wins appeal against conviction",
    "reports threats against community leaders",
)
BODY = (
    "Civil society organisations called on the authorities to end the harassment and to "
    "guarantee a safe and enabling environment for human rights defenders, including those "
    "who engage with the United Nations. The case was raised during the interactive dialogue "
    "at the Human Rights Council, where several States expressed concern about reprisals and "
    "asked for an independent investigation and a public response before the next session."
)


@dataclass(frozen=True)
class Population:
    """What the bench inserted."""

    subscribers: int
    articles: int
    window_start: datetime
    window_end: datetime


async def quiet_shipped(conn: asyncpg.Connection) -> None:
    """Keep the worker off the network and the shipped digests off the bench's editions."""
    await conn.execute("UPDATE sources SET active = false")
    await conn.execute("UPDATE digests SET status = 'paused'")


async def insert_subscribers(conn: asyncpg.Connection, count: int, rng: random.Random) -> None:
    """COPY ``count`` active subscribers with random topics, countries and frequencies."""
    topic_ids = [r[0] for r in await conn.fetch("SELECT id FROM topics ORDER BY id")]
    now = datetime.now(UTC)
    subs: list[tuple[object, ...]] = []
    topics: list[tuple[int, int]] = []
    countries: list[tuple[int, str]] = []
    for i in range(1, count + 1):
        email = f"{rng.choice(FIRST)}.{rng.choice(LAST)}{i}@{rng.choice(DOMAINS)}"
        freq = rng.choice(("daily", "weekly", "immediate"))
        subs.append((i, email, email, "active", freq, "en", 1, now, now, now, 0))
        if rng.random() >= 0.3:
            topics.extend((i, t) for t in rng.sample(topic_ids, rng.randint(1, 3)))
        if rng.random() >= 0.4:
            countries.extend((i, c) for c in rng.sample(FOCUS, rng.randint(1, 3)))
    columns = [
        "id", "email", "email_key", "status", "frequency", "language", "token_version",
        "created_at", "updated_at", "confirmed_at", "hard_bounces",
    ]  # fmt: skip
    await conn.copy_records_to_table("subscribers", records=subs, columns=columns)
    await conn.copy_records_to_table(
        "subscriber_topics", records=topics, columns=["subscriber_id", "topic_id"]
    )
    await conn.copy_records_to_table(
        "subscriber_countries", records=countries, columns=["subscriber_id", "country_code"]
    )
    await conn.execute("SELECT setval('subscribers_id_seq', $1)", count)


async def insert_articles(
    conn: asyncpg.Connection, count: int, start: datetime, end: datetime, rng: random.Random
) -> None:
    """COPY ``count`` tagged articles fetched inside the window."""
    topic_ids = [r[0] for r in await conn.fetch("SELECT id FROM topics ORDER BY id")]
    names = dict(await conn.fetch("SELECT code, name FROM countries"))
    source = await conn.fetchval(
        "INSERT INTO sources (url, title, origin, active, fetch_interval, consecutive_failures,"
        " created_at) VALUES ('https://wire.example.org/feed', 'Bench wire', 'cli', false,"
        " 3600, 0, $1) RETURNING id",
        end,
    )
    base = await conn.fetchval("SELECT coalesce(max(id), 0) FROM articles")
    span = (end - start).total_seconds()
    rows: list[tuple[object, ...]] = []
    tags: list[tuple[int, int]] = []
    places: list[tuple[int, str]] = []
    for n in range(1, count + 1):
        aid = base + n
        where = rng.sample(FOCUS, rng.choice((0, 1, 1, 2)))
        place = names.get(where[0], "Geneva") if where else "Geneva"
        title = f"{place}: {rng.choice(WHO)} {rng.choice(WHAT)} ({n})"
        cut = rng.randint(260, len(BODY))
        summary = f"<p>{BODY[:cut].rsplit(' ', 1)[0]}.</p>"
        fetched = start + timedelta(seconds=rng.uniform(60, span - 60))
        published = fetched - timedelta(minutes=rng.randint(5, 600))
        url = f"https://wire.example.org/news/{aid}"
        rows.append((aid, source, url, url, url, f"{aid:064x}", title, summary, published, fetched))
        tags.extend((aid, t) for t in rng.sample(topic_ids, rng.randint(1, 2)))
        places.extend((aid, c) for c in where)
    columns = [
        "id", "source_id", "guid", "url", "url_key", "content_hash", "title", "summary_html",
        "published_at", "fetched_at",
    ]  # fmt: skip
    await conn.copy_records_to_table(
        "articles", records=[(*r, False) for r in rows], columns=[*columns, "key_issues"]
    )
    await conn.copy_records_to_table(
        "article_topics", records=tags, columns=["article_id", "topic_id"]
    )
    await conn.copy_records_to_table(
        "article_countries", records=places, columns=["article_id", "country_code"]
    )
    await conn.execute("SELECT setval('articles_id_seq', $1)", base + count)


async def populate(dsn: str, subscribers: int, articles: int, seed: int = 1) -> Population:
    """Insert the subscribers and the window's articles; return what was inserted."""
    rng = random.Random(seed)
    end = datetime.now(UTC).replace(microsecond=0)
    start = end - timedelta(days=7)
    conn = await asyncpg.connect(dsn)
    try:
        await quiet_shipped(conn)
        async with conn.transaction():
            await insert_subscribers(conn, subscribers, rng)
            await insert_articles(conn, articles, start, end - timedelta(minutes=5), rng)
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return Population(subscribers, articles, start, end)


async def opt_in_every(dsn: str, digest_id: int, step: int) -> int:
    """Opt every ``step``-th subscriber in to a digest; return how many."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "INSERT INTO subscriber_digests (subscriber_id, digest_id)"
            " SELECT id, $1 FROM subscribers WHERE id % $2 = 0",
            digest_id,
            step,
        )
        query = "SELECT count(*) FROM subscriber_digests WHERE digest_id = $1"
        return int(await conn.fetchval(query, digest_id))
    finally:
        await conn.close()


async def make_bench_digest(sessionmaker: Sessionmaker, slug: str, audience: str) -> int:
    """Create a weekly-style digest whose schedule never comes due on its own."""
    spec = check_spec(
        {
            "slug": slug,
            "name": "Weekly digest",
            "cron": "0 8 1 1 *",
            "audience": audience,
            "sections": ["articles", "countdowns", "upcoming", "observances"],
            "group_by": "topic",
            "subject_template": "{{ digest }}: {{ count }} new articles, week of {{ date }}",
            "intro_markdown": "The week's news on human rights defenders.",
        }
    )
    async with sessionmaker.begin() as session:
        digest = await create_digest(session, spec, now=datetime.now(UTC))
        return digest.id


@dataclass(frozen=True)
class Planned:
    """An edition planned by the bench, and how long that took."""

    edition_id: int
    planned: int
    seconds: float


async def plan_now(sessionmaker: Sessionmaker, digest_id: int, window: Population) -> Planned:
    """Make the digest due, create its edition and plan it (freeze + ledger); time it all."""
    started = time.perf_counter()
    async with sessionmaker.begin() as session:
        # Due and created in one transaction: a worker's digest_tick never sees it due first.
        await session.execute(
            update(Digest)
            .where(Digest.id == digest_id)
            .values(next_run_at=window.window_end, last_window_end=window.window_start)
        )
        decisions = await create_due_editions(session, window.window_end + timedelta(seconds=1))
        [decision] = [d for d in decisions if d.digest_id == digest_id]
        if decision.edition_id is None or decision.status != EditionStatus.SCHEDULED:
            raise RuntimeError(f"edition not created: {decision}")
        edition = await plan_edition(session, decision.edition_id, now=datetime.now(UTC))
        planned = edition.planned
    return Planned(decision.edition_id, planned, time.perf_counter() - started)
