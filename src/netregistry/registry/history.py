"""One member's history across networks: every membership and tenure it has had.

It reads two nouns' tables for a third (the member's history belongs to members), so it
lives here rather than in either repository.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date

from sqlalchemy import select, union
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from netregistry.models import Membership, Network, Tenure


async def memberships_of(
    session: AsyncSession, member_id: uuid.UUID, as_of: date | None = None
) -> Sequence[Membership]:
    """The member's memberships of every network, earliest first; with ``as_of``, only
    those in force that day."""
    statement = (
        select(Membership)
        .options(joinedload(Membership.member), joinedload(Membership.network))
        .where(Membership.member_id == member_id)
        .order_by(Membership.start_date.nulls_first(), Membership.id)
    )
    if as_of is not None:
        statement = statement.where(Membership.period.contains(as_of))
    return (await session.scalars(statement)).all()


async def tenures_of(
    session: AsyncSession, member_id: uuid.UUID, as_of: date | None = None
) -> Sequence[Tenure]:
    """The member's tenures of every role, earliest first; with ``as_of``, only those
    held that day."""
    statement = (
        select(Tenure)
        .options(joinedload(Tenure.member), joinedload(Tenure.network), joinedload(Tenure.role))
        .where(Tenure.member_id == member_id)
        .order_by(Tenure.start_date.nulls_first(), Tenure.id)
    )
    if as_of is not None:
        statement = statement.where(Tenure.period.contains(as_of))
    return (await session.scalars(statement)).all()


async def networks_of(session: AsyncSession, member_id: uuid.UUID) -> list[str]:
    """The slugs of every network the member has ever been in: any membership or tenure,
    of any period, in alphabetical order. These are the networks a change to the member
    concerns."""
    network_ids = union(
        select(Membership.network_id).where(Membership.member_id == member_id),
        select(Tenure.network_id).where(Tenure.member_id == member_id),
    ).subquery()
    statement = (
        select(Network.slug)
        .where(Network.id.in_(select(network_ids.c.network_id)))
        .order_by(Network.slug)
    )
    return list((await session.scalars(statement)).all())
