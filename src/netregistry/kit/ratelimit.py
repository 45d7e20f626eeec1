"""Per-key rate limits on writes, with the ``limits`` library's moving window.

Without ``NETREGISTRY_REDIS_URL`` the counts live in the process (``memory``): with
``--workers N`` or N instances each counts on its own, so a key may send up to N times
the rate to the whole service. With it they live in Redis, shared by every worker and
instance; a Redis that does not answer makes writes ``503`` rather than unlimited.
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError

from netregistry.errors import RateLimited, ServiceUnavailable

KEY_PREFIX = "netregistry"
REDIS_TIMEOUT_SECONDS = 2.0


def _storage(redis_url: str | None) -> Storage:
    if redis_url is None:
        return MemoryStorage()
    return RedisStorage(
        f"async+{redis_url}",
        implementation="redispy",
        key_prefix=KEY_PREFIX,
        wrap_exceptions=True,
        socket_timeout=REDIS_TIMEOUT_SECONDS,
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
    )


class WriteRateLimiter:
    """Admits a key's write while every one of its rates has room, else 429."""

    def __init__(self, rates: str | None, redis_url: str | None = None) -> None:
        self._rates: list[RateLimitItem] = parse_many(rates) if rates else []
        self._limiter = MovingWindowRateLimiter(_storage(redis_url))

    async def admit(self, key: str) -> None:
        """Count one write of ``key``, or raise :class:`RateLimited` with ``Retry-After``."""
        try:
            for rate in self._rates:
                if not await self._limiter.test(rate, "write", key):
                    raise await self._refusal(rate, key)
            for rate in self._rates:
                if not await self._limiter.hit(rate, "write", key):
                    raise await self._refusal(rate, key)
        except StorageError as error:
            raise ServiceUnavailable(
                "Writes are paused: the shared rate limiter (Redis) is not answering. "
                "Retry shortly.",
                retry_after=5,
            ) from error

    async def _refusal(self, rate: RateLimitItem, key: str) -> RateLimited:
        window = await self._limiter.get_window_stats(rate, "write", key)
        retry_after = max(1, math.ceil(window.reset_time - time.time()))
        return RateLimited(
            f"This API key has used its write rate ({rate}); retry in {retry_after} s.",
            retry_after=retry_after,
        )
