"""Print a benchmark run: figures per server, the "nothing lost" ledger, PostgreSQL activity."""

from __future__ import annotations

import os

from harness import Ledger, PgCounters
from loadgen import LoadResult

OTHER_CPU_WARN = 0.25


def verdict(ok: bool) -> str:
    """Return PASS or FAIL."""
    return "PASS" if ok else "FAIL"


def print_load(title: str, r: LoadResult, cores: dict[str, float]) -> None:
    """Print one server's figures."""
    print(f"\n{title}")
    print(f"  requests/s      {r.rps:9.1f}   ({r.requests} answers in {r.seconds:.1f} s)")
    print(
        f"  latency         p50 {r.p50_ms:7.1f} ms   p90 {r.p90_ms:7.1f} ms   "
        f"p99 {r.p99_ms:7.1f} ms   max {r.max_ms:7.1f} ms"
    )
    print(
        f"  answers         {r.ok2xx} 2xx, {r.non2xx} non-2xx ({r.s429} 429, {r.s4xx} other 4xx, "
        f"{r.s5xx} 5xx, {r.other} other), {r.socket_errors} socket errors/timeouts"
    )
    shown = ("server", "postgres", "redis", "wrk", "bench", "other")
    parts = "  ".join(f"{k} {cores[k]:.2f}" for k in shown if cores.get(k, 0) >= 0.005)
    print(f"  CPU (cores)     {parts}   [machine busy {cores['machine']:.2f} of {os.cpu_count()}]")
    if r.requests:
        per = {k: cores.get(k, 0) * r.seconds / r.requests * 1000 for k in ("server", "postgres")}
        print(f"  CPU per answer  server {per['server']:.3f} ms, postgres {per['postgres']:.3f} ms")
    if cores.get("other", 0) > OTHER_CPU_WARN:
        print(
            f"  WARNING: other processes used {cores['other']:.2f} cores during this run; "
            "these figures understate what the server can do"
        )


def check_ledger(runs: list[LoadResult], book: Ledger, server_log: str = "") -> bool:
    """Print the "nothing lost" accounting and return whether it holds."""
    ok2xx = sum(r.ok2xx for r in runs)
    unanswered = sum(r.unanswered for r in runs)
    print("\nnothing lost (warm-up + measured runs, counted after in-flight requests settled)")
    print(f"  2xx answers                      {ok2xx}")
    print(f"  sent but unanswered at stop      {unanswered}  (in flight when the load stopped)")
    print(f"  subscribers (all / pending)      {book.subscribers} / {book.pending}")
    print(f"  subscriber_mail confirm, queued  {book.confirm_queued}  (all rows: {book.mail_rows})")
    print(f"  arq jobs in arq:queue            {book.arq_jobs}")
    same = book.subscribers == book.pending == book.confirm_queued == book.mail_rows
    same = same and book.pending == book.arq_jobs
    covered = ok2xx <= book.pending <= ok2xx + unanswered
    ok = same and covered
    extra = book.pending - ok2xx
    print(
        f"  {verdict(ok)} nothing lost: every 2xx left one pending subscriber, one queued "
        f"confirmation and one arq job ({extra} more finished after the client hung up)"
    )
    if not same:
        print("  the counts above differ: some sign-up left a row or a job without the others")
    if not covered:
        print(f"  pending should be between {ok2xx} and {ok2xx + unanswered}")
    if not ok and server_log:
        print("  server log (warnings and errors, last lines):")
        print("\n".join("    " + ln for ln in server_log.splitlines()))
    return ok


def print_activity(activity: PgCounters, book: Ledger) -> None:
    """Print PostgreSQL transactions and sessions per sign-up over the whole run."""
    n = max(book.pending, 1)
    print(
        f"\nPostgreSQL per sign-up (whole run, {book.pending} sign-ups): "
        f"{activity.commits / n:.2f} commits, {activity.rollbacks / n:.2f} rollbacks; "
        f"{activity.sessions} sessions opened ({activity.sessions / n:.3f} per sign-up)"
    )
