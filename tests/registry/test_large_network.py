"""A network large enough to be walked in member name order (``WALK_FROM`` memberships
or more) lists exactly the memberships in force, in name order, with every filter, on
every page; smaller networks take the other plan and are checked everywhere else.

The 2,400 cities and their memberships are written by COPY (through the API they would
take minutes), with the triggers the API's writes fire: each membership takes its
member's name, kind and country from the database, as it does for the API's writes.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from netregistry.memberships.repository import WALK_FROM
from tests.registry import builders

AS_OF = date(2020, 6, 1)
COUNTRIES = ["KR", "JP", "FR"]


@dataclass(frozen=True)
class Listed:
    """A membership as the list shows it, and what decides whether it is in force."""

    name: str
    member_id: uuid.UUID
    country: str
    category: str
    start: date
    end: date | None

    def in_force(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day < self.end)


def _name(rng: random.Random) -> str:
    # Letters only, capitalised: every collation orders these as Python does.
    return "".join(rng.choice("abcdefgh") for _ in range(rng.randint(2, 5))).title()


async def _large_network(database_url: str) -> list[Listed]:
    dsn = make_url(database_url).set(drivername="postgresql").render_as_string(False)
    connection = await asyncpg.connect(dsn)
    network_id = uuid.UUID(
        str(await connection.fetchval("SELECT id FROM networks WHERE slug = 'citynet'"))
    )
    rng = random.Random(7)
    listed: list[Listed] = []
    members, memberships = [], []
    for _ in range(WALK_FROM + 400):
        member_id, name, country = uuid.uuid4(), _name(rng), rng.choice(COUNTRIES)
        start = date(rng.randint(1987, 2025), rng.randint(1, 12), 1)
        end = date(start.year + rng.randint(1, 30), 1, 1) if rng.random() < 0.3 else None
        category = rng.choice(["full", "associate"])
        members.append((member_id, "city", name, country))
        memberships.append(
            (
                uuid.uuid4(),
                network_id,
                member_id,
                category,
                start.isoformat(),
                end and end.isoformat(),
            )
        )
        listed.append(Listed(name, member_id, country, category, start, end))
    try:
        await connection.copy_records_to_table(
            "members", records=members, columns=["id", "kind", "name", "country_code"]
        )
        await connection.copy_records_to_table(
            "memberships",
            records=memberships,
            columns=["id", "network_id", "member_id", "category", "start_date", "end_date"],
        )
        await connection.execute("ANALYZE")
    finally:
        await connection.close()
    return listed


async def _every_page(client: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    query: dict[str, Any] = {"as_of": AS_OF.isoformat(), "limit": 700, **params}
    while True:
        response = await client.get("/v1/networks/citynet/members", params=query)
        assert response.status_code == 200, response.text
        page = response.json()
        items += page["items"]
        if page["next_cursor"] is None:
            return items
        query["cursor"] = page["next_cursor"]


@pytest.mark.parametrize(
    "filters",
    [{}, {"country": "KR"}, {"category": "associate"}, {"kind": "city", "country": "FR"}],
    ids=["all", "country", "category", "kind-and-country"],
)
async def test_a_large_network_lists_its_members_in_force_in_name_order_on_every_page(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    database_url: str,
    filters: dict[str, str],
) -> None:
    await builders.network(client, admin_headers, membership_categories=["full", "associate"])
    listed = await _large_network(database_url)
    expected = sorted(
        (entry.name, entry.member_id)
        for entry in listed
        if entry.in_force(AS_OF)
        and entry.country == filters.get("country", entry.country)
        and entry.category == filters.get("category", entry.category)
    )
    items = await _every_page(client, **filters)
    assert [(item["member"]["name"], uuid.UUID(item["member"]["id"])) for item in items] == (
        expected
    )
    by_id = {entry.member_id: entry for entry in listed}
    for item in items:
        entry = by_id[uuid.UUID(item["member"]["id"])]
        assert item["member"] == {
            "id": str(entry.member_id),
            "kind": "city",
            "name": entry.name,
            "country_code": entry.country,
        }
        assert (item["category"], item["start_date"]) == (entry.category, entry.start.isoformat())


async def test_a_large_network_shows_a_renamed_member_under_its_new_name_and_place(
    client: httpx.AsyncClient, admin_headers: dict[str, str], database_url: str
) -> None:
    await builders.network(client, admin_headers, membership_categories=["full", "associate"])
    listed = await _large_network(database_url)
    first = min((entry.name, entry.member_id) for entry in listed if entry.in_force(AS_OF))
    path = f"/v1/cities/{first[1]}"
    etag = (await client.get(path)).headers["etag"]
    renamed = await client.patch(
        path, json={"name": "Zzz Renamed"}, headers={**admin_headers, "If-Match": etag}
    )
    assert renamed.status_code == 200, renamed.text
    items = await _every_page(client)
    assert items[0]["member"]["id"] != str(first[1])
    assert items[-1]["member"] == {
        "id": str(first[1]),
        "kind": "city",
        "name": "Zzz Renamed",
        "country_code": next(entry.country for entry in listed if entry.member_id == first[1]),
    }
