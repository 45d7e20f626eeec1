"""The README's walk-through, as a test: members, a chair, a handover, a past date."""

from __future__ import annotations

import httpx

from tests.registry import builders


async def test_chair_handover_answers_who_was_chair_on_a_past_date(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    await builders.network(client, admin_headers)
    yokohama = await builders.city(client, admin_headers, "Yokohama", "JP", wikidata="Q38283")
    seoul = await builders.city(client, admin_headers, "Seoul", "KR", wikidata="Q8684")
    for member in (yokohama, seoul):
        await builders.membership(client, admin_headers, member["id"], start_date="2010")
    await builders.role(client, admin_headers, "chair", eligible_categories=["full"])
    await builders.tenure(client, admin_headers, yokohama["id"], start_date="2011-01-01")

    response = await client.post(
        "/v1/networks/citynet/roles/chair/handover",
        json={"member_id": seoul["id"], "date": "2013-11-05"},
        headers=admin_headers,
    )
    assert response.status_code == 201, response.text
    result = response.json()
    assert result["ended"]["member"]["name"] == "Yokohama"
    assert result["ended"]["end_date"] == "2013-11-05"
    assert result["started"]["start_date"] == "2013-11-05"

    async def chair_on(day: str) -> list[str]:
        holders = await client.get(f"/v1/networks/citynet/roles/chair/holders?as_of={day}")
        assert holders.status_code == 200, holders.text
        return [row["member"]["name"] for row in holders.json()["items"]]

    assert await chair_on("2013-11-04") == ["Yokohama"]
    assert await chair_on("2013-11-05") == ["Seoul"]
    assert await chair_on("2014-01-01") == ["Seoul"]

    members = await client.get("/v1/networks/citynet/members?as_of=2014-01-01")
    assert members.status_code == 200, members.text
    rows = {row["member"]["name"]: row for row in members.json()["items"]}
    assert set(rows) == {"Seoul", "Yokohama"}
    assert [r["role"] for r in rows["Seoul"]["roles"]] == ["chair"]
    assert rows["Yokohama"]["roles"] == []

    stats = await client.get("/v1/networks/citynet/stats?as_of=2014-01-01")
    assert stats.status_code == 200, stats.text
    body = stats.json()
    assert body["members_total"] == 2
    assert body["by_category"] == {"full": 2, "associate": 0}
    assert body["countries"] == 2
    assert [m["name"] for m in body["role_holders"]["chair"]] == ["Seoul"]

    history = await client.get(f"/v1/members/{seoul['id']}/memberships")
    assert history.status_code == 200, history.text
    assert [m["network"] for m in history.json()["memberships"]] == ["citynet"]
    assert [t["role"] for t in history.json()["tenures"]] == ["chair"]
