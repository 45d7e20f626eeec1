"""A rule change racing twenty writes that depend on it, through the HTTP API.

The rule lock of a network (``registry/rules.py``) is taken shared by the writes and
exclusively by a change to the rules: whichever runs first, the other sees its result.
So each race below has exactly two allowed outcomes, the change first or the writes
first, and never a mix in which both succeed and a rule is broken.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import httpx

from tests.conftest import Database
from tests.registry import builders

Headers = dict[str, str]
NETWORK = "/v1/networks/citynet"
WRITES = 20


def statuses(responses: list[httpx.Response]) -> Counter[int]:
    return Counter(response.status_code for response in responses)


def unexpected(responses: list[httpx.Response]) -> list[str]:
    return [r.text for r in responses if r.status_code >= 500]


async def race(change: Any, writes: list[Any]) -> tuple[httpx.Response, list[httpx.Response]]:
    """Send the rule change among the writes (after a quarter of them) at once."""
    calls = list(writes)
    calls.insert(len(calls) // 4, change)
    responses = await asyncio.gather(*calls)
    position = len(writes) // 4
    return responses[position], [*responses[:position], *responses[position + 1 :]]


async def test_dropping_a_category_while_twenty_memberships_in_it_are_written(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    await builders.network(
        client, admin_headers, membership_categories=["full", "associate", "observer"]
    )
    cities = await builders.gather_in_batches(
        [builders.city(client, admin_headers, f"City {n:02d}", "KR") for n in range(WRITES)]
    )
    dropped, joined = await race(
        client.patch(
            NETWORK, json={"membership_categories": ["full", "associate"]}, headers=admin_headers
        ),
        [
            client.post(
                f"{NETWORK}/memberships",
                json={"member_id": city["id"], "category": "observer"},
                headers=admin_headers,
            )
            for city in cities
        ],
    )
    outcome = (dropped.status_code, statuses(joined))
    assert outcome in [(200, {422: WRITES}), (409, {201: WRITES})], (
        outcome,
        unexpected([dropped, *joined]),
    )
    categories = (await client.get(NETWORK)).json()["membership_categories"]
    assert (
        await db.scalar(
            "SELECT count(*) FROM memberships WHERE NOT category = ANY(CAST(:kept AS text[]))",
            kept=categories,
        )
        == 0
    )


async def test_narrowing_a_roles_categories_while_twenty_holders_change_category(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    await builders.network(client, admin_headers)
    cities = await builders.members_of(
        client, admin_headers, [f"City {n:02d}" for n in range(WRITES)], start_date="2000"
    )
    await builders.role(
        client, admin_headers, "executive", max_holders=None, eligible_categories=None
    )
    await builders.gather_in_batches(
        [
            builders.tenure(client, admin_headers, city["id"], role="executive", start_date="2014")
            for city in cities
        ]
    )
    memberships = (await client.get(f"{NETWORK}/memberships", params={"limit": 100})).json()
    narrowed, moved = await race(
        client.patch(
            f"{NETWORK}/roles/executive",
            json={"eligible_categories": ["full"]},
            headers=admin_headers,
        ),
        [
            client.patch(
                f"{NETWORK}/memberships/{membership['id']}",
                json={"category": "associate"},
                headers=admin_headers,
            )
            for membership in memberships["items"]
        ],
    )
    outcome = (narrowed.status_code, statuses(moved))
    assert outcome in [(200, {409: WRITES}), (409, {200: WRITES})], (
        outcome,
        unexpected([narrowed, *moved]),
    )
    held_by_associates = await db.scalar(
        "SELECT count(*) FROM tenures t JOIN roles r ON r.id = t.role_id "
        "JOIN memberships m ON m.member_id = t.member_id AND m.network_id = t.network_id "
        "WHERE r.eligible_categories IS NOT NULL AND NOT m.category = ANY(r.eligible_categories)"
    )
    assert held_by_associates == 0


async def test_dropping_a_category_while_twenty_roles_are_opened_to_it(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    """Two kinds of rule change: both take the lock exclusively, so one sees the other."""
    await builders.network(
        client, admin_headers, membership_categories=["full", "associate", "observer"]
    )
    slugs = [f"role-{n:02d}" for n in range(WRITES)]
    await builders.gather_in_batches(
        [
            builders.role(
                client, admin_headers, slug, max_holders=None, eligible_categories=["full"]
            )
            for slug in slugs
        ]
    )
    dropped, opened = await race(
        client.patch(
            NETWORK, json={"membership_categories": ["full", "associate"]}, headers=admin_headers
        ),
        [
            client.patch(
                f"{NETWORK}/roles/{slug}",
                json={"eligible_categories": ["full", "observer"]},
                headers=admin_headers,
            )
            for slug in slugs
        ],
    )
    outcome = (dropped.status_code, statuses(opened))
    assert outcome in [(200, {422: WRITES}), (409, {200: WRITES})], (
        outcome,
        unexpected([dropped, *opened]),
    )
    categories = (await client.get(NETWORK)).json()["membership_categories"]
    assert (
        await db.scalar(
            "SELECT count(*) FROM roles "
            "WHERE NOT eligible_categories::text[] <@ CAST(:kept AS text[])",
            kept=categories,
        )
        == 0
    )


async def test_lowering_a_roles_limit_while_twenty_tenures_of_it_are_written(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    await builders.network(client, admin_headers)
    cities = await builders.members_of(
        client, admin_headers, [f"City {n:02d}" for n in range(WRITES + 1)], start_date="2000"
    )
    await builders.role(client, admin_headers, "board", max_holders=WRITES + 1)
    await builders.tenure(client, admin_headers, cities[0]["id"], role="board", start_date="2010")
    lowered, seated = await race(
        client.patch(f"{NETWORK}/roles/board", json={"max_holders": 1}, headers=admin_headers),
        [
            client.post(
                f"{NETWORK}/tenures",
                json={"role": "board", "member_id": city["id"], "start_date": "2014"},
                headers=admin_headers,
            )
            for city in cities[1:]
        ],
    )
    seats = statuses(seated)
    # The role's row lock orders them: the tenures before the change are seated, and the
    # change is then refused; or the change first, and no tenure after it.
    if lowered.status_code == 200:
        assert seats == {409: WRITES}, (seats, unexpected(seated))
    else:
        assert lowered.status_code == 409, lowered.text
        assert set(seats) == {201, 409} or seats == {201: WRITES}, (seats, unexpected(seated))
    role = (await client.get(f"{NETWORK}/roles/board")).json()
    board = await db.scalar(
        "SELECT count(*) FROM tenures t JOIN roles r ON r.id = t.role_id WHERE r.slug = 'board'"
    )
    assert board <= role["max_holders"]
