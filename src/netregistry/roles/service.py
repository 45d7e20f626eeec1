"""Roles: the offices a network defines, and the rules their tenures follow."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from netregistry.audit.service import AuditTrail
from netregistry.auth.principal import Principal
from netregistry.errors import Conflict, NotFound, invalid
from netregistry.kit import integrity
from netregistry.kit.etag import require_match
from netregistry.kit.pagination import PageRequest
from netregistry.models import Network, Role
from netregistry.networks.service import NetworkService
from netregistry.roles.repository import RoleRepository
from netregistry.roles.schemas import RoleCreate, RoleRead, RoleUpdate
from netregistry.tenures import rules

RESOURCE = "role"


def role_not_found(slug: str, role_slug: str) -> NotFound:
    return NotFound(f"{slug} has no role {role_slug!r}.")


class RoleService:
    def __init__(self, session: AsyncSession, actor: Principal | None) -> None:
        self.session = session
        self.repository = RoleRepository(session)
        self.networks = NetworkService(session, actor)
        self.audit = AuditTrail(session, actor)

    async def list_page(self, slug: str, page: PageRequest) -> tuple[list[RoleRead], str | None]:
        network = await self.networks.get(slug)
        roles, cursor = await self.repository.list_page(network.id, page)
        return [RoleRead.model_validate(role) for role in roles], cursor

    async def get(self, slug: str, role_slug: str) -> RoleRead:
        network = await self.networks.get(slug)
        return RoleRead.model_validate(await self.find(network, role_slug))

    async def find(self, network: Network, role_slug: str, *, for_update: bool = False) -> Role:
        role = await self.repository.get(network.id, role_slug, for_update=for_update)
        if role is None:
            raise role_not_found(network.slug, role_slug)
        return role

    async def create(self, slug: str, data: RoleCreate) -> RoleRead:
        network = await self.networks.get(slug)
        # Categories are read under the lock their removal takes (networks/service.py).
        await rules.lock_network(self.session, network.id, exclusive=False)
        await self.session.refresh(network)
        _check_categories(network, data.eligible_categories)
        role = Role(network_id=network.id, **data.values())
        async with integrity.guard(
            self.session,
            {
                "uq_roles_network_id_slug": lambda: Conflict(
                    f"{slug} already has a role {data.slug!r}."
                )
            },
        ):
            self.repository.add(role)
        created = RoleRead.model_validate(await self.find(network, role.slug))
        await self.audit.record(
            "create", RESOURCE, f"{slug}/{role.slug}", network=slug, after=created
        )
        return created

    async def update(
        self, slug: str, role_slug: str, data: RoleUpdate, *, if_match: str | None
    ) -> RoleRead:
        network = await self.networks.get(slug)
        # New rules must hold for every tenure: no membership change may run meanwhile.
        await rules.lock_network(self.session, network.id, exclusive=True)
        role = await self.find(network, role_slug, for_update=True)
        before = RoleRead.model_validate(role)
        require_match(if_match, before)
        changes = data.values(exclude_unset=True)
        if "eligible_categories" in changes:
            _check_categories(network, changes["eligible_categories"])
        async with integrity.guard(self.session):
            for field, value in changes.items():
                setattr(role, field, value)
        await rules.check_capacity(self.session, role)
        await rules.check_membership_coverage(self.session, network.id, role_id=role.id)
        after = RoleRead.model_validate(await self.find(network, role_slug))
        await self.audit.record(
            "update", RESOURCE, f"{slug}/{role_slug}", network=slug, before=before, after=after
        )
        return after

    async def delete(self, slug: str, role_slug: str, *, if_match: str | None) -> None:
        network = await self.networks.get(slug)
        role = await self.find(network, role_slug, for_update=True)
        before = RoleRead.model_validate(role)
        require_match(if_match, before)
        if tenures := await self.repository.tenure_count(role.id):
            raise Conflict(
                f"The role {role_slug!r} of {slug} has {tenures} tenure(s) in its history; "
                "delete them first."
            )
        async with integrity.guard(self.session):
            await self.repository.delete(role)
        await self.audit.record(
            "delete", RESOURCE, f"{slug}/{role_slug}", network=slug, before=before
        )


def _check_categories(network: Network, categories: Sequence[str] | None) -> None:
    unknown = sorted(set(categories or ()) - set(network.membership_categories))
    if unknown:
        raise invalid(
            "eligible_categories",
            f"{', '.join(unknown)} not among {network.slug}'s categories "
            f"({', '.join(network.membership_categories)})",
        )
