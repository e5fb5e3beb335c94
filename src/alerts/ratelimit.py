"""Fixed-window rate limits kept in Redis, shared by every server process."""

from __future__ import annotations

import hashlib
import logging

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)


class RateLimiter:
    """Count hits per key in a window; allow at most ``limit``."""

    def __init__(self, redis: Redis, prefix: str = "alerts:rl") -> None:
        self._redis = redis
        self._prefix = prefix

    async def allow(self, bucket: str, key: str, *, limit: int, window_seconds: int) -> bool:
        """Record a hit and tell whether it is within the limit (fails open if Redis is down)."""
        digest = hashlib.sha256(key.encode()).hexdigest()[:32]
        name = f"{self._prefix}:{bucket}:{digest}"
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.incr(name)
                pipe.expire(name, window_seconds, nx=True)
                count, _ = await pipe.execute()
        except (RedisError, OSError) as e:
            log.warning("rate limiter unavailable, allowing: %s", e)
            return True
        return int(count) <= limit
