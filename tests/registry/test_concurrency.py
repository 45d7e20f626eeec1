"""Concurrent writers through the HTTP API: the rules hold, losers get 409, never 500."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import httpx

from tests.conftest import Database
from tests.registry import builders

Headers = dict[str, str]

# Chair tenures sharing a day: must stay zero whatever the interleaving.
OVERLAPPING_CHAIRS = """
SELECT count(*) FROM tenures a JOIN tenures b
    ON a.role_id = b.role_id AND a.id < b.id AND a.period && b.period
JOIN roles r ON r.id = a.role_id AND r.slug = 'chair'
"""

# The most holders a role has on any day (the busiest day starts some tenure).
BUSIEST_DAY = """
SELECT coalesce(max(holders), 0) FROM (
    SELECT count(*) AS holders
    FROM tenures starts JOIN tenures t
        ON t.role_id = starts.role_id
       AND t.period @> coalesce(lower(starts.period), '-infinity'::date)
    JOIN roles r ON r.id = starts.role_id AND r.slug = :role
    GROUP BY starts.id
) AS days
"""

# Tenures of roles that require membership with a day outside the member's memberships.
TENURES_OUTSIDE_MEMBERSHIP = """
SELECT count(*) FROM tenures t JOIN roles r ON r.id = t.role_id
WHERE r.requires_membership AND NOT coalesce(
    (SELECT range_agg(m.period) FROM memberships m
      WHERE m.network_id = t.network_id AND m.member_id = t.member_id) @> t.period,
    false)
"""


def statuses(responses: list[httpx.Response]) -> Counter[int]:
    return Counter(response.status_code for response in responses)


async def member_cities(
    client: httpx.AsyncClient, headers: Headers, count: int
) -> list[dict[str, Any]]:
    """CITYNET and ``count`` full member cities since 2000."""
    await builders.network(client, headers)
    return await builders.members_of(
        client, headers, [f"City {n:02d}" for n in range(count)], start_date="2000"
    )


async def test_twenty_concurrent_handovers_of_one_chair_leave_exactly_one_new_chair(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    incumbent, *candidates = await member_cities(client, admin_headers, 21)
    await builders.role(client, admin_headers, "chair")
    await builders.tenure(client, admin_headers, incumbent["id"], start_date="2010-01-01")
    audit_before = await db.count("audit_events")

    responses = await asyncio.gather(
        *[builders.handover(client, admin_headers, city["id"], "2013-11-05") for city in candidates]
    )
    assert statuses(responses) == {201: 1, 409: 19}, [
        r.text for r in responses if r.status_code >= 500
    ]
    winner = next(r.json()["started"]["member"]["name"] for r in responses if r.status_code == 201)

    assert await builders.holder_names(client, "2013-11-05") == [winner]
    assert await builders.holder_names(client, "2013-11-04") == [incumbent["name"]]
    assert await db.scalar(OVERLAPPING_CHAIRS) == 0
    assert await db.count("tenures") == 2
    assert await db.count("audit_events") == audit_before + 1


async def test_twenty_concurrent_overlapping_memberships_of_one_member_leave_one(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    await builders.network(client, admin_headers)
    seoul = await builders.city(client, admin_headers, "Seoul", "KR")
    audit_before = await db.count("audit_events")

    responses = await asyncio.gather(
        *[
            client.post(
                "/v1/networks/citynet/memberships",
                json={
                    "member_id": seoul["id"],
                    "category": "full" if n % 2 else "associate",
                    "start_date": f"{2000 + n}",
                },
                headers=admin_headers,
            )
            for n in range(20)
        ]
    )
    assert statuses(responses) == {201: 1, 409: 19}, [
        r.text for r in responses if r.status_code >= 500
    ]
    assert await db.count("memberships") == 1
    assert await db.count("audit_events") == audit_before + 1


async def test_twenty_concurrent_tenures_of_a_three_seat_role_seat_exactly_three(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    cities = await member_cities(client, admin_headers, 20)
    await builders.role(client, admin_headers, "vice-chair", max_holders=3)
    audit_before = await db.count("audit_events")

    # Staggered starts: every pair overlaps, so at most three may ever be seated.
    responses = await asyncio.gather(
        *[
            client.post(
                "/v1/networks/citynet/tenures",
                json={
                    "role": "vice-chair",
                    "member_id": city["id"],
                    "start_date": f"2014-01-{n + 1:02d}",
                },
                headers=admin_headers,
            )
            for n, city in enumerate(cities)
        ]
    )
    assert statuses(responses) == {201: 3, 409: 17}, [
        r.text for r in responses if r.status_code >= 500
    ]
    assert await db.count("tenures") == 3
    assert await db.scalar(BUSIEST_DAY, role="vice-chair") == 3
    assert len(await builders.holder_names(client, "2015-01-01", role="vice-chair")) == 3
    assert await db.count("audit_events") == audit_before + 3


async def test_ending_a_membership_and_adding_a_tenure_past_the_end_never_both_succeed(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    cities = await member_cities(client, admin_headers, 6)
    await builders.role(client, admin_headers, "executive", max_holders=None)
    memberships = {
        m["member_id"]: m["id"]
        for m in (await client.get("/v1/networks/citynet/memberships")).json()["items"]
    }
    audit_before = await db.count("audit_events")
    successes = 0

    for city in cities:
        end_membership = client.patch(
            f"/v1/networks/citynet/memberships/{memberships[city['id']]}",
            json={"end_date": "2015-01-01"},
            headers=admin_headers,
        )
        add_tenure = client.post(
            "/v1/networks/citynet/tenures",
            json={"role": "executive", "member_id": city["id"], "start_date": "2016-01-01"},
            headers=admin_headers,
        )
        ended, added = await asyncio.gather(end_membership, add_tenure)
        assert (ended.status_code, added.status_code) in {(200, 409), (409, 201)}, (
            ended.text,
            added.text,
        )
        successes += 1

    assert await db.scalar(TENURES_OUTSIDE_MEMBERSHIP) == 0
    assert await db.count("audit_events") == audit_before + successes


async def test_concurrent_tenures_and_membership_ends_across_members_keep_every_rule(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    """A mixed burst: tenures for a 2-seat role and membership ends for the same members."""
    cities = await member_cities(client, admin_headers, 8)
    await builders.role(client, admin_headers, "auditor", max_holders=2)
    memberships = {
        m["member_id"]: m["id"]
        for m in (await client.get("/v1/networks/citynet/memberships")).json()["items"]
    }
    audit_before = await db.count("audit_events")
    calls = []
    for n, city in enumerate(cities):
        calls.append(
            client.post(
                "/v1/networks/citynet/tenures",
                json={"role": "auditor", "member_id": city["id"], "start_date": f"201{n}"},
                headers=admin_headers,
            )
        )
        calls.append(
            client.patch(
                f"/v1/networks/citynet/memberships/{memberships[city['id']]}",
                json={"end_date": "2012-06-01"},
                headers=admin_headers,
            )
        )
    responses = await asyncio.gather(*calls)
    counted = statuses(responses)
    assert set(counted) <= {200, 201, 409}, [r.text for r in responses if r.status_code >= 500]
    # Each city's tenure and membership end exclude each other: exactly one of them wins
    # (the tenure only if a seat was free).
    assert counted[200] + counted[201] == len(cities)
    tenures = await db.scalar(
        "SELECT count(*) FROM tenures t JOIN roles r ON r.id = t.role_id WHERE r.slug = 'auditor'"
    )
    assert counted[201] == tenures <= 2

    assert await db.scalar(TENURES_OUTSIDE_MEMBERSHIP) == 0
    assert await db.scalar(BUSIEST_DAY, role="auditor") <= 2
    assert await db.count("audit_events") == audit_before + counted[200] + counted[201]


async def test_dropping_an_unused_category_while_memberships_are_written_is_never_a_500(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    """The category check takes the network's rule lock exclusively while membership writes
    hold it shared; the network's row lock must not close a cycle with their foreign keys."""
    await builders.network(
        client, admin_headers, membership_categories=["full", "associate", "observer"]
    )
    cities = await builders.gather_in_batches(
        [builders.city(client, admin_headers, f"City {n:02d}", "KR") for n in range(16)]
    )
    calls = [
        client.post(
            "/v1/networks/citynet/memberships",
            json={"member_id": city["id"], "category": "full"},
            headers=admin_headers,
        )
        for city in cities
    ]
    calls.insert(
        4,
        client.patch(
            "/v1/networks/citynet",
            json={"membership_categories": ["full", "associate"]},
            headers=admin_headers,
        ),
    )
    responses = await asyncio.gather(*calls)
    assert statuses(responses) == {201: 16, 200: 1}, [
        r.text for r in responses if r.status_code >= 500
    ]
    network = (await client.get("/v1/networks/citynet")).json()
    assert network["membership_categories"] == ["full", "associate"]
    assert await db.count("memberships") == 16


async def test_a_member_deleted_while_a_membership_or_tenure_of_it_is_written_is_never_a_500(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    """Either the delete wins (the write is refused, 4xx) or the write does (the delete is
    409); the loser's foreign key violation is not an internal error."""
    await builders.network(client, admin_headers)
    await builders.role(client, admin_headers, "host", max_holders=None, requires_membership=False)
    outcomes: Counter[tuple[int, int]] = Counter()
    for n in range(8):
        city = await builders.city(client, admin_headers, f"City {n}", "KR")
        path, body = (
            ("/v1/networks/citynet/memberships", {"category": "full"})
            if n % 2
            else ("/v1/networks/citynet/tenures", {"role": "host"})
        )
        deleted, written = await asyncio.gather(
            client.delete(f"/v1/cities/{city['id']}", headers=admin_headers),
            client.post(path, json={"member_id": city["id"], **body}, headers=admin_headers),
        )
        outcomes[(deleted.status_code, written.status_code)] += 1
    assert set(outcomes) <= {(204, 422), (409, 201)}, outcomes
    orphans = (
        "SELECT count(*) FROM {table} w LEFT JOIN members x ON x.id = w.member_id "
        "WHERE x.id IS NULL"
    )
    assert await db.scalar(orphans.format(table="memberships")) == 0
    assert await db.scalar(orphans.format(table="tenures")) == 0
    assert await db.count("members") == outcomes[(409, 201)]


async def test_a_membership_written_while_its_member_changes_carries_the_new_facts(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    """A membership carries its member's name and country (for the member list and the
    stats): one created while the city is renamed and moves country takes the name and
    country the city ends with, whichever commits first."""
    await builders.network(client, admin_headers)
    for n in range(20):
        city = await builders.city(client, admin_headers, f"City {n}", "KR")
        path = f"/v1/cities/{city['id']}"
        etag = (await client.get(path)).headers["etag"]
        moved, joined = await asyncio.gather(
            client.patch(
                path,
                json={"country_code": "JP", "name": f"Moved {n:02}"},
                headers={**admin_headers, "If-Match": etag},
            ),
            client.post(
                "/v1/networks/citynet/memberships",
                json={"member_id": city["id"], "category": "full"},
                headers=admin_headers,
            ),
        )
        assert (moved.status_code, joined.status_code) == (200, 201), (moved.text, joined.text)
    stale = (
        "SELECT count(*) FROM memberships m JOIN members x ON x.id = m.member_id "
        "WHERE (m.member_kind, m.member_country, m.member_name)"
        " IS DISTINCT FROM (x.kind, x.country_code, x.name)"
    )
    assert await db.scalar(stale) == 0
    listed = (await client.get("/v1/networks/citynet/members")).json()["items"]
    assert [item["member"]["name"] for item in listed] == [f"Moved {n:02}" for n in range(20)]
    stats = (await client.get("/v1/networks/citynet/stats")).json()
    assert stats["members_total"] == 20
    assert stats["countries"] == 1
