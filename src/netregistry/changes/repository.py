from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from netregistry.models import AuditEvent, Change


class ChangeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def after(self, position: int, limit: int) -> Sequence[Row[tuple[object, ...]]]:
        """The changes after ``position``, in commit order (actor columns never selected)."""
        statement = (
            select(
                Change.position,
                Change.committed_at,
                AuditEvent.action,
                AuditEvent.resource_type,
                AuditEvent.resource_id,
                AuditEvent.network,
                AuditEvent.after,
            )
            .join(AuditEvent, AuditEvent.id == Change.audit_event_id)
            .where(Change.position > position)
            .order_by(Change.position)
            .limit(limit)
        )
        return (await self.session.execute(statement)).all()
