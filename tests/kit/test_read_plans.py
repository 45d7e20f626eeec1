"""The cold reads' statements keep the plans that make them fast at world size: the
member list walks the network's memberships in member name order and reads no member
(each membership carries its member's name, kind and country), probes roles through a
btree, and name searches are answered by the trigram index.

Checked with EXPLAIN on a small registry, sequential scans and sorts off so that the
planner chooses between indexes as it does on a big one (where sorting a large network's
memberships in force costs more than walking them in order).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import Select
from sqlalchemy.dialects.postgresql import asyncpg as asyncpg_dialect
from sqlalchemy.engine import make_url

from netregistry.db import SEARCH_THRESHOLD
from netregistry.memberships import repository as memberships
from tests.registry import builders

AS_OF = date(2020, 6, 1)
PAGE = {"page_limit": 100, "page_fetch": 101}


async def _plan(database_url: str, statement: Select[Any], values: dict[str, Any]) -> Any:
    compiled = statement.compile(dialect=asyncpg_dialect.dialect())
    arguments = [
        values[name] if name in values else compiled.binds[name].value
        for name in compiled.positiontup or ()
    ]
    dsn = make_url(database_url).set(drivername="postgresql").render_as_string(False)
    connection = await asyncpg.connect(
        dsn, server_settings={"pg_trgm.word_similarity_threshold": str(SEARCH_THRESHOLD)}
    )
    try:
        await connection.execute("ANALYZE")
        await connection.execute("SET enable_seqscan = off")
        await connection.execute("SET enable_sort = off")
        found = await connection.fetchval("EXPLAIN (FORMAT JSON) " + compiled.string, *arguments)
    finally:
        await connection.close()
    return json.loads(found)[0]["Plan"]


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def _indexes(plan: dict[str, Any], relation: str) -> set[str]:
    """The indexes read for ``relation`` (bitmap index scans name no relation: they
    count for every relation)."""
    return {
        node["Index Name"]
        for node in _nodes(plan)
        if "Index Name" in node and node.get("Relation Name", relation) == relation
    }


def _relations(plan: dict[str, Any]) -> set[str]:
    return {node["Relation Name"] for node in _nodes(plan) if "Relation Name" in node}


def _members_on(**shape: bool) -> Select[Any]:
    flags = dict.fromkeys(("q", "country", "kind", "role", "category", "after"), False)
    return memberships._members_on(**(flags | shape))


async def _seed(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    await builders.network(client, admin_headers)
    await builders.role(client, admin_headers, "executive", max_holders=None)
    for name, country in [("Seoul", "KR"), ("Busan", "KR"), ("Lyon", "FR")]:
        city = await builders.city(client, admin_headers, name, country_code=country)
        await builders.membership(client, admin_headers, city["id"], start_date="1987")
        await builders.tenure(
            client, admin_headers, city["id"], role="executive", start_date="1990"
        )


async def test_the_member_list_walks_memberships_in_name_order_and_reads_no_member(
    client: httpx.AsyncClient, admin_headers: dict[str, str], database_url: str
) -> None:
    await _seed(client, admin_headers)
    values = PAGE | {"slug": "citynet", "as_of": AS_OF}
    plan = await _plan(database_url, _members_on(), values)
    indexes = _indexes(plan, "memberships")
    assert "ix_memberships_network_id_member_name_member_id" in indexes
    assert "ex_memberships_no_overlap" not in indexes
    assert "ix_tenures_member_id" in _indexes(plan, "tenures")
    assert "members" not in _relations(plan)


@pytest.mark.parametrize(
    ("shape", "index"),
    [
        ({"country": "KR"}, "ix_memberships_network_id_member_country_member_name_member_id"),
        ({"kind": "city"}, "ix_memberships_network_id_member_kind_member_name_member_id"),
    ],
    ids=["country", "kind"],
)
async def test_a_country_or_kind_filter_walks_its_index_in_name_order_and_reads_no_member(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    database_url: str,
    shape: dict[str, str],
    index: str,
) -> None:
    await _seed(client, admin_headers)
    values = PAGE | {"slug": "citynet", "as_of": AS_OF} | shape
    plan = await _plan(database_url, _members_on(**dict.fromkeys(shape, True)), values)
    assert index in _indexes(plan, "memberships")
    assert "members" not in _relations(plan)


async def test_a_name_search_in_a_network_is_answered_by_the_trigram_index(
    client: httpx.AsyncClient, admin_headers: dict[str, str], database_url: str
) -> None:
    # (/v1/cities?q= reads the trigram index too, but on three cities PostgreSQL rightly
    # prefers reading them all: that choice is checked at world size only.)
    await _seed(client, admin_headers)
    plan = await _plan(
        database_url,
        _members_on(q=True),
        PAGE | {"slug": "citynet", "as_of": AS_OF, "q": "seoul"},
    )
    assert "ix_members_search_text" in _indexes(plan, "members")
    assert "ex_memberships_no_overlap" not in _indexes(plan, "memberships")
