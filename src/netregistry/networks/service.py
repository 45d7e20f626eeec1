"""Networks: creating, changing and removing the registry's top-level resource."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from netregistry.audit.service import AuditTrail
from netregistry.auth.principal import Principal
from netregistry.errors import Conflict, NotFound
from netregistry.kit import integrity
from netregistry.kit.etag import require_match
from netregistry.kit.pagination import PageRequest
from netregistry.memberships.repository import MembershipRepository
from netregistry.models import Network
from netregistry.networks.repository import NetworkRepository
from netregistry.networks.schemas import NetworkCreate, NetworkRead, NetworkUpdate
from netregistry.roles.repository import RoleRepository
from netregistry.tenures import rules

RESOURCE = "network"


def network_not_found(slug: str) -> NotFound:
    return NotFound(f"No network with slug {slug!r}.")


class NetworkService:
    def __init__(self, session: AsyncSession, actor: Principal | None) -> None:
        self.session = session
        self.repository = NetworkRepository(session)
        self.audit = AuditTrail(session, actor)

    async def list_page(self, page: PageRequest) -> tuple[Sequence[Network], str | None]:
        return await self.repository.list_page(page)

    async def get(self, slug: str, *, for_update: bool = False) -> Network:
        network = await self.repository.get_by_slug(slug, for_update=for_update)
        if network is None:
            raise network_not_found(slug)
        return network

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

    async def update(self, slug: str, data: NetworkUpdate, *, if_match: str | None) -> NetworkRead:
        network = await self.get(slug, for_update=True)
        before = NetworkRead.model_validate(network)
        require_match(if_match, before)
        changes = data.values(exclude_unset=True)
        if "membership_categories" in changes:
            await self._check_categories_unused(
                network, set(network.membership_categories) - set(changes["membership_categories"])
            )
        async with integrity.guard(self.session):
            for field, value in changes.items():
                setattr(network, field, value)
        await self.session.refresh(network)
        after = NetworkRead.model_validate(network)
        await self.audit.record("update", RESOURCE, slug, network=slug, before=before, after=after)
        return after

    async def _check_categories_unused(self, network: Network, removed: set[str]) -> None:
        """A category may be dropped only when no membership or role refers to it."""
        if not removed:
            return
        # No membership may be written with a category while it is being dropped.
        await rules.lock_network(self.session, network.id, exclusive=True)
        listed = ", ".join(sorted(removed))
        if used := await MembershipRepository(self.session).category_in_use(
            network.id, sorted(removed)
        ):
            raise Conflict(
                f"{network.slug} has {used} membership(s) in {listed}; "
                "change their category before dropping it."
            )
        if roles := await RoleRepository(self.session).categories_in_use(
            network.id, sorted(removed)
        ):
            raise Conflict(
                f"The roles {', '.join(roles)} of {network.slug} are open to {listed}; "
                "change their eligible categories first."
            )

    async def delete(self, slug: str, *, if_match: str | None) -> None:
        network = await self.get(slug, for_update=True)
        before = NetworkRead.model_validate(network)
        require_match(if_match, before)
        async with integrity.guard(
            self.session,
            {
                f"fk_{table}_network_id_networks": lambda: Conflict(
                    f"{slug} still has memberships, roles or tenures; delete them first."
                )
                for table in ("memberships", "roles", "tenures")
            },
        ):
            await self.repository.delete(network)
        await self.audit.record("delete", RESOURCE, slug, network=slug, before=before)
