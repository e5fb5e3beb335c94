"""Run the real arq worker in burst mode: it processes what is queued, then returns."""

from __future__ import annotations

from typing import Any

from arq.worker import Worker

from alerts.config import Settings
from alerts.jobs import worker_settings


async def run_jobs(settings: Settings, **overrides: Any) -> Worker:
    """Process every queued job with the production worker settings."""
    options = worker_settings(settings)
    options.update(
        burst=True, handle_signals=False, poll_delay=0.01, cron_jobs=[], max_burst_jobs=-1
    )
    options.update(overrides)
    worker = Worker(**options)
    try:
        await worker.main()
    finally:
        await worker.close()
    return worker
