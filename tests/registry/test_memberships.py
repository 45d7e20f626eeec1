"""Memberships: categories, periods and partial dates, overlaps, scopes, audit."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Database, Keys
from tests.registry import builders

Headers = dict[str, str]
MEMBERSHIPS = "/v1/networks/citynet/memberships"


async def create(
    client: httpx.AsyncClient, headers: Headers, path: str = MEMBERSHIPS, **body: Any
) -> httpx.Response:
    body.setdefault("category", "full")
    return await client.post(path, json=body, headers=headers)


async def seoul_in_citynet(client: httpx.AsyncClient, headers: Headers) -> dict[str, Any]:
    await builders.network(client, headers)
    return await builders.city(client, headers, "Seoul", "KR")


async def test_category_must_be_one_of_the_networks_categories(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    seoul = await seoul_in_citynet(client, admin_headers)
    response = await create(client, admin_headers, member_id=seoul["id"], category="honorary")
    assert response.status_code == 422, response.text
    problem = response.json()
    assert [error["location"] for error in problem["errors"]] == [["body", "category"]]
    assert "full" in problem["detail"]
    assert "associate" in problem["detail"]
    assert await db.count("memberships") == 0


async def test_a_network_with_its_own_categories_accepts_them(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    await builders.network(
        client, admin_headers, "uclg", membership_categories=["local", "honorary"]
    )
    lyon = await builders.city(client, admin_headers, "Lyon", "FR")
    accepted = await create(
        client,
        admin_headers,
        "/v1/networks/uclg/memberships",
        member_id=lyon["id"],
        category="honorary",
    )
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["category"] == "honorary"
    refused = await create(
        client,
        admin_headers,
        "/v1/networks/uclg/memberships",
        member_id=lyon["id"],
        category="full",
        start_date="1990",
        end_date="1995",
    )
    assert refused.status_code == 422, refused.text


async def test_unknown_member_id_is_422(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    await builders.network(client, admin_headers)
    response = await create(client, admin_headers, member_id="00000000-0000-4000-8000-000000000000")
    assert response.status_code == 422, response.text
    assert [error["location"] for error in response.json()["errors"]] == [["body", "member_id"]]
    assert await db.count("memberships") == 0


async def test_membership_in_an_unknown_network_is_404(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    seoul = await builders.city(client, admin_headers, "Seoul", "KR")
    response = await create(
        client, admin_headers, "/v1/networks/nowhere/memberships", member_id=seoul["id"]
    )
    assert response.status_code == 404, response.text


async def test_end_before_start_is_422(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    seoul = await seoul_in_citynet(client, admin_headers)
    for start, end in [
        ("2014-01-01", "2013-01-01"),
        ("2013-11-05", "2013-11-05"),
        ("2013", "2013-11"),
        ("2016-12", "2016-12"),
    ]:
        response = await create(
            client, admin_headers, member_id=seoul["id"], start_date=start, end_date=end
        )
        assert response.status_code == 422, (start, end, response.text)
        assert "end_date" in response.json()["detail"]
    assert await db.count("memberships") == 0


async def test_malformed_dates_are_422(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    seoul = await seoul_in_citynet(client, admin_headers)
    for bad in ("2013-13", "2013-02-30", "2013-2-1", "13", "", "2013-01-01T00:00", "2013\n"):
        response = await create(client, admin_headers, member_id=seoul["id"], start_date=bad)
        assert response.status_code == 422, (bad, response.text)
        assert ["body", "start_date"] in [e["location"] for e in response.json()["errors"]]
    assert await db.count("memberships") == 0


async def test_patch_making_end_before_start_is_422_and_changes_nothing(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    seoul = await seoul_in_citynet(client, admin_headers)
    membership = await builders.membership(client, admin_headers, seoul["id"], start_date="2013")
    response = await client.patch(
        f"{MEMBERSHIPS}/{membership['id']}", json={"end_date": "2013-06"}, headers=admin_headers
    )
    assert response.status_code == 422, response.text
    current = (await client.get(f"{MEMBERSHIPS}/{membership['id']}")).json()
    assert current["end_date"] is None


async def test_partial_dates_round_trip_exactly(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    await builders.network(client, admin_headers)
    periods = [
        ("2013", "2014-11-05"),
        ("2013-11", "2014"),
        ("2013-11-05", "2014-02"),
        (None, "1999"),
    ]
    members = [
        await builders.city(client, admin_headers, f"City {n}", "KR") for n in range(len(periods))
    ]
    for member, (start, end) in zip(members, periods, strict=True):
        created = await builders.membership(
            client, admin_headers, member["id"], start_date=start, end_date=end
        )
        assert (created["start_date"], created["end_date"]) == (start, end)
        fetched = (await client.get(f"{MEMBERSHIPS}/{created['id']}")).json()
        assert (fetched["start_date"], fetched["end_date"]) == (start, end)
    listed = (await client.get(MEMBERSHIPS)).json()["items"]
    assert sorted((m["start_date"] or "", m["end_date"]) for m in listed) == sorted(
        (start or "", end) for start, end in periods
    )


async def test_created_membership_has_the_contract_shape_and_location(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    seoul = await seoul_in_citynet(client, admin_headers)
    response = await create(
        client,
        admin_headers,
        member_id=seoul["id"],
        start_date="2013",
        source_url="https://example.org/citynet",
        note="Named in the 2013 article.",
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["location"] == f"{MEMBERSHIPS}/{body['id']}"
    assert body["network"] == "citynet"
    assert body["member_id"] == seoul["id"]
    assert body["member"] == {
        "id": seoul["id"],
        "kind": "city",
        "name": "Seoul",
        "country_code": "KR",
    }
    assert body["source_url"] == "https://example.org/citynet"
    assert body["note"] == "Named in the 2013 article."


async def test_overlapping_membership_of_the_same_member_is_409_naming_the_existing_one(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    seoul = await seoul_in_citynet(client, admin_headers)
    existing = await builders.membership(
        client, admin_headers, seoul["id"], start_date="2010", end_date="2016"
    )
    response = await create(
        client, admin_headers, member_id=seoul["id"], category="associate", start_date="2015-06"
    )
    assert response.status_code == 409, response.text
    assert existing["id"] in response.json()["detail"]
    assert "Seoul" in response.json()["detail"]
    assert await db.count("memberships") == 1


async def test_an_open_start_overlaps_everything_before_it(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    seoul = await seoul_in_citynet(client, admin_headers)
    existing = await builders.membership(client, admin_headers, seoul["id"], start_date="2010")
    response = await create(client, admin_headers, member_id=seoul["id"], end_date="2011")
    assert response.status_code == 409, response.text
    assert existing["id"] in response.json()["detail"]


async def test_patch_making_memberships_overlap_is_409_and_changes_nothing(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    seoul = await seoul_in_citynet(client, admin_headers)
    first = await builders.membership(
        client, admin_headers, seoul["id"], start_date="2010", end_date="2014-01-01"
    )
    second = await builders.membership(client, admin_headers, seoul["id"], start_date="2015")
    response = await client.patch(
        f"{MEMBERSHIPS}/{first['id']}", json={"end_date": None}, headers=admin_headers
    )
    assert response.status_code == 409, response.text
    assert second["id"] in response.json()["detail"]
    assert (await client.get(f"{MEMBERSHIPS}/{first['id']}")).json()["end_date"] == "2014-01-01"


async def test_the_same_member_may_belong_to_two_networks_at_once(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    seoul = await seoul_in_citynet(client, admin_headers)
    await builders.network(client, admin_headers, "metropolis")
    await builders.membership(client, admin_headers, seoul["id"], start_date="2010")
    await builders.membership(
        client, admin_headers, seoul["id"], network="metropolis", start_date="2010"
    )


async def test_adjacent_memberships_do_not_conflict(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    seoul = await seoul_in_citynet(client, admin_headers)
    await builders.membership(
        client, admin_headers, seoul["id"], start_date="2010", end_date="2014-01-01"
    )
    await builders.membership(
        client, admin_headers, seoul["id"], category="associate", start_date="2014-01-01"
    )
    assert await builders.member_names(client, as_of="2013-12-31", category="full") == ["Seoul"]
    assert await builders.member_names(client, as_of="2014-01-01", category="full") == []
    assert await builders.member_names(client, as_of="2014-01-01", category="associate") == [
        "Seoul"
    ]


async def test_until_a_month_and_from_the_same_month_do_not_conflict(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    seoul = await seoul_in_citynet(client, admin_headers)
    await builders.membership(
        client, admin_headers, seoul["id"], start_date="2010", end_date="2016-12"
    )
    await builders.membership(
        client, admin_headers, seoul["id"], category="associate", start_date="2016-12"
    )
    # Neither is certain in December 2016, so the member list does not claim either.
    assert await builders.member_names(client, as_of="2016-12-15") == []
    assert await builders.member_names(client, as_of="2016-11-30") == ["Seoul"]
    assert await builders.member_names(client, as_of="2016-12-31") == ["Seoul"]


async def test_a_category_change_ends_one_membership_and_opens_another(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    seoul = await seoul_in_citynet(client, admin_headers)
    associate = await builders.membership(
        client, admin_headers, seoul["id"], category="associate", start_date="2005"
    )
    ended = await client.patch(
        f"{MEMBERSHIPS}/{associate['id']}", json={"end_date": "2010-03-01"}, headers=admin_headers
    )
    assert ended.status_code == 200, ended.text
    assert ended.json()["end_date"] == "2010-03-01"
    full = await builders.membership(client, admin_headers, seoul["id"], start_date="2010-03-01")

    history = await client.get(MEMBERSHIPS, params={"member_id": seoul["id"]})
    assert [(m["category"], m["start_date"], m["end_date"]) for m in history.json()["items"]] == [
        ("associate", "2005", "2010-03-01"),
        ("full", "2010-03-01", None),
    ]
    day_before = (
        await client.get("/v1/networks/citynet/members", params={"as_of": "2010-02-28"})
    ).json()["items"]
    day_of = (
        await client.get("/v1/networks/citynet/members", params={"as_of": "2010-03-01"})
    ).json()["items"]
    assert [(r["membership_id"], r["category"]) for r in day_before] == [
        (associate["id"], "associate")
    ]
    assert [(r["membership_id"], r["category"]) for r in day_of] == [(full["id"], "full")]
    assert await db.count("memberships") == 2


async def test_ending_a_membership_before_a_tenure_ends_is_409_naming_the_tenure(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    seoul = await seoul_in_citynet(client, admin_headers)
    membership = await builders.membership(client, admin_headers, seoul["id"], start_date="2010")
    await builders.role(client, admin_headers, "chair")
    tenure = await builders.tenure(
        client, admin_headers, seoul["id"], start_date="2013-11-05", end_date="2016-01-01"
    )
    response = await client.patch(
        f"{MEMBERSHIPS}/{membership['id']}", json={"end_date": "2015"}, headers=admin_headers
    )
    assert response.status_code == 409, response.text
    assert tenure["id"] in response.json()["detail"]
    unchanged = await client.get(f"{MEMBERSHIPS}/{membership['id']}")
    assert unchanged.json()["end_date"] is None
    assert unchanged.json()["updated_at"] == membership["updated_at"]
    # Ending it on the day the tenure ends is fine.
    fine = await client.patch(
        f"{MEMBERSHIPS}/{membership['id']}", json={"end_date": "2016-01-01"}, headers=admin_headers
    )
    assert fine.status_code == 200, fine.text


async def test_changing_category_away_from_a_roles_eligible_one_is_409(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    seoul = await seoul_in_citynet(client, admin_headers)
    membership = await builders.membership(client, admin_headers, seoul["id"], start_date="2010")
    await builders.role(client, admin_headers, "chair", eligible_categories=["full"])
    tenure = await builders.tenure(client, admin_headers, seoul["id"], start_date="2013-11-05")
    response = await client.patch(
        f"{MEMBERSHIPS}/{membership['id']}", json={"category": "associate"}, headers=admin_headers
    )
    assert response.status_code == 409, response.text
    assert tenure["id"] in response.json()["detail"]
    assert (await client.get(f"{MEMBERSHIPS}/{membership['id']}")).json()["category"] == "full"


async def test_deleting_a_membership_a_tenure_needs_is_409(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    seoul = await seoul_in_citynet(client, admin_headers)
    membership = await builders.membership(client, admin_headers, seoul["id"], start_date="2010")
    await builders.role(client, admin_headers, "chair")
    tenure = await builders.tenure(client, admin_headers, seoul["id"], start_date="2013-11-05")
    response = await client.delete(f"{MEMBERSHIPS}/{membership['id']}", headers=admin_headers)
    assert response.status_code == 409, response.text
    assert tenure["id"] in response.json()["detail"]
    assert await db.count("memberships") == 1


async def test_deleting_a_membership_no_tenure_needs_is_204(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    seoul = await seoul_in_citynet(client, admin_headers)
    membership = await builders.membership(client, admin_headers, seoul["id"], start_date="2010")
    response = await client.delete(f"{MEMBERSHIPS}/{membership['id']}", headers=admin_headers)
    assert response.status_code == 204, response.text
    assert (await client.get(f"{MEMBERSHIPS}/{membership['id']}")).status_code == 404
    assert await db.count("memberships") == 0


async def test_a_membership_is_addressed_through_its_own_network(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    seoul = await seoul_in_citynet(client, admin_headers)
    await builders.network(client, admin_headers, "metropolis")
    membership = await builders.membership(client, admin_headers, seoul["id"])
    elsewhere = f"/v1/networks/metropolis/memberships/{membership['id']}"
    assert (await client.get(elsewhere)).status_code == 404
    assert (await client.delete(elsewhere, headers=admin_headers)).status_code == 404
    assert (await client.get(f"{MEMBERSHIPS}/{membership['id']}")).status_code == 200


async def test_a_network_scoped_key_writes_only_to_its_network(
    client: httpx.AsyncClient, admin_headers: Headers, keys: Keys, db: Database
) -> None:
    seoul = await seoul_in_citynet(client, admin_headers)
    await builders.network(client, admin_headers, "metropolis")
    staff = {"Authorization": f"Bearer {await keys.create('citynet staff', networks=['citynet'])}"}

    own = await create(client, staff, member_id=seoul["id"], start_date="2010")
    assert own.status_code == 201, own.text
    audit_rows = await db.count("audit_events")

    other = await create(
        client, staff, "/v1/networks/metropolis/memberships", member_id=seoul["id"]
    )
    assert other.status_code == 403, other.text
    assert "metropolis" in other.json()["detail"]
    assert await db.count("memberships") == 1
    assert await db.count("audit_events") == audit_rows

    mine = own.json()["id"]
    assert (
        await client.patch(f"{MEMBERSHIPS}/{mine}", json={"note": "x"}, headers=staff)
    ).status_code == 200
    metro = await builders.membership(client, admin_headers, seoul["id"], network="metropolis")
    path = f"/v1/networks/metropolis/memberships/{metro['id']}"
    assert (await client.patch(path, json={"note": "x"}, headers=staff)).status_code == 403
    assert (await client.delete(path, headers=staff)).status_code == 403
    assert (await client.get(path)).json()["note"] is None


async def test_patch_with_a_stale_if_match_is_412_and_changes_nothing(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    seoul = await seoul_in_citynet(client, admin_headers)
    membership = await builders.membership(client, admin_headers, seoul["id"], start_date="2010")
    path = f"{MEMBERSHIPS}/{membership['id']}"
    read = await client.get(path)
    etag = read.headers["etag"]

    first = await client.patch(
        path, json={"note": "first"}, headers={**admin_headers, "If-Match": etag}
    )
    assert first.status_code == 200, first.text
    assert first.headers["etag"] != etag

    stale = await client.patch(
        path, json={"end_date": "2020"}, headers={**admin_headers, "If-Match": etag}
    )
    assert stale.status_code == 412, stale.text
    current = (await client.get(path)).json()
    assert (current["note"], current["end_date"]) == ("first", None)

    fresh = await client.patch(
        path,
        json={"end_date": "2020"},
        headers={**admin_headers, "If-Match": first.headers["etag"]},
    )
    assert fresh.status_code == 200, fresh.text


async def test_delete_with_a_stale_if_match_is_412(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    seoul = await seoul_in_citynet(client, admin_headers)
    membership = await builders.membership(client, admin_headers, seoul["id"], start_date="2010")
    path = f"{MEMBERSHIPS}/{membership['id']}"
    etag = (await client.get(path)).headers["etag"]
    await client.patch(path, json={"note": "changed"}, headers=admin_headers)
    stale = await client.delete(path, headers={**admin_headers, "If-Match": etag})
    assert stale.status_code == 412, stale.text
    assert await db.count("memberships") == 1


async def test_dropping_a_category_in_use_is_409(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    seoul = await seoul_in_citynet(client, admin_headers)
    await builders.membership(
        client, admin_headers, seoul["id"], category="associate", end_date="2001"
    )
    response = await client.patch(
        "/v1/networks/citynet", json={"membership_categories": ["full"]}, headers=admin_headers
    )
    assert response.status_code == 409, response.text
    assert "associate" in response.json()["detail"]
    network = (await client.get("/v1/networks/citynet")).json()
    assert network["membership_categories"] == ["full", "associate"]
    # Adding one, and dropping an unused one, are fine.
    added = await client.patch(
        "/v1/networks/citynet",
        json={"membership_categories": ["associate", "observer"]},
        headers=admin_headers,
    )
    assert added.status_code == 200, added.text


async def test_every_successful_membership_write_adds_one_audit_row_with_the_network(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    seoul = await seoul_in_citynet(client, admin_headers)
    before = await db.count("audit_events")

    membership = await builders.membership(client, admin_headers, seoul["id"], start_date="2010")
    path = f"{MEMBERSHIPS}/{membership['id']}"
    assert (
        await client.patch(path, json={"end_date": "2015"}, headers=admin_headers)
    ).status_code == 200
    # Refused writes leave no trace.
    assert (
        await create(client, admin_headers, member_id=seoul["id"], start_date="2014")
    ).status_code == 409
    assert (
        await create(client, admin_headers, member_id=seoul["id"], category="nope")
    ).status_code == 422
    assert (await client.delete(path, headers=admin_headers)).status_code == 204

    assert await db.count("audit_events") == before + 3
    rows = [
        await db.scalar(
            "SELECT concat_ws('|', action, resource_type, network, resource_id) FROM audit_events "
            "ORDER BY id OFFSET :n LIMIT 1",
            n=before + n,
        )
        for n in range(3)
    ]
    assert rows == [
        f"create|membership|citynet|{membership['id']}",
        f"update|membership|citynet|{membership['id']}",
        f"delete|membership|citynet|{membership['id']}",
    ]
    assert (
        await db.scalar(
            "SELECT after->>'end_date' FROM audit_events WHERE action = 'update' "
            "AND resource_id = :id",
            id=membership["id"],
        )
        == "2015"
    )
