"""The parse pool: feedparser in worker processes, so parsing uses every core."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import weakref
from collections.abc import AsyncIterator, Mapping
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import asynccontextmanager
from datetime import datetime
from functools import partial

from alerts.ingest.parse import ParsedFeed, parse_feed_async

log = logging.getLogger(__name__)
_BROKEN: weakref.WeakSet[Executor] = weakref.WeakSet()


def parse_pool(workers: int | None = None) -> Executor:
    """Return a process pool for feedparser, or a thread pool where processes are unavailable."""
    workers = workers or os.cpu_count() or 1
    try:
        # spawn, not fork: the parent runs threads (aiosqlite, executors) whose locks fork copies.
        # Workers ignore Ctrl-C: the parent stops them through shutdown.
        return ProcessPoolExecutor(
            workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=partial(signal.signal, signal.SIGINT, signal.SIG_IGN),
        )
    except (OSError, NotImplementedError, ImportError) as e:
        log.warning("no process pool (%s): parsing feeds in threads", e)
        return ThreadPoolExecutor(workers, thread_name_prefix="feedparse")


async def close_pool(executor: Executor) -> None:
    """Shut a parse pool down, waiting off the event loop for its workers to exit."""
    await asyncio.to_thread(partial(executor.shutdown, wait=True, cancel_futures=True))


@asynccontextmanager
async def parse_executor(workers: int | None = None) -> AsyncIterator[Executor]:
    """Open a parse pool for one run (a CLI command, a benchmark) and close it after."""
    executor = parse_pool(workers)
    try:
        yield executor
    finally:
        await close_pool(executor)


async def parse_off_loop(
    body: bytes,
    *,
    base_url: str,
    fetched_at: datetime,
    response_headers: Mapping[str, str] | None,
    executor: Executor | None,
) -> ParsedFeed:
    """Parse a feed in ``executor`` (None: the loop's threads); use a thread if the pool broke."""
    parse = partial(
        parse_feed_async,
        body,
        base_url=base_url,
        fetched_at=fetched_at,
        response_headers=response_headers,
    )
    if executor in _BROKEN:
        executor = None
    try:
        return await parse(executor=executor)
    except BrokenProcessPool:  # a worker died (killed, out of memory): carry on in threads
        if executor is not None and executor not in _BROKEN:
            _BROKEN.add(executor)
            log.warning("the parse pool is broken: parsing feeds in threads from now on")
        return await parse(executor=None)
