"""Small async builders for registry data, through the HTTP API."""

from __future__ import annotations

from typing import Any

import httpx

Headers = dict[str, str]


async def post(
    client: httpx.AsyncClient, path: str, headers: Headers, **body: Any
) -> dict[str, Any]:
    response = await client.post(path, json=body, headers=headers)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def city(
    client: httpx.AsyncClient, headers: Headers, name: str, country_code: str = "KR", **fields: Any
) -> dict[str, Any]:
    return await post(client, "/v1/cities", headers, name=name, country_code=country_code, **fields)


async def organization(
    client: httpx.AsyncClient, headers: Headers, name: str, **fields: Any
) -> dict[str, Any]:
    return await post(client, "/v1/organizations", headers, name=name, **fields)


async def network(
    client: httpx.AsyncClient, headers: Headers, slug: str = "citynet", **fields: Any
) -> dict[str, Any]:
    return await post(client, "/v1/networks", headers, slug=slug, name=slug.upper(), **fields)


async def membership(
    client: httpx.AsyncClient,
    headers: Headers,
    member_id: str,
    *,
    network: str = "citynet",
    category: str = "full",
    start_date: str | None = None,
    end_date: str | None = None,
) -> dict[str, Any]:
    return await post(
        client,
        f"/v1/networks/{network}/memberships",
        headers,
        member_id=member_id,
        category=category,
        start_date=start_date,
        end_date=end_date,
    )


async def role(
    client: httpx.AsyncClient,
    headers: Headers,
    slug: str = "chair",
    *,
    network: str = "citynet",
    **fields: Any,
) -> dict[str, Any]:
    fields.setdefault("max_holders", 1)
    return await post(
        client, f"/v1/networks/{network}/roles", headers, slug=slug, name=slug.title(), **fields
    )


async def tenure(
    client: httpx.AsyncClient,
    headers: Headers,
    member_id: str,
    *,
    role: str = "chair",
    network: str = "citynet",
    start_date: str | None = None,
    end_date: str | None = None,
) -> dict[str, Any]:
    return await post(
        client,
        f"/v1/networks/{network}/tenures",
        headers,
        role=role,
        member_id=member_id,
        start_date=start_date,
        end_date=end_date,
    )
