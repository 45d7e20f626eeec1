"""Networks: creating, changing and removing the registry's top-level resource."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from netregistry.audit.service import AuditTrail
from netregistry.auth.principal import Principal
from netregistry.errors import Conflict, NotFound
from netregistry.kit import integrity
from netregistry.kit.etag import require_match
from netregistry.kit.pagination import PageRequest
from netregistry.models import Network
from netregistry.networks.repository import NetworkRepository
from netregistry.networks.schemas import NetworkCreate, NetworkRead, NetworkUpdate

RESOURCE = "network"


class NetworkService:
    def __init__(self, session: AsyncSession, actor: Principal | None) -> None:
        self.session = session
        self.repository = NetworkRepository(session)
        self.audit = AuditTrail(session, actor)

    async def list(self, page: PageRequest) -> tuple[Sequence[Network], str | None]:
        return await self.repository.list(page)

    async def get(self, slug: str, *, for_update: bool = False) -> Network:
        network = await self.repository.get_by_slug(slug, for_update=for_update)
        if network is None:
            raise NotFound(f"No network with slug {slug!r}.")
        return network

    async def create(self, data: NetworkCreate) -> NetworkRead:
        network = Network(**data.values())
        self.repository.add(network)
        await integrity.flush(
            self.session,
            {
                "uq_networks_slug": lambda: Conflict(
                    f"A network with slug {data.slug!r} already exists."
                )
            },
        )
        await self.session.refresh(network)
        created = NetworkRead.model_validate(network)
        await self.audit.record(
            "create", RESOURCE, network.slug, network=network.slug, after=created
        )
        return created

    async def update(self, slug: str, data: NetworkUpdate, *, if_match: str | None) -> NetworkRead:
        network = await self.get(slug, for_update=True)
        before = NetworkRead.model_validate(network)
        require_match(if_match, before)
        changes = data.values(exclude_unset=True)
        for field, value in changes.items():
            setattr(network, field, value)
        await integrity.flush(self.session, {})
        await self.session.refresh(network)
        after = NetworkRead.model_validate(network)
        await self.audit.record("update", RESOURCE, slug, network=slug, before=before, after=after)
        return after

    async def delete(self, slug: str, *, if_match: str | None) -> None:
        network = await self.get(slug, for_update=True)
        before = NetworkRead.model_validate(network)
        require_match(if_match, before)
        await self.repository.delete(network)
        await integrity.flush(self.session, {})
        await self.audit.record("delete", RESOURCE, slug, network=slug, before=before)
