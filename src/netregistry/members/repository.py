from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date

from sqlalchemy import (
    ColumnElement,
    Float,
    ScalarSelect,
    Text,
    and_,
    any_,
    bindparam,
    func,
    literal,
    select,
    true,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from netregistry.kit.pagination import PageRequest, fetch_page
from netregistry.models import Member, Membership, Network, Tenure

# Word similarity above which a name counts as a match for `q` ("surabya" ~ "surabaya").
SEARCH_THRESHOLD = 0.45


def search_key(q: str) -> ScalarSelect[str]:
    """`q` folded the way the search text is: lower case, accents removed."""
    return select(func.lower(func.unaccent(q))).scalar_subquery()


async def name_matches(session: AsyncSession, q: str) -> ColumnElement[bool]:
    """A condition: the member's name or an alternative name resembles ``q``.

    The trigram index answers ``<%``; its threshold is set for this transaction only.
    """
    await session.execute(
        select(func.set_config("pg_trgm.word_similarity_threshold", str(SEARCH_THRESHOLD), True))
    )
    return search_key(q).op("<%")(Member.search_text)


class MemberRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, member_id: uuid.UUID, *, kind: str | None = None) -> Member | None:
        statement = select(Member).where(Member.id == member_id)
        if kind is not None:
            statement = statement.where(Member.kind == kind)
        member: Member | None = await self.session.scalar(statement)
        return member

    async def get_for_update(self, member_id: uuid.UUID, kind: str) -> Member | None:
        member: Member | None = await self.session.scalar(
            select(Member).where(Member.id == member_id, Member.kind == kind).with_for_update()
        )
        return member

    async def find_by_wikidata(self, wikidata: str) -> Member | None:
        member: Member | None = await self.session.scalar(
            select(Member).where(Member.wikidata == wikidata)
        )
        return member

    async def find_by_geonames(self, geonames: int) -> Member | None:
        member: Member | None = await self.session.scalar(
            select(Member).where(Member.geonames == geonames)
        )
        return member

    async def list_page(
        self,
        page: PageRequest,
        *,
        kind: str,
        country: str | None,
        wikidata: str | None,
        network_id: uuid.UUID | None,
        as_of: date,
        q: str | None,
    ) -> tuple[Sequence[Member], str | None]:
        statement = select(Member).where(Member.kind == kind)
        if country is not None:
            statement = statement.where(Member.country_code == country)
        if wikidata is not None:
            statement = statement.where(Member.wikidata == wikidata)
        if network_id is not None:
            statement = statement.where(
                select(Membership.id)
                .where(
                    Membership.member_id == Member.id,
                    Membership.network_id == network_id,
                    Membership.period.contains(as_of),
                )
                .exists()
            )
        if q is None:
            return await fetch_page(
                self.session,
                statement,
                order_by=[Member.name, Member.id],
                page=page,
                key=lambda member: [member.name, member.id],
            )
        # Ranked by similarity, best first; ties by name.
        distance = (1 - func.word_similarity(search_key(q), Member.search_text, type_=Float)).label(
            "distance"
        )
        statement = statement.add_columns(distance).where(await name_matches(self.session, q))
        rows, cursor = await fetch_page(
            self.session,
            statement,
            order_by=[distance, Member.name, Member.id],
            page=page,
            key=lambda row: [row[1], row[0].name, row[0].id],
            rows=True,
        )
        return [row[0] for row in rows], cursor

    def add(self, member: Member) -> None:
        self.session.add(member)

    async def delete(self, member: Member) -> None:
        await self.session.delete(member)

    async def commitments(self, member_id: uuid.UUID, limit: int = 10) -> list[str]:
        """Descriptions of the member's memberships and tenures (what blocks deleting it)."""
        memberships = await self.session.execute(
            select(Network.slug, Membership.id, Membership.category)
            .join(Network, Network.id == Membership.network_id)
            .where(Membership.member_id == member_id)
            .order_by(Network.slug, Membership.start_date)
            .limit(limit)
        )
        tenures = await self.session.execute(
            select(Network.slug, Tenure.id)
            .join(Network, Network.id == Tenure.network_id)
            .where(Tenure.member_id == member_id)
            .order_by(Network.slug, Tenure.start_date)
            .limit(limit)
        )
        return [f"{slug} membership {id_} ({category})" for slug, id_, category in memberships] + [
            f"{slug} tenure {id_}" for slug, id_ in tenures
        ]

    async def find_all_by_wikidata(self, wikidata: Sequence[str]) -> dict[str, Member]:
        """The members (of either kind) carrying these wikidata ids, by wikidata id."""
        if not wikidata:
            return {}
        members = await self.session.scalars(
            select(Member).where(
                Member.wikidata == any_(bindparam("wikidata", list(wikidata), ARRAY(Text)))
            )
        )
        return {member.wikidata: member for member in members if member.wikidata is not None}

    async def match_city_names(
        self, wanted: Sequence[tuple[str, str]]
    ) -> list[tuple[int, Member, bool]]:
        """The cities whose name or an alternative name is one of ``wanted`` (name,
        country code), compared case- and accent-insensitively in that country.

        Each match is ``(index in wanted, city, matched on the name itself)``. One query
        for the whole list: the names travel as two arrays, not a parameter apiece.
        """
        if not wanted:
            return []
        requested = (
            func.unnest(
                bindparam("names", [name for name, _ in wanted], ARRAY(Text)),
                bindparam("countries", [country for _, country in wanted], ARRAY(Text)),
            )
            .table_valued("name", "country_code", with_ordinality="position")
            .render_derived()
        )
        alternative = func.unnest(Member.alt_names).table_valued("alt_name").render_derived()
        city_names = union_all(
            select(
                Member.id.label("member_id"),
                Member.country_code,
                _folded(Member.name).label("key"),
                literal(True).label("on_name"),
            ).where(Member.kind == "city"),
            select(
                Member.id,
                Member.country_code,
                _folded(alternative.c.alt_name),
                literal(False),
            )
            .select_from(Member)
            .join(alternative, true())
            .where(Member.kind == "city"),
        ).subquery("city_names")
        rows = await self.session.execute(
            select(requested.c.position, Member, city_names.c.on_name)
            .select_from(requested)
            .join(
                city_names,
                and_(
                    city_names.c.key == _folded(requested.c.name),
                    city_names.c.country_code == requested.c.country_code,
                ),
            )
            .join(Member, Member.id == city_names.c.member_id)
            .order_by(requested.c.position, Member.name, Member.id)
        )
        return [(int(position) - 1, member, bool(on_name)) for position, member, on_name in rows]


def _folded(text: ColumnElement[str] | InstrumentedAttribute[str]) -> ColumnElement[str]:
    """``text`` folded the way names are compared: lower case, accents removed."""
    return func.lower(func.unaccent(text))
