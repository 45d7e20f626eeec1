from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    ScalarSelect,
    Select,
    Text,
    any_,
    bindparam,
    func,
    literal_column,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import array
from sqlalchemy.orm import QueryableAttribute, aliased, joinedload

from netregistry.db import read_connection
from netregistry.kit.dates import PartialDate
from netregistry.kit.languages import NameChoice
from netregistry.kit.pagination import (
    JsonPage,
    PageRequest,
    json_array,
    json_object,
    json_page_rows,
    json_page_statement,
    json_value,
    page_parameters,
    read_json_page,
)
from netregistry.kit.repository import Repository
from netregistry.models import Member, Membership, Network, Role, Tenure
from netregistry.registry.names import matching_ids
from netregistry.registry.shapes import member_summary, membership_member_summary


class MembershipRepository(Repository[Membership]):
    model = Membership

    def base(self) -> Select[Membership]:
        return select(Membership).options(
            joinedload(Membership.member), joinedload(Membership.network)
        )

    async def get(
        self, network_id: uuid.UUID, membership_id: uuid.UUID, *, for_update: bool = False
    ) -> Membership | None:
        """The membership ``membership_id`` of the network ``network_id``."""
        return await self.get_by_id(
            membership_id, where=[Membership.network_id == network_id], for_update=for_update
        )

    async def list_page(
        self, network_id: uuid.UUID, page: PageRequest, *, member_id: uuid.UUID | None
    ) -> tuple[Sequence[Membership], str | None]:
        statement = self.base().where(Membership.network_id == network_id)
        if member_id is not None:
            statement = statement.where(Membership.member_id == member_id)
        return await self.page(
            statement,
            order_by=[Membership.created_at, Membership.id],
            page=page,
            key=lambda membership: [membership.created_at, membership.id],
        )

    async def of_network(self, network_id: uuid.UUID) -> Sequence[Membership]:
        """Every membership of the network, with its member, in the order of each
        member's periods."""
        return (
            await self.session.scalars(
                self.base()
                .where(Membership.network_id == network_id)
                .order_by(Membership.member_id, Membership.period, Membership.id)
            )
        ).all()

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
        statement = self.base().where(
            Membership.network_id == network_id,
            Membership.member_id == member_id,
            Membership.period.op("&&")(period),
        )
        if exclude is not None:
            statement = statement.where(Membership.id != exclude)
        membership: Membership | None = await self.session.scalar(statement.limit(1))
        return membership

    async def members_on(
        self,
        slug: str,
        as_of: date,
        page: PageRequest,
        *,
        category: str | None,
        country: str | None,
        kind: str | None,
        role: str | None,
        q: str | None,
        names: NameChoice | None = None,
    ) -> JsonPage:
        """The memberships of the network ``slug`` in force on ``as_of``, by member name,
        with the roles held that day, as JSON written by PostgreSQL: one statement.

        The anchor is the network's id (None: no such network). The statement is built
        once per shape (which filters, whether a cursor) by :func:`_members_on`.
        """
        after = page.after(MEMBER_ORDER)
        named = names is not None and not names.plain
        statement = _members_on(
            named=named,
            q=q is not None,
            country=country is not None,
            kind=kind is not None,
            role=role is not None,
            category=category is not None,
            after=after is not None,
        )
        parameters = page_parameters(page, after) | {
            "slug": slug,
            "as_of": as_of,
            "category": category,
            "country": country,
            "kind": kind,
            "role": role,
            "q": q,
        }
        if named and names is not None:
            parameters |= names.parameters()
        connection = await read_connection(self.session)
        return await read_json_page(
            connection, statement, parameters, page=page, keys=len(MEMBER_ORDER)
        )


# The member list's order: a unique key.
MEMBER_ORDER = (Member.name, Member.id)


@functools.cache
def _members_on(
    *,
    q: bool,
    country: bool,
    kind: bool,
    role: bool,
    category: bool,
    after: bool,
    named: bool = False,
) -> Select[Any]:
    """The member list's statement for one shape, with placeholders for every value:
    ``slug``, ``as_of``, the filters present (``q``, ``country``, ``kind``, ``role``,
    ``category``) and the page's (:func:`page_parameters`); ``named``: each member's
    name as a reader chose it (``name_langs``, ``name_day``, ``today``: see
    :func:`~netregistry.registry.names.display_name`), still in order of default names.

    A membership carries its member's name, kind and country (migrations 0008 and
    0012), so a list reads no other table than the memberships, except a name search.
    Two plans, of which PostgreSQL runs one: a network with many members is walked in
    member name order through ``ix_memberships_network_id_member_name_member_id`` (by
    country or kind through the index of that filter's value in name order), so a page
    costs the same at any depth; the others (smaller networks, and the role filter,
    which keeps few members) fetch the memberships in force through
    ``ix_memberships_network_period`` and sort them. A name search finds the matching
    members by trigram and probes each one's membership.
    """
    as_of = bindparam("as_of", type_=Date)
    network_id = select(Network.id).where(Network.slug == bindparam("slug")).scalar_subquery()
    size = select(_walks_in_name_order(network_id).label("walk")).cte("size")
    walk = select(size.c.walk).scalar_subquery()

    def member_filters(
        country_code: QueryableAttribute[str | None], member_kind: QueryableAttribute[Any]
    ) -> list[ColumnElement[bool]]:
        """The country and kind filters, on a member or on the facts a membership
        carries of its member."""
        conditions = []
        if country:
            conditions.append(country_code == bindparam("country"))
        if kind:
            conditions.append(member_kind == bindparam("kind"))
        return conditions

    if q:
        # The trigram index finds the matching members (a bitmap scan, materialized so
        # that no plan walks all members instead); each probes its membership.
        matches = (
            matching_ids(bindparam("q", type_=Text)).cte("matches").prefix_with("MATERIALIZED")
        )
        member = aliased(
            Member,
            select(Member)
            .where(Member.id == matches.c.id, *member_filters(Member.country_code, Member.kind))
            .limit(1)
            .lateral("member"),
        )
        matched = _probed_membership(member, network_id, as_of, category=category)
        statement = select(matches.c.id).join(member, true()).join(matched, true())
        if role:
            statement = statement.where(_holds(matched, as_of))
        page = json_page_rows(
            statement,
            document=_member_row(matched, member_summary(member, named=named), as_of),
            order_by=[member.name, member.id],
            after=after,
        )
        return json_page_statement([page], keys=len(MEMBER_ORDER), anchor=network_id)

    of_network = [
        Membership.network_id == network_id,
        *member_filters(Membership.member_country, Membership.member_kind),
    ]
    if category:
        of_network.append(Membership.category == bindparam("category"))
    document = _member_row(Membership, membership_member_summary(named=named), as_of)
    order_by = [Membership.member_name, Membership.member_id]
    pages = []
    if not role:
        # The period tested on each entry walked, not searched for in the GiST index:
        # PostgreSQL's estimate of the memberships in force on a day is far too low,
        # and with ``period @>`` as an index condition it fetches them all and sorts.
        walked = select(Membership.id).where(
            walk, *of_network, Membership.period.contains(as_of).is_(True)
        )
        pages.append(json_page_rows(walked, document=document, order_by=order_by, after=after))
    fetched = select(Membership.id).where(*of_network, Membership.period.contains(as_of))
    if role:
        fetched = fetched.where(_holds(Membership, as_of))
    if pages:
        fetched = fetched.where(~walk)
    pages.append(json_page_rows(fetched, document=document, order_by=order_by, after=after))
    return json_page_statement(pages, keys=len(MEMBER_ORDER), anchor=network_id)


def _probed_membership(
    member: type[Member],
    network_id: ScalarSelect[uuid.UUID],
    as_of: ColumnElement[date],
    *,
    category: bool,
) -> type[Membership]:
    """The member's membership in force, probed per member (a nested loop) through the
    btree ``ix_memberships_network_id_member_id``.

    The member is matched as ``= ANY(ARRAY[id])``, which a btree answers and a GiST
    index does not: otherwise PostgreSQL prefers the exclusion constraint's GiST index
    (on network, member and period), whose probe reads about three times the pages of
    the btree's, the period then checked on the one row found.
    """
    probe = select(Membership).where(
        Membership.network_id == network_id,
        Membership.member_id == any_(array([member.id])),
        Membership.period.contains(as_of),
    )
    if category:
        probe = probe.where(Membership.category == bindparam("category"))
    # One membership is in force; LIMIT 1 keeps the probe below the member scan.
    return aliased(Membership, probe.limit(1).lateral("membership"))


def _holds(membership: type[Membership], as_of: ColumnElement[date]) -> ColumnElement[bool]:
    """The member holds the role ``role`` (a placeholder) of the membership's network on
    ``as_of``."""
    return (
        select(literal_column("1"))
        .select_from(Tenure)
        .join(Role, Role.id == Tenure.role_id)
        .where(
            Tenure.network_id == membership.network_id,
            Tenure.member_id == membership.member_id,
            Role.slug == bindparam("role"),
            Tenure.period.contains(as_of),
        )
        .exists()
    )


# A network with at least this many memberships is walked in member name order.
WALK_FROM = 2000


def _walks_in_name_order(network_id: ScalarSelect[uuid.UUID]) -> ColumnElement[bool]:
    """True for a network of at least :data:`WALK_FROM` memberships: evaluated once per
    statement, reading at most that many index entries."""
    some: Select[Any] = (
        select(literal_column("1")).where(Membership.network_id == network_id).limit(WALK_FROM)
    )
    return select(func.count()).select_from(some.subquery()).scalar_subquery() >= WALK_FROM


def _member_row(
    membership: type[Membership], member: ColumnElement[str], as_of: ColumnElement[date]
) -> ColumnElement[str]:
    """A :class:`MemberListRow` as JSON text, for a membership and its ``member``'s
    summary."""
    role = json_object(
        {
            "role": json_value(Role.slug),
            "tenure_id": json_value(Tenure.id),
            "start_date": json_value(Tenure.start_date),
            "end_date": json_value(Tenure.end_date),
        }
    )
    roles = (
        select(json_array(role, Role.slug))
        .select_from(Tenure)
        .join(Role, Role.id == Tenure.role_id)
        .where(
            Tenure.network_id == membership.network_id,
            # Through the btree ix_tenures_member_id, as in the membership's probe: most
            # members hold no role, and the btree says so in fewer pages than the GiST.
            # The period is tested on the rows found, not searched for: a GiST on the
            # network's tenures in force would read the same pages for every row.
            Tenure.member_id == any_(array([membership.member_id])),
            Tenure.period.contains(as_of).is_(True),
        )
        .correlate(membership)
        .scalar_subquery()
    )
    return json_object(
        {
            "membership_id": json_value(membership.id),
            "member": member,
            "category": json_value(membership.category),
            "start_date": json_value(membership.start_date),
            "end_date": json_value(membership.end_date),
            "roles": roles,
        }
    )
