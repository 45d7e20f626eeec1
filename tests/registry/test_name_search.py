"""Name search finds the members whose names resemble the query, and only them: in the
register of cities and in a network's member list alike."""

from __future__ import annotations

import httpx

from tests.registry import builders

Headers = dict[str, str]


async def test_a_networks_member_list_searched_by_name_lists_only_the_matching_members(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    await builders.network(client, admin_headers)
    await builders.members_of(client, admin_headers, ["Seoul", "Busan", "Yokohama"])
    assert await builders.member_names(client, q="seoul") == ["Seoul"]
    assert await builders.member_names(client, q="YOKOHAMA") == ["Yokohama"]
    assert await builders.member_names(client, q="zzzzqqq") == []


async def test_the_register_searched_by_name_lists_only_the_matching_cities(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    for name in ("Łódź", "Busan", "Seoul"):
        await builders.city(client, admin_headers, name, "KR")
    response = await client.get("/v1/cities", params={"q": "lodz"})
    assert response.status_code == 200, response.text
    assert [item["name"] for item in response.json()["items"]] == ["Łódź"]
