"""Digest send benchmark: plan a 100,000-recipient edition, send it with real workers.

    .venv/bin/python bench/digest.py [--subscribers 100000] [--articles 300]

See docs/benchmarks.md ("Digests") for what it does and how to read it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import uvloop
from sqlalchemy.ext.asyncio import AsyncEngine

sys.path.insert(0, str(Path(__file__).resolve().parent))

from digest_bare import BareResult, bare_loop, sample_messages
from digest_data import make_bench_digest, opt_in_every, plan_now, populate
from digest_procs import BenchError, Sink
from digest_runs import (
    MB,
    Context,
    Limits,
    SendRun,
    dsn_for,
    flush_redis,
    print_run,
    run_cli,
    send_run,
    verdict,
)

from alerts.config import Settings
from alerts.db import create_engine, create_sessionmaker

PLAN_TARGET = 5.0
RSS_TARGET = 250 * MB
RSS_SAME = 0.2  # "nearly the same": the 100k peak within 20 % of the 10k peak
ONE_TARGET, TWO_TARGET = 0.8, 1.6


def parse_args() -> argparse.Namespace:
    """Read the command line."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--subscribers", type=int, default=100_000)
    p.add_argument("--articles", type=int, default=300)
    p.add_argument("--small-every", type=int, default=10, help="memory run: every Nth subscriber")
    p.add_argument("--pool-size", type=int, default=4, help="SMTP_POOL_SIZE of each worker")
    p.add_argument("--batch-size", type=int, default=200, help="SEND_BATCH_SIZE")
    p.add_argument("--max-send-seconds", type=float, default=240, help="give up on a run after")
    p.add_argument("--bare-seconds", type=float, default=20, help="longest bare-loop run")
    p.add_argument("--skip-two", action="store_true", help="skip the two-worker run")
    p.add_argument("--skip-small", action="store_true", help="skip the small memory run")
    p.add_argument(
        "--pg-url",
        default=os.environ.get("BENCH_PG_URL", "postgresql://root@127.0.0.1:5432/postgres"),
        help="a database used only to CREATE/DROP the bench database",
    )
    p.add_argument(
        "--redis-url",
        default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13"),
        help="a Redis database the bench FLUSHES at start and end",
    )
    return p.parse_args()


async def setup(
    args: argparse.Namespace, name: str, workdir: Path, held: Held
) -> tuple[Context, Settings]:
    """Create and fill the database, start the sink; return the context and settings."""
    admin = await asyncpg.connect(args.pg_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    dsn = dsn_for(args.pg_url, name)
    secret = secrets.token_urlsafe(48)
    env = {
        **os.environ,
        "DATABASE_URL": dsn,
        "REDIS_URL": args.redis_url,
        "SECRET_KEY": secret,
        "BASE_URL": "https://alerts.example.org",
        "ENVIRONMENT": "production",
        "SMTP_POOL_SIZE": str(args.pool_size),
        "SEND_BATCH_SIZE": str(args.batch_size),
    }
    sink = Sink(workdir)
    held.sink = sink
    env["SMTP_URL"] = f"smtp://127.0.0.1:{sink.port}"
    t = time.perf_counter()
    run_cli(["db", "upgrade"], env)
    run_cli(["seed"], env)
    print(f"migrations and seed: {time.perf_counter() - t:.1f} s", flush=True)
    t = time.perf_counter()
    population = await populate(dsn, args.subscribers, args.articles)
    print(
        f"inserted {population.subscribers:,} subscribers and {population.articles} articles"
        f" in {time.perf_counter() - t:.1f} s",
        flush=True,
    )
    settings = Settings(
        _env_file=None,
        database_url=dsn,
        secret_key=secret,
        base_url=env["BASE_URL"],
        environment="production",
        smtp_url=env["SMTP_URL"],
    )
    engine = held.engine = create_engine(settings.db_url)
    ctx = Context(workdir, args.pg_url, create_sessionmaker(engine), sink, env, engine, population)
    return ctx, settings


@dataclass
class Held:
    """What cleanup has to stop or dispose of."""

    sink: Sink | None = None
    engine: AsyncEngine | None = None
    ctx: Context | None = None


async def bench(args: argparse.Namespace, held: Held) -> int:
    """Run every step and print the summary; return the exit status."""
    name = f"alerts_bench_digest_{os.getpid()}"
    workdir = Path(tempfile.mkdtemp(prefix="alerts-bench-digest-"))
    print(f"logs in {workdir}", flush=True)
    await flush_redis(args.redis_url)
    ctx, settings = await setup(args, name, workdir, held)
    held.ctx = ctx
    limits = Limits(args.redis_url, args.max_send_seconds)
    sm, window = ctx.sessionmaker, ctx.population
    all_one = await make_bench_digest(sm, "bench-all-1", "all")
    all_two = await make_bench_digest(sm, "bench-all-2", "all")
    small = await make_bench_digest(sm, "bench-small", "opted_in")
    small_count = await opt_in_every(dsn_for(args.pg_url, name), small, args.small_every)

    one = await send_run("1 worker", 1, lambda: plan_now(sm, all_one, window), ctx, limits)
    print_run(one)

    messages = await sample_messages(settings, sm, one.edition_id, 500)
    bare = await bare_loop(
        ctx.sink.port, args.pool_size, messages, count=one.sent, max_seconds=args.bare_seconds
    )
    print_bare("bare aiosmtplib", bare, args.pool_size)
    same_path = await bare_loop(
        ctx.sink.port,
        args.pool_size,
        messages,
        count=one.sent,
        max_seconds=args.bare_seconds,
        prepared=True,
    )
    print_bare("bare loop, the worker's SMTP path", same_path, args.pool_size)
    two = None
    if not args.skip_two:
        plan_two = lambda: plan_now(sm, all_two, window)  # noqa: E731
        two = await send_run("2 workers", 2, plan_two, ctx, limits)
        print_run(two)
    little = None
    if not args.skip_small:
        label = f"1 worker, {small_count:,} opted-in subscribers"
        little = await send_run(label, 1, lambda: plan_now(sm, small, window), ctx, limits)
        print_run(little)
    summary(args, one.plan_seconds, one, two, little, bare, same_path)
    return 0


def print_bare(label: str, bare: BareResult, connections: int) -> None:
    """Print one bare loop's figures."""
    print(
        f"  {label}: {bare.sent:,} messages ({bare.mean_bytes / 1024:.0f} KiB mean) over"
        f" {connections} connections in {bare.seconds:.1f} s = {bare.rate:,.0f} msg/s"
        f" (CPU {bare.cpu:.1f} s, {bare.cpu / max(bare.sent, 1) * 1e3:.2f} ms/msg)",
        flush=True,
    )


def summary(
    args: argparse.Namespace,
    plan_seconds: float,
    one: SendRun,
    two: SendRun | None,
    little: SendRun | None,
    bare: BareResult,
    same_path: BareResult,
) -> None:
    """Print the figures and a PASS/FAIL line for every target."""
    print("\n=== digest bench summary ===")
    print(f"subscribers {args.subscribers:,}, articles {args.articles}, pool {args.pool_size}"
          f"/worker, batch {args.batch_size}, {os.cpu_count()} CPUs")  # fmt: skip
    print(f"plan edition: {plan_seconds:.2f} s (target < {PLAN_TARGET:.0f} s) "
          f"{verdict(plan_seconds < PLAN_TARGET)}")  # fmt: skip
    print(f"bare aiosmtplib: {bare.rate:,.0f} msg/s")
    ratio = one.rate / bare.rate if bare.rate else 0.0
    print(f"1 worker: {one.rate:,.0f} msg/s = {ratio:.2f} x bare (target >= {ONE_TARGET}) "
          f"{verdict(ratio >= ONE_TARGET and one.complete)}")  # fmt: skip
    if two is not None:
        ratio2 = two.rate / bare.rate if bare.rate else 0.0
        print(f"2 workers: {two.rate:,.0f} msg/s = {ratio2:.2f} x bare (target >= {TWO_TARGET}) "
              f"{verdict(ratio2 >= TWO_TARGET and two.complete)}")  # fmt: skip
    # Not a target: the worker against a loop that sends the same way but does nothing else.
    print(f"bare loop on the worker's SMTP path: {same_path.rate:,.0f} msg/s; 1 worker = "
          f"{one.rate / same_path.rate if same_path.rate else 0.0:.2f} x that")  # fmt: skip
    big = one.peak_rss[0]
    print(f"peak RSS, 1 worker, {one.planned:,} recipients: {big / MB:.0f} MB "
          f"(target < {RSS_TARGET // MB} MB) {verdict(big < RSS_TARGET)}")  # fmt: skip
    if little is not None:
        small = little.peak_rss[0]
        same = abs(big - small) <= RSS_SAME * small
        print(f"peak RSS, 1 worker, {little.planned:,} recipients: {small / MB:.0f} MB "
              f"(target < {RSS_TARGET // MB} MB) {verdict(small < RSS_TARGET)}")  # fmt: skip
        print(f"peak RSS {one.planned:,} vs {little.planned:,}: {big / small:.2f} x "
              f"(target within {RSS_SAME:.0%}) {verdict(same)}")  # fmt: skip
    runs = [r for r in (one, two, little) if r is not None]
    once = all(r.complete and r.sink_received == r.sent for r in runs)
    print(f"every planned delivery done, sink count = sent: {verdict(once)}")


async def cleanup(args: argparse.Namespace, held: Held) -> None:
    """Stop workers and the sink, drop the database, flush the Redis database."""
    name = f"alerts_bench_digest_{os.getpid()}"
    if held.ctx is not None:
        for w in held.ctx.workers:
            await asyncio.to_thread(w.stop)
    if held.sink is not None:
        held.sink.stop()
    if held.engine is not None:
        await held.engine.dispose()
    try:
        admin = await asyncpg.connect(args.pg_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()
        await flush_redis(args.redis_url)
    except (OSError, asyncpg.PostgresError) as e:
        print(f"cleanup failed: {e}", file=sys.stderr)


async def main(args: argparse.Namespace) -> int:
    """Run the bench and always clean up."""
    held = Held()
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        return await bench(args, held)
    except BenchError as e:
        print(f"set-up failed: {e}", file=sys.stderr)
        return 2
    finally:
        await asyncio.shield(cleanup(args, held))


if __name__ == "__main__":
    try:
        sys.exit(uvloop.run(main(parse_args())))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("\ninterrupted; cleaned up", file=sys.stderr)
        sys.exit(130)
