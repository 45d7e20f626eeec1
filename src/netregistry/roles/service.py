"""Roles: the offices a network defines, and the rules their tenures follow."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from netregistry.errors import Conflict
from netregistry.kit import integrity
from netregistry.kit.etag import require_match
from netregistry.kit.messages import count_of
from netregistry.kit.pagination import PageRequest
from netregistry.models import Role
from netregistry.registry import rules
from netregistry.registry.service import RegistryService, without_network
from netregistry.roles.repository import RoleRepository
from netregistry.roles.schemas import RoleCreate, RoleRead, RoleUpdate

RESOURCE = "role"


class RoleService(RegistryService[RoleRepository]):
    repository_type = RoleRepository

    async def list_page(self, slug: str, page: PageRequest) -> tuple[list[RoleRead], str | None]:
        network = await self.resolve.network(slug)
        roles, cursor = await self.repository.list_page(network.id, page)
        return [RoleRead.model_validate(role) for role in roles], cursor

    async def get(self, slug: str, role_slug: str) -> RoleRead:
        network = await self.resolve.network(slug)
        return RoleRead.model_validate(await self.resolve.role(network, role_slug))

    async def create(self, slug: str, data: RoleCreate) -> RoleRead:
        # Categories are read under the lock their removal takes (rules.check_categories_unused).
        network = await self.resolve.network_under_rules(slug)
        rules.check_eligible_categories(network, data.eligible_categories)
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
        created = RoleRead.model_validate(await self.resolve.role(network, role.slug))
        await self.audit.record(
            "create", RESOURCE, f"{slug}/{role.slug}", network=slug, after=created
        )
        return created

    async def import_created(self, rows: Sequence[dict[str, Any]]) -> None:
        """Roles from an export (each naming its network by slug), with their
        timestamps: each checked as a request's body is and against its network's
        categories, written in one batch, each audited."""
        checked = self._checked(rows, RoleCreate)
        networks = await self._networks_of([kept for _, kept in checked])
        self._check_each(
            list(zip(networks, checked, strict=True)),
            lambda pair: rules.check_eligible_categories(pair[0], pair[1][0].eligible_categories),
        )
        roles = await self._insert_all(
            [
                Role(network_id=network.id, **data.values(), **without_network(kept))
                for network, (data, kept) in zip(networks, checked, strict=True)
            ],
            self.repository.by_ids,
        )
        await self._audit_created(
            roles,
            RoleRead.model_validate,
            lambda r: (RESOURCE, f"{r.network.slug}/{r.slug}", r.network.slug),
        )

    async def update(
        self, slug: str, role_slug: str, data: RoleUpdate, *, if_match: str | None
    ) -> RoleRead:
        network = await self.resolve.network(slug)
        # New rules must hold for every tenure: no membership change may run meanwhile.
        await rules.lock_network(self.session, network.id, exclusive=True)
        await self.session.refresh(network)  # its categories as they are under the lock
        role = await self.resolve.role(network, role_slug, for_update=True)
        before = RoleRead.model_validate(role)
        require_match(if_match, before)
        changes = data.values(exclude_unset=True)
        if "eligible_categories" in changes:
            rules.check_eligible_categories(network, changes["eligible_categories"])
        async with integrity.guard(self.session):
            for field, value in changes.items():
                setattr(role, field, value)
        await rules.check_capacity(self.session, role)
        await rules.check_membership_coverage(self.session, network.id, role_id=role.id)
        after = RoleRead.model_validate(await self.resolve.role(network, role_slug))
        await self.audit.record(
            "update", RESOURCE, f"{slug}/{role_slug}", network=slug, before=before, after=after
        )
        return after

    async def delete(self, slug: str, role_slug: str, *, if_match: str | None) -> None:
        network = await self.resolve.network(slug)
        role = await self.resolve.role(network, role_slug, for_update=True)
        before = RoleRead.model_validate(role)
        require_match(if_match, before)
        if tenures := await self.repository.tenure_count(role.id):
            raise Conflict(
                f"The role {role_slug!r} of {slug} has {count_of(tenures, 'tenure')} in its "
                f"history; delete {'it' if tenures == 1 else 'them'} first."
            )
        async with integrity.guard(self.session):
            await self.repository.delete(role)
        await self.audit.record(
            "delete", RESOURCE, f"{slug}/{role_slug}", network=slug, before=before
        )
