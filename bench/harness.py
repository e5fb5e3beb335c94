"""Bench plumbing: a throw-away database, a dedicated Redis db, server processes, CPU counters."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from redis.asyncio import Redis
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


class BenchError(Exception):
    """A set-up step failed; the message says which."""


def asyncpg_dsn(url: str) -> str:
    """Return a plain postgresql:// DSN that asyncpg accepts."""
    parsed = make_url(url).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)


def with_database(url: str, name: str) -> str:
    """Return ``url`` pointing at database ``name``."""
    return make_url(url).set(database=name).render_as_string(hide_password=False)


async def create_database(admin_url: str, name: str) -> None:
    """Create an empty database called ``name``."""
    conn = await asyncpg.connect(asyncpg_dsn(admin_url))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def drop_database(admin_url: str, name: str) -> None:
    """Drop database ``name``, closing any sessions still on it."""
    conn = await asyncpg.connect(asyncpg_dsn(admin_url))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def catalog(db_url: str) -> tuple[list[str], list[str]]:
    """Return the seeded topic slugs and country codes."""
    conn = await asyncpg.connect(asyncpg_dsn(db_url))
    try:
        topics = [r[0] for r in await conn.fetch("SELECT slug FROM topics ORDER BY slug")]
        countries = [r[0] for r in await conn.fetch("SELECT code FROM countries ORDER BY code")]
    finally:
        await conn.close()
    return topics, countries


@dataclass(frozen=True)
class Ledger:
    """What sign-ups left behind: rows in PostgreSQL and jobs in Redis."""

    subscribers: int
    pending: int
    confirm_queued: int
    mail_rows: int
    arq_jobs: int


async def ledger(db_url: str, redis_url: str) -> Ledger:
    """Count pending subscribers, queued confirmations and arq jobs."""
    conn = await asyncpg.connect(asyncpg_dsn(db_url))
    try:
        row = await conn.fetchrow(
            """
            SELECT (SELECT count(*) FROM subscribers),
                   (SELECT count(*) FROM subscribers WHERE status = 'pending'),
                   (SELECT count(*) FROM subscriber_mail
                     WHERE kind = 'confirm' AND status = 'queued'),
                   (SELECT count(*) FROM subscriber_mail)
            """
        )
    finally:
        await conn.close()
    redis = Redis.from_url(redis_url)
    try:
        jobs = int(await redis.zcard("arq:queue"))
    finally:
        await redis.aclose()
    assert row is not None
    return Ledger(row[0], row[1], row[2], row[3], jobs)


@dataclass(frozen=True)
class PgCounters:
    """Cumulative PostgreSQL statistics for the bench database."""

    sessions: int
    commits: int
    rollbacks: int

    def __sub__(self, other: PgCounters) -> PgCounters:
        """Return the counts between two snapshots."""
        return PgCounters(
            self.sessions - other.sessions,
            self.commits - other.commits,
            self.rollbacks - other.rollbacks,
        )


async def pg_counters(admin_url: str, name: str) -> PgCounters:
    """Read sessions opened and transactions ended on database ``name`` (from pg_stat_database)."""
    conn = await asyncpg.connect(asyncpg_dsn(admin_url))
    try:
        await conn.execute("SELECT pg_stat_clear_snapshot()")
        row = await conn.fetchrow(
            "SELECT sessions, xact_commit, xact_rollback FROM pg_stat_database WHERE datname = $1",
            name,
        )
    finally:
        await conn.close()
    assert row is not None
    return PgCounters(row[0], row[1], row[2])


async def postgres_pids(admin_url: str, name: str) -> list[int]:
    """Return the backends serving database ``name`` and PostgreSQL's auxiliary processes."""
    conn = await asyncpg.connect(asyncpg_dsn(admin_url))
    try:
        rows = await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1 OR datname IS NULL", name
        )
    finally:
        await conn.close()
    return [r[0] for r in rows]


async def settled_ledger(
    db_url: str, redis_url: str, quiet: float = 1.5, timeout: float = 30.0
) -> Ledger:
    """Return the ledger once unchanged for ``quiet`` seconds (in-flight requests finished)."""
    deadline = time.monotonic() + timeout
    last = await ledger(db_url, redis_url)
    since = time.monotonic()
    while time.monotonic() < deadline:
        await asyncio.sleep(0.25)
        now = await ledger(db_url, redis_url)
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            break
    return last


async def flush_redis(redis_url: str) -> None:
    """Empty the benchmark's own Redis database."""
    redis = Redis.from_url(redis_url)
    try:
        await redis.flushdb()
    finally:
        await redis.aclose()


def run_cli(args: list[str], env: Mapping[str, str], cwd: Path) -> None:
    """Run an ``alerts`` sub-command and raise BenchError if it fails."""
    done = subprocess.run(
        [str(BIN / "alerts"), *args], env=dict(env), cwd=cwd, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise BenchError(f"alerts {' '.join(args)} failed:\n{done.stdout}{done.stderr}")


def free_port() -> int:
    """Return a loopback TCP port that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(cmd: list[str], env: Mapping[str, str], cwd: Path, log: Path) -> subprocess.Popen[bytes]:
    """Start ``cmd`` in its own process group, logging to ``log``."""
    with log.open("ab") as out:
        return subprocess.Popen(
            cmd,
            env=dict(env),
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop(proc: subprocess.Popen[bytes] | None, timeout: float = 10.0) -> None:
    """Stop a process group started by ``start``: SIGINT, then SIGKILL after ``timeout``."""
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)
    except ProcessLookupError:
        pass


def wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 30) -> None:
    """Poll ``url`` until it answers 200; fail if the process exits or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    raise BenchError(f"{url} did not answer within {timeout} s:\n{log.read_text()[-3000:]}")
