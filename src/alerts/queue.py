"""Enqueue jobs on arq with ids that make every enqueue idempotent."""

from __future__ import annotations

import logging

from arq.connections import ArqRedis, RedisSettings, create_pool
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

SEND_MAIL = "send_subscriber_mail"


def redis_settings(url: str) -> RedisSettings:
    """Return arq's RedisSettings for REDIS_URL."""
    return RedisSettings.from_dsn(url)


async def connect(url: str) -> ArqRedis:
    """Open an arq pool."""
    return await create_pool(redis_settings(url))


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
