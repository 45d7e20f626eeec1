"""Transaction-scoped advisory locks, for rules no constraint can express.

A lock is named by a string; it is held until the transaction ends. Holders of a
shared lock run side by side and exclude the holder of the exclusive one.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession


async def advisory_lock(session: AsyncSession, name: str, *, shared: bool = False) -> None:
    key = func.hashtextextended(name, 0)
    lock = func.pg_advisory_xact_lock_shared(key) if shared else func.pg_advisory_xact_lock(key)
    await session.execute(select(lock))
