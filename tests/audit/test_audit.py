"""The audit log: one row per committed change, readable whole by admins and network by
network by scoped keys, never rewritten."""

from __future__ import annotations

import re
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tests.conftest import Database, Keys
from tests.networks.builders import create_network, network_payload


async def _key_id(db: Database, name: str) -> str:
    return str(await db.scalar("SELECT id FROM api_keys WHERE name = :name", name=name))


async def _audit(client: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> list[Any]:
    response = await client.get("/v1/audit", params=params, headers=headers)
    assert response.status_code == 200, response.text
    items: list[Any] = response.json()["items"]
    return items


@pytest.fixture
async def staff_headers(keys: Keys) -> dict[str, str]:
    return {"Authorization": f"Bearer {await keys.create('secretariat', admin=True)}"}


async def test_create_leaves_one_audit_row_with_actor_and_request_id(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    staff_headers: dict[str, str],
    db: Database,
) -> None:
    response = await client.post(
        "/v1/networks",
        json=network_payload("citynet", founded_on="1987"),
        headers={**staff_headers, "X-Request-ID": "req-create-1"},
    )
    assert response.status_code == 201
    [event] = await _audit(client, admin_headers)
    assert event["actor_key_id"] == await _key_id(db, "secretariat")
    assert event["actor_name"] == "secretariat"
    assert event["action"] == "create"
    assert (event["resource_type"], event["resource_id"]) == ("network", "citynet")
    assert event["network"] == "citynet"
    assert event["before"] is None
    assert event["after"] == response.json()
    assert event["client_request_id"] == "req-create-1"
    assert re.fullmatch("[0-9a-f]{32}", event["request_id"])  # the server's own
    assert event["occurred_at"].endswith(("+00:00", "Z"))


@pytest.mark.parametrize("body", [{}, {"name": "CITYNET"}], ids=["empty", "unchanged"])
async def test_a_patch_that_changes_nothing_is_neither_audited_nor_in_the_feed(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    db: Database,
    body: dict[str, Any],
) -> None:
    await create_network(client, admin_headers, "citynet", name="CITYNET")
    audited, published = await db.count("audit_events"), await db.count("changes")
    before = (await client.get("/v1/networks/citynet")).json()

    response = await client.patch("/v1/networks/citynet", json=body, headers=admin_headers)

    assert response.status_code == 200
    assert response.json() == before
    assert await db.count("audit_events") == audited
    assert await db.count("changes") == published


async def test_patch_leaves_one_audit_row_with_before_and_after(
    client: httpx.AsyncClient, admin_headers: dict[str, str], staff_headers: dict[str, str]
) -> None:
    created = await create_network(client, admin_headers, "citynet", scope="Asia")
    response = await client.patch(
        "/v1/networks/citynet",
        json={"scope": "Asia-Pacific"},
        headers={**staff_headers, "X-Request-ID": "req-patch-1"},
    )
    assert response.status_code == 200
    events = await _audit(client, admin_headers)
    assert [event["action"] for event in events] == ["update", "create"]
    update = events[0]
    assert update["actor_name"] == "secretariat"
    assert update["before"] == created
    assert update["after"] == response.json()
    assert update["before"]["scope"] == "Asia"
    assert update["after"]["scope"] == "Asia-Pacific"
    assert update["client_request_id"] == "req-patch-1"
    assert re.fullmatch("[0-9a-f]{32}", update["request_id"])  # the server's own


async def test_delete_leaves_one_audit_row_with_before_only(
    client: httpx.AsyncClient, admin_headers: dict[str, str], staff_headers: dict[str, str]
) -> None:
    created = await create_network(client, admin_headers, "citynet")
    response = await client.delete(
        "/v1/networks/citynet", headers={**staff_headers, "X-Request-ID": "req-delete-1"}
    )
    assert response.status_code == 204
    events = await _audit(client, admin_headers)
    assert [event["action"] for event in events] == ["delete", "create"]
    delete = events[0]
    assert delete["actor_name"] == "secretariat"
    assert (delete["resource_type"], delete["resource_id"]) == ("network", "citynet")
    assert delete["before"] == created
    assert delete["after"] is None
    assert delete["client_request_id"] == "req-delete-1"
    assert re.fullmatch("[0-9a-f]{32}", delete["request_id"])  # the server's own


async def test_generated_request_id_is_recorded(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    response = await client.post(
        "/v1/networks", json=network_payload("citynet"), headers=admin_headers
    )
    [event] = await _audit(client, admin_headers)
    assert event["request_id"] == response.headers["x-request-id"]
    assert event["client_request_id"] is None


async def test_failed_writes_leave_no_audit_row(
    client: httpx.AsyncClient, admin_headers: dict[str, str], keys: Keys, db: Database
) -> None:
    await create_network(client, admin_headers, "citynet")
    await create_network(client, admin_headers, "metropolis")
    scoped = {"Authorization": f"Bearer {await keys.create('scoped', networks=['metropolis'])}"}
    etag = (await client.get("/v1/networks/citynet")).headers["etag"]
    await client.patch("/v1/networks/citynet", json={"scope": "Asia"}, headers=admin_headers)
    before = await db.count("audit_events")

    failures = [
        await client.post("/v1/networks", json=network_payload("citynet"), headers=admin_headers),
        await client.post("/v1/networks", json={"slug": "Bad Slug"}, headers=admin_headers),
        await client.patch("/v1/networks/citynet", json={"name": None}, headers=admin_headers),
        await client.patch(
            "/v1/networks/citynet", json={"scope": "X"}, headers={**admin_headers, "If-Match": etag}
        ),
        await client.delete("/v1/networks/nowhere", headers=admin_headers),
        await client.patch("/v1/networks/citynet", json={"scope": "X"}, headers=scoped),
        await client.delete("/v1/networks/citynet"),
    ]
    assert [response.status_code for response in failures] == [409, 422, 422, 412, 404, 403, 401]
    assert await db.count("audit_events") == before


async def test_reading_the_audit_log_needs_a_key(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/audit")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert "www-authenticate" in response.headers


async def test_reading_the_whole_audit_log_needs_an_admin_key(
    client: httpx.AsyncClient, admin_headers: dict[str, str], keys: Keys
) -> None:
    await create_network(client, admin_headers, "citynet")
    await create_network(client, admin_headers, "metropolis")
    scoped = {"Authorization": f"Bearer {await keys.create('scoped', networks=['citynet'])}"}
    for params in ({}, {"network": "metropolis"}):
        response = await client.get("/v1/audit", params=params, headers=scoped)
        assert response.status_code == 403
        assert response.headers["content-type"] == "application/problem+json"
        assert "items" not in response.json()
    own = await _audit(client, scoped, network="citynet")
    assert [(event["action"], event["resource_id"]) for event in own] == [("create", "citynet")]


async def test_audit_log_is_newest_first(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    for slug in ("a-net", "b-net", "c-net"):
        await create_network(client, admin_headers, slug)
    await client.patch("/v1/networks/a-net", json={"scope": "X"}, headers=admin_headers)
    events = await _audit(client, admin_headers)
    assert [(event["action"], event["resource_id"]) for event in events] == [
        ("update", "a-net"),
        ("create", "c-net"),
        ("create", "b-net"),
        ("create", "a-net"),
    ]
    times = [event["occurred_at"] for event in events]
    assert times == sorted(times, reverse=True)


async def test_audit_log_pages_newest_first(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    for slug in ("a-net", "b-net", "c-net"):
        await create_network(client, admin_headers, slug)
    first = await client.get("/v1/audit", params={"limit": 2}, headers=admin_headers)
    second = await client.get(
        "/v1/audit",
        params={"limit": 2, "cursor": first.json()["next_cursor"]},
        headers=admin_headers,
    )
    ids = [event["resource_id"] for event in first.json()["items"] + second.json()["items"]]
    assert ids == ["c-net", "b-net", "a-net"]
    assert second.json()["next_cursor"] is None


async def test_audit_log_filters_by_resource_and_network(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    await create_network(client, admin_headers, "citynet")
    await create_network(client, admin_headers, "metropolis")
    await client.patch("/v1/networks/citynet", json={"scope": "Asia"}, headers=admin_headers)

    def summary(events: list[Any]) -> list[tuple[str, str]]:
        return [(event["action"], event["resource_id"]) for event in events]

    by_id = await _audit(client, admin_headers, resource_id="citynet")
    assert summary(by_id) == [("update", "citynet"), ("create", "citynet")]
    by_network = await _audit(client, admin_headers, network="metropolis")
    assert summary(by_network) == [("create", "metropolis")]
    by_type = await _audit(client, admin_headers, resource_type="network")
    assert len(by_type) == 3
    assert await _audit(client, admin_headers, resource_type="city") == []
    assert await _audit(client, admin_headers, resource_type="network", network="nowhere") == []


async def test_audit_log_filters_by_time(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    for slug in ("a-net", "b-net", "c-net"):
        await create_network(client, admin_headers, slug)
    middle = (await _audit(client, admin_headers))[1]
    assert middle["resource_id"] == "b-net"
    since = await _audit(client, admin_headers, since=middle["occurred_at"])
    until = await _audit(client, admin_headers, until=middle["occurred_at"])
    assert [event["resource_id"] for event in since] == ["c-net", "b-net"]
    assert [event["resource_id"] for event in until] == ["a-net"]
    window = await _audit(
        client, admin_headers, since=middle["occurred_at"], until=since[0]["occurred_at"]
    )
    assert [event["resource_id"] for event in window] == ["b-net"]


async def test_audit_log_rejects_a_malformed_time(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    response = await client.get("/v1/audit", params={"since": "yesterday"}, headers=admin_headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["location"] == ["query", "since"]


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET actor_name = 'someone else'",
        "DELETE FROM audit_events",
        "TRUNCATE audit_events CASCADE",
        "DELETE FROM changes",
        "TRUNCATE changes",
    ],
)
async def test_audit_events_are_append_only(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    db: Database,
    statement: str,
) -> None:
    await create_network(client, admin_headers, "citynet")
    with pytest.raises(DBAPIError, match="append-only") as refused:
        async with app.state.engine.begin() as connection:
            await connection.execute(text(statement))
    assert isinstance(refused.value.orig.__cause__, asyncpg.InsufficientPrivilegeError)
    assert await db.count("audit_events") == 1
    [event] = await _audit(client, admin_headers)
    assert event["actor_name"] == "admin"


async def test_reads_with_a_key_are_never_stored_in_shared_caches(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    await create_network(client, admin_headers, "citynet")
    audit = await client.get("/v1/audit", headers=admin_headers)
    assert audit.status_code == 200
    assert audit.headers["cache-control"] == "private, no-store"
    public = await client.get("/v1/networks/citynet")
    assert public.headers["cache-control"].startswith("public")
