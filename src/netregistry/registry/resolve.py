"""Finding what a request names: a network by its slug, a role of a network, a member
by id. Every noun resolves through here, so "no such network" reads the same on every
path and no service builds another noun's service to ask.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from netregistry.errors import NotFound, unknown_member
from netregistry.models import Member, Network, Role
from netregistry.registry import rules


def network_not_found(slug: str) -> NotFound:
    return NotFound(f"No network with slug {slug!r}.")


def role_not_found(slug: str, role_slug: str) -> NotFound:
    return NotFound(f"{slug} has no role {role_slug!r}.")


class Resolver:
    """Looks up the resources a request names, in the request's session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def find_network(self, slug: str, *, for_update: bool = False) -> Network | None:
        statement = select(Network).where(Network.slug == slug)
        if for_update:
            # FOR NO KEY UPDATE: membership and tenure inserts (holding the network's rule
            # lock shared) take FOR KEY SHARE through their foreign key; FOR UPDATE would
            # deadlock with them while a category change waits for that lock exclusively.
            statement = statement.with_for_update(key_share=True)
        network: Network | None = await self.session.scalar(statement)
        return network

    async def network(self, slug: str, *, for_update: bool = False) -> Network:
        """The network ``slug``; a 404 when there is none."""
        network = await self.find_network(slug, for_update=for_update)
        if network is None:
            raise network_not_found(slug)
        return network

    async def network_under_rules(self, slug: str, *, reread: bool = True) -> Network:
        """The network, with the shared lock on its rules taken (``rules.lock_network``):
        no change to its categories or roles' rules runs until the transaction ends.

        ``reread``: read its row again after the lock, so that its categories are those
        every write then sees.
        """
        network = await self.network(slug)
        await rules.lock_network(self.session, network.id, exclusive=False)
        if reread:
            await self.session.refresh(network)
        return network

    async def find_role(
        self, network: Network, role_slug: str, *, for_update: bool = False
    ) -> Role | None:
        statement = (
            select(Role)
            .options(joinedload(Role.network))
            .where(Role.network_id == network.id, Role.slug == role_slug)
            .execution_options(populate_existing=True)
        )
        if for_update:
            statement = statement.with_for_update(of=Role)
        role: Role | None = await self.session.scalar(statement)
        return role

    async def role(self, network: Network, role_slug: str, *, for_update: bool = False) -> Role:
        """The role ``role_slug`` of ``network``; a 404 when it has none."""
        role = await self.find_role(network, role_slug, for_update=for_update)
        if role is None:
            raise role_not_found(network.slug, role_slug)
        return role

    async def find_member(self, member_id: uuid.UUID) -> Member | None:
        member: Member | None = await self.session.scalar(
            select(Member).where(Member.id == member_id)
        )
        return member

    async def named_member(self, member_id: uuid.UUID) -> Member:
        """The city or organization a request body names; a 422 on ``member_id`` when
        there is none."""
        member = await self.find_member(member_id)
        if member is None:
            raise unknown_member(member_id)
        return member
