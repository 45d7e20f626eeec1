from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Select, func, select, text
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession

from netregistry.kit.pagination import PageRequest, fetch_page
from netregistry.models import Member, Membership, Network, Role, Tenure


class NetworkRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @staticmethod
    def _base() -> Select[Network]:
        return select(Network)

    async def get_by_slug(self, slug: str, *, for_update: bool = False) -> Network | None:
        statement = self._base().where(Network.slug == slug)
        if for_update:
            # FOR NO KEY UPDATE: membership and tenure inserts (holding the network's rule
            # lock shared) take FOR KEY SHARE through their foreign key; FOR UPDATE would
            # deadlock with them while a category change waits for that lock exclusively.
            statement = statement.with_for_update(key_share=True)
        network: Network | None = await self.session.scalar(statement)
        return network

    async def list_page(self, page: PageRequest) -> tuple[Sequence[Network], str | None]:
        return await fetch_page(
            self.session,
            self._base(),
            order_by=[Network.slug],
            page=page,
            key=lambda network: [network.slug],
        )

    def add(self, network: Network) -> None:
        self.session.add(network)

    async def delete(self, network: Network) -> None:
        await self.session.delete(network)

    async def stats(self, network_id: uuid.UUID, as_of: date) -> dict[str, Any]:
        """Counts of the memberships in force on ``as_of`` and the role holders: one query."""
        current = (
            select(Membership.category, Member.kind, Member.country_code)
            .join(Member, Member.id == Membership.member_id)
            .where(Membership.network_id == network_id, Membership.period.contains(as_of))
            .cte("current")
        )

        def counts(column: Any) -> Any:
            grouped = (
                select(column.label("key"), func.count().label("n")).group_by(column).subquery()
            )
            return select(
                func.coalesce(func.json_object_agg(grouped.c.key, grouped.c.n), text("'{}'::json"))
            ).scalar_subquery()

        holders = (
            select(
                Role.slug.label("role"),
                func.coalesce(
                    func.json_agg(
                        aggregate_order_by(
                            func.json_build_object(
                                "id",
                                Member.id,
                                "kind",
                                Member.kind,
                                "name",
                                Member.name,
                                "country_code",
                                Member.country_code,
                            ),
                            Member.name,
                        )
                    ).filter(Member.id.is_not(None)),
                    text("'[]'::json"),
                ).label("holders"),
            )
            .select_from(Role)
            .outerjoin(Tenure, (Tenure.role_id == Role.id) & Tenure.period.contains(as_of))
            .outerjoin(Member, Member.id == Tenure.member_id)
            .where(Role.network_id == network_id)
            .group_by(Role.slug)
            .subquery()
        )
        row = (
            await self.session.execute(
                select(
                    select(func.count()).select_from(current).scalar_subquery().label("total"),
                    counts(current.c.category).label("by_category"),
                    counts(current.c.kind).label("by_kind"),
                    select(func.count(func.distinct(current.c.country_code)))
                    .scalar_subquery()
                    .label("countries"),
                    select(
                        func.coalesce(
                            func.json_object_agg(holders.c.role, holders.c.holders),
                            text("'{}'::json"),
                        )
                    )
                    .scalar_subquery()
                    .label("role_holders"),
                )
            )
        ).one()
        return dict(row._mapping)
