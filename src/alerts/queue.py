"""Enqueue jobs on arq with ids that make every enqueue idempotent."""

from __future__ import annotations

import logging
from datetime import datetime

from arq.connections import ArqRedis, RedisSettings, create_pool
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)

DEFAULT_QUEUE = "arq:queue"
SEND_MAIL = "send_subscriber_mail"
SEND_EDITION = "send_edition"


def redis_settings(url: str) -> RedisSettings:
    """Return arq's RedisSettings for REDIS_URL, retrying commands across a Redis restart."""
    settings = RedisSettings.from_dsn(url)
    settings.retry_on_error = [RedisConnectionError, RedisTimeoutError]
    settings.retry = Retry(ExponentialBackoff(cap=2, base=0.1), 30)
    return settings


async def connect(url: str, queue_name: str = DEFAULT_QUEUE) -> ArqRedis:
    """Open an arq pool whose jobs go to ``queue_name``."""
    return await create_pool(redis_settings(url), default_queue_name=queue_name)


def mail_job_id(mail_id: int) -> str:
    """Return the job id of a queued message, so a message is enqueued at most once."""
    return f"mail:{mail_id}"


async def enqueue_mail(pool: ArqRedis, mail_id: int | None) -> None:
    """Enqueue the send job; if Redis is down, the recovery cron picks the message up later."""
    if mail_id is None:
        return
    try:
        await pool.enqueue_job(SEND_MAIL, mail_id, _job_id=mail_job_id(mail_id))
    except (RedisError, OSError) as e:
        log.warning("could not enqueue mail %s, recovery will retry: %s", mail_id, e)


async def enqueue_edition(
    pool: ArqRedis,
    edition_id: int,
    parallel: int,
    *,
    defer_until: datetime | None = None,
    slot_base: int = 0,
) -> None:
    """Enqueue ``parallel`` senders for an edition; a sender already queued is not doubled."""
    for slot in range(slot_base, slot_base + max(1, parallel)):
        job_id = f"edition:{edition_id}:{slot}"
        if defer_until is not None:
            job_id += f":{int(defer_until.timestamp())}"
        try:
            await pool.enqueue_job(
                SEND_EDITION, edition_id, slot, _job_id=job_id, _defer_until=defer_until
            )
        except (RedisError, OSError) as e:
            log.warning("could not enqueue edition %s, recovery will retry: %s", edition_id, e)
