"""Per-key rate limits on writes, with the ``limits`` library's moving window.

The counts live in the process (``async+memory``): with ``--workers N`` each worker
counts on its own, so a key may send up to N times the rate to the whole service.
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter

from netregistry.errors import RateLimited


class WriteRateLimiter:
    """Admits a key's write while every one of its rates has room, else 429."""

    def __init__(self, rates: str | None) -> None:
        self._rates: list[RateLimitItem] = parse_many(rates) if rates else []
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    async def admit(self, key: str) -> None:
        """Count one write of ``key``, or raise :class:`RateLimited` with ``Retry-After``."""
        for rate in self._rates:
            if not await self._limiter.test(rate, "write", key):
                raise await self._refusal(rate, key)
        for rate in self._rates:
            if not await self._limiter.hit(rate, "write", key):
                raise await self._refusal(rate, key)

    async def _refusal(self, rate: RateLimitItem, key: str) -> RateLimited:
        window = await self._limiter.get_window_stats(rate, "write", key)
        retry_after = max(1, math.ceil(window.reset_time - time.time()))
        return RateLimited(
            f"This API key has used its write rate ({rate}); retry in {retry_after} s.",
            retry_after=retry_after,
        )
