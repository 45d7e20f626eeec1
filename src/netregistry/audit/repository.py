from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from netregistry.kit.pagination import PageRequest, fetch_page
from netregistry.models import AuditEvent, Network


class AuditRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, event: AuditEvent) -> None:
        self.session.add(event)
        await self.session.flush()

    async def add_all(self, events: Sequence[dict[str, Any]]) -> None:
        """Insert ``events`` (each an audit row's values, the same columns) in one
        batched statement, not a round trip apiece."""
        if events:
            await self.session.execute(insert(AuditEvent), list(events))

    async def list_page(
        self,
        page: PageRequest,
        *,
        resource_type: str | None,
        resource_id: str | None,
        network: str | None,
        since: datetime | None,
        until: datetime | None,
        since_network: frozenset[uuid.UUID] | None = None,
    ) -> tuple[Sequence[AuditEvent], str | None]:
        """``network``: the entries that concern it (its resources', and those of members
        that are or were in it). ``since_network``: only entries written since the
        network ``network`` names, which must be one of these ids, was created."""
        statement = select(AuditEvent)
        if resource_type is not None:
            statement = statement.where(AuditEvent.resource_type == resource_type)
        if resource_id is not None:
            statement = statement.where(AuditEvent.resource_id == resource_id)
        if network is not None:
            statement = statement.where(AuditEvent.networks.contains([network]))
            if since_network is not None:
                statement = statement.where(
                    select(Network.id)
                    .where(
                        Network.slug == network,
                        Network.id.in_(since_network),
                        Network.created_at <= AuditEvent.occurred_at,
                    )
                    .exists()
                )
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
