"""Scale-out on real parts: the workers of one ``netregistry serve`` answer ``/metrics``
as one, and instances on one database (and one Redis) behave as one service.

Real processes on a fresh database of the test server, as in test_invalidation.py.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from tests.auth.test_rate_limit_shared import REDIS_URL, _redis_answers
from tests.operations import test_invalidation
from tests.operations.test_invalidation import Instance, _sql
from tests.processes import service
from tests.registry import builders

# The fixtures of test_invalidation.py: the shared database's environment (one secret key,
# no rate limit, migrated) and an admin key created there with the CLI.
env = test_invalidation.env
admin = test_invalidation.admin

REQUESTS = 200
CONNECTIONS_AT_ONCE = 4
REQUESTS_PER_CONNECTION = 5
SCRAPES = 6
RATE = 5


def _requests(exposition: str, route: str = "/healthz") -> float:
    """``netregistry_http_requests_total`` of ``route``, summed over its labels."""
    return sum(
        sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
        if sample.name == "netregistry_http_requests_total" and sample.labels.get("route") == route
    )


def _per_worker_requests(tmpdir: Path, route: str = "/healthz") -> list[float]:
    """Each worker's own count of ``route``, read from its file alone (a copy of it in a
    directory of its own): the test's proof that the workers shared the requests."""
    counts = []
    for values in sorted(tmpdir.glob("netregistry-metrics-*/counter_*.db")):
        with tempfile.TemporaryDirectory(dir=tmpdir.parent) as alone:
            shutil.copy(values, alone)
            registry = CollectorRegistry()
            MultiProcessCollector(registry, path=alone)  # type: ignore[no-untyped-call]
            counts.append(_requests(generate_latest(registry).decode(), route))
    return counts


async def _until_both_workers_answer(url: str, tmpdir: Path) -> None:
    """``serve`` is ready once one worker is: ask ``/readyz`` until both have answered."""
    deadline = asyncio.get_running_loop().time() + 30
    while sum(count > 0 for count in _per_worker_requests(tmpdir, "/readyz")) < 2:
        assert asyncio.get_running_loop().time() < deadline, "the second worker never answered"
        async with httpx.AsyncClient(base_url=url, trust_env=False, timeout=5) as client:
            await client.get("/readyz")


async def _healthz_on_new_connections(url: str) -> None:
    async def one_connection() -> None:
        async with httpx.AsyncClient(base_url=url, trust_env=False, timeout=5) as client:
            for _ in range(REQUESTS_PER_CONNECTION):
                assert (await client.get("/healthz")).status_code == 200

    for _ in range(REQUESTS // (CONNECTIONS_AT_ONCE * REQUESTS_PER_CONNECTION)):
        await asyncio.gather(*(one_connection() for _ in range(CONNECTIONS_AT_ONCE)))


async def test_metrics_count_the_requests_of_every_worker_of_an_instance(
    env: dict[str, str], tmp_path: Path
) -> None:
    # The metric files' directory is made under TMPDIR: here, where the test can see it.
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    async with service(tmp_path) as served:
        await served.start("--workers", "2", env={**env, "TMPDIR": str(tmpdir)})
        await _until_both_workers_answer(served.url, tmpdir)
        await _healthz_on_new_connections(served.url)

        per_worker = _per_worker_requests(tmpdir)
        assert sum(per_worker) == REQUESTS
        assert sum(count > 0 for count in per_worker) == 2, per_worker  # both answered
        counts = []
        for _ in range(SCRAPES):  # each on a new connection: either worker may answer
            async with httpx.AsyncClient(base_url=served.url, trust_env=False) as client:
                scraped = (await client.get("/metrics")).text
            counts.append(_requests(scraped))
        # Without aggregation a scrape would show one worker's part (per_worker).
        assert counts == [REQUESTS] * SCRAPES, (counts, per_worker)
        # The read cache's size is one series, the sum over the live workers' caches.
        sizes = [
            sample.labels
            for family in text_string_to_metric_families(scraped)
            for sample in family.samples
            if sample.name in ("netregistry_read_cache_bytes", "netregistry_read_cache_entries")
        ]
        assert sizes == [{}, {}]
    assert not list(tmpdir.iterdir())  # the directory went with the service


@asynccontextmanager
async def _running(
    envs: list[dict[str, str]], tmp_path: Path
) -> AsyncIterator[list[httpx.AsyncClient]]:
    """One ``netregistry serve`` (one worker) per environment, and a client for each."""
    started = [
        Instance(env, tmp_path / f"instance-{number}.log") for number, env in enumerate(envs)
    ]
    clients = [httpx.AsyncClient(base_url=i.url, trust_env=False, timeout=5) for i in started]
    try:
        await asyncio.gather(*(instance.wait_ready() for instance in started))
        yield clients
    finally:
        for client in clients:
            await client.aclose()
        for instance in started:
            instance.stop()


@pytest.fixture
async def redis_url() -> str:
    if not await _redis_answers():
        if os.environ.get("CI"):
            pytest.fail(f"CI needs Redis at {REDIS_URL}")
        pytest.skip(f"no Redis at {REDIS_URL}")
    return REDIS_URL


async def test_two_instances_with_one_redis_admit_one_write_budget_per_key(
    env: dict[str, str],
    admin: dict[str, str],
    redis_url: str,
    database_url: str,
    tmp_path: Path,
) -> None:
    shared = {
        **env,
        "NETREGISTRY_REDIS_URL": redis_url,
        "NETREGISTRY_WRITE_RATE_LIMIT": f"{RATE}/minute",
    }
    async with _running([shared, shared], tmp_path) as instances:
        statuses = [
            (
                await instances[n % 2].post(
                    "/v1/cities", json={"name": f"City {n}", "country_code": "KR"}, headers=admin
                )
            ).status_code
            for n in range(2 * RATE)
        ]

    assert statuses == [201] * RATE + [429] * RATE
    assert await _sql(database_url, "SELECT count(*) FROM members") == RATE


async def test_a_cursor_works_on_every_instance_with_the_same_secret_key_and_no_other(
    env: dict[str, str], admin: dict[str, str], tmp_path: Path
) -> None:
    other_key = {**env, "NETREGISTRY_SECRET_KEY": "another-instance-secret"}
    async with _running([env, env, other_key], tmp_path) as (a, b, other):
        for name in ("Busan", "Incheon", "Seoul"):
            await builders.city(a, admin, name)
        everything = (await a.get("/v1/cities")).json()["items"]
        first = (await a.get("/v1/cities", params={"limit": 2})).json()
        assert first["next_cursor"] is not None

        page = {"limit": 2, "cursor": first["next_cursor"]}
        rest = await b.get("/v1/cities", params=page)
        refused = await other.get("/v1/cities", params=page)

    assert rest.status_code == 200, rest.text
    assert first["items"] + rest.json()["items"] == everything
    assert refused.status_code == 400, refused.text
    assert refused.json()["type"].endswith("invalid-cursor")
