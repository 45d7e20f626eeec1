"""Reading the change feed: a page after a cursor, under a filter, as the feed publishes it.

The feed page, the live stream (``changes/stream.py``) and the webhook deliveries
(``webhooks/``) all read changes here, so each shows the same change the same way.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from netregistry.changes.repository import ChangeRepository
from netregistry.changes.schemas import ChangeFilter, ChangeRead

MAX_POSITION = 2**63 - 1  # positions are bigint


def parse_position(value: str) -> int | None:
    """A feed cursor's position, or None when ``value`` is no cursor of this feed."""
    if not value.isascii() or not value.isdigit() or len(value) > 19:
        return None
    position = int(value)
    return position if position <= MAX_POSITION else None


async def read_changes(
    session: AsyncSession,
    after: int,
    limit: int,
    max_bytes: int,
    wanted: ChangeFilter | None = None,
) -> tuple[list[ChangeRead], bool]:
    """The changes after position ``after`` that ``wanted`` takes, in commit order, at
    most ``limit`` and (but for the first) ``max_bytes`` of them; and whether the byte
    budget ended the page before ``limit``."""
    rows, cut_short = await ChangeRepository(session).after(after, limit, max_bytes, wanted)
    items = [
        ChangeRead(
            cursor=str(row.position),
            committed_at=row.committed_at,
            action=row.action,
            resource_type=row.resource_type,
            resource_id=row.resource_id,
            network=row.network,
            data=row.after,
        )
        for row in rows
    ]
    return items, cut_short


async def newest_position(session: AsyncSession) -> int:
    """Where the feed ends now: the position of its newest change, 0 when empty."""
    return await ChangeRepository(session).last_position()
