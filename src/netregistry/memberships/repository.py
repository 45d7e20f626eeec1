from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date

from sqlalchemy import Select, func, literal_column, select, text
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from netregistry.kit.dates import PartialDate
from netregistry.kit.pagination import PageRequest, fetch_page
from netregistry.members.repository import name_matches
from netregistry.models import Member, Membership, Role, Tenure


class MembershipRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @staticmethod
    def _base() -> Select[Membership]:
        return select(Membership).options(
            joinedload(Membership.member), joinedload(Membership.network)
        )

    async def get(
        self, network_id: uuid.UUID, membership_id: uuid.UUID, *, for_update: bool = False
    ) -> Membership | None:
        statement = (
            self._base()
            .where(Membership.network_id == network_id, Membership.id == membership_id)
            .execution_options(populate_existing=True)
        )
        if for_update:
            statement = statement.with_for_update(of=Membership)
        membership: Membership | None = await self.session.scalar(statement)
        return membership

    async def list_page(
        self, network_id: uuid.UUID, page: PageRequest, *, member_id: uuid.UUID | None
    ) -> tuple[Sequence[Membership], str | None]:
        statement = self._base().where(Membership.network_id == network_id)
        if member_id is not None:
            statement = statement.where(Membership.member_id == member_id)
        return await fetch_page(
            self.session,
            statement,
            order_by=[Membership.created_at, Membership.id],
            page=page,
            key=lambda membership: [membership.created_at, membership.id],
        )

    async def for_member(self, member_id: uuid.UUID) -> Sequence[Membership]:
        statement = (
            self._base()
            .where(Membership.member_id == member_id)
            .order_by(Membership.start_date.nulls_first(), Membership.id)
        )
        return (await self.session.scalars(statement)).all()

    async def overlapping(
        self,
        network_id: uuid.UUID,
        member_id: uuid.UUID,
        start: PartialDate | None,
        end: PartialDate | None,
        *,
        exclude: uuid.UUID | None = None,
    ) -> Membership | None:
        """A membership of the member that shares a certain day with ``[start, end)``."""
        period = func.certain_period(str(start) if start else None, str(end) if end else None)
        statement = self._base().where(
            Membership.network_id == network_id,
            Membership.member_id == member_id,
            Membership.period.op("&&")(period),
        )
        if exclude is not None:
            statement = statement.where(Membership.id != exclude)
        membership: Membership | None = await self.session.scalar(statement.limit(1))
        return membership

    async def category_in_use(self, network_id: uuid.UUID, categories: Sequence[str]) -> int:
        count: int = (
            await self.session.scalar(
                select(func.count())
                .select_from(Membership)
                .where(Membership.network_id == network_id, Membership.category.in_(categories))
            )
            or 0
        )
        return count

    def add(self, membership: Membership) -> None:
        self.session.add(membership)

    async def delete(self, membership: Membership) -> None:
        await self.session.delete(membership)

    async def members_on(
        self,
        network_id: uuid.UUID,
        as_of: date,
        page: PageRequest,
        *,
        category: str | None,
        country: str | None,
        kind: str | None,
        role: str | None,
        q: str | None,
    ) -> tuple[list[Row[tuple[object, ...]]], str | None]:
        """The memberships in force on ``as_of``, with the roles held that day: one query."""
        roles = (
            select(
                func.coalesce(
                    func.json_agg(
                        aggregate_order_by(
                            func.json_build_object(
                                "role",
                                Role.slug,
                                "tenure_id",
                                Tenure.id,
                                "start_date",
                                Tenure.start_date,
                                "end_date",
                                Tenure.end_date,
                            ),
                            Role.slug,
                        )
                    ),
                    text("'[]'::json"),
                )
            )
            .select_from(Tenure)
            .join(Role, Role.id == Tenure.role_id)
            .where(
                Tenure.network_id == Membership.network_id,
                Tenure.member_id == Membership.member_id,
                Tenure.period.contains(as_of),
            )
            .correlate(Membership)
            .scalar_subquery()
        )
        statement = (
            select(
                Membership.id.label("membership_id"),
                Membership.category,
                Membership.start_date,
                Membership.end_date,
                Member.id.label("member_id"),
                Member.kind,
                Member.name,
                Member.country_code,
                roles.label("roles"),
            )
            .join(Member, Member.id == Membership.member_id)
            .where(Membership.network_id == network_id, Membership.period.contains(as_of))
        )
        if category is not None:
            statement = statement.where(Membership.category == category)
        if country is not None:
            statement = statement.where(Member.country_code == country)
        if kind is not None:
            statement = statement.where(Member.kind == kind)
        if role is not None:
            statement = statement.where(
                select(literal_column("1"))
                .select_from(Tenure)
                .join(Role, Role.id == Tenure.role_id)
                .where(
                    Tenure.network_id == Membership.network_id,
                    Tenure.member_id == Membership.member_id,
                    Role.slug == role,
                    Tenure.period.contains(as_of),
                )
                .exists()
            )
        if q is not None:
            statement = statement.where(await name_matches(self.session, q))
        return await fetch_page(
            self.session,
            statement,
            order_by=[Member.name, Member.id],
            page=page,
            key=lambda row: [row.name, row.member_id],
            rows=True,
        )
