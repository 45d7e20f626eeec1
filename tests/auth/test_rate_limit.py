"""Writes are rate-limited per API key: 429 with Retry-After, nothing written."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from netregistry.config import Settings
from tests.conftest import Database, Keys
from tests.registry import builders


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"write_rate_limit": "3/minute"})


def _city(name: str) -> dict[str, str]:
    return {"name": name, "country_code": "KR"}


async def test_writes_past_the_rate_are_429_with_retry_after_and_write_nothing(
    client: httpx.AsyncClient, keys: Keys, db: Database
) -> None:
    headers = {"Authorization": f"Bearer {await keys.create('busy', admin=True)}"}
    for name in ("Seoul", "Busan", "Incheon"):
        assert (
            await client.post("/v1/cities", json=_city(name), headers=headers)
        ).status_code == 201

    refused = await client.post("/v1/cities", json=_city("Daegu"), headers=headers)

    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["type"] == "urn:netregistry:problem:rate-limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert await db.count("members") == 3
    assert await db.scalar("SELECT count(*) FROM audit_events WHERE resource_type = 'city'") == 3


async def test_the_rate_is_per_key(client: httpx.AsyncClient, keys: Keys) -> None:
    first = {"Authorization": f"Bearer {await keys.create('first', admin=True)}"}
    second = {"Authorization": f"Bearer {await keys.create('second', admin=True)}"}
    for name in ("Seoul", "Busan", "Incheon"):
        await client.post("/v1/cities", json=_city(name), headers=first)

    assert (await client.post("/v1/cities", json=_city("Daegu"), headers=first)).status_code == 429
    assert (await client.post("/v1/cities", json=_city("Daegu"), headers=second)).status_code == 201


async def test_concurrent_writes_admit_exactly_the_rate(
    client: httpx.AsyncClient, keys: Keys, db: Database
) -> None:
    headers = {"Authorization": f"Bearer {await keys.create('burst', admin=True)}"}

    responses = await asyncio.gather(
        *(client.post("/v1/cities", json=_city(f"City {n}"), headers=headers) for n in range(12))
    )

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] * 3 + [429] * 9
    assert await db.count("members") == 3


async def test_reads_are_not_counted(client: httpx.AsyncClient, keys: Keys) -> None:
    headers = {"Authorization": f"Bearer {await keys.create('reader', admin=True)}"}
    for _ in range(5):
        assert (await client.get("/v1/audit", headers=headers)).status_code == 200

    assert (
        await client.post("/v1/cities", json=_city("Seoul"), headers=headers)
    ).status_code == 201


async def test_writes_refused_for_their_scope_are_not_counted(
    client: httpx.AsyncClient, keys: Keys, admin_headers: dict[str, str]
) -> None:
    await builders.network(client, admin_headers, "citynet")
    headers = {"Authorization": f"Bearer {await keys.create('citynet', networks=['citynet'])}"}
    elsewhere = {"member_id": "00000000-0000-0000-0000-000000000000", "category": "full"}
    for _ in range(5):
        response = await client.post(
            "/v1/networks/metropolis/memberships", json=elsewhere, headers=headers
        )
        assert response.status_code == 403

    assert (
        await client.post("/v1/cities", json=_city("Seoul"), headers=headers)
    ).status_code == 201


def test_a_malformed_rate_fails_at_start_up(settings: Settings) -> None:
    with pytest.raises(ValueError, match="300/minute"):
        Settings(write_rate_limit="lots")


def test_an_empty_rate_means_no_limit() -> None:
    assert Settings(write_rate_limit="").write_rate_limit is None
