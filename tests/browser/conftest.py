"""Browser fixtures: one headless Chromium per run, the real app on a real loopback port."""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from playwright.async_api import (
    Browser,
    ConsoleMessage,
    Error,
    Page,
    Response,
    async_playwright,
)
from sqlalchemy import select

from alerts.config import Settings
from alerts.db import create_engine
from alerts.embedded_redis import start_redis
from alerts.models import Subscriber
from alerts.queue import connect
from alerts.web.app import create_app
from alerts.web.keys import SESSIONMAKER
from tests.conftest import _clean, chromium_path

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Use TEST_REDIS_URL when given, else a private Redis.

    The shared test Redis (database 9) is flushed by every other test, and its arq queue and
    job ids ("mail:1") would be shared with test runs going on at the same time; a browser
    test waits on queued mail, so it keeps a queue of its own.
    """
    if url := os.environ.get("TEST_REDIS_URL"):
        yield url
        return
    url, process = start_redis(tmp_path_factory.mktemp("browser-redis"))
    yield url
    process.terminate()
    process.wait(timeout=10)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser() -> AsyncIterator[Browser]:
    """One headless Chromium for the whole run; Playwright never downloads a browser here."""
    path = chromium_path()
    if path is None:
        # Never a silent skip: `make test` installs it, and CI must run these tests.
        pytest.fail("Chromium is not installed (/usr/bin/chromium): run scripts/ensure-chromium")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=path, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            await browser.close()


@pytest_asyncio.fixture(loop_scope="session")
async def page(browser: Browser) -> AsyncIterator[Page]:
    """A fresh browser context (no cookies) and page; fails on script errors or CSP blocks."""
    context = await browser.new_context(color_scheme="light", locale="en-GB")
    context.set_default_timeout(10_000)
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        # HTTP errors are judged in on_response: error pages (404, 400) are expected documents.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            problems.append(f"console error: {message.text}")

    def on_page_error(error: Error) -> None:
        problems.append(f"page error: {error}")

    def on_response(response: Response) -> None:
        # Chromium asks for /favicon.ico on its own; the app has none.
        if (
            response.status >= 400
            and response.request.resource_type != "document"
            and not response.url.endswith("/favicon.ico")
        ):
            problems.append(f"{response.status} for {response.url}")

    page = await context.new_page()
    page.on("console", on_console)
    page.on("pageerror", on_page_error)
    page.on("response", on_response)
    try:
        yield page
    finally:
        await context.close()
    assert problems == [], "\n".join(problems)


@dataclass
class LiveServer:
    """The app served on a loopback port, with the settings it was built from."""

    url: str
    settings: Settings
    app: web.Application

    async def subscriber(self, email_key: str) -> Subscriber:
        """Return the stored subscriber for a normalised address."""
        async with self.app[SESSIONMAKER]() as session:
            found = await session.scalar(
                select(Subscriber).where(Subscriber.email_key == email_key)
            )
        assert found is not None, f"no subscriber {email_key}"
        return found


StartServer = Callable[..., Awaitable[LiveServer]]


@pytest_asyncio.fixture(loop_scope="session")
async def start_server(
    make_settings: Callable[..., Settings], redis_url: str
) -> AsyncIterator[StartServer]:
    """Return a function that serves the app on a free loopback port with settings overrides."""
    runners: list[web.AppRunner] = []
    pool = await connect(redis_url)
    try:
        await pool.flushdb()
    finally:
        await pool.aclose()
    engine = create_engine(make_settings().db_url)
    try:
        await _clean(engine)
    finally:
        await engine.dispose()

    async def start(**overrides: Any) -> LiveServer:
        # Bind first and hand the socket to aiohttp, so no other process can take the port
        # between choosing it and serving on it; emails must link to this exact port.
        sock = socket.socket()
        try:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
            url = f"http://127.0.0.1:{port}"
            settings = make_settings(base_url=url, **overrides)
            app = create_app(settings)
            runner = web.AppRunner(app)
            await runner.setup()
            runners.append(runner)
            await web.SockSite(runner, sock).start()
        except BaseException:
            sock.close()
            raise
        return LiveServer(url, settings, app)

    try:
        yield start
    finally:
        for runner in reversed(runners):
            await runner.cleanup()


@pytest_asyncio.fixture(loop_scope="session")
async def server(start_server: StartServer) -> LiveServer:
    """The app with mail going to the recording SMTP server."""
    return await start_server()
