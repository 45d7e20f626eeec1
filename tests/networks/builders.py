"""Small builders of network payloads for tests."""

from __future__ import annotations

from typing import Any

import httpx


def network_payload(slug: str = "citynet", **fields: Any) -> dict[str, Any]:
    return {"slug": slug, "name": fields.pop("name", slug.upper()), **fields}


async def create_network(
    client: httpx.AsyncClient, headers: dict[str, str], slug: str = "citynet", **fields: Any
) -> dict[str, Any]:
    response = await client.post(
        "/v1/networks", json=network_payload(slug, **fields), headers=headers
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body
