"""With ``NETREGISTRY_REDIS_URL`` the write rate is one budget for every instance.

Two application instances on one database stand for two processes (workers or hosts):
each has its own limiter object, so only Redis can make them count together. Needs the
Redis server on 127.0.0.1:6379 (present here and in CI, where its absence fails).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

import httpx
import pytest
import redis.asyncio

from netregistry.config import Settings
from tests.conftest import Database, Keys, running

REDIS_URL = os.environ.get("NETREGISTRY_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
RATE = "4/minute"


async def _redis_answers() -> bool:
    client = redis.asyncio.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        return bool(await client.ping())
    except (redis.RedisError, OSError):
        return False
    finally:
        await client.aclose()


@pytest.fixture
async def shared_settings(settings: Settings) -> Settings:
    if not await _redis_answers():
        if os.environ.get("CI"):
            pytest.fail(f"CI needs Redis at {REDIS_URL}")
        pytest.skip(f"no Redis at {REDIS_URL}")
    return settings.model_copy(update={"write_rate_limit": RATE, "redis_url": REDIS_URL})


@pytest.fixture
async def instances(shared_settings: Settings) -> AsyncIterator[list[httpx.AsyncClient]]:
    async with running(shared_settings) as first, running(shared_settings) as second:
        clients = [
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")
            for app in (first, second)
        ]
        try:
            yield clients
        finally:
            for client in clients:
                await client.aclose()


def _city(name: str) -> dict[str, str]:
    return {"name": name, "country_code": "KR"}


async def test_two_instances_share_one_write_budget_per_key(
    instances: list[httpx.AsyncClient], keys: Keys, db: Database
) -> None:
    headers = {"Authorization": f"Bearer {await keys.create('shared', admin=True)}"}

    statuses = [
        (
            await instances[n % 2].post("/v1/cities", json=_city(f"City {n}"), headers=headers)
        ).status_code
        for n in range(6)
    ]

    assert statuses == [201, 201, 201, 201, 429, 429]
    assert await db.count("members") == 4


async def test_a_concurrent_burst_on_two_instances_admits_exactly_the_rate(
    instances: list[httpx.AsyncClient], keys: Keys, db: Database
) -> None:
    headers = {"Authorization": f"Bearer {await keys.create('burst', admin=True)}"}

    responses = await asyncio.gather(
        *(
            instances[n % 2].post("/v1/cities", json=_city(f"City {n}"), headers=headers)
            for n in range(12)
        )
    )

    assert sorted(response.status_code for response in responses) == [201] * 4 + [429] * 8
    assert await db.count("members") == 4


async def test_without_redis_each_instance_counts_alone(
    settings: Settings, keys: Keys, db: Database
) -> None:
    alone = settings.model_copy(update={"write_rate_limit": RATE})
    headers = {"Authorization": f"Bearer {await keys.create('alone', admin=True)}"}
    async with running(alone) as first, running(alone) as second:
        statuses = []
        for n in range(10):
            transport = httpx.ASGITransport(app=(first, second)[n % 2])
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                response = await client.post("/v1/cities", json=_city(f"C{n}"), headers=headers)
                statuses.append(response.status_code)

    assert statuses == [201] * 8 + [429] * 2  # 4 each: the documented per-process limit
    assert await db.count("members") == 8


async def test_a_redis_that_does_not_answer_pauses_writes_with_503(
    settings: Settings, keys: Keys, db: Database
) -> None:
    away = settings.model_copy(
        update={"write_rate_limit": RATE, "redis_url": "redis://127.0.0.1:1/0"}
    )
    headers = {"Authorization": f"Bearer {await keys.create('paused', admin=True)}"}
    async with running(away) as application:
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            refused = await client.post("/v1/cities", json=_city("Seoul"), headers=headers)
            read = await client.get("/v1/cities")

    assert refused.status_code == 503
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.headers["Retry-After"] == "5"
    assert "rate limiter" in refused.json()["detail"]
    assert "127.0.0.1:1" not in refused.text
    assert read.status_code == 200  # reads never ask Redis
    assert await db.count("members") == 0
