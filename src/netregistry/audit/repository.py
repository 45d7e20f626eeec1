from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from netregistry.kit.pagination import PageRequest, fetch_page
from netregistry.models import AuditEvent


class AuditRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, event: AuditEvent) -> None:
        self.session.add(event)
        await self.session.flush()

    async def list_page(
        self,
        page: PageRequest,
        *,
        resource_type: str | None,
        resource_id: str | None,
        network: str | None,
        since: datetime | None,
        until: datetime | None,
    ) -> tuple[Sequence[AuditEvent], str | None]:
        statement = select(AuditEvent)
        if resource_type is not None:
            statement = statement.where(AuditEvent.resource_type == resource_type)
        if resource_id is not None:
            statement = statement.where(AuditEvent.resource_id == resource_id)
        if network is not None:
            statement = statement.where(AuditEvent.network == network)
        if since is not None:
            statement = statement.where(AuditEvent.occurred_at >= since)
        if until is not None:
            statement = statement.where(AuditEvent.occurred_at < until)
        return await fetch_page(
            self.session,
            statement,
            order_by=[AuditEvent.id],
            page=page,
            key=lambda event: [event.id],
            descending=True,
        )
