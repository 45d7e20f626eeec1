from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

import orjson
from sqlalchemy import (
    Date,
    Float,
    Integer,
    Select,
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
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects.postgresql import ARRAY

from netregistry.db import read_connection
from netregistry.kit.pagination import (
    Column,
    PageRequest,
    RowPage,
    page_parameters,
    read_row_page,
    row_page_statement,
)
from netregistry.kit.repository import Repository
from netregistry.models import Member, Membership, Network, Tenure
from netregistry.registry.names import fold_name, name_matches, search_key
from netregistry.registry.shapes import member_summary, names_json


class MemberRepository(Repository[Member]):
    model = Member

    async def get(self, member_id: uuid.UUID, *, kind: str | None = None) -> Member | None:
        """The member ``member_id`` (of ``kind``, when given)."""
        return await self.get_by_id(member_id, where=[Member.kind == kind] if kind else [])

    async def get_for_update(self, member_id: uuid.UUID, kind: str) -> Member | None:
        return await self.get_by_id(member_id, where=[Member.kind == kind], for_update=True)

    async def find_city(self, name: str, country_code: str) -> Member | None:
        """A city of exactly this name in this country (the first, if there are more)."""
        statement = select(Member).where(
            Member.kind == "city", Member.name == name, Member.country_code == country_code
        )
        city: Member | None = await self.session.scalar(statement.limit(1))
        return city

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

    async def read_one(
        self, member_id: uuid.UUID, kind: str, fields: Sequence[str]
    ) -> dict[str, Any] | None:
        """The member's ``fields`` (column names) as a dict, or None: one statement."""
        statement = _read_one(tuple(fields))
        connection = await read_connection(self.session)
        row = (await connection.execute(statement, {"id": member_id, "kind": kind})).first()
        return None if row is None else _with_names(dict(zip(fields, row, strict=True)))

    async def read_page(
        self,
        page: PageRequest,
        fields: Sequence[str],
        *,
        kind: str,
        country: str | None,
        wikidata: str | None,
        network: str | None,
        as_of: date,
        q: str | None,
    ) -> RowPage:
        """A page of members as dicts of ``fields``, in one statement: by name, or by
        how well the name matches ``q``. With ``network``, only its members on
        ``as_of``; the anchor is then the network's id (None: no such network)."""
        order_by = _SEARCH_ORDER if q is not None else _NAME_ORDER
        after = page.after(order_by)
        statement = _read_page(
            tuple(fields),
            country=country is not None,
            wikidata=wikidata is not None,
            network=network is not None,
            q=q is not None,
            after=after is not None,
        )
        parameters = page_parameters(page, after) | {
            "kind": kind,
            "country": country,
            "wikidata": wikidata,
            "network": network,
            "as_of": as_of,
            "q": q,
        }
        connection = await read_connection(self.session)
        found = await read_row_page(
            connection,
            statement,
            parameters,
            fields,
            page=page,
            keys=len(order_by),
            anchor=network is not None,
        )
        for item in found.items:
            _with_names(item)
        return found

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

    async def lookup(
        self, identifiers: Sequence[str], *, named: bool, names: dict[str, Any]
    ) -> dict[str, tuple[str, str]]:
        """The members these identifiers name, in one statement: for each identifier
        found, its scheme and the member's summary as JSON text (:func:`member_summary`,
        named as ``names``, the reader's choice of names, says when ``named``)."""
        by_scheme: dict[str, list[Any]] = {scheme: [] for scheme in _SCHEMES}
        for identifier in identifiers:
            scheme = scheme_of(identifier)
            if scheme == "geonames":
                if int(identifier) <= _MAX_GEONAMES:
                    by_scheme[scheme].append(int(identifier))
            else:
                by_scheme[scheme].append(identifier)
        connection = await read_connection(self.session)
        result = await connection.execute(_lookup(named), by_scheme | (names if named else {}))
        return {str(value): (scheme, summary) for scheme, value, summary in result.all()}

    async def match_names(
        self, wanted: Sequence[tuple[str, str, str]]
    ) -> list[tuple[int, Member, bool]]:
        """The members whose name or an alternative name is one of ``wanted`` (name,
        country code, kind) in that country and of that kind, compared by their folded
        keys (:func:`fold_name`).

        Each match is ``(index in wanted, member, matched on the name itself)``. One
        query for the whole list: the names travel as three arrays, not a parameter
        apiece.
        """
        if not wanted:
            return []
        requested = (
            func.unnest(
                bindparam("names", [name for name, _, _ in wanted], ARRAY(Text)),
                bindparam("countries", [country for _, country, _ in wanted], ARRAY(Text)),
                bindparam("kinds", [kind for _, _, kind in wanted], ARRAY(Text)),
            )
            .table_valued("name", "country_code", "kind", with_ordinality="position")
            .render_derived()
        )
        alternative = func.unnest(Member.alt_names).table_valued("alt_name").render_derived()
        member_names = union_all(
            select(
                Member.id.label("member_id"),
                Member.kind,
                Member.country_code,
                fold_name(Member.name).label("key"),
                literal(True).label("on_name"),
            ),
            select(
                Member.id,
                Member.kind,
                Member.country_code,
                fold_name(alternative.c.alt_name),
                literal(False),
            )
            .select_from(Member)
            .join(alternative, true()),
        ).subquery("member_names")
        rows = await self.session.execute(
            select(requested.c.position, Member, member_names.c.on_name)
            .select_from(requested)
            .join(
                member_names,
                and_(
                    member_names.c.key == fold_name(requested.c.name),
                    member_names.c.country_code == requested.c.country_code,
                    member_names.c.kind == requested.c.kind,
                ),
            )
            .join(Member, Member.id == member_names.c.member_id)
            .order_by(requested.c.position, Member.name, Member.id)
        )
        return [(int(position) - 1, member, bool(on_name)) for position, member, on_name in rows]


# The stored identifiers a lookup reads, each by its unique index (migrations 0002, 0016).
_SCHEMES: dict[str, Any] = {
    "wikidata": (Member.wikidata, Text),
    "geonames": (Member.geonames, Integer),
    "iso3166_2": (Member.iso3166_2, Text),
    "unlocode": (Member.unlocode, Text),
}
_MAX_GEONAMES = 2_147_483_647


def scheme_of(identifier: str) -> str:
    """The scheme of an identifier of :data:`IDENTIFIER_PATTERN`'s shape."""
    if identifier.startswith("Q") and identifier[1:].isdigit():
        return "wikidata"
    if identifier.isdigit():
        return "geonames"
    return "iso3166_2" if "-" in identifier else "unlocode"


@functools.cache
def _lookup(named: bool) -> Any:
    """The lookup's statement: one branch a scheme, with a placeholder for its array."""
    return union_all(
        *(
            select(literal(scheme), sql_cast(column, Text), member_summary(named=named)).where(
                column == any_(bindparam(scheme, type_=ARRAY(type_)))
            )
            for scheme, (column, type_) in _SCHEMES.items()
        )
    )


def _columns(fields: Sequence[str]) -> list[Any]:
    """The member's columns named ``fields``; ``names`` is its names as JSON text."""
    return [
        names_json(Member.id).label("names") if field == "names" else getattr(Member, field)
        for field in fields
    ]


def _with_names(row: dict[str, Any]) -> dict[str, Any]:
    """``row`` with its names' JSON text embedded as JSON, not as a string."""
    if "names" in row:
        row["names"] = orjson.Fragment(row["names"])
    return row


@functools.cache
def _read_one(fields: tuple[str, ...]) -> Select[Any]:
    """One member's ``fields``, with placeholders for ``id`` and ``kind``."""
    return select(*_columns(fields)).where(
        Member.id == bindparam("id"), Member.kind == bindparam("kind")
    )


# How well a name matches the search (0 best), as :func:`_read_page` orders by it.
_DISTANCE = (
    1
    - func.word_similarity(search_key(bindparam("q", type_=Text)), Member.search_text, type_=Float)
).label("distance")
_NAME_ORDER: tuple[Column, ...] = (Member.name, Member.id)
_SEARCH_ORDER: tuple[Column, ...] = (_DISTANCE, Member.name, Member.id)


@functools.cache
def _read_page(
    fields: tuple[str, ...], *, country: bool, wikidata: bool, network: bool, q: bool, after: bool
) -> Select[Any]:
    """The member list's statement for one shape, with placeholders for ``kind``, the
    filters present (``country``, ``wikidata``, ``network`` with ``as_of``, ``q``) and
    the page's (:func:`page_parameters`)."""
    statement = select(*_columns(fields)).where(Member.kind == bindparam("kind"))
    if country:
        statement = statement.where(Member.country_code == bindparam("country"))
    if wikidata:
        statement = statement.where(Member.wikidata == bindparam("wikidata"))
    network_id = None
    if network:
        network_id = (
            select(Network.id).where(Network.slug == bindparam("network")).scalar_subquery()
        )
        statement = statement.where(
            select(Membership.id)
            .where(
                Membership.member_id == Member.id,
                Membership.network_id == network_id,
                Membership.period.contains(bindparam("as_of", type_=Date)),
            )
            .exists()
        )
    order_by = _NAME_ORDER
    if q:
        # Ranked by similarity, best first; ties by name. The trigram index finds the
        # matches, read with the other conditions in one bitmap heap scan (no order by
        # name to walk instead); only they are ranked.
        statement = statement.add_columns(_DISTANCE).where(name_matches(bindparam("q", type_=Text)))
        order_by = _SEARCH_ORDER
    return row_page_statement(statement, order_by=order_by, after=after, anchor=network_id)
