"""Real `alerts worker` processes and a private Redis that a test can crash and restart.

The fault tests run the worker exactly as production does (``python -m alerts.cli worker``),
so what they show holds for the process, not for the service called in-process.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from alerts.config import Settings
from alerts.embedded_redis import free_port, start_redis

WORKER_COMMAND = (sys.executable, "-m", "alerts.cli", "worker")


async def eventually(
    check: Callable[[], Awaitable[bool]],
    *,
    timeout: float,
    what: str,
    every: float = 0.05,
    explain: Callable[[], str] = lambda: "",
) -> None:
    """Poll ``check`` until it holds; after ``timeout`` s fail, naming ``what``."""
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}\n{explain()}")
        await asyncio.sleep(every)


@dataclass
class PrivateRedis:
    """A redis-server of the test's own on a fixed free port, with no persistence.

    Restarting it loses every queued job, as a crashed Redis without AOF or RDB would.
    """

    directory: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0

    @property
    def url(self) -> str:
        """Return the REDIS_URL of this server."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start the server on its port and wait until it answers PING."""
        assert self.process is None, "already running"
        _, self.process = start_redis(self.directory, self.port)

    def crash(self) -> None:
        """Kill the server with SIGKILL: everything it held is gone."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.kill()
        if process is not None:
            process.wait(timeout=10)

    def restart(self) -> None:
        """Crash the server and start an empty one on the same port."""
        self.crash()
        self.start()
        self.restarts += 1


@contextmanager
def private_redis(directory: Path) -> Iterator[PrivateRedis]:
    """Run a private Redis for the duration of the block, and always stop it."""
    server = PrivateRedis(directory)
    server.start()
    try:
        yield server
    finally:
        server.crash()


def worker_env(settings: Settings, redis_url: str, **overrides: object) -> dict[str, str]:
    """Return the environment of a worker process on the test's database, Redis and SMTP.

    Only what the worker needs is passed through, so a developer's own DATABASE_URL or
    SMTP_URL cannot leak in; ``overrides`` set further variables (``SEND_BATCH_SIZE=20``).
    """
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG", "TZ") if key in os.environ}
    env.update(
        {
            "PYTHONUNBUFFERED": "1",
            "ENVIRONMENT": "test",
            "DATABASE_URL": settings.db_url,
            "REDIS_URL": redis_url,
            "SMTP_URL": settings.smtp_url,
            "SECRET_KEY": settings.secret,
            "BASE_URL": settings.base_url,
            "VAR_DIR": str(settings.var_dir),
        }
    )
    env.update({key.upper(): str(value) for key, value in overrides.items()})
    return env


@dataclass
class WorkerProcess:
    """One `alerts worker` process; stdout and stderr go to a log file the test can read."""

    name: str
    env: dict[str, str]
    log_path: Path
    cwd: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        """Return the process id (part of every lease owner name the worker writes)."""
        assert self.process is not None, f"worker {self.name} was never started"
        return self.process.pid

    @property
    def running(self) -> bool:
        """Tell whether the process is alive."""
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        """Start the process; its log is appended to, so a restart keeps what came before."""
        assert not self.running, f"worker {self.name} is already running"
        with self.log_path.open("ab") as log:
            # cwd is a scratch directory: a developer's .env must not reach the worker.
            self.process = subprocess.Popen(
                WORKER_COMMAND,
                env=self.env,
                cwd=self.cwd,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        """Kill the process with SIGKILL, as a crash or an OOM kill would, and reap it."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
        if self.process is not None:
            self.process.wait(timeout=10)

    def stop(self, timeout: float = 10) -> int | None:
        """Ask the process to stop with SIGTERM; kill it if it does not within ``timeout``."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.process.returncode

    def log(self) -> str:
        """Return everything the process has logged so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@dataclass
class Fleet:
    """The worker processes of one test; ``close`` kills whichever are still running."""

    directory: Path
    env: dict[str, str]
    workers: list[WorkerProcess] = field(default_factory=list)

    def start(self, name: str, **overrides: object) -> WorkerProcess:
        """Start a worker named ``name`` with the fleet's environment plus ``overrides``."""
        env = {**self.env, **{key.upper(): str(value) for key, value in overrides.items()}}
        worker = WorkerProcess(name, env, self.directory / f"{name}.log", self.directory)
        self.workers.append(worker)
        worker.start()
        return worker

    def logs(self) -> str:
        """Return every worker's log, headed by its name, for a failure message."""
        return "\n".join(f"--- worker {w.name} ---\n{w.log()[-4000:]}" for w in self.workers)

    def close(self) -> None:
        """Stop every worker still running: SIGTERM first, then SIGKILL."""
        for worker in self.workers:
            if worker.running:
                assert worker.process is not None
                worker.process.send_signal(signal.SIGTERM)
        for worker in self.workers:
            worker.stop(timeout=5)


@contextmanager
def fleet(directory: Path, env: dict[str, str]) -> Iterator[Fleet]:
    """Yield a Fleet whose processes are always stopped when the block ends."""
    directory.mkdir(parents=True, exist_ok=True)
    workers = Fleet(directory, env)
    try:
        yield workers
    finally:
        workers.close()
