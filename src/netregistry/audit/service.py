"""The audit trail: one row per change, written in the transaction of the change."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from netregistry.audit.repository import AuditRepository
from netregistry.auth.principal import Principal
from netregistry.errors import Forbidden
from netregistry.kit.context import current_client_request_id, current_request_id
from netregistry.kit.pagination import PageRequest
from netregistry.models import AuditEvent

Action = Literal["create", "update", "delete"]
# What :meth:`AuditTrail.record_all` records per change: action, resource type, resource
# id, network, other networks, before, after.
AuditEntry = tuple[Action, str, str, str | None, Sequence[str], BaseModel | None, BaseModel | None]


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
        networks: Sequence[str] = (),
        before: BaseModel | None = None,
        after: BaseModel | None = None,
    ) -> None:
        """Record a change; an update that changed nothing is no change, and is neither
        audited nor published on the change feed.

        ``network``: the network the resource belongs to; ``networks``: the others the
        change concerns (a member's networks). The entry is in each one's audit view.
        """
        if event := self._event(
            action, resource_type, resource_id, network, networks, before, after
        ):
            await self.repository.add(AuditEvent(**event))

    async def record_all(self, entries: Sequence[AuditEntry]) -> None:
        """Record many changes (a bulk writer's), as :meth:`record` records each, in one
        batch of inserts."""
        events = [self._event(*entry) for entry in entries]
        await self.repository.add_all([event for event in events if event is not None])

    def _event(
        self,
        action: Action,
        resource_type: str,
        resource_id: str,
        network: str | None,
        networks: Sequence[str],
        before: BaseModel | None,
        after: BaseModel | None,
    ) -> dict[str, Any] | None:
        """The audit row's values (plain: thousands of them cost no ORM objects)."""
        if action == "update" and before is not None and before == after:
            return None
        return {
            "actor_key_id": self.actor.key_id if self.actor else None,
            "actor_name": self.actor.name if self.actor else self.writer,
            "action": action,
            "resource_type": resource_type,
            "resource_id": resource_id,
            "network": network,
            "networks": sorted({*networks, *([network] if network else [])}),
            "before": before.model_dump(mode="json") if before is not None else None,
            "after": after.model_dump(mode="json") if after is not None else None,
            "request_id": current_request_id(),
            "client_request_id": current_client_request_id(),
        }

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
        """A page of the log as the actor may read it: an admin key all of it, a scoped
        key one of its networks' entries (``network``, required), since that network was
        created (not those of a deleted network whose slug it reuses)."""
        reader = self.actor
        if reader is None:
            raise Forbidden("The audit log needs an API key.")
        since_network: frozenset[uuid.UUID] | None = None
        if not reader.is_admin:
            own = ", ".join(sorted(reader.networks)) or "none left"
            if network is None:
                raise Forbidden(
                    f"The API key {reader.name!r} may read the audit log of its own networks "
                    f"({own}), one at a time: add ?network=<slug>. The whole log needs an "
                    "admin key."
                )
            if network not in reader.networks:
                raise Forbidden(
                    f"The API key {reader.name!r} may not read the audit log of {network}; "
                    f"it may read that of its own networks ({own})."
                )
            since_network = reader.network_ids
        return await self.repository.list_page(
            page,
            resource_type=resource_type,
            resource_id=resource_id,
            network=network,
            since=since,
            until=until,
            since_network=since_network,
        )
