"""Digest bench processes: postfix's smtp-sink, `alerts worker` processes, memory and CPU."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SINK = Path("/usr/sbin/smtp-sink")
_MESSAGES = re.compile(rb"mesg=(\d+)")


class BenchError(Exception):
    """A set-up step failed; the message says which."""


def ensure_sink() -> Path:
    """Return smtp-sink's path, installing postfix with scripts/ensure-smtp-sink if missing."""
    if not SINK.exists():
        print("smtp-sink is missing: running scripts/ensure-smtp-sink", flush=True)
        subprocess.run([str(REPO / "scripts" / "ensure-smtp-sink")], check=True, timeout=600)
    if not SINK.exists():
        raise BenchError("smtp-sink is still missing after scripts/ensure-smtp-sink")
    return SINK


def free_port() -> int:
    """Return a loopback TCP port that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 10) -> None:
    """Wait until something accepts connections on 127.0.0.1:``port``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"{proc.args!r} exited with {proc.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise BenchError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


class Sink:
    """smtp-sink on a free loopback port; -c makes it print a running message count."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self._out = workdir / "smtp-sink.out"
        cmd = [str(ensure_sink()), "-c"]
        if os.geteuid() == 0:
            cmd += ["-u", "nobody"]  # it refuses to run as root
        # -m: accept up to 1000 simultaneous sessions (the default 256 is enough, but cheap).
        cmd += ["-m", "1000", f"127.0.0.1:{self.port}", "1000"]
        with self._out.open("wb") as out:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        wait_port(self.port, self.proc)
        self.ps = psutil.Process(self.proc.pid)

    def received(self) -> int:
        """Return how many messages the sink has accepted so far."""
        tail = self._out.read_bytes()[-200:]
        found = _MESSAGES.findall(tail)
        return int(found[-1]) if found else 0

    def cpu(self) -> float:
        """Return the sink's CPU seconds so far."""
        t = self.ps.cpu_times()
        return float(t.user + t.system)

    def stop(self) -> None:
        """Stop the sink."""
        stop_process(self.proc)


class Worker:
    """One `alerts worker` process, with its log, peak memory and CPU time."""

    def __init__(self, env: Mapping[str, str], log: Path) -> None:
        self.log = log
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                [str(BIN / "alerts"), "worker"],
                env=dict(env),
                cwd=REPO,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.ps = psutil.Process(self.proc.pid)
        self.peak_rss = 0

    def wait_ready(self, timeout: float = 60) -> None:
        """Wait until the worker has run its start-up cron jobs."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"worker exited with {self.proc.returncode}:\n{self.tail()}")
            text = self.log.read_text(errors="replace")
            if "recover_editions ●" in text and "digest_tick ●" in text:
                return
            time.sleep(0.1)
        raise BenchError(f"worker not ready after {timeout} s:\n{self.tail()}")

    def tail(self, chars: int = 3000) -> str:
        """Return the end of the worker's log."""
        return self.log.read_text(errors="replace")[-chars:]

    def sample(self) -> None:
        """Note the current resident set size."""
        with contextlib.suppress(psutil.Error):
            self.peak_rss = max(self.peak_rss, self.ps.memory_info().rss)

    def high_water(self) -> int:
        """Return the kernel's peak RSS (VmHWM) in bytes, or the sampled peak."""
        try:
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return max(int(line.split()[1]) * 1024, self.peak_rss)
        except OSError:
            pass
        return self.peak_rss

    def cpu(self) -> float:
        """Return the worker's CPU seconds so far."""
        try:
            t = self.ps.cpu_times()
        except psutil.Error:
            return 0.0
        return float(t.user + t.system)

    def stop(self) -> None:
        """Stop the worker: SIGTERM, SIGKILL after 15 s."""
        stop_process(self.proc, group=True, timeout=15)


def stop_process(
    proc: subprocess.Popen[bytes], *, group: bool = False, timeout: float = 10
) -> None:
    """Stop a process this bench started (its own process group when ``group``)."""
    if proc.poll() is not None:
        return
    try:
        if group:
            os.killpg(proc.pid, signal.SIGTERM)
        else:
            proc.terminate()
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        if group:
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
        proc.wait(timeout=5)
    except ProcessLookupError:
        pass


def postgres_cpu(pids: list[int]) -> float:
    """Return the CPU seconds used so far by the given PostgreSQL processes."""
    total = 0.0
    for pid in pids:
        try:
            t = psutil.Process(pid).cpu_times()
        except psutil.Error:
            continue
        total += t.user + t.system
    return total
