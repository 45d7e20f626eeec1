from __future__ import annotations

from typing import Any

import httpx
import pytest

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
    response = await client.post(
        "/v1/networks", json=network_payload("citynet"), headers=admin_headers
    )
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert "citynet" in response.json()["detail"]
    assert await db.count("networks") == 1
    assert await db.count("audit_events") == audit_before


def _error_locations(response: httpx.Response) -> list[list[str | int]]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return [error["location"] for error in response.json()["errors"]]


@pytest.mark.parametrize(
    ("fields", "location"),
    [
        ({"slug": "City Net"}, ["body", "slug"]),
        ({"slug": "citynet-"}, ["body", "slug"]),
        ({"slug": "-citynet"}, ["body", "slug"]),
        ({"slug": "city--net"}, ["body", "slug"]),
        ({"slug": "CITYNET"}, ["body", "slug"]),
        ({"slug": "x" * 64}, ["body", "slug"]),
        ({"name": ""}, ["body", "name"]),
        ({"name": "   "}, ["body", "name"]),
        ({"membership_categories": ["full", "full"]}, ["body", "membership_categories"]),
        ({"membership_categories": []}, ["body", "membership_categories"]),
        ({"membership_categories": ["Full Member"]}, ["body", "membership_categories", 0]),
        ({"website": "not a url"}, ["body", "website"]),
        ({"website": "ftp://citynet-ap.org"}, ["body", "website"]),
        ({"founded_on": "1987-13"}, ["body", "founded_on"]),
        ({"founded_on": "1987-02-30"}, ["body", "founded_on"]),
        ({"founded_on": "87"}, ["body", "founded_on"]),
    ],
)
async def test_invalid_network_is_422_naming_the_field(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    db: Database,
    fields: dict[str, Any],
    location: list[str | int],
) -> None:
    payload = {**network_payload("citynet"), **fields}
    response = await client.post("/v1/networks", json=payload, headers=admin_headers)
    assert _error_locations(response) == [location]
    assert await db.count("networks") == 0


@pytest.mark.parametrize("founded_on", ["1987", "1987-06", "1987-06-05"])
async def test_founded_on_keeps_its_precision(
    client: httpx.AsyncClient, admin_headers: dict[str, str], founded_on: str
) -> None:
    created = await create_network(client, admin_headers, "citynet", founded_on=founded_on)
    assert created["founded_on"] == founded_on
    assert (await client.get("/v1/networks/citynet")).json()["founded_on"] == founded_on
    listed = (await client.get("/v1/networks")).json()["items"]
    assert [item["founded_on"] for item in listed] == [founded_on]


async def test_create_returns_every_field_of_the_contract(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    created = await create_network(client, admin_headers, "citynet")
    assert {
        "slug",
        "name",
        "acronym",
        "official_name",
        "founded_on",
        "scope",
        "website",
        "description",
        "membership_criteria",
        "membership_categories",
    } <= created.keys()


async def test_patch_changes_only_the_fields_sent(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    created = await create_network(
        client,
        admin_headers,
        "citynet",
        founded_on="1987",
        scope="Asia-Pacific",
        website="https://citynet-ap.org",
    )
    response = await client.patch(
        "/v1/networks/citynet", json={"acronym": "CN"}, headers=admin_headers
    )
    assert response.status_code == 200
    patched = response.json()
    assert patched["acronym"] == "CN"
    unchanged = {key for key in created if key not in ("acronym", "updated_at")}
    assert {key: patched[key] for key in unchanged} == {key: created[key] for key in unchanged}
    assert (await client.get("/v1/networks/citynet")).json() == patched


async def test_patch_with_null_clears_an_optional_field(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    await create_network(client, admin_headers, "citynet", scope="Asia-Pacific", founded_on="1987")
    response = await client.patch(
        "/v1/networks/citynet", json={"scope": None, "founded_on": None}, headers=admin_headers
    )
    assert response.status_code == 200
    fetched = (await client.get("/v1/networks/citynet")).json()
    assert fetched["scope"] is None
    assert fetched["founded_on"] is None
    assert fetched["name"] == "CITYNET"


@pytest.mark.parametrize("field", ["name", "membership_categories"])
async def test_patch_with_null_on_a_required_field_is_422(
    client: httpx.AsyncClient, admin_headers: dict[str, str], field: str
) -> None:
    created = await create_network(client, admin_headers, "citynet")
    response = await client.patch("/v1/networks/citynet", json={field: None}, headers=admin_headers)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert field in response.json()["detail"]
    assert (await client.get("/v1/networks/citynet")).json()[field] == created[field]


async def test_patch_of_the_slug_is_422(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    await create_network(client, admin_headers, "citynet")
    response = await client.patch(
        "/v1/networks/citynet", json={"slug": "citynet-2"}, headers=admin_headers
    )
    assert _error_locations(response) == [["body", "slug"]]
    assert (await client.get("/v1/networks/citynet")).status_code == 200
    assert (await client.get("/v1/networks/citynet-2")).status_code == 404


async def test_patch_validates_fields_like_create(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    await create_network(client, admin_headers, "citynet")
    response = await client.patch(
        "/v1/networks/citynet",
        json={"founded_on": "1987-13", "website": "nope"},
        headers=admin_headers,
    )
    assert sorted(_error_locations(response)) == [["body", "founded_on"], ["body", "website"]]


async def test_delete_is_204_then_get_is_404(
    client: httpx.AsyncClient, admin_headers: dict[str, str], db: Database
) -> None:
    await create_network(client, admin_headers, "citynet")
    response = await client.delete("/v1/networks/citynet", headers=admin_headers)
    assert response.status_code == 204
    assert response.content == b""
    assert (await client.get("/v1/networks/citynet")).status_code == 404
    assert await db.count("networks") == 0
    listed = (await client.get("/v1/networks")).json()
    assert listed == {"items": [], "next_cursor": None}


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
async def test_unknown_slug_is_404(
    client: httpx.AsyncClient, admin_headers: dict[str, str], method: str
) -> None:
    await create_network(client, admin_headers, "citynet")
    body = {"scope": "Asia"} if method == "PATCH" else None
    response = await client.request(
        method, "/v1/networks/nowhere", json=body, headers=admin_headers
    )
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert "nowhere" in response.json()["detail"]


@pytest.mark.parametrize("field", ["name", "description", "scope"])
async def test_nul_character_in_a_text_field_is_422(
    client: httpx.AsyncClient, admin_headers: dict[str, str], db: Database, field: str
) -> None:
    payload = {**network_payload("citynet"), field: "City\u0000Net"}
    response = await client.post("/v1/networks", json=payload, headers=admin_headers)
    assert _error_locations(response) == [["body", field]]
    assert await db.count("networks") == 0


async def test_nul_character_in_a_patch_is_422(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    await create_network(client, admin_headers, "citynet")
    response = await client.patch(
        "/v1/networks/citynet", json={"acronym": "C\u0000N"}, headers=admin_headers
    )
    assert _error_locations(response) == [["body", "acronym"]]
