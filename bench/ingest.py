"""Ingest benchmark: 200 feeds x 50 items served on 127.0.0.1, fetched by the real pipeline.

Run: .venv/bin/python bench/ingest.py [--database-url postgresql://root@127.0.0.1:5432/postgres]
                                     [--parser processes|threads]
See docs/ingest.md. The feeds are served by a separate process, left out of the memory figure;
that figure is the pipeline's whole footprint: the main process's peak RSS plus the peak RSS of
each of its other child processes (the parse workers and multiprocessing's resource tracker),
read from /proc while the run goes on.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import multiprocessing
import resource
import sys
import tempfile
import threading
import time
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from multiprocessing.connection import Connection
from pathlib import Path
from xml.sax.saxutils import escape

from aiohttp import web
from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import make_url

from alerts.catalog import sync_catalog
from alerts.config import Settings
from alerts.db import create_engine, create_sessionmaker
from alerts.ingest.fetch import Fetcher
from alerts.ingest.pipeline import fetch_sources
from alerts.ingest.pool import parse_executor
from alerts.migrate import upgrade
from alerts.models import Article, HrcSession, Source
from alerts.taxonomy.tagger import Tagger

BENCH_DB = "alerts_bench_ingest"
TARGET_FIRST_S = 20.0
TARGET_SPEEDUP = 10.0
TARGET_MEMORY_MB = 300.0
COUNTRIES = ["China", "Sudan", "South Sudan", "Colombia", "Türkiye", "Iran", "Egypt", "Mexico"]
SUBJECTS = [
    "reprisals against human rights defender",
    "women human rights defenders detained",
    "lawyers on trial under counter-terrorism law",
    "civic space shrinks as NGOs are closed",
    "Indigenous land defenders threatened",
    "journalists targeted with spyware",
    "LGBTIQ+ activists arrested at Pride march",
    "migrants' rights defenders prosecuted",
]


def feed_body(n: int, items: int) -> bytes:
    """Return RSS feed ``n`` with ``items`` distinct, realistic items."""
    start = datetime(2024, 1, 1, tzinfo=UTC)
    parts = []
    for i in range(items):
        country = COUNTRIES[(n + i) % len(COUNTRIES)]
        subject = SUBJECTS[(n * 7 + i) % len(SUBJECTS)]
        session = 55 + (i % 7)
        title = f"{country}: {subject} ({n}-{i})"
        if i % 10 == 0:
            title = f"HRC{session}: Key issues on agenda, briefing {n}-{i}"
        summary = (
            f"<p>Civil society groups raised the case with UN experts at the {session}th session "
            f"of the Human Rights Council. Defenders in {country} describe intimidation, "
            "arbitrary detention and travel bans after cooperating with the UN.</p>"
        )
        link = f"https://bench{n}.example.org/news/{i}"
        stamp = format_datetime(start + timedelta(hours=n * items + i))
        parts.append(
            f"<item><title>{escape(title)}</title><link>{link}</link><guid>{link}</guid>"
            f"<pubDate>{stamp}</pubDate><category>Human rights defenders</category>"
            f"<description>{escape(summary)}</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Bench feed {n}</title><link>https://bench{n}.example.org/</link>"
        + "".join(parts)
        + "</channel></rss>"
    ).encode()


def serve(feeds: int, items: int, conn: Connection) -> None:
    """Serve the generated feeds with ETags until killed (runs in its own process)."""
    bodies = [feed_body(n, items) for n in range(feeds)]
    etags = ['"' + hashlib.sha256(b).hexdigest()[:20] + '"' for b in bodies]

    async def handle(request: web.Request) -> web.Response:
        n = int(request.match_info["n"])
        if request.headers.get("If-None-Match") == etags[n]:
            return web.Response(status=304, headers={"ETag": etags[n]})
        return web.Response(
            body=bodies[n], content_type="application/rss+xml", headers={"ETag": etags[n]}
        )

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/feed/{n}", handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
        await site.start()
        conn.send(runner.addresses[0][1])
        await asyncio.Event().wait()

    asyncio.run(main())


class ChildPeaks:
    """Record the peak RSS (VmHWM) of this process's children, bar one, by sampling /proc.

    VmHWM only grows, so a slow sample still sees each child's peak while the child lives.
    """

    def __init__(self, exclude: int | None) -> None:
        self.exclude = exclude
        self.peaks_kb: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="child-peaks", daemon=True)

    def __enter__(self) -> ChildPeaks:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(0.25):
            self.sample()

    def sample(self) -> None:
        """Read the high-water mark of every current child process."""
        for pid in _children():
            if pid == self.exclude:
                continue
            try:
                with open(f"/proc/{pid}/status") as f:
                    hwm = next((int(ln.split()[1]) for ln in f if ln.startswith("VmHWM:")), 0)
            except (OSError, ValueError):
                continue  # it exited between the listing and the read
            self.peaks_kb[pid] = max(hwm, self.peaks_kb.get(pid, 0))


def _children() -> set[int]:
    pids: set[int] = set()
    for task in Path("/proc/self/task").iterdir():
        try:
            pids.update(int(p) for p in (task / "children").read_text().split())
        except OSError:
            continue
    return pids


async def prepare_database(url: str | None, tmp: Path) -> tuple[Settings, str | None]:
    """Create a fresh, migrated database with the catalog and some HRC sessions."""
    admin = None
    if url:
        base = Settings(database_url=url, _env_file=None).db_url  # type: ignore[call-arg]
        admin = base
        engine = create_engine(base, isolation_level="AUTOCOMMIT")
        async with engine.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)'))
            await conn.execute(text(f'CREATE DATABASE "{BENCH_DB}"'))
        await engine.dispose()
        db_url = make_url(base).set(database=BENCH_DB).render_as_string(hide_password=False)
    else:
        db_url = f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
    settings = Settings(  # type: ignore[call-arg]
        database_url=db_url, var_dir=tmp, environment="test", _env_file=None
    )
    await upgrade(settings)
    engine = create_engine(settings.db_url)
    async with create_sessionmaker(engine).begin() as session:
        await sync_catalog(session, settings.feeds_dir)
        for number in range(55, 62):
            opens = date(2024, 2, 26)
            session.add(
                HrcSession(
                    number=number,
                    title=f"HRC{number}",
                    opens=opens,
                    closes=opens,
                    location="Geneva",
                )
            )
    await engine.dispose()
    return settings, admin


async def drop_database(admin: str) -> None:
    """Drop the benchmark's PostgreSQL database."""
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)'))
    await engine.dispose()


async def run(
    args: argparse.Namespace, port: int, tmp: Path, peaks: ChildPeaks
) -> dict[str, float]:
    """Fetch every feed twice through the real pipeline; return the figures."""
    settings, admin = await prepare_database(args.database_url, tmp)
    engine = create_engine(settings.db_url)
    sessionmaker = create_sessionmaker(engine)
    try:
        async with sessionmaker.begin() as session:
            rows = [
                {"url": f"http://127.0.0.1:{port}/feed/{n}", "origin": "cli"}
                for n in range(args.feeds)
            ]
            await session.execute(insert(Source), rows)
            ids = list(await session.scalars(select(Source.id).order_by(Source.id)))
        tagger = Tagger.from_files(settings.feeds_dir)
        fetcher = Fetcher(
            user_agent="alerts-bench",
            allowed_hosts={"127.0.0.1"},
            concurrency=args.concurrency,
        )
        # The pool is made here, once per run, as the worker and the CLI do; its processes
        # start on the first parse, so their start-up counts in the first fetch.
        async with fetcher, parse_executor() as pool:
            executor = pool if args.parser == "processes" else None
            started = time.perf_counter()
            first = await fetch_sources(
                sessionmaker, ids, fetcher=fetcher, tagger=tagger, executor=executor
            )
            first_s = time.perf_counter() - started
            started = time.perf_counter()
            second = await fetch_sources(
                sessionmaker, ids, fetcher=fetcher, tagger=tagger, executor=executor
            )
            second_s = time.perf_counter() - started
            peaks.sample()  # the workers are still alive here
        async with sessionmaker() as session:
            stored = await session.scalar(select(func.count()).select_from(Article)) or 0
        errors = [o.error for o in first + second if o.error]
        if errors:
            print(f"errors: {len(errors)}, first: {errors[0]}", file=sys.stderr)
        return {
            "first_s": first_s,
            "second_s": second_s,
            "stored": stored,
            "new": sum(o.new for o in first),
            "not_modified": sum(o.status == "not_modified" for o in second),
        }
    finally:
        await engine.dispose()
        if admin:
            await drop_database(admin)


def main() -> None:
    """Run the benchmark and print the summary with PASS/FAIL per target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="PostgreSQL server (default: a SQLite file)")
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument(
        "--parser",
        choices=("processes", "threads"),
        default="processes",
        help="where feedparser runs: a process pool (the default) or the loop's threads",
    )
    args = parser.parse_args()
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    server = ctx.Process(target=serve, args=(args.feeds, args.items, child), daemon=True)
    server.start()
    try:
        port = int(parent.recv())
        with (
            tempfile.TemporaryDirectory(prefix="alerts-bench-") as tmp,
            ChildPeaks(exclude=server.pid) as peaks,
        ):
            figures = asyncio.run(run(args, port, Path(tmp), peaks))
    finally:
        server.terminate()
        server.join(timeout=10)
    items = args.feeds * args.items
    main_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = sorted(peaks.peaks_kb.values(), reverse=True)
    children_mb = sum(children) / 1024
    peak_mb = main_mb + children_mb
    speedup = figures["first_s"] / max(figures["second_s"], 1e-9)
    backend = "PostgreSQL" if args.database_url else "SQLite"
    verdict = {True: "PASS", False: "FAIL"}
    print(
        f"Ingest benchmark on {backend}: {args.feeds} feeds x {args.items} items ({items}),"
        f" feedparser in {args.parser}"
    )
    print(
        f"  first fetch : {figures['first_s']:6.2f} s  {items / figures['first_s']:8.0f} items/s"
        f"  ({figures['new']:.0f} new, {figures['stored']:.0f} stored)"
        f"  [{verdict[figures['first_s'] < TARGET_FIRST_S]}: < {TARGET_FIRST_S:g} s]"
    )
    print(
        f"  second fetch: {figures['second_s']:6.2f} s  {items / figures['second_s']:8.0f} items/s"
        f"  ({figures['not_modified']:.0f} of {args.feeds} answered 304)"
    )
    print(f"  speed-up    : {speedup:6.1f}x  [{verdict[speedup >= TARGET_SPEEDUP]}: >= 10x]")
    print(
        f"  peak memory : {peak_mb:6.1f} MB  [{verdict[peak_mb < TARGET_MEMORY_MB]}: < 300 MB]"
        "  (sum of peak RSS: main process + its child processes, feed server excluded)"
    )
    each = ", ".join(f"{kb / 1024:.1f}" for kb in children) or "none"
    print(
        f"    main process {main_mb:6.1f} MB; {len(children)} child processes"
        f" {children_mb:6.1f} MB ({each})"
    )


if __name__ == "__main__":
    main()
