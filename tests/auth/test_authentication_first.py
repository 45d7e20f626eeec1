"""Authentication comes before any work: a write without a valid key claims no
Idempotency-Key, writes nothing, replays nothing, and is counted per client address.

What PostgreSQL saw is proved on a real server in
tests/reliability/test_authentication_before_work.py; here, what the application sent it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event

from netregistry.config import Settings
from tests.conftest import Database, Keys

WRONG = {"Authorization": "Bearer nr_" + "x" * 43}
LYON = {"name": "Lyon", "country_code": "FR"}


@contextmanager
def _statements(app: FastAPI) -> Iterator[list[str]]:
    """The SQL statements the application's engine sends meanwhile."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    engine = app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _idempotent(headers: dict[str, str], key: str = "retry-1") -> dict[str, str]:
    return {**headers, "Idempotency-Key": key}


async def test_a_post_without_a_key_is_401_before_any_statement(
    app: FastAPI, client: httpx.AsyncClient, db: Database
) -> None:
    with _statements(app) as statements:
        response = await client.post("/v1/cities", json=LYON, headers=_idempotent({}))
    assert response.status_code == 401, response.text
    assert response.json()["type"] == "urn:netregistry:problem:unauthorized"
    assert statements == []
    assert await db.count("idempotency_keys") == 0


async def test_a_post_with_a_wrong_key_only_looks_the_key_up(
    app: FastAPI, client: httpx.AsyncClient, db: Database
) -> None:
    with _statements(app) as statements:
        response = await client.post("/v1/cities", json=LYON, headers=_idempotent(WRONG))
    assert response.status_code == 401, response.text
    # The key's lookup (a read), then the rollback of its transaction; no claim, no write.
    assert statements, "the key was not looked up"
    assert all(statement.lstrip().upper().startswith("SELECT") for statement in statements), (
        statements
    )
    assert not any("idempotency_keys" in statement for statement in statements)
    assert await db.count("members") == 0


@pytest.mark.parametrize(
    "authorization",
    ["", "Basic dXNlcjpwYXNz", "Bearer", "Token nr_abc"],
    ids=["empty", "basic", "bearer-without-token", "other-scheme"],
)
async def test_a_post_with_a_header_that_is_no_key_writes_nothing(
    app: FastAPI, client: httpx.AsyncClient, db: Database, authorization: str
) -> None:
    with _statements(app) as statements:
        response = await client.post(
            "/v1/cities", json=LYON, headers=_idempotent({"Authorization": authorization})
        )
    assert response.status_code == 401, response.text
    assert statements == []


async def test_an_invalid_idempotency_key_without_a_valid_key_is_401_not_422(
    client: httpx.AsyncClient,
) -> None:
    for headers in ({}, WRONG):
        response = await client.post(
            "/v1/cities", json=LYON, headers=_idempotent(headers, "k" * 1000)
        )
        assert response.status_code == 401, response.text


async def test_a_revoked_keys_stored_response_is_not_replayed(
    client: httpx.AsyncClient, keys: Keys, db: Database
) -> None:
    token = await keys.create("leaving", admin=True)
    headers = _idempotent({"Authorization": f"Bearer {token}"}, "lyon-once")
    created = await client.post("/v1/cities", json=LYON, headers=headers)
    assert created.status_code == 201, created.text
    replayed = await client.post("/v1/cities", json=LYON, headers=headers)
    assert replayed.headers["idempotent-replayed"] == "true"

    await keys.revoke(token)
    refused = await client.post("/v1/cities", json=LYON, headers=headers)

    assert refused.status_code == 401, refused.text
    assert "idempotent-replayed" not in refused.headers
    assert "location" not in refused.headers
    assert created.json()["id"] not in refused.text
    assert await db.count("members") == 1


async def test_a_write_refused_for_its_network_claims_nothing(
    app: FastAPI, client: httpx.AsyncClient, keys: Keys, admin_headers: dict[str, str]
) -> None:
    created = await client.post(
        "/v1/networks", json={"slug": "citynet", "name": "CITYNET"}, headers=admin_headers
    )
    assert created.status_code == 201, created.text
    scoped = {"Authorization": f"Bearer {await keys.create('metro', networks=['citynet'])}"}
    elsewhere = {"member_id": "00000000-0000-4000-8000-000000000000", "category": "full"}
    with _statements(app) as statements:
        response = await client.post(
            "/v1/networks/metropolis/memberships", json=elsewhere, headers=_idempotent(scoped)
        )
    assert response.status_code in (403, 404), response.text
    assert not any("idempotency_keys" in statement for statement in statements)


# --- requests without a valid key are counted per client address -------------------------


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"write_rate_limit": "3/minute"})


@asynccontextmanager
async def _client_from(app: FastAPI, address: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=(address, 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def test_requests_without_a_valid_key_past_the_rate_are_429_per_address(
    app: FastAPI, keys: Keys, db: Database
) -> None:
    valid = {"Authorization": f"Bearer {await keys.create('staff', admin=True)}"}
    async with (
        _client_from(app, "203.0.113.7") as attacker,
        _client_from(app, "198.51.100.2") as other,
    ):
        statuses = [
            (await attacker.post("/v1/cities", json=LYON, headers=headers)).status_code
            for headers in ({}, WRONG, _idempotent(WRONG))
        ]
        assert statuses == [401, 401, 401]
        with _statements(app) as statements:
            refused = await attacker.post("/v1/cities", json=LYON)
        assert refused.status_code == 429, refused.text
        assert refused.json()["type"] == "urn:netregistry:problem:rate-limited"
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert statements == []
        wrong = await attacker.post("/v1/cities", json=LYON, headers=_idempotent(WRONG))
        assert wrong.status_code == 429

        # Another address has its own budget; a valid key is never refused for the
        # failures of its address (clients behind one proxy share one).
        assert (await other.post("/v1/cities", json=LYON)).status_code == 401
        mine = await attacker.post("/v1/cities", json=LYON, headers=valid)
        assert mine.status_code == 201, mine.text
    assert await db.count("members") == 1
    assert await db.count("idempotency_keys") == 0


async def test_concurrent_requests_without_a_key_admit_exactly_the_rate_of_401s(
    app: FastAPI,
) -> None:
    async with _client_from(app, "203.0.113.8") as attacker:
        responses = await asyncio.gather(
            *(
                attacker.post("/v1/cities", json=LYON, headers=WRONG if n % 2 else {})
                for n in range(12)
            )
        )
    assert sorted(response.status_code for response in responses) == [401] * 3 + [429] * 9


async def test_valid_writes_do_not_spend_the_budget_of_their_address(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    valid = {"Authorization": f"Bearer {await keys.create('busy', admin=True)}"}
    for name in ("Seoul", "Busan", "Incheon"):
        created = await client.post("/v1/cities", json={**LYON, "name": name}, headers=valid)
        assert created.status_code == 201, created.text

    assert (await client.post("/v1/cities", json=LYON, headers=valid)).status_code == 429
    assert (await client.post("/v1/cities", json=LYON)).status_code == 401


async def test_reads_without_a_key_are_not_counted(client: httpx.AsyncClient) -> None:
    for _ in range(5):
        assert (await client.get("/v1/cities")).status_code == 200
    assert (await client.post("/v1/cities", json=LYON)).status_code == 401
