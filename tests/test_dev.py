"""`alerts dev` (what `make run` starts): everything on one machine, mail in the local outbox."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

from alerts.embedded_redis import answers, free_port


async def _wait_for(url: str, session: aiohttp.ClientSession, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            async with session.get(url) as resp:
                if resp.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await _sleep(0.2)
    raise AssertionError(f"{url} did not answer within {seconds} s")


async def _sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)


async def test_dev_starts_redis_web_and_worker_and_stops_them(tmp_path: Path) -> None:
    port, redis_port = free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SMTP_URL")},
        "VAR_DIR": str(tmp_path / "var"),
        "PORT": str(port),
        "BASE_URL": base,
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "ENVIRONMENT": "development",
    }
    log = (tmp_path / "dev.log").open("w")
    # A file, not a pipe: the worker's parse processes must not keep the test waiting for EOF.
    process = subprocess.Popen(
        [sys.executable, "-m", "alerts.cli", "dev"],
        env=env,
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        async with aiohttp.ClientSession() as session:
            await _wait_for(f"{base}/healthz", session, 30)
            async with session.get(f"{base}/") as resp:
                assert "Stay in the loop!" in await resp.text()
            async with session.post(
                f"{base}/api/subscriptions", json={"email": "newcomer@example.org"}
            ) as resp:
                assert resp.status == 202
            deadline = time.monotonic() + 20
            html = ""
            while time.monotonic() < deadline and "newcomer@example.org" not in html:
                async with session.get(f"{base}/outbox") as resp:
                    html = await resp.text()
                await _sleep(0.3)
            assert "Please confirm your subscription" in html
        assert (tmp_path / "var" / "alerts.db").exists()
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            log.close()
    output = (tmp_path / "dev.log").read_text()
    assert process.returncode is not None
    assert f"Sign-up page:  {base}/" in output
    assert f"Local outbox:  {base}/outbox" in output
    assert "Started a private Redis" in output
    assert not answers(f"redis://127.0.0.1:{redis_port}/0")
