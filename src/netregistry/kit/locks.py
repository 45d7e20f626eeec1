"""Transaction-scoped advisory locks, for rules no constraint can express.

A lock is named by a string; it is held until the transaction ends. Holders of a
shared lock run side by side and exclude the holder of the exclusive one.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Text, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession


async def advisory_lock(session: AsyncSession, name: str, *, shared: bool = False) -> None:
    key = func.hashtextextended(name, 0)
    lock = func.pg_advisory_xact_lock_shared(key) if shared else func.pg_advisory_xact_lock(key)
    await session.execute(select(lock))


_NAMES = func.unnest(bindparam("names", type_=ARRAY(Text))).table_valued("name").render_derived()
# A function scan yields the array's elements in order, so the locks are taken in the
# order given; one round trip for any number of them.
_LOCK_ALL = select(func.count(func.pg_advisory_xact_lock(func.hashtextextended(_NAMES.c.name, 0))))


async def advisory_locks(session: AsyncSession, names: Sequence[str]) -> None:
    """The exclusive locks ``names``, taken in the order given, in one statement."""
    if names:
        await session.execute(_LOCK_ALL.select_from(_NAMES), {"names": list(names)})
