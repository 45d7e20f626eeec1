"""The change feed's filters: `network` (what concerns it, as recorded at the write),
`resource_type` and `action`; a filtered feed resumes from any cursor without skipping or
repeating a change, also while writes go on."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.registry import builders

Headers = dict[str, str]


async def changes(client: httpx.AsyncClient, **params: str) -> list[dict[str, Any]]:
    response = await client.get("/v1/changes", params={"limit": "1000", **params})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def described(items: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [(item["action"], item["resource_type"], item["resource_id"]) for item in items]


async def two_networks(client: httpx.AsyncClient, headers: Headers) -> dict[str, str]:
    """citynet and metropolis; Seoul in both, Paris in metropolis, an NGO in neither."""
    await builders.network(client, headers, "citynet")
    await builders.network(client, headers, "metropolis")
    seoul = (await builders.city(client, headers, "Seoul"))["id"]
    paris = (await builders.city(client, headers, "Paris", "FR"))["id"]
    ngo = (await builders.organization(client, headers, "Some NGO"))["id"]
    seoul_citynet = await builders.membership(client, headers, seoul, network="citynet")
    await builders.membership(client, headers, seoul, network="metropolis")
    paris_metropolis = await builders.membership(client, headers, paris, network="metropolis")
    await builders.role(client, headers, "chair", network="citynet")
    await builders.tenure(client, headers, seoul, network="citynet", start_date="2020-01-01")
    renamed = await client.patch(
        f"/v1/cities/{seoul}", json={"population": 9_400_000}, headers=headers
    )
    assert renamed.status_code == 200, renamed.text
    deleted = await client.delete(
        f"/v1/networks/metropolis/memberships/{paris_metropolis['id']}", headers=headers
    )
    assert deleted.status_code == 204, deleted.text
    return {
        "seoul": seoul,
        "paris": paris,
        "ngo": ngo,
        "seoul_citynet": seoul_citynet["id"],
        "paris_metropolis": paris_metropolis["id"],
    }


async def test_network_filter_takes_what_concerns_the_network_and_nothing_else(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    ids = await two_networks(client, admin_headers)
    citynet = await changes(client, network="citynet")
    assert [(action, kind) for action, kind, _ in described(citynet)] == [
        ("create", "network"),
        ("create", "membership"),
        ("create", "role"),
        ("create", "tenure"),
        ("update", "city"),  # Seoul was in citynet when it changed
    ]
    assert ("update", "city", ids["seoul"]) in described(citynet)
    metropolis = described(await changes(client, network="metropolis"))
    assert ("create", "city", ids["paris"]) not in metropolis  # created before it joined
    assert ("delete", "membership", ids["paris_metropolis"]) in metropolis
    assert ("update", "city", ids["seoul"]) in metropolis  # in both networks' feeds
    assert all(kind != "role" for _, kind, _ in metropolis)
    assert not any(ids["ngo"] == resource for _, _, resource in metropolis + described(citynet))
    assert await changes(client, network="c40") == []


async def test_resource_type_and_action_filters_combine(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    ids = await two_networks(client, admin_headers)
    everything = await changes(client)
    memberships = await changes(client, resource_type="membership")
    assert memberships == [item for item in everything if item["resource_type"] == "membership"]
    assert len(memberships) == 4
    deletions = await changes(client, action="delete")
    assert described(deletions) == [("delete", "membership", ids["paris_metropolis"])]
    assert deletions[0]["data"] is None
    assert await changes(client, resource_type="membership", action="update") == []
    both = await changes(client, network="citynet", resource_type="membership", action="create")
    assert described(both) == [("create", "membership", ids["seoul_citynet"])]
    cities = await changes(client, resource_type="city", network="metropolis")
    assert described(cities) == [("update", "city", ids["seoul"])]


async def test_a_filtered_feed_resumes_from_each_cursor_while_writes_go_on(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    await two_networks(client, admin_headers)
    seen: list[dict[str, Any]] = []
    cursor = "0"
    extra = 0
    while True:
        response = await client.get(
            "/v1/changes", params={"after": cursor, "limit": "2", "network": "citynet"}
        )
        assert response.status_code == 200, response.text
        page = response.json()
        if not page["items"]:
            break
        if page["items"] and extra < 3:  # writes in citynet and elsewhere between pages
            extra += 1
            city = await builders.city(client, admin_headers, f"Late {extra}")
            await builders.membership(client, admin_headers, city["id"], network="citynet")
            await builders.city(client, admin_headers, f"Elsewhere {extra}")
        if len(page["items"]) == 2:
            assert 'rel="next"' in response.headers["link"]
            assert "network=citynet" in response.headers["link"]
        seen.extend(page["items"])
        cursor = page["next_cursor"]
    assert seen == await changes(client, network="citynet")
    assert len({item["cursor"] for item in seen}) == len(seen)
    assert sum(item["resource_type"] == "membership" for item in seen) == 1 + 3


@pytest.mark.parametrize(
    ("query", "location"),
    [
        ("resource_type=memberships", "resource_type"),
        ("action=remove", "action"),
        ("network=CITYNET", "network"),
        ("network=", "network"),
    ],
)
async def test_a_filter_the_feed_cannot_take_is_a_422_naming_it(
    client: httpx.AsyncClient, query: str, location: str
) -> None:
    response = await client.get(f"/v1/changes?{query}")
    assert response.status_code == 422, response.text
    assert ["query", location] in [error["location"] for error in response.json()["errors"]]
