"""Benchmark POST /api/subscriptions against a bare aiohttp handler, and check nothing is lost.

Run: .venv/bin/python bench/signup.py [--connections 100] [--requests N] [--duration S]
See docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NoReturn

import cpu
import harness
import loadgen
from cpu import CpuMeter
from harness import BIN, REPO, BenchError, Ledger, PgCounters
from loadgen import LoadResult
from report import check_ledger, print_activity, print_load, verdict

P99_TARGET_MS = 50.0
RATIO_TARGET = 0.40


def parse_args() -> argparse.Namespace:
    """Read the command line."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--connections", type=int, default=100, help="concurrent connections")
    p.add_argument("--duration", type=float, default=15.0, help="measured seconds per server")
    p.add_argument(
        "--requests", type=int, default=0, help="stop after N answers (--duration still caps)"
    )
    p.add_argument("--warmup", type=float, default=3.0, help="warm-up seconds per server")
    p.add_argument("--threads", type=int, default=2, help="wrk threads")
    p.add_argument("--loadgen", choices=("auto", "wrk", "python"), default="auto")
    p.add_argument(
        "--pg-url",
        default=os.environ.get("BENCH_PG_URL", "postgresql://127.0.0.1:5432/test"),
        help="an existing database to connect to for CREATE/DROP DATABASE",
    )
    p.add_argument(
        "--redis-url",
        default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12"),
        help="a Redis database the bench may FLUSH",
    )
    p.add_argument("--serve-args", default="", help="extra arguments for `alerts serve`")
    p.add_argument("--bare-processes", type=int, default=1, help="processes for the bare app")
    p.add_argument("--skip-bare", action="store_true", help="do not measure the bare handler")
    p.add_argument("--verbose", action="store_true", help="show wrk's own output")
    return p.parse_args()


def _raise_interrupt(*_: object) -> NoReturn:
    """Turn SIGTERM into KeyboardInterrupt so clean-up runs."""
    raise KeyboardInterrupt


def _problems(log: Path, keep: int = 20) -> str:
    """Return the last warning, error and traceback lines of a server log."""
    words = ("WARNING", "ERROR", "CRITICAL", "Traceback", "Error")
    text = log.read_text(errors="replace") if log.exists() else ""
    lines = [ln for ln in text.splitlines() if any(w in ln for w in words)]
    return "\n".join(lines[-keep:])


class Bench:
    """One run: set up, load both servers, verify, report, clean up."""

    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        """Plan a run working in ``workdir``."""
        self.args = args
        self.workdir = workdir
        self.db_name = f"alerts_bench_{os.getpid()}"
        self.db_url = harness.with_database(args.pg_url, self.db_name)
        self.db_created = False
        self.procs: list[subprocess.Popen[bytes]] = []
        self.tool = self._pick_tool()
        self.script: Path | None = None
        self.topics: list[str] = []
        self.countries: list[str] = []
        self.server_log = ""

    def _pick_tool(self) -> str:
        """Choose wrk when it is there, else the aiohttp client."""
        if self.args.loadgen == "python":
            return "python"
        if loadgen.have_wrk():
            return "wrk"
        if self.args.loadgen == "wrk":
            raise BenchError("wrk is not installed (apt-get install -y wrk)")
        return "python"

    def env(self, port: int) -> dict[str, str]:
        """Return the server's environment: throw-away database, bench Redis, no real SMTP."""
        env = dict(os.environ)
        env.update(
            DATABASE_URL=self.db_url,
            REDIS_URL=self.args.redis_url,
            SECRET_KEY=secrets.token_urlsafe(48),
            ENVIRONMENT="development",
            SMTP_URL="smtp://127.0.0.1:1",
            SIGNUP_IP_LIMIT=str(10**9),
            BASE_URL=f"http://127.0.0.1:{port}",
            VAR_DIR=str(self.workdir / "var"),
            TRUSTED_PROXIES="0",
            CORS_ORIGINS="",
        )
        return env

    def prepare(self) -> None:
        """Create and migrate the database, seed the catalog, empty the bench Redis db."""
        asyncio.run(harness.create_database(self.args.pg_url, self.db_name))
        self.db_created = True
        env = self.env(0)
        harness.run_cli(["db", "upgrade"], env, self.workdir)
        harness.run_cli(["seed"], env, self.workdir)
        asyncio.run(harness.flush_redis(self.args.redis_url))
        self.topics, self.countries = asyncio.run(harness.catalog(self.db_url))
        if not self.topics:
            raise BenchError("seeding left no topics")
        if self.tool == "wrk":
            self.script = loadgen.write_lua(self.workdir, self.topics, self.countries)

    def launch(self, name: str, cmd: list[str], port: int) -> subprocess.Popen[bytes]:
        """Start a server and wait for /healthz."""
        log = self.workdir / f"{name}.log"
        proc = harness.start(cmd, self.env(port), self.workdir, log)
        self.procs.append(proc)
        harness.wait_healthy(f"http://127.0.0.1:{port}/healthz", proc, log)
        return proc

    def load(self, base_url: str, seconds: float, requests: int = 0) -> LoadResult:
        """Run the load generator once."""
        a = self.args
        if self.script is not None:
            return loadgen.run_wrk(
                base_url,
                self.script,
                connections=a.connections,
                threads=a.threads,
                duration=seconds,
                requests=requests,
                verbose=a.verbose,
            )
        return loadgen.run_python(
            base_url,
            self.topics,
            self.countries,
            connections=a.connections,
            duration=seconds,
            requests=requests,
        )

    def measure(
        self, proc: subprocess.Popen[bytes], base_url: str
    ) -> tuple[LoadResult, LoadResult, dict[str, float]]:
        """Warm up, then measure with CPU counters; return (warm-up, measured, cores)."""
        warm = self.load(base_url, self.args.warmup)
        meter = CpuMeter(
            {
                "server": cpu.server_pids(proc),
                "postgres": self.postgres_pids,
                "redis": "redis-server",
                "bench": [os.getpid()],
            }
        )
        before = os.times()
        meter.begin()
        result = self.load(base_url, self.args.duration, self.args.requests)
        cores = meter.end({"wrk": cpu.child_ticks(before)})
        return warm, result, cores

    def postgres_pids(self) -> list[int]:
        """Return the PostgreSQL processes working for this bench (not other databases)."""
        return asyncio.run(harness.postgres_pids(self.args.pg_url, self.db_name))

    def counters(self) -> PgCounters:
        """Read the bench database's PostgreSQL statistics."""
        return asyncio.run(harness.pg_counters(self.args.pg_url, self.db_name))

    def run_alerts(self) -> tuple[LoadResult, LoadResult, dict[str, float], Ledger, PgCounters]:
        """Measure the real server; return its figures, the settled ledger and PG activity."""
        port = harness.free_port()
        cmd = [str(BIN / "alerts"), "serve", "--port", str(port)]
        cmd += shlex.split(self.args.serve_args)
        proc = self.launch("alerts", cmd, port)
        start = self.counters()
        warm, result, cores = self.measure(proc, f"http://127.0.0.1:{port}")
        book = asyncio.run(harness.settled_ledger(self.db_url, self.args.redis_url))
        harness.stop(proc)
        # Backends flush their statistics when they exit, so read after the server stopped.
        activity = self.counters() - start
        self.server_log = _problems(self.workdir / "alerts.log")
        return warm, result, cores, book, activity

    def run_bare(self) -> tuple[LoadResult, dict[str, float]]:
        """Measure the bare aiohttp handler."""
        port = harness.free_port()
        cmd = [sys.executable, str(REPO / "bench" / "bare_server.py"), "--port", str(port)]
        cmd += ["--processes", str(self.args.bare_processes)]
        proc = self.launch("bare", cmd, port)
        _, result, cores = self.measure(proc, f"http://127.0.0.1:{port}")
        harness.stop(proc)
        return result, cores

    def cleanup(self) -> None:
        """Stop every server, drop the database and empty the bench Redis db."""
        for proc in self.procs:
            harness.stop(proc)
        if self.db_created:
            try:
                asyncio.run(harness.drop_database(self.args.pg_url, self.db_name))
            except Exception as e:
                print(f"could not drop database {self.db_name}: {e}", file=sys.stderr)
        try:
            asyncio.run(harness.flush_redis(self.args.redis_url))
        except Exception as e:
            print(f"could not flush {self.args.redis_url}: {e}", file=sys.stderr)


def main() -> int:
    """Run the benchmark and print the summary; exit 1 if anything was lost."""
    args = parse_args()
    signal.signal(signal.SIGTERM, _raise_interrupt)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="alerts-bench-") as tmp:
        bench = Bench(args, Path(tmp))
        try:
            bench.prepare()
            warm, ours, our_cores, book, activity = bench.run_alerts()
            bare = bare_cores = None
            if not args.skip_bare:
                bare, bare_cores = bench.run_bare()
        except BenchError as e:
            print(f"bench set-up failed: {e}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("\ninterrupted; cleaning up", file=sys.stderr)
            return 130
        finally:
            bench.cleanup()

    tool = "wrk" if bench.tool == "wrk" else "aiohttp client (FALLBACK: wrk not found; slower)"
    print("\n== POST /api/subscriptions benchmark ==")
    print(
        f"load: {tool}, {args.connections} connections"
        + (f", {args.threads} threads" if bench.tool == "wrk" else "")
        + f"; {args.warmup:g} s warm-up, then {args.duration:g} s"
        + (f" or {args.requests} answers" if args.requests else "")
    )
    print(f"machine: {os.cpu_count()} cores; server and load generator share them")
    label = " ".join(["alerts serve", args.serve_args]).strip()
    if os.environ.get("PYTHONPATH"):
        label += f"  [PYTHONPATH={os.environ['PYTHONPATH']}]"
    print_load(label, ours, our_cores)
    if bare is not None and bare_cores is not None:
        procs = f"{args.bare_processes} process" + ("es" if args.bare_processes > 1 else "")
        print_load(f"bare aiohttp handler ({procs})", bare, bare_cores)
    lost_ok = check_ledger([warm, ours], book, bench.server_log)
    print_activity(activity, book)

    print(f"\ntargets (at {args.connections} connections)")
    print(f"  {verdict(ours.p99_ms < P99_TARGET_MS)} p99 < {P99_TARGET_MS:g} ms: {ours.p99_ms:.1f}")
    if bare is not None and bare.rps:
        ratio = ours.rps / bare.rps
        print(
            f"  {verdict(ratio >= RATIO_TARGET)} throughput >= {RATIO_TARGET:.0%} of bare: "
            f"{ours.rps:.0f} / {bare.rps:.0f} rps = {ratio:.1%}"
        )
    print(f"  {verdict(lost_ok)} nothing lost")
    print(f"\n(total run {time.monotonic() - started:.0f} s)")
    return 0 if lost_ok else 1


if __name__ == "__main__":
    sys.exit(main())
