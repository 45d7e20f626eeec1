"""An Idempotency-Key belongs to the API key that sent it, not to the spelling of its
``Authorization`` header: ``Bearer``, ``bearer`` and extra spaces are one caller, so a
retry spelt differently is still a retry and the write happens once."""

from __future__ import annotations

import asyncio

import httpx

from tests.conftest import Database, Keys

LYON = {"name": "Lyon", "country_code": "FR"}


def _spellings(token: str) -> list[str]:
    """``Authorization`` values that all carry ``token`` (HTTPBearer accepts each)."""
    return [
        f"Bearer {token}",
        f"bearer {token}",
        f"BEARER {token}",
        f"Bearer  {token}",
        f"bEaReR   {token}",
    ]


async def test_a_retry_spelt_differently_is_replayed_and_writes_once(
    client: httpx.AsyncClient, keys: Keys, db: Database
) -> None:
    token = await keys.create("staff", admin=True)
    responses = [
        await client.post(
            "/v1/cities",
            json=LYON,
            headers={"Authorization": spelling, "Idempotency-Key": "lyon-1"},
        )
        for spelling in _spellings(token)
    ]

    assert [response.status_code for response in responses] == [201] * 5, [
        response.text for response in responses
    ]
    assert "idempotent-replayed" not in responses[0].headers
    assert all(response.headers["idempotent-replayed"] == "true" for response in responses[1:])
    assert {response.content for response in responses} == {responses[0].content}
    assert await db.count("members") == 1
    assert await db.scalar("SELECT count(*) FROM audit_events WHERE resource_type = 'city'") == 1


async def test_concurrent_retries_spelt_differently_write_once(
    client: httpx.AsyncClient, keys: Keys, db: Database
) -> None:
    token = await keys.create("staff", admin=True)
    spellings = _spellings(token) * 2
    responses = await asyncio.gather(
        *(
            client.post(
                "/v1/cities",
                json=LYON,
                headers={"Authorization": spelling, "Idempotency-Key": "burst"},
            )
            for spelling in spellings
        )
    )

    assert [response.status_code for response in responses] == [201] * len(spellings), [
        response.text for response in responses
    ]
    assert {response.content for response in responses} == {responses[0].content}
    assert sum("idempotent-replayed" in response.headers for response in responses) == 9
    assert await db.count("members") == 1
    assert await db.scalar("SELECT count(*) FROM audit_events WHERE resource_type = 'city'") == 1


async def test_the_record_is_owned_by_the_key_id(
    client: httpx.AsyncClient, keys: Keys, db: Database
) -> None:
    token = await keys.create("owner", admin=True)
    response = await client.post(
        "/v1/cities",
        json=LYON,
        headers={"Authorization": f"bearer  {token}", "Idempotency-Key": "mine"},
    )
    assert response.status_code == 201, response.text

    owner = await db.scalar("SELECT owner FROM idempotency_keys WHERE key = 'mine'")
    key_id = await db.scalar("SELECT id::text FROM api_keys WHERE name = 'owner'")
    assert owner == key_id


async def test_another_key_with_the_same_idempotency_key_is_not_a_retry(
    client: httpx.AsyncClient, keys: Keys, db: Database
) -> None:
    first = await keys.create("first", admin=True)
    second = await keys.create("second", admin=True)
    for token in (first, second):
        response = await client.post(
            "/v1/cities",
            json=LYON,
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "shared"},
        )
        assert response.status_code == 201, response.text
        assert "idempotent-replayed" not in response.headers
    assert await db.count("members") == 2
