"""Load generators: wrk with a Lua script (preferred) or an aiohttp client (fallback)."""

from __future__ import annotations

import asyncio
import json
import math
import os
import random
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import aiohttp

PATH = "/api/subscriptions"
FREQUENCIES = ("immediate", "daily", "weekly")
MARKER = "BENCH_JSON "
THREAD_DONE = "BENCH_THREAD_DONE"

LUA = r"""
-- Unique sign-ups for POST /api/subscriptions; counts answers per thread.
local topics = {%(topics)s}
local countries = {%(countries)s}
local freqs = {"immediate", "daily", "weekly"}
local headers = {["Content-Type"] = "application/json"}
local threads = {}
thread_id, sent, answered, ok2xx, s429, s4xx, s5xx, other = 0, 0, 0, 0, 0, 0, 0, 0
local run_id, quota, counter = "x", 0, 0

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_id", #threads)
end

function init(args)
  run_id = args[1] or "x"
  quota = tonumber(args[2] or "0") or 0
  math.randomseed(thread_id * 7919 + os.time())
end

local function pick(list, n)
  local out, seen = {}, {}
  while #out < n do
    local i = math.random(1, #list)
    if not seen[i] then
      seen[i] = true
      out[#out + 1] = '"' .. list[i] .. '"'
    end
  end
  return table.concat(out, ",")
end

function request()
  counter = counter + 1
  sent = sent + 1
  local body = string.format(
    '{"email":"b%%s.t%%d.n%%d@example.org","topics":[%%s],"countries":[%%s],"frequency":"%%s"}',
    run_id, thread_id, counter, pick(topics, math.random(1, 3)),
    pick(countries, math.random(0, 2)), freqs[math.random(1, 3)])
  return wrk.format("POST", "%(path)s", headers, body)
end

function response(status, hdrs, body)
  answered = answered + 1
  if status >= 200 and status < 300 then ok2xx = ok2xx + 1
  elseif status == 429 then s429 = s429 + 1
  elseif status >= 400 and status < 500 then s4xx = s4xx + 1
  elseif status >= 500 then s5xx = s5xx + 1
  else other = other + 1 end
  if quota > 0 and answered == quota then
    io.write("%(thread_done)s\n")
    io.flush()
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local t = {sent = 0, answered = 0, ok2xx = 0, s429 = 0, s4xx = 0, s5xx = 0, other = 0}
  for _, th in ipairs(threads) do
    for k, _ in pairs(t) do t[k] = t[k] + th:get(k) end
  end
  local e = summary.errors
  io.write(string.format(
    '%(marker)s{"duration_us":%%d,"requests":%%d,"sent":%%d,"answered":%%d,"ok2xx":%%d,' ..
    '"s429":%%d,"s4xx":%%d,"s5xx":%%d,"other":%%d,"p50_us":%%d,"p90_us":%%d,"p99_us":%%d,' ..
    '"max_us":%%d,"mean_us":%%f,"errors":{"connect":%%d,"read":%%d,"write":%%d,' ..
    '"status":%%d,"timeout":%%d}}\n',
    summary.duration, summary.requests, t.sent, t.answered, t.ok2xx, t.s429, t.s4xx,
    t.s5xx, t.other, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean, e.connect, e.read, e.write, e.status, e.timeout))
end
"""


@dataclass
class LoadResult:
    """What one load run measured."""

    tool: str
    seconds: float
    requests: int
    sent: int
    ok2xx: int
    s429: int
    s4xx: int
    s5xx: int
    other: int
    socket_errors: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float

    @property
    def rps(self) -> float:
        """Return completed requests per second."""
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def non2xx(self) -> int:
        """Return answers that were not 2xx."""
        return self.s429 + self.s4xx + self.s5xx + self.other

    @property
    def unanswered(self) -> int:
        """Return requests sent but not answered when the run stopped."""
        return max(self.sent - self.requests, 0)


def have_wrk() -> bool:
    """Tell whether wrk is on PATH."""
    return shutil.which("wrk") is not None


def _lua_list(values: Sequence[str]) -> str:
    """Return ``values`` as the inside of a Lua table of strings."""
    return ",".join(json.dumps(v) for v in values)


def write_lua(directory: Path, topics: Sequence[str], countries: Sequence[str]) -> Path:
    """Write the wrk script that signs up unique addresses; return its path."""
    path = directory / "signup.lua"
    path.write_text(
        LUA
        % {
            "topics": _lua_list(topics),
            "countries": _lua_list(countries),
            "path": PATH,
            "marker": MARKER,
            "thread_done": THREAD_DONE,
        }
    )
    return path


def _wrk_until_done(cmd: list[str], threads: int, timeout: float) -> tuple[str, str, int]:
    """Run wrk; once ``threads`` threads reached their quota, stop it early with SIGINT.

    wrk's main thread sleeps for the whole -d even when every thread has stopped, and its
    figures would then count that idle time; SIGINT makes it print its summary at once.
    """
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    killer = threading.Timer(timeout, proc.kill)
    killer.start()
    lines: list[str] = []
    finished = 0
    try:
        assert proc.stdout is not None and proc.stderr is not None
        for ln in proc.stdout:
            lines.append(ln)
            if ln.startswith(THREAD_DONE):
                finished += 1
                if finished == threads:
                    proc.send_signal(signal.SIGINT)
        stderr = proc.stderr.read()
        returncode = proc.wait()
    finally:
        killer.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return "".join(lines), stderr, returncode


def run_wrk(
    base_url: str,
    script: Path,
    *,
    connections: int,
    threads: int,
    duration: float,
    requests: int = 0,
    verbose: bool = False,
) -> LoadResult:
    """Run wrk against ``base_url`` and return its figures (``requests`` caps the count)."""
    run_id = f"{os.getpid():x}{random.getrandbits(32):08x}"
    quota = math.ceil(requests / threads) if requests else 0
    cmd = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(script),
        base_url + PATH,
        "--",
        run_id,
        str(quota),
    ]
    stdout, stderr, returncode = _wrk_until_done(cmd, threads if quota else 0, duration + 60)
    if verbose:
        print(stdout.rstrip())
    line = next((ln for ln in stdout.splitlines() if ln.startswith(MARKER)), None)
    if returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({returncode}):\n{stdout}\n{stderr}")
    d = json.loads(line.removeprefix(MARKER))
    errors = d["errors"]
    return LoadResult(
        tool="wrk",
        seconds=d["duration_us"] / 1e6,
        requests=d["requests"],
        sent=d["sent"],
        ok2xx=d["ok2xx"],
        s429=d["s429"],
        s4xx=d["s4xx"],
        s5xx=d["s5xx"],
        other=d["other"],
        socket_errors=errors["connect"] + errors["read"] + errors["write"] + errors["timeout"],
        p50_ms=d["p50_us"] / 1000,
        p90_ms=d["p90_us"] / 1000,
        p99_ms=d["p99_us"] / 1000,
        max_ms=d["max_us"] / 1000,
    )


def _body(run_id: str, n: int, topics: Sequence[str], countries: Sequence[str]) -> bytes:
    """Return one sign-up body with a unique address."""
    return json.dumps(
        {
            "email": f"b{run_id}.py.n{n}@example.org",
            "topics": random.sample(topics, random.randint(1, 3)),
            "countries": random.sample(countries, random.randint(0, 2)),
            "frequency": random.choice(FREQUENCIES),
        }
    ).encode()


def _percentile(sorted_ms: Sequence[float], pct: float) -> float:
    """Return the ``pct`` percentile of already sorted values."""
    if not sorted_ms:
        return 0.0
    return sorted_ms[min(len(sorted_ms) - 1, int(len(sorted_ms) * pct / 100))]


async def _python_load(
    url: str,
    topics: Sequence[str],
    countries: Sequence[str],
    connections: int,
    duration: float,
    requests: int,
) -> LoadResult:
    """Run the aiohttp client load and return its figures."""
    run_id = f"{os.getpid():x}{random.getrandbits(32):08x}"
    statuses: list[int] = []
    latencies: list[float] = []
    counter = 0
    sent = 0
    errors = 0
    deadline = time.monotonic() + duration
    headers = {"Content-Type": "application/json"}

    async def worker(session: aiohttp.ClientSession) -> None:
        """Send sign-ups one after another until the deadline or the count."""
        nonlocal counter, sent, errors
        while time.monotonic() < deadline and (not requests or counter < requests):
            counter += 1
            body = _body(run_id, counter, topics, countries)
            sent += 1
            t0 = time.perf_counter()
            try:
                async with session.post(url, data=body, headers=headers) as resp:
                    await resp.read()
                    statuses.append(resp.status)
            except (aiohttp.ClientError, TimeoutError):
                errors += 1
                continue
            latencies.append((time.perf_counter() - t0) * 1000)

    connector = aiohttp.TCPConnector(limit=connections)
    timeout = aiohttp.ClientTimeout(total=10)
    started = time.monotonic()
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        await asyncio.gather(*(worker(session) for _ in range(connections)))
    seconds = time.monotonic() - started
    latencies.sort()
    return LoadResult(
        tool="python-aiohttp",
        seconds=seconds,
        requests=len(statuses),
        sent=sent,
        ok2xx=sum(200 <= s < 300 for s in statuses),
        s429=sum(s == 429 for s in statuses),
        s4xx=sum(400 <= s < 500 and s != 429 for s in statuses),
        s5xx=sum(s >= 500 for s in statuses),
        other=sum(s < 200 or 300 <= s < 400 for s in statuses),
        socket_errors=errors,
        p50_ms=_percentile(latencies, 50),
        p90_ms=_percentile(latencies, 90),
        p99_ms=_percentile(latencies, 99),
        max_ms=latencies[-1] if latencies else 0.0,
    )


def run_python(
    base_url: str,
    topics: Sequence[str],
    countries: Sequence[str],
    *,
    connections: int,
    duration: float,
    requests: int = 0,
) -> LoadResult:
    """Load ``base_url`` with an aiohttp client in this process (slower than wrk)."""
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:
        runner = asyncio.run
    return runner(_python_load(base_url + PATH, topics, countries, connections, duration, requests))
