"""Networks: creating, changing and removing the registry's top-level resource."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from netregistry.errors import Conflict
from netregistry.kit import integrity
from netregistry.kit.etag import require_match
from netregistry.kit.pagination import PageRequest
from netregistry.models import Network
from netregistry.networks.repository import NetworkRepository
from netregistry.networks.schemas import NetworkCreate, NetworkRead, NetworkUpdate
from netregistry.registry import rules
from netregistry.registry.resolve import network_not_found
from netregistry.registry.service import RegistryService

RESOURCE = "network"


class NetworkService(RegistryService[NetworkRepository]):
    repository_type = NetworkRepository

    async def list_page(self, page: PageRequest) -> tuple[Sequence[Network], str | None]:
        return await self.repository.list_page(page)

    async def get(self, slug: str, *, for_update: bool = False) -> Network:
        return await self.resolve.network(slug, for_update=for_update)

    async def stats(self, slug: str, as_of: date) -> bytes:
        """The network's :class:`NetworkStats` on ``as_of``, written by PostgreSQL."""
        network_id, document = await self.repository.stats(slug, as_of)
        if network_id is None:
            raise network_not_found(slug)
        return document.encode()

    async def create(self, data: NetworkCreate) -> NetworkRead:
        network = Network(**data.values())
        async with integrity.guard(
            self.session,
            {
                "uq_networks_slug": lambda: Conflict(
                    f"A network with slug {data.slug!r} already exists."
                )
            },
        ):
            self.repository.add(network)
        await self.session.refresh(network)
        created = NetworkRead.model_validate(network)
        await self.audit.record(
            "create", RESOURCE, network.slug, network=network.slug, after=created
        )
        return created

    async def import_created(self, rows: Sequence[dict[str, Any]]) -> None:
        """Networks from an export, with their timestamps: each checked as a request's
        body is, written in one batch, each audited."""
        checked = self._checked(rows, NetworkCreate)
        networks = await self._insert_all(
            [Network(**data.values(), **kept) for data, kept in checked], self.repository.by_ids
        )
        await self._audit_created(
            networks, NetworkRead.model_validate, lambda n: (RESOURCE, n.slug, n.slug)
        )

    async def update(self, slug: str, data: NetworkUpdate, *, if_match: str | None) -> NetworkRead:
        network = await self.get(slug, for_update=True)
        before = NetworkRead.model_validate(network)
        require_match(if_match, before)
        changes = data.values(exclude_unset=True)
        if "membership_categories" in changes:
            await rules.check_categories_unused(
                self.session,
                network,
                set(network.membership_categories) - set(changes["membership_categories"]),
            )
        async with integrity.guard(self.session):
            for field, value in changes.items():
                setattr(network, field, value)
        await self.session.refresh(network)
        after = NetworkRead.model_validate(network)
        await self.audit.record("update", RESOURCE, slug, network=slug, before=before, after=after)
        return after

    async def delete(self, slug: str, *, if_match: str | None) -> None:
        network = await self.get(slug, for_update=True)
        before = NetworkRead.model_validate(network)
        require_match(if_match, before)
        async with integrity.guard(
            self.session,
            {
                f"fk_{table}_network_id_networks": lambda: Conflict(
                    f"{slug} still has memberships, roles, tenures or declarations; "
                    "delete them first."
                )
                for table in ("memberships", "roles", "tenures", "declarations")
            },
        ):
            await self.repository.delete(network)
        await self.audit.record("delete", RESOURCE, slug, network=slug, before=before)
