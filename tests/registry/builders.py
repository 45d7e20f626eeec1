"""Small async builders for registry data, through the HTTP API."""

from __future__ import annotations

import asyncio
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


async def handover(
    client: httpx.AsyncClient,
    headers: Headers,
    member_id: str,
    date: str,
    *,
    role: str = "chair",
    network: str = "citynet",
    **fields: Any,
) -> httpx.Response:
    """POST a handover and return the raw response (callers assert the status)."""
    return await client.post(
        f"/v1/networks/{network}/roles/{role}/handover",
        json={"member_id": member_id, "date": date, **fields},
        headers=headers,
    )


async def holder_names(
    client: httpx.AsyncClient, day: str, *, role: str = "chair", network: str = "citynet"
) -> list[str]:
    """The names of the role's holders on ``day``, in the order the API lists them."""
    response = await client.get(
        f"/v1/networks/{network}/roles/{role}/holders", params={"as_of": day}
    )
    assert response.status_code == 200, response.text
    return [row["member"]["name"] for row in response.json()["items"]]


async def member_names(
    client: httpx.AsyncClient, *, network: str = "citynet", **params: Any
) -> list[str]:
    """The names in the network's member list (one page of up to 1000 rows)."""
    response = await client.get(f"/v1/networks/{network}/members", params={"limit": 1000, **params})
    assert response.status_code == 200, response.text
    return [row["member"]["name"] for row in response.json()["items"]]


async def gather_in_batches(calls: list[Any], batch: int = 25) -> list[Any]:
    """Await coroutines concurrently, ``batch`` at a time (the app's pool is ~40)."""
    results: list[Any] = []
    for first in range(0, len(calls), batch):
        results.extend(await asyncio.gather(*calls[first : first + batch]))
    return results


async def members_of(
    client: httpx.AsyncClient,
    headers: Headers,
    names: list[str],
    *,
    kind: str = "city",
    country_code: str = "KR",
    network: str = "citynet",
    category: str = "full",
    start_date: str | None = None,
) -> list[dict[str, Any]]:
    """Create many cities (or organizations) and their memberships, concurrently."""
    if kind == "city":
        created = await gather_in_batches(
            [city(client, headers, name, country_code) for name in names]
        )
    else:
        created = await gather_in_batches(
            [organization(client, headers, name, country_code=country_code) for name in names]
        )
    await gather_in_batches(
        [
            membership(
                client,
                headers,
                member["id"],
                network=network,
                category=category,
                start_date=start_date,
            )
            for member in created
        ]
    )
    return created
