"""Rate limits on writes, with the ``limits`` library's moving window: each API key's
writes, and each client address's requests that came without a valid key.

Without ``NETREGISTRY_REDIS_URL`` the counts live in the process (``memory``): with
``--workers N`` or N instances each counts on its own, so a key may send up to N times
the rate to the whole service. With it they live in Redis, shared by every worker and
instance; a Redis that does not answer makes writes ``503`` rather than unlimited.
"""

from __future__ import annotations

import math
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError

from netregistry.errors import RateLimited, ServiceUnavailable

log = structlog.get_logger("netregistry.ratelimit")

KEY_PREFIX = "netregistry"
REDIS_TIMEOUT_SECONDS = 2.0

# The two budgets' namespaces: a key's id and a client address never share a count.
_WRITES = "write"
_UNAUTHENTICATED = "unauthenticated"


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


@asynccontextmanager
async def _storage_answers() -> AsyncIterator[None]:
    try:
        yield
    except StorageError as error:
        raise ServiceUnavailable(
            "Writes are paused: the shared rate limiter (Redis) is not answering. Retry shortly.",
            retry_after=5,
        ) from error


class WriteRateLimiter:
    """Admits a key's write while every one of its rates has room, else 429.

    The same rates bound, per client address, the requests that came without a valid key
    (none, unknown or revoked): past them such requests are 429 rather than 401.
    """

    def __init__(self, rates: str | None, redis_url: str | None = None) -> None:
        self._rates: list[RateLimitItem] = parse_many(rates) if rates else []
        self._limiter = MovingWindowRateLimiter(_storage(redis_url))

    async def admit(self, key: str) -> None:
        """Count one write of ``key``, or raise :class:`RateLimited` with ``Retry-After``."""
        async with _storage_answers():
            await self._count(_WRITES, key)

    async def count_unauthenticated(self, address: str) -> None:
        """Count one request of ``address`` without a valid key, or raise
        :class:`RateLimited` when it has no room left.

        A Redis that does not answer counts nothing here: the request is refused anyway.
        """
        try:
            await self._count(_UNAUTHENTICATED, address)
        except StorageError:
            log.warning("rate limiter unavailable: a request without a valid key went uncounted")

    async def _count(self, namespace: str, identity: str) -> None:
        for rate in self._rates:
            if not await self._limiter.test(rate, namespace, identity):
                raise await self._refusal(rate, namespace, identity)
        for rate in self._rates:
            if not await self._limiter.hit(rate, namespace, identity):
                raise await self._refusal(rate, namespace, identity)

    async def _refusal(self, rate: RateLimitItem, namespace: str, identity: str) -> RateLimited:
        window = await self._limiter.get_window_stats(rate, namespace, identity)
        retry_after = max(1, math.ceil(window.reset_time - time.time()))
        if namespace == _UNAUTHENTICATED:
            detail = (
                f"Too many requests without a valid API key from this address ({rate}); "
                f"retry in {retry_after} s."
            )
        else:
            detail = f"This API key has used its write rate ({rate}); retry in {retry_after} s."
        return RateLimited(detail, retry_after=retry_after)
