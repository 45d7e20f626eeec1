from __future__ import annotations

import httpx

from tests.conftest import Database
from tests.networks.builders import create_network, network_payload


async def test_create_then_get_returns_the_stored_network(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    response = await client.post(
        "/v1/networks",
        json=network_payload("citynet", founded_on="1987", scope="Asia-Pacific"),
        headers=admin_headers,
    )
    assert response.status_code == 201
    assert response.headers["location"] == "/v1/networks/citynet"
    fetched = await client.get("/v1/networks/citynet")
    assert fetched.status_code == 200
    body = fetched.json()
    assert body["founded_on"] == "1987"
    assert body["scope"] == "Asia-Pacific"
    assert body["membership_categories"] == ["full", "associate"]
    assert fetched.headers["etag"] == response.headers["etag"]


async def test_duplicate_slug_is_409_and_writes_nothing(
    client: httpx.AsyncClient, admin_headers: dict[str, str], db: Database
) -> None:
    await create_network(client, admin_headers, "citynet")
    audit_before = await db.count("audit_events")
    response = await client.post("/v1/networks", json=network_payload("citynet"), headers=admin_headers)
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert "citynet" in response.json()["detail"]
    assert await db.count("networks") == 1
    assert await db.count("audit_events") == audit_before
