"""Tenures: holder limits, double holding, membership requirements, role changes."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Database
from tests.registry import builders

Headers = dict[str, str]
TENURES = "/v1/networks/citynet/tenures"


async def create(client: httpx.AsyncClient, headers: Headers, **body: Any) -> httpx.Response:
    body.setdefault("role", "chair")
    return await client.post(TENURES, json=body, headers=headers)


async def member_cities(
    client: httpx.AsyncClient, headers: Headers, *names: str, start_date: str | None = "2000"
) -> list[dict[str, Any]]:
    """CITYNET, and full member cities of it from ``start_date``."""
    await builders.network(client, headers)
    cities = []
    for name in names:
        city = await builders.city(client, headers, name, "KR")
        await builders.membership(client, headers, city["id"], start_date=start_date)
        cities.append(city)
    return cities


async def test_a_second_overlapping_chair_is_409_naming_the_day_rule_and_holder(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    seoul, busan = await member_cities(client, admin_headers, "Seoul", "Busan")
    await builders.role(client, admin_headers, "chair", max_holders=1)
    chair = await builders.tenure(client, admin_headers, seoul["id"], start_date="2014-01-01")

    response = await create(client, admin_headers, member_id=busan["id"], start_date="2015-06-01")
    assert response.status_code == 409, response.text
    detail = response.json()["detail"]
    assert "2015-06-01" in detail
    assert "chair" in detail
    assert "at most 1" in detail
    assert "Seoul" in detail
    assert chair["id"] in detail
    assert await db.count("tenures") == 1


async def test_a_chair_before_the_current_one_starts_is_accepted(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    seoul, yokohama = await member_cities(client, admin_headers, "Seoul", "Yokohama")
    await builders.role(client, admin_headers, "chair", max_holders=1)
    await builders.tenure(client, admin_headers, seoul["id"], start_date="2013-11-05")
    await builders.tenure(
        client, admin_headers, yokohama["id"], start_date="2011", end_date="2013-11-05"
    )
    assert await builders.holder_names(client, "2013-11-04") == ["Yokohama"]
    assert await builders.holder_names(client, "2013-11-05") == ["Seoul"]


async def test_two_chairs_since_before_the_records_is_409(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    seoul, busan = await member_cities(client, admin_headers, "Seoul", "Busan", start_date=None)
    await builders.role(client, admin_headers, "chair", max_holders=1)
    chair = await builders.tenure(client, admin_headers, seoul["id"], end_date="1990")
    response = await create(client, admin_headers, member_id=busan["id"], end_date="1985")
    assert response.status_code == 409, response.text
    detail = response.json()["detail"]
    assert "before the records" in detail
    assert chair["id"] in detail
    assert await db.count("tenures") == 1


async def test_the_same_member_cannot_hold_one_role_twice_at_once(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    (seoul,) = await member_cities(client, admin_headers, "Seoul")
    await builders.role(client, admin_headers, "executive", max_holders=None)
    first = await builders.tenure(
        client, admin_headers, seoul["id"], role="executive", start_date="2010", end_date="2016"
    )
    response = await create(
        client, admin_headers, role="executive", member_id=seoul["id"], start_date="2015-03"
    )
    assert response.status_code == 409, response.text
    assert first["id"] in response.json()["detail"]
    assert "Seoul" in response.json()["detail"]
    assert await db.count("tenures") == 1
    # A later term after the first ends is fine.
    await builders.tenure(client, admin_headers, seoul["id"], role="executive", start_date="2016")


async def test_a_non_member_cannot_hold_a_role_that_requires_membership(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    await builders.network(client, admin_headers)
    paris = await builders.city(client, admin_headers, "Paris", "FR")
    await builders.role(client, admin_headers, "chair")
    response = await create(client, admin_headers, member_id=paris["id"], start_date="2014")
    assert response.status_code == 409, response.text
    assert "Paris" in response.json()["detail"]
    assert await db.count("tenures") == 0


async def test_a_member_of_another_network_is_not_a_member_here(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    await builders.network(client, admin_headers)
    await builders.network(client, admin_headers, "metropolis")
    paris = await builders.city(client, admin_headers, "Paris", "FR")
    await builders.membership(client, admin_headers, paris["id"], network="metropolis")
    await builders.role(client, admin_headers, "chair")
    response = await create(client, admin_headers, member_id=paris["id"], start_date="2014")
    assert response.status_code == 409, response.text


async def test_a_member_outside_the_eligible_categories_cannot_hold_the_role(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    await builders.network(client, admin_headers)
    koica = await builders.organization(client, admin_headers, "KOICA")
    await builders.membership(
        client, admin_headers, koica["id"], category="associate", start_date="2000"
    )
    await builders.role(client, admin_headers, "chair", eligible_categories=["full"])
    response = await create(client, admin_headers, member_id=koica["id"], start_date="2014")
    assert response.status_code == 409, response.text
    assert "KOICA" in response.json()["detail"]
    assert await db.count("tenures") == 0


async def test_a_tenure_longer_than_the_membership_is_409(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    await builders.network(client, admin_headers)
    seoul = await builders.city(client, admin_headers, "Seoul", "KR")
    await builders.membership(
        client, admin_headers, seoul["id"], start_date="2010", end_date="2015-01-01"
    )
    await builders.role(client, admin_headers, "chair")
    for start, end in [("2013", "2016"), ("2013", None), ("2009", "2012"), (None, "2012")]:
        response = await create(
            client, admin_headers, member_id=seoul["id"], start_date=start, end_date=end
        )
        assert response.status_code == 409, (start, end, response.text)
    assert await db.count("tenures") == 0
    inside = await create(
        client, admin_headers, member_id=seoul["id"], start_date="2011", end_date="2015-01-01"
    )
    assert inside.status_code == 201, inside.text


async def test_a_tenure_may_span_two_adjacent_memberships(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    await builders.network(client, admin_headers)
    seoul = await builders.city(client, admin_headers, "Seoul", "KR")
    await builders.membership(
        client, admin_headers, seoul["id"], start_date="2005", end_date="2012-07-01"
    )
    await builders.membership(
        client, admin_headers, seoul["id"], category="associate", start_date="2012-07-01"
    )
    await builders.role(client, admin_headers, "chair")
    await builders.tenure(client, admin_headers, seoul["id"], start_date="2010", end_date="2014")


async def test_a_tenure_across_a_gap_between_memberships_is_409(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    await builders.network(client, admin_headers)
    seoul = await builders.city(client, admin_headers, "Seoul", "KR")
    await builders.membership(
        client, admin_headers, seoul["id"], start_date="2005", end_date="2012-07-01"
    )
    await builders.membership(client, admin_headers, seoul["id"], start_date="2012-08-01")
    await builders.role(client, admin_headers, "chair")
    response = await create(client, admin_headers, member_id=seoul["id"], start_date="2010")
    assert response.status_code == 409, response.text


async def test_a_membership_with_unknown_start_covers_a_tenure_with_unknown_start(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    (seoul,) = await member_cities(client, admin_headers, "Seoul", start_date=None)
    await builders.role(client, admin_headers, "chair")
    tenure = await builders.tenure(client, admin_headers, seoul["id"], end_date="1990")
    assert tenure["start_date"] is None
    assert await builders.holder_names(client, "1000-01-01") == ["Seoul"]


async def test_a_membership_with_a_known_start_does_not_cover_a_tenure_with_unknown_start(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    (seoul,) = await member_cities(client, admin_headers, "Seoul", start_date="1987")
    await builders.role(client, admin_headers, "chair")
    response = await create(client, admin_headers, member_id=seoul["id"], end_date="1990")
    assert response.status_code == 409, response.text


async def test_a_role_without_membership_requirement_accepts_any_member(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    await builders.network(client, admin_headers)
    seoul_government = await builders.organization(
        client, admin_headers, "Seoul Metropolitan Government", country_code="KR"
    )
    await builders.role(
        client, admin_headers, "secretariat_host", max_holders=1, requires_membership=False
    )
    tenure = await builders.tenure(
        client,
        admin_headers,
        seoul_government["id"],
        role="secretariat_host",
        start_date="2013-03",
    )
    assert tenure["member"]["kind"] == "organization"
    assert await builders.holder_names(client, "2013-04-01", role="secretariat_host") == [
        "Seoul Metropolitan Government"
    ]


async def test_lowering_max_holders_below_current_holders_is_409(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    cities = await member_cities(client, admin_headers, "Seoul", "Busan", "Incheon")
    await builders.role(client, admin_headers, "executive", max_holders=3)
    for city in cities:
        await builders.tenure(
            client, admin_headers, city["id"], role="executive", start_date="2014"
        )
    response = await client.patch(
        "/v1/networks/citynet/roles/executive", json={"max_holders": 2}, headers=admin_headers
    )
    assert response.status_code == 409, response.text
    assert "2014-12-31" in response.json()["detail"]
    role = (await client.get("/v1/networks/citynet/roles/executive")).json()
    assert role["max_holders"] == 3
    raised = await client.patch(
        "/v1/networks/citynet/roles/executive", json={"max_holders": 5}, headers=admin_headers
    )
    assert raised.status_code == 200, raised.text


async def test_narrowing_eligible_categories_below_current_holders_is_409(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    await builders.network(client, admin_headers)
    koica = await builders.organization(client, admin_headers, "KOICA")
    await builders.membership(client, admin_headers, koica["id"], category="associate")
    await builders.role(client, admin_headers, "executive", max_holders=None)
    tenure = await builders.tenure(client, admin_headers, koica["id"], role="executive")
    response = await client.patch(
        "/v1/networks/citynet/roles/executive",
        json={"eligible_categories": ["full"]},
        headers=admin_headers,
    )
    assert response.status_code == 409, response.text
    assert tenure["id"] in response.json()["detail"]


async def test_requiring_membership_of_a_role_held_by_a_non_member_is_409(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    await builders.network(client, admin_headers)
    unhabitat = await builders.organization(client, admin_headers, "UN-Habitat")
    await builders.role(
        client, admin_headers, "partner", max_holders=None, requires_membership=False
    )
    tenure = await builders.tenure(client, admin_headers, unhabitat["id"], role="partner")
    response = await client.patch(
        "/v1/networks/citynet/roles/partner",
        json={"requires_membership": True},
        headers=admin_headers,
    )
    assert response.status_code == 409, response.text
    assert tenure["id"] in response.json()["detail"]
    role = (await client.get("/v1/networks/citynet/roles/partner")).json()
    assert role["requires_membership"] is False


async def test_deleting_a_role_with_tenures_is_409_and_without_is_204(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    (seoul,) = await member_cities(client, admin_headers, "Seoul")
    await builders.role(client, admin_headers, "chair")
    await builders.role(client, admin_headers, "treasurer")
    await builders.tenure(client, admin_headers, seoul["id"], start_date="2014")
    response = await client.delete("/v1/networks/citynet/roles/chair", headers=admin_headers)
    assert response.status_code == 409, response.text
    assert "1 tenure" in response.json()["detail"]
    assert (await client.get("/v1/networks/citynet/roles/chair")).status_code == 200
    unused = await client.delete("/v1/networks/citynet/roles/treasurer", headers=admin_headers)
    assert unused.status_code == 204, unused.text
    assert await db.count("roles") == 1


async def test_a_role_cannot_be_open_to_a_category_the_network_lacks(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    await builders.network(client, admin_headers)
    response = await client.post(
        "/v1/networks/citynet/roles",
        json={"slug": "chair", "name": "Chair", "eligible_categories": ["honorary"]},
        headers=admin_headers,
    )
    assert response.status_code == 422, response.text
    assert ["body", "eligible_categories"] in [e["location"] for e in response.json()["errors"]]


async def test_a_tenure_of_an_unknown_role_is_422(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    (seoul,) = await member_cities(client, admin_headers, "Seoul")
    response = await create(client, admin_headers, role="mayor", member_id=seoul["id"])
    assert response.status_code == 422, response.text
    assert [e["location"] for e in response.json()["errors"]] == [["body", "role"]]


async def test_ending_a_tenure_frees_the_role_for_the_next_holder(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    seoul, busan = await member_cities(client, admin_headers, "Seoul", "Busan")
    await builders.role(client, admin_headers, "chair")
    chair = await builders.tenure(client, admin_headers, seoul["id"], start_date="2014")
    blocked = await create(client, admin_headers, member_id=busan["id"], start_date="2018")
    assert blocked.status_code == 409
    ended = await client.patch(
        f"{TENURES}/{chair['id']}", json={"end_date": "2018"}, headers=admin_headers
    )
    assert ended.status_code == 200, ended.text
    assert ended.json()["end_date"] == "2018"
    await builders.tenure(client, admin_headers, busan["id"], start_date="2018")
    assert await builders.holder_names(client, "2017-12-31") == ["Seoul"]
    assert await builders.holder_names(client, "2018-06-01") == []
    assert await builders.holder_names(client, "2019-01-01") == ["Busan"]


async def test_reopening_an_ended_tenure_over_a_successor_is_409(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    seoul, busan = await member_cities(client, admin_headers, "Seoul", "Busan")
    await builders.role(client, admin_headers, "chair")
    chair = await builders.tenure(
        client, admin_headers, seoul["id"], start_date="2014", end_date="2018"
    )
    await builders.tenure(client, admin_headers, busan["id"], start_date="2018")
    response = await client.patch(
        f"{TENURES}/{chair['id']}", json={"end_date": None}, headers=admin_headers
    )
    assert response.status_code == 409, response.text
    assert (await client.get(f"{TENURES}/{chair['id']}")).json()["end_date"] == "2018"


async def test_c40_chairs_until_and_from_the_same_month_are_both_accepted(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    await builders.network(client, admin_headers, "c40")
    rio = await builders.city(client, admin_headers, "Rio de Janeiro", "BR")
    paris = await builders.city(client, admin_headers, "Paris", "FR")
    for city in (rio, paris):
        await builders.membership(
            client, admin_headers, city["id"], network="c40", start_date="2010"
        )
    await builders.role(client, admin_headers, "chair", network="c40", max_holders=1)
    await builders.tenure(
        client, admin_headers, rio["id"], network="c40", start_date="2013-08", end_date="2016-12"
    )
    paris_tenure = await builders.tenure(
        client, admin_headers, paris["id"], network="c40", start_date="2016-12"
    )
    assert (paris_tenure["start_date"], paris_tenure["end_date"]) == ("2016-12", None)

    assert await builders.holder_names(client, "2016-12-15", network="c40") == []
    assert await builders.holder_names(client, "2016-11-30", network="c40") == ["Rio de Janeiro"]
    assert await builders.holder_names(client, "2017-01-01", network="c40") == ["Paris"]
    assert await builders.holder_names(client, "2016-12-31", network="c40") == ["Paris"]


async def test_every_successful_tenure_write_adds_one_audit_row(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    seoul, busan = await member_cities(client, admin_headers, "Seoul", "Busan")
    await builders.role(client, admin_headers, "chair")
    before = await db.count("audit_events")
    chair = await builders.tenure(client, admin_headers, seoul["id"], start_date="2014")
    assert (await create(client, admin_headers, member_id=busan["id"])).status_code == 409
    path = f"{TENURES}/{chair['id']}"
    assert (
        await client.patch(path, json={"representative": "Mayor"}, headers=admin_headers)
    ).status_code == 200
    assert (await client.delete(path, headers=admin_headers)).status_code == 204
    assert await db.count("audit_events") == before + 3
    assert (
        await db.scalar(
            "SELECT string_agg(action || ':' || resource_type || ':' || network, ',' ORDER BY id) "
            "FROM audit_events WHERE resource_id = :id",
            id=chair["id"],
        )
        == "create:tenure:citynet,update:tenure:citynet,delete:tenure:citynet"
    )


async def test_longest_slugs_are_audited_like_any_other(
    client: httpx.AsyncClient, admin_headers: dict[str, str], db: Database
) -> None:
    slug, role = "n" * 63, "r" * 63
    await builders.network(client, admin_headers, slug)
    created = await builders.role(client, admin_headers, role, network=slug)
    assert created["slug"] == role
    resource = await db.scalar("SELECT resource_id FROM audit_events WHERE resource_type = 'role'")
    assert resource == f"{slug}/{role}"
