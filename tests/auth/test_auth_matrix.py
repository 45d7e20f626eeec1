"""Who may do what: reads are public, writes need a key, scoped keys write only their networks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
import pytest

from tests.conftest import Database, Keys
from tests.networks.builders import create_network, network_payload

Write = Callable[[httpx.AsyncClient, dict[str, str]], Awaitable[httpx.Response]]

WRITES: dict[str, Write] = {
    "create": lambda client, headers: client.post(
        "/v1/networks", json=network_payload("newnet"), headers=headers
    ),
    "patch": lambda client, headers: client.patch(
        "/v1/networks/citynet", json={"scope": "Everywhere"}, headers=headers
    ),
    "delete": lambda client, headers: client.delete("/v1/networks/citynet", headers=headers),
}


@pytest.fixture
async def networks(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    await create_network(client, admin_headers, "citynet", scope="Asia-Pacific")
    await create_network(client, admin_headers, "metropolis", scope="Global")


@pytest.fixture
async def citynet_headers(keys: Keys, networks: None) -> dict[str, str]:
    return {"Authorization": f"Bearer {await keys.create('citynet-staff', networks=['citynet'])}"}


async def _snapshot(client: httpx.AsyncClient, db: Database) -> tuple[object, ...]:
    listing = (await client.get("/v1/networks")).json()
    return listing, await db.count("networks"), await db.count("audit_events")


def _assert_problem(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == status


@pytest.mark.parametrize("write", WRITES)
async def test_write_without_a_key_is_401_with_www_authenticate(
    client: httpx.AsyncClient, db: Database, networks: None, write: str
) -> None:
    before = await _snapshot(client, db)
    response = await WRITES[write](client, {})
    _assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert await _snapshot(client, db) == before


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer nr_this-key-was-never-issued",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "nr_token-without-scheme",
        "Bearer a b c",
    ],
)
async def test_write_with_a_malformed_or_unknown_key_is_401(
    client: httpx.AsyncClient, db: Database, networks: None, authorization: str
) -> None:
    before = await _snapshot(client, db)
    response = await WRITES["patch"](client, {"Authorization": authorization})
    _assert_problem(response, 401)
    assert "www-authenticate" in response.headers
    assert await _snapshot(client, db) == before


@pytest.mark.parametrize("write", WRITES)
async def test_write_with_a_revoked_key_is_401(
    client: httpx.AsyncClient, keys: Keys, db: Database, networks: None, write: str
) -> None:
    token = await keys.create("revoked-admin", admin=True)
    await keys.revoke(token)
    before = await _snapshot(client, db)
    response = await WRITES[write](client, {"Authorization": f"Bearer {token}"})
    _assert_problem(response, 401)
    assert await _snapshot(client, db) == before


async def test_scoped_key_may_patch_its_network(
    client: httpx.AsyncClient, citynet_headers: dict[str, str]
) -> None:
    response = await WRITES["patch"](client, citynet_headers)
    assert response.status_code == 200
    assert (await client.get("/v1/networks/citynet")).json()["scope"] == "Everywhere"


async def test_scoped_key_may_not_patch_another_network(
    client: httpx.AsyncClient, citynet_headers: dict[str, str], db: Database
) -> None:
    before = await _snapshot(client, db)
    response = await client.patch(
        "/v1/networks/metropolis", json={"scope": "Nowhere"}, headers=citynet_headers
    )
    _assert_problem(response, 403)
    assert "metropolis" in response.json()["detail"]
    assert await _snapshot(client, db) == before


@pytest.mark.parametrize("write", ["create", "delete"])
async def test_scoped_key_may_not_create_or_delete_networks(
    client: httpx.AsyncClient, citynet_headers: dict[str, str], db: Database, write: str
) -> None:
    before = await _snapshot(client, db)
    response = await WRITES[write](client, citynet_headers)
    _assert_problem(response, 403)
    assert await _snapshot(client, db) == before


async def test_scoped_key_reads_only_its_own_networks_audit_log(
    client: httpx.AsyncClient, citynet_headers: dict[str, str]
) -> None:
    _assert_problem(await client.get("/v1/audit", headers=citynet_headers), 403)
    _assert_problem(await client.get("/v1/audit?network=metropolis", headers=citynet_headers), 403)
    own = await client.get("/v1/audit?network=citynet", headers=citynet_headers)
    assert own.status_code == 200, own.text


async def test_admin_may_create_patch_and_delete(
    client: httpx.AsyncClient, admin_headers: dict[str, str], networks: None
) -> None:
    assert (await WRITES["create"](client, admin_headers)).status_code == 201
    assert (await WRITES["patch"](client, admin_headers)).status_code == 200
    patched = await client.patch(
        "/v1/networks/metropolis", json={"scope": "World"}, headers=admin_headers
    )
    assert patched.status_code == 200
    assert (await WRITES["delete"](client, admin_headers)).status_code == 204
    assert (await client.get("/v1/audit", headers=admin_headers)).status_code == 200


async def test_reads_need_no_key(client: httpx.AsyncClient, networks: None) -> None:
    for path in ("/v1/networks", "/v1/networks/citynet", "/healthz", "/readyz", "/metrics"):
        assert (await client.get(path)).status_code == 200, path


async def test_reads_ignore_an_unknown_key(client: httpx.AsyncClient, networks: None) -> None:
    response = await client.get("/v1/networks", headers={"Authorization": "Bearer nr_unknown"})
    assert response.status_code == 200


async def test_the_token_never_appears_in_a_response(
    client: httpx.AsyncClient, keys: Keys, networks: None
) -> None:
    admin = await keys.create("admin-2", admin=True)
    scoped = await keys.create("scoped-2", networks=["citynet"])
    revoked = await keys.create("revoked-2", admin=True)
    await keys.revoke(revoked)
    requests: list[tuple[str, str, str, dict[str, object] | None]] = [
        (admin, "POST", "/v1/networks", network_payload("c40")),
        (admin, "POST", "/v1/networks", network_payload("c40")),
        (admin, "PATCH", "/v1/networks/c40", {"name": ""}),
        (admin, "GET", "/v1/audit", None),
        (scoped, "PATCH", "/v1/networks/citynet", {"scope": "Asia"}),
        (scoped, "PATCH", "/v1/networks/metropolis", {"scope": "Asia"}),
        (scoped, "POST", "/v1/networks", network_payload("uclg")),
        (scoped, "GET", "/v1/audit", None),
        (revoked, "PATCH", "/v1/networks/citynet", {"scope": "Asia"}),
        (revoked + "x", "DELETE", "/v1/networks/citynet", None),
    ]
    for token, method, path, body in requests:
        response = await client.request(
            method, path, json=body, headers={"Authorization": f"Bearer {token}"}
        )
        secret = token.removeprefix("nr_")
        assert secret not in response.text, (method, path)
        for name, value in response.headers.items():
            assert secret not in value, (method, path, name)
