"""One member's history across networks: every membership and tenure it has had.

It reads two nouns' tables for a third (the member's history belongs to members), so it
lives here rather than in either repository.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from netregistry.models import Membership, Tenure


async def memberships_of(session: AsyncSession, member_id: uuid.UUID) -> Sequence[Membership]:
    """The member's memberships of every network, earliest first."""
    statement = (
        select(Membership)
        .options(joinedload(Membership.member), joinedload(Membership.network))
        .where(Membership.member_id == member_id)
        .order_by(Membership.start_date.nulls_first(), Membership.id)
    )
    return (await session.scalars(statement)).all()


async def tenures_of(session: AsyncSession, member_id: uuid.UUID) -> Sequence[Tenure]:
    """The member's tenures of every role, earliest first."""
    statement = (
        select(Tenure)
        .options(joinedload(Tenure.member), joinedload(Tenure.network), joinedload(Tenure.role))
        .where(Tenure.member_id == member_id)
        .order_by(Tenure.start_date.nulls_first(), Tenure.id)
    )
    return (await session.scalars(statement)).all()
