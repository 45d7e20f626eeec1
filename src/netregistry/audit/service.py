"""The audit trail: one row per change, written in the transaction of the change."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from netregistry.audit.repository import AuditRepository
from netregistry.auth.principal import Principal
from netregistry.kit.context import current_request_id
from netregistry.kit.pagination import PageRequest
from netregistry.models import AuditEvent

Action = Literal["create", "update", "delete"]


class AuditTrail:
    """Records what an actor changed."""

    def __init__(
        self, session: AsyncSession, actor: Principal | None, *, writer: str | None = None
    ) -> None:
        """``writer``: the name recorded for a change made without a key (the import
        command's "import")."""
        self.repository = AuditRepository(session)
        self.actor = actor
        self.writer = writer

    async def record(
        self,
        action: Action,
        resource_type: str,
        resource_id: str,
        *,
        network: str | None,
        before: BaseModel | None = None,
        after: BaseModel | None = None,
    ) -> None:
        """Record a change; an update that changed nothing is no change, and is neither
        audited nor published on the change feed."""
        if action == "update" and before is not None and before == after:
            return
        await self.repository.add(
            AuditEvent(
                actor_key_id=self.actor.key_id if self.actor else None,
                actor_name=self.actor.name if self.actor else self.writer,
                action=action,
                resource_type=resource_type,
                resource_id=resource_id,
                network=network,
                before=before.model_dump(mode="json") if before is not None else None,
                after=after.model_dump(mode="json") if after is not None else None,
                request_id=current_request_id(),
            )
        )

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
        return await self.repository.list_page(
            page,
            resource_type=resource_type,
            resource_id=resource_id,
            network=network,
            since=since,
            until=until,
        )
