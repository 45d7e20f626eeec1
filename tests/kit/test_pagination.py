"""Cursor pagination: complete, ordered walks, and cursors that cannot be forged or moved."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
import pytest

from tests.networks.builders import create_network

TOTAL = 250
PAGE = 37
LINK = re.compile(r'^<(?P<url>[^>]+)>; rel="next"$')


async def _create_networks(
    client: httpx.AsyncClient, headers: dict[str, str], count: int
) -> list[str]:
    """``count`` networks created through the API, 25 requests at a time."""
    slugs = [f"net-{number:03d}" for number in range(count)]
    for start in range(0, count, 25):
        await asyncio.gather(
            *(create_network(client, headers, slug) for slug in slugs[start : start + 25])
        )
    return sorted(slugs)


@pytest.fixture
async def slugs(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> list[str]:
    return await _create_networks(client, admin_headers, TOTAL)


def _slugs(page: httpx.Response) -> list[str]:
    return [item["slug"] for item in page.json()["items"]]


async def test_following_next_cursor_walks_every_network_once_in_slug_order(
    client: httpx.AsyncClient, slugs: list[str]
) -> None:
    seen: list[str] = []
    params: dict[str, Any] = {"limit": PAGE}
    pages = 0
    while True:
        response = await client.get("/v1/networks", params=params)
        assert response.status_code == 200
        body = response.json()
        pages += 1
        seen += _slugs(response)
        if body["next_cursor"] is None:
            assert "link" not in response.headers
            assert len(body["items"]) == TOTAL % PAGE
            break
        assert len(body["items"]) == PAGE
        params = {"limit": PAGE, "cursor": body["next_cursor"]}
    assert seen == slugs
    assert pages == -(-TOTAL // PAGE)


async def test_following_the_link_header_walks_every_network_once_in_slug_order(
    client: httpx.AsyncClient, slugs: list[str]
) -> None:
    seen: list[str] = []
    url: str | None = f"/v1/networks?limit={PAGE}"
    while url is not None:
        response = await client.get(url)
        assert response.status_code == 200
        seen += _slugs(response)
        link = response.headers.get("link")
        if link is None:
            assert response.json()["next_cursor"] is None
            url = None
        else:
            match = LINK.match(link)
            assert match is not None, link
            url = match["url"]
            assert f"limit={PAGE}" in url
    assert seen == slugs


async def test_default_limit_is_100(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    slugs = await _create_networks(client, admin_headers, 101)
    response = await client.get("/v1/networks")
    assert _slugs(response) == slugs[:100]
    assert response.json()["next_cursor"] is not None


async def test_an_exact_last_page_has_no_next_cursor(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    slugs = await _create_networks(client, admin_headers, 4)
    first = await client.get("/v1/networks", params={"limit": 2})
    second = await client.get(
        "/v1/networks", params={"limit": 2, "cursor": first.json()["next_cursor"]}
    )
    assert _slugs(first) + _slugs(second) == slugs
    assert second.json()["next_cursor"] is None
    assert "link" not in second.headers


async def test_limit_out_of_range_is_422(client: httpx.AsyncClient) -> None:
    for limit in (0, 1001, -1):
        response = await client.get("/v1/networks", params={"limit": limit})
        assert response.status_code == 422, limit
        assert response.json()["errors"][0]["location"] == ["query", "limit"]


async def test_limit_of_1000_is_accepted(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    await _create_networks(client, admin_headers, 101)  # more than the default page
    response = await client.get("/v1/networks", params={"limit": 1000})
    assert response.status_code == 200
    assert len(response.json()["items"]) == 101
    assert response.json()["next_cursor"] is None


def _tampered(cursor: str, position: int) -> str:
    """``cursor`` with the character at ``position`` replaced by another."""
    replacement = "A" if cursor[position] != "A" else "B"
    return cursor[:position] + replacement + cursor[position + 1 :]


async def test_a_tampered_cursor_is_400(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    await _create_networks(client, admin_headers, 3)
    cursor = (await client.get("/v1/networks", params={"limit": 1})).json()["next_cursor"]
    # Every character but the last carries only significant bits: any change must be caught.
    for position in range(len(cursor) - 1):
        response = await client.get(
            "/v1/networks", params={"limit": 1, "cursor": _tampered(cursor, position)}
        )
        assert response.status_code == 400, (position, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["type"].endswith("invalid-cursor")


async def test_a_cursor_is_not_accepted_by_another_list(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    await _create_networks(client, admin_headers, 3)
    cursor = (await client.get("/v1/networks", params={"limit": 1})).json()["next_cursor"]
    response = await client.get("/v1/audit", params={"cursor": cursor}, headers=admin_headers)
    assert response.status_code == 400
    assert response.json()["type"].endswith("invalid-cursor")


async def test_a_cursor_is_not_accepted_with_other_filters(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    await _create_networks(client, admin_headers, 3)
    first = await client.get(
        "/v1/audit", params={"resource_type": "network", "limit": 1}, headers=admin_headers
    )
    cursor = first.json()["next_cursor"]
    same = await client.get(
        "/v1/audit",
        params={"resource_type": "network", "limit": 1, "cursor": cursor},
        headers=admin_headers,
    )
    assert same.status_code == 200
    for other in ({"resource_type": "city"}, {}, {"resource_type": "network", "network": "x"}):
        response = await client.get(
            "/v1/audit", params={**other, "limit": 1, "cursor": cursor}, headers=admin_headers
        )
        assert response.status_code == 400, other


async def test_a_cursor_keeps_working_with_another_limit(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    slugs = await _create_networks(client, admin_headers, 5)
    cursor = (await client.get("/v1/networks", params={"limit": 2})).json()["next_cursor"]
    response = await client.get("/v1/networks", params={"limit": 3, "cursor": cursor})
    assert response.status_code == 200
    assert _slugs(response) == slugs[2:]
