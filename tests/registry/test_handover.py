"""Handing a single-holder role over: one transaction, one audit row, safe retries."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Database
from tests.registry import builders

Headers = dict[str, str]


async def chaired_citynet(
    client: httpx.AsyncClient, headers: Headers
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """CITYNET with Yokohama as chair since 2011 and Seoul a full member: (yokohama, seoul,
    yokohama's tenure)."""
    await builders.network(client, headers)
    yokohama = await builders.city(client, headers, "Yokohama", "JP")
    seoul = await builders.city(client, headers, "Seoul", "KR")
    for member in (yokohama, seoul):
        await builders.membership(client, headers, member["id"], start_date="1987")
    await builders.role(client, headers, "chair", eligible_categories=["full"])
    tenure = await builders.tenure(client, headers, yokohama["id"], start_date="2011-01-01")
    return yokohama, seoul, tenure


async def chair_tenures(client: httpx.AsyncClient) -> list[tuple[str, str | None, str | None]]:
    response = await client.get("/v1/networks/citynet/tenures", params={"role": "chair"})
    assert response.status_code == 200, response.text
    return [(t["member"]["name"], t["start_date"], t["end_date"]) for t in response.json()["items"]]


async def test_handover_ends_the_current_tenure_and_starts_the_new_one_that_day(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    _, seoul, yokohama_tenure = await chaired_citynet(client, admin_headers)
    response = await builders.handover(
        client, admin_headers, seoul["id"], "2013-11-05", representative="Park Won-soon"
    )
    assert response.status_code == 201, response.text
    result = response.json()
    assert result["ended"]["id"] == yokohama_tenure["id"]
    assert result["ended"]["end_date"] == "2013-11-05"
    assert result["started"]["member_id"] == seoul["id"]
    assert result["started"]["start_date"] == "2013-11-05"
    assert result["started"]["end_date"] is None
    assert result["started"]["representative"] == "Park Won-soon"
    assert response.headers["location"] == f"/v1/networks/citynet/tenures/{result['started']['id']}"

    assert await builders.holder_names(client, "2013-11-04") == ["Yokohama"]
    assert await builders.holder_names(client, "2013-11-05") == ["Seoul"]
    assert await chair_tenures(client) == [
        ("Yokohama", "2011-01-01", "2013-11-05"),
        ("Seoul", "2013-11-05", None),
    ]


async def test_handover_of_a_vacant_role_only_starts_the_new_tenure(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    await builders.network(client, admin_headers)
    seoul = await builders.city(client, admin_headers, "Seoul", "KR")
    await builders.membership(client, admin_headers, seoul["id"], start_date="2000")
    await builders.role(client, admin_headers, "chair")
    response = await builders.handover(client, admin_headers, seoul["id"], "2013-11-05")
    assert response.status_code == 201, response.text
    assert response.json()["ended"] is None
    assert await builders.holder_names(client, "2013-11-05") == ["Seoul"]


async def test_handover_is_audited_as_exactly_one_row(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    _, seoul, yokohama_tenure = await chaired_citynet(client, admin_headers)
    before = await db.count("audit_events")
    response = await builders.handover(client, admin_headers, seoul["id"], "2013-11-05")
    assert response.status_code == 201, response.text
    assert await db.count("audit_events") == before + 1
    started = response.json()["started"]["id"]
    row = await db.scalar(
        "SELECT json_build_object('type', resource_type, 'id', resource_id, 'network', network, "
        "'action', action, 'before', before->>'id', 'ended', after->'ended'->>'end_date') "
        "FROM audit_events ORDER BY id DESC LIMIT 1"
    )
    assert row == {
        "type": "handover",
        "id": started,
        "network": "citynet",
        "action": "create",
        "before": yokohama_tenure["id"],
        "ended": "2013-11-05",
    }


async def test_handover_to_the_current_holder_is_409(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    yokohama, _, tenure = await chaired_citynet(client, admin_headers)
    before = await db.count("audit_events")
    response = await builders.handover(client, admin_headers, yokohama["id"], "2013-11-05")
    assert response.status_code == 409, response.text
    assert tenure["id"] in response.json()["detail"]
    assert await chair_tenures(client) == [("Yokohama", "2011-01-01", None)]
    assert await db.count("audit_events") == before


async def test_handover_to_a_non_member_is_409_and_changes_nothing(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    await chaired_citynet(client, admin_headers)
    paris = await builders.city(client, admin_headers, "Paris", "FR")
    before = await db.count("audit_events")
    response = await builders.handover(client, admin_headers, paris["id"], "2013-11-05")
    assert response.status_code == 409, response.text
    assert "Paris" in response.json()["detail"]
    assert await chair_tenures(client) == [("Yokohama", "2011-01-01", None)]
    assert await builders.holder_names(client, "2014-01-01") == ["Yokohama"]
    assert await db.count("audit_events") == before
    assert await db.count("tenures") == 1


async def test_handover_to_an_unknown_member_is_422_and_changes_nothing(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    await chaired_citynet(client, admin_headers)
    response = await builders.handover(
        client, admin_headers, "00000000-0000-4000-8000-000000000000", "2013-11-05"
    )
    assert response.status_code == 422, response.text
    assert await chair_tenures(client) == [("Yokohama", "2011-01-01", None)]


async def test_handover_before_the_current_tenure_started_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    _, seoul, _ = await chaired_citynet(client, admin_headers)
    before = await db.count("audit_events")
    reasons = {
        "2010-06-01": "No one certainly holds chair",  # before the tenure: two holders
        "2011-01-01": "would end on or before it starts",  # its first day: an empty tenure
    }
    for day, reason in reasons.items():
        response = await builders.handover(client, admin_headers, seoul["id"], day)
        assert response.status_code == 409, (day, response.text)
        assert reason in response.json()["detail"]
    assert await chair_tenures(client) == [("Yokohama", "2011-01-01", None)]
    assert await db.count("audit_events") == before


async def test_handover_needs_a_full_day(client: httpx.AsyncClient, admin_headers: Headers) -> None:
    _, seoul, _ = await chaired_citynet(client, admin_headers)
    for day in ("2013-11", "2013", "2013-11-31"):
        response = await builders.handover(client, admin_headers, seoul["id"], day)
        assert response.status_code == 422, (day, response.text)
    assert await chair_tenures(client) == [("Yokohama", "2011-01-01", None)]


async def test_handover_of_a_role_with_several_holders_is_409(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    _, seoul, _ = await chaired_citynet(client, admin_headers)
    await builders.role(client, admin_headers, "executive", max_holders=6)
    await builders.role(client, admin_headers, "member-at-large", max_holders=None)
    for role in ("executive", "member-at-large"):
        response = await builders.handover(
            client, admin_headers, seoul["id"], "2013-11-05", role=role
        )
        assert response.status_code == 409, (role, response.text)
    assert await db.count("tenures") == 1


async def test_handover_of_an_unknown_role_is_404(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    _, seoul, _ = await chaired_citynet(client, admin_headers)
    response = await builders.handover(
        client, admin_headers, seoul["id"], "2013-11-05", role="king"
    )
    assert response.status_code == 404, response.text


async def test_handover_replayed_with_its_idempotency_key_hands_over_once(
    client: httpx.AsyncClient, admin_headers: Headers, db: Database
) -> None:
    _, seoul, _ = await chaired_citynet(client, admin_headers)
    headers = {**admin_headers, "Idempotency-Key": "handover-2013-11-05"}
    first = await builders.handover(client, headers, seoul["id"], "2013-11-05")
    assert first.status_code == 201, first.text
    tenures, audit_rows = await db.count("tenures"), await db.count("audit_events")

    again = await builders.handover(client, headers, seoul["id"], "2013-11-05")
    assert again.status_code == 201, again.text
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    assert await db.count("tenures") == tenures
    assert await db.count("audit_events") == audit_rows
    assert await chair_tenures(client) == [
        ("Yokohama", "2011-01-01", "2013-11-05"),
        ("Seoul", "2013-11-05", None),
    ]

    # The same key for another handover is refused, not silently replayed.
    other = await builders.handover(client, headers, seoul["id"], "2014-01-01")
    assert other.status_code == 422, other.text


async def test_a_scoped_key_cannot_hand_over_another_networks_role(
    client: httpx.AsyncClient, admin_headers: Headers, keys: Any
) -> None:
    _, seoul, _ = await chaired_citynet(client, admin_headers)
    await builders.network(client, admin_headers, "metropolis")
    staff = {"Authorization": f"Bearer {await keys.create('metro', networks=['metropolis'])}"}
    response = await builders.handover(client, staff, seoul["id"], "2013-11-05")
    assert response.status_code == 403, response.text
    assert await chair_tenures(client) == [("Yokohama", "2011-01-01", None)]


async def test_handover_inside_the_current_holders_uncertain_first_month_names_that_tenure(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    await builders.network(client, admin_headers)
    seoul = await builders.city(client, admin_headers, "Seoul", "KR")
    osaka = await builders.city(client, admin_headers, "Osaka", "JP")
    for member in (seoul, osaka):
        await builders.membership(client, admin_headers, member["id"], start_date="1987")
    await builders.role(client, admin_headers, "chair")
    seoul_tenure = await builders.tenure(client, admin_headers, seoul["id"], start_date="2013-11")
    # Seoul holds the chair "from November 2013": certainly only from 2013-11-30.
    response = await builders.handover(client, admin_headers, osaka["id"], "2013-11-15")
    assert response.status_code == 409, response.text
    detail = response.json()["detail"]
    assert "No one certainly holds chair" in detail
    assert seoul_tenure["id"] in detail
    assert await chair_tenures(client) == [("Seoul", "2013-11", None)]
    later = await builders.handover(client, admin_headers, osaka["id"], "2014-02-01")
    assert later.status_code == 201, later.text
    assert await builders.holder_names(client, "2014-02-01") == ["Osaka"]
