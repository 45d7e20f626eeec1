from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Date,
    ScalarSelect,
    Select,
    String,
    Text,
    Uuid,
    any_,
    bindparam,
    delete,
    desc,
    func,
    insert,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY

from netregistry.db import read_connection
from netregistry.kit.languages import NameChoice
from netregistry.kit.pagination import (
    PageRequest,
    json_array,
    json_object,
    json_object_of,
    json_value,
    sql_text,
)
from netregistry.kit.repository import Repository
from netregistry.models import (
    CategoryLabel,
    Declaration,
    Member,
    Membership,
    Network,
    Role,
    Tenure,
)
from netregistry.registry.shapes import member_summary


class NetworkRepository(Repository[Network]):
    model = Network

    def base(self) -> Select[Network]:
        return select(Network)

    async def list_page(self, page: PageRequest) -> tuple[Sequence[Network], str | None]:
        return await self.page(
            self.base(),
            order_by=[Network.slug],
            page=page,
            key=lambda network: [network.slug],
        )

    async def category_labels(
        self, network_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, list[dict[str, Any]]]:
        """Each network's category labels, in their order, in one statement."""
        found: dict[uuid.UUID, list[dict[str, Any]]] = {
            network_id: [] for network_id in network_ids
        }
        if not network_ids:
            return found
        rows = await self.session.execute(
            select(
                CategoryLabel.network_id,
                CategoryLabel.category,
                CategoryLabel.lang,
                CategoryLabel.label,
                CategoryLabel.description,
            )
            .where(
                CategoryLabel.network_id == any_(bindparam("ids", list(network_ids), ARRAY(Uuid)))
            )
            .order_by(CategoryLabel.network_id, CategoryLabel.position)
        )
        for network_id, category, lang, label, description in rows:
            found[network_id].append(
                {"category": category, "lang": lang, "label": label, "description": description}
            )
        return found

    async def replace_category_labels(
        self, network_id: uuid.UUID, labels: Sequence[dict[str, Any]]
    ) -> None:
        """Make ``labels`` the network's category labels, in this order."""
        await self.session.execute(
            delete(CategoryLabel).where(CategoryLabel.network_id == network_id)
        )
        if labels:
            await self.session.execute(
                insert(CategoryLabel),
                [
                    {"network_id": network_id, "position": position, **label}
                    for position, label in enumerate(labels, start=1)
                ],
            )

    async def drop_category_labels(self, network_id: uuid.UUID, categories: Sequence[str]) -> None:
        """Remove the labels of ``categories`` (categories the network no longer has)."""
        await self.session.execute(
            delete(CategoryLabel).where(
                CategoryLabel.network_id == network_id,
                CategoryLabel.category == any_(bindparam("gone", list(categories), ARRAY(Text))),
            )
        )

    async def stats(
        self, slug: str, as_of: date, names: NameChoice | None = None
    ) -> tuple[uuid.UUID | None, str]:
        """The network's :class:`NetworkStats` on ``as_of`` as JSON written by PostgreSQL,
        in one statement, with the network's id (None: no such network); the role
        holders named by ``names`` (None or plain: their default names)."""
        parameters: dict[str, Any] = {
            "slug": slug,
            "as_of": as_of,
            "as_of_json": json.dumps(as_of.isoformat()),
        }
        chosen = names if names is not None and not names.plain else None
        if chosen is not None:
            parameters |= chosen.parameters()
        connection = await read_connection(self.session)
        row = (await connection.execute(_stats(named=chosen is not None), parameters)).one()
        return row[0], row[1]


@functools.cache
def _stats(*, named: bool = False) -> Select[uuid.UUID, str]:
    """The stats' statement, built once, with placeholders for ``slug``, ``as_of`` and
    ``as_of_json`` (the day as JSON text, as the API writes it); ``named``: the role
    holders named as a reader chose (the placeholders of a
    :class:`~netregistry.kit.languages.NameChoice`)."""
    slug = bindparam("slug", type_=String)
    as_of = bindparam("as_of", type_=Date)
    network = select(Network.id, Network.membership_categories).where(Network.slug == slug)
    network_id = network.with_only_columns(Network.id).scalar_subquery()
    # The memberships in force, counted once per (category, country), the organizations
    # among them too: one pass over all the network's memberships, which carry their member's
    # kind and country (migration 0008), so no other table is read; every figure below
    # sums these few groups instead of reading the memberships again. The day is a
    # filter of the counts, not of the rows, and the groups have two keys, not three:
    # with the statement prepared, PostgreSQL's generic plan then hashes the groups
    # instead of sorting the rows, which halves the time on a network of 15,000.
    in_force = Membership.period.contains(as_of)
    members = func.count().filter(in_force)
    current = (
        select(
            Membership.category,
            Membership.member_country.label("country_code"),
            members.label("n"),
            # The kind first: PostgreSQL then tests the day only for organizations.
            func.count()
            .filter(Membership.member_kind == "organization", in_force)
            .label("organizations"),
        )
        .where(Membership.network_id == network_id)
        .group_by(Membership.category, Membership.member_country)
        .having(members > 0)
        .cte("current")
    )

    def total(counted: ColumnElement[int]) -> ScalarSelect[int]:
        """The sum of ``counted`` (a column of ``current``) over the groups."""
        return select(func.coalesce(func.sum(counted), 0).cast(BigInteger)).scalar_subquery()

    per_category = (
        select(current.c.category, func.sum(current.c.n).cast(BigInteger).label("n"))
        .group_by(current.c.category)
        .subquery("per_category")
    )
    categories = (
        func.unnest(network.with_only_columns(Network.membership_categories).scalar_subquery())
        .table_valued("category", with_ordinality="position")
        .render_derived()
    )
    # Every category of the network in its order, 0 included (then any other).
    by_category = (
        select(
            json_object_of(
                json_value(func.coalesce(categories.c.category, per_category.c.category)),
                json_value(func.coalesce(per_category.c.n, 0)),
                categories.c.position.nulls_last(),
                per_category.c.category,
            )
        )
        .select_from(
            categories.join(
                per_category,
                per_category.c.category == categories.c.category,
                full=True,
            )
        )
        .scalar_subquery()
    )

    per_country = (
        select(current.c.country_code, func.sum(current.c.n).cast(BigInteger).label("n"))
        .where(current.c.country_code.is_not(None))
        .group_by(current.c.country_code)
        .subquery("per_country")
    )
    # Members per country, the most first (then by code).
    by_country = (
        select(
            json_object_of(
                json_value(per_country.c.country_code),
                json_value(per_country.c.n),
                per_country.c.n.desc(),
                per_country.c.country_code,
            )
        )
        .select_from(per_country)
        .scalar_subquery()
    )

    holders = (
        select(
            json_array(member_summary(named=named), Member.name, Member.id).label("holders"),
        )
        .select_from(Tenure)
        .join(Member, Member.id == Tenure.member_id)
        .where(Tenure.role_id == Role.id, Tenure.period.contains(as_of))
        .correlate(Role)
        .scalar_subquery()
    )
    role_holders = (
        select(json_object_of(json_value(Role.slug), holders, Role.slug))
        .where(Role.network_id == network_id)
        .scalar_subquery()
    )
    document = json_object(
        {
            "network": json_value(slug),
            "declared": func.coalesce(_declared(network, network_id, as_of), sql_text("null")),
            "as_of": bindparam("as_of_json", type_=Text),
            "members_total": json_value(total(current.c.n)),
            "by_category": by_category,
            "by_kind": json_object(
                {
                    "city": json_value(total(current.c.n - current.c.organizations)),
                    "organization": json_value(total(current.c.organizations)),
                }
            ),
            "countries": json_value(
                select(func.count(func.distinct(current.c.country_code))).scalar_subquery()
            ),
            "by_country": by_country,
            "role_holders": role_holders,
        }
    )
    return select(network_id, document)


def _declared(
    network: Select[uuid.UUID, list[str]], network_id: ScalarSelect[uuid.UUID], as_of: Any
) -> ScalarSelect[str]:
    """The declaration in force on ``as_of`` as JSON text (NULL: none): the latest whose
    date began on or before that day (a year or month: its first day), its categories in
    the network's order."""
    entries = func.jsonb_each(Declaration.by_category).table_valued("key", "value").render_derived()
    categories = network.with_only_columns(Network.membership_categories).scalar_subquery()
    by_category = (
        select(
            json_object_of(
                json_value(entries.c.key),
                entries.c.value.cast(Text),
                func.array_position(categories, entries.c.key).nulls_last(),
                entries.c.key,
            )
        )
        .select_from(entries)
        .correlate(Declaration)
        .scalar_subquery()
    )
    return (
        select(
            json_object(
                {
                    "date": json_value(Declaration.date),
                    "by_category": by_category,
                    "total": json_value(Declaration.total),
                    "countries": json_value(Declaration.countries),
                    "source": json_value(Declaration.source),
                    "source_url": json_value(Declaration.source_url),
                    "note": json_value(Declaration.note),
                }
            )
        )
        .where(
            Declaration.network_id == network_id,
            func.partial_date_first_day(Declaration.date) <= as_of,
        )
        .order_by(desc(Declaration.date))
        .limit(1)
        .scalar_subquery()
    )
