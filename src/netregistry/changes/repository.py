from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, Select, Text, cast, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from netregistry.changes.schemas import ChangeFilter
from netregistry.models import AuditEvent, Change

# What a page entry carries besides its data (cursor, time, action, ids, keys and
# punctuation), counted against the byte budget with the data's own size.
ENTRY_OVERHEAD_BYTES = 300


class ChangeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def last_position(self) -> int:
        """The position of the newest change (0 when there is none)."""
        newest = await self.session.scalar(select(func.max(Change.position)))
        return int(newest or 0)

    async def after(
        self, position: int, limit: int, max_bytes: int, wanted: ChangeFilter | None = None
    ) -> tuple[Sequence[Row[tuple[object, ...]]], bool]:
        """The changes after ``position``, in commit order (actor columns never selected),
        at most ``limit`` of them and, but for the first, at most ``max_bytes`` of them;
        and whether the byte budget ended the page before ``limit``.

        The budget is applied in the database: entries beyond it never leave it. A
        size is the data's JSON text (PostgreSQL's, with spaces: at least the bytes the
        page will hold).
        """
        wanted = wanted or ChangeFilter()
        size = (
            func.coalesce(func.octet_length(cast(AuditEvent.after, Text)), 4) + ENTRY_OVERHEAD_BYTES
        )
        candidates = (
            _filtered(
                select(Change.position, size.label("size"))
                .join(AuditEvent, AuditEvent.id == Change.audit_event_id)
                .where(Change.position > position),
                wanted,
            )
            .order_by(Change.position)
            .limit(limit)
            .cte("candidates")
        )
        budgeted = select(
            candidates.c.position,
            func.sum(candidates.c.size).over(order_by=candidates.c.position).label("running"),
            func.row_number().over(order_by=candidates.c.position).label("number"),
            func.count().over().label("fetched"),
        ).cte("budgeted")
        statement = (
            select(
                Change.position,
                Change.committed_at,
                AuditEvent.action,
                AuditEvent.resource_type,
                AuditEvent.resource_id,
                AuditEvent.network,
                AuditEvent.after,
                budgeted.c.fetched,
            )
            .join(budgeted, budgeted.c.position == Change.position)
            .join(AuditEvent, AuditEvent.id == Change.audit_event_id)
            .where(or_(budgeted.c.number == 1, budgeted.c.running <= max_bytes))
            .order_by(Change.position)
        )
        rows = (await self.session.execute(statement)).all()
        cut_short = bool(rows) and len(rows) < rows[0].fetched
        return rows, cut_short


def _filtered(statement: Select[Any], wanted: ChangeFilter) -> Select[Any]:
    if wanted.networks:
        # The GIN index on ``networks`` answers the overlap.
        statement = statement.where(AuditEvent.networks.overlap(sorted(wanted.networks)))
    if wanted.resource_types:
        statement = statement.where(AuditEvent.resource_type.in_(sorted(wanted.resource_types)))
    if wanted.actions:
        statement = statement.where(AuditEvent.action.in_(sorted(wanted.actions)))
    return statement
