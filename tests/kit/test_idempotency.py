"""Safe retries: an Idempotency-Key makes a POST happen once."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.conftest import Database, Keys
from tests.networks.builders import create_network, network_payload


async def _post(
    client: httpx.AsyncClient, headers: dict[str, str], key: str, payload: dict[str, Any]
) -> httpx.Response:
    return await client.post(
        "/v1/networks", json=payload, headers={**headers, "Idempotency-Key": key}
    )


async def test_same_key_and_body_replays_the_first_response(
    client: httpx.AsyncClient, admin_headers: dict[str, str], db: Database
) -> None:
    payload = network_payload("citynet", scope="Asia-Pacific")
    first = await _post(client, admin_headers, "create-citynet", payload)
    replay = await _post(client, admin_headers, "create-citynet", payload)

    assert first.status_code == replay.status_code == 201
    assert "idempotent-replayed" not in first.headers
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.content == first.content
    assert replay.headers["location"] == first.headers["location"] == "/v1/networks/citynet"
    assert replay.headers["etag"] == first.headers["etag"]
    assert replay.headers["content-type"] == "application/json"
    assert await db.count("networks") == 1
    assert await db.count("audit_events") == 1


async def test_same_key_with_a_different_body_is_422(
    client: httpx.AsyncClient, admin_headers: dict[str, str], db: Database
) -> None:
    await _post(client, admin_headers, "k1", network_payload("citynet"))
    response = await _post(client, admin_headers, "k1", network_payload("metropolis"))
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("idempotency-key-reused")
    assert await db.count("networks") == 1


async def test_a_failed_request_is_not_stored_so_its_retry_runs_again(
    client: httpx.AsyncClient, admin_headers: dict[str, str], db: Database
) -> None:
    await create_network(client, admin_headers, "citynet")
    payload = network_payload("citynet")
    conflict = await _post(client, admin_headers, "retry-me", payload)
    assert conflict.status_code == 409
    assert await db.count("idempotency_keys") == 0

    deleted = await client.delete("/v1/networks/citynet", headers=admin_headers)
    assert deleted.status_code == 204
    retry = await _post(client, admin_headers, "retry-me", payload)
    assert retry.status_code == 201
    assert "idempotent-replayed" not in retry.headers


async def test_keys_are_scoped_to_the_api_key(
    client: httpx.AsyncClient, admin_headers: dict[str, str], keys: Keys, db: Database
) -> None:
    other_headers = {"Authorization": f"Bearer {await keys.create('other', admin=True)}"}
    mine = await _post(client, admin_headers, "shared-key", network_payload("citynet"))
    # Another key's different body is not a reuse of "shared-key" (the identical body
    # under another key: test_the_same_body_under_another_api_key_is_not_replayed).
    theirs = await _post(client, other_headers, "shared-key", network_payload("metropolis"))
    assert mine.status_code == 201
    assert theirs.status_code == 201
    assert "idempotent-replayed" not in theirs.headers
    assert await db.count("networks") == 2


async def test_the_same_body_under_another_api_key_is_not_replayed(
    client: httpx.AsyncClient, admin_headers: dict[str, str], keys: Keys
) -> None:
    other_headers = {"Authorization": f"Bearer {await keys.create('other', admin=True)}"}
    payload = network_payload("citynet")
    await _post(client, admin_headers, "same-key", payload)
    response = await _post(client, other_headers, "same-key", payload)
    assert response.status_code == 409
    assert "idempotent-replayed" not in response.headers


async def test_concurrent_requests_with_one_key_create_one_network(
    client: httpx.AsyncClient, admin_headers: dict[str, str], db: Database
) -> None:
    payload = network_payload("citynet", scope="Asia-Pacific")
    responses = await asyncio.gather(
        *(_post(client, admin_headers, "burst", payload) for _ in range(10))
    )
    assert [response.status_code for response in responses] == [201] * 10
    assert {response.content for response in responses} == {responses[0].content}
    assert sum("idempotent-replayed" in response.headers for response in responses) == 9
    assert await db.count("networks") == 1
    assert await db.count("audit_events") == 1


async def test_an_invalid_idempotency_key_is_422(
    client: httpx.AsyncClient, admin_headers: dict[str, str], db: Database
) -> None:
    response = await _post(client, admin_headers, "x" * 256, network_payload("citynet"))
    assert response.status_code == 422
    assert response.json()["errors"][0]["location"] == ["header", "Idempotency-Key"]
    assert await db.count("networks") == 0


async def test_a_key_whose_request_did_not_succeed_is_free_for_the_retry(
    client: httpx.AsyncClient, admin_headers: dict[str, str], db: Database
) -> None:
    headers = {**admin_headers, "Idempotency-Key": "slash-then-retry"}
    redirected = await client.post(
        "/v1/networks/", json=network_payload("citynet"), headers=headers
    )
    assert redirected.status_code == 404  # no redirect: the path has no slash
    retried = await client.post("/v1/networks", json=network_payload("citynet"), headers=headers)
    assert retried.status_code == 201, retried.text
    again = await client.post("/v1/networks", json=network_payload("citynet"), headers=headers)
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert await db.count("networks") == 1
