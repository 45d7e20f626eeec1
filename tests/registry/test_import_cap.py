"""CSV imports are capped per process: at most ``max_concurrent_imports`` run at once,
the next wait their turn for a bounded time and are then 503 with ``Retry-After``; the
other requests (``/readyz`` included) are served meanwhile, on the pool size the service
really has."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from netregistry.config import Settings
from netregistry.imports.member_list import ImportQueue
from tests.conftest import Keys, running
from tests.registry import builders
from tests.registry.test_csv_import import import_csv, spreadsheet

IMPORTS = 10
ROWS = 250
PROMPT = 5.0  # seconds: the slowest answer allowed to a request that is not an import


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    # The pool of a default deployment, not the suite's larger one.
    defaults = Settings.model_fields
    real = settings.model_copy(
        update={
            "db_pool_size": defaults["db_pool_size"].default,
            "db_max_overflow": defaults["db_max_overflow"].default,
        }
    )
    async with running(real) as application:
        yield application


def _member_list(number: int) -> bytes:
    return spreadsheet(*(f"Import City {number}-{row},KR,full,2001," for row in range(ROWS)))


async def _timed(call: Any) -> tuple[float, httpx.Response]:
    started = time.monotonic()
    response = await call
    return time.monotonic() - started, response


async def test_concurrent_imports_run_at_most_the_cap_while_other_requests_are_served(
    app: FastAPI, client: httpx.AsyncClient, keys: Keys, admin_headers: dict[str, str]
) -> None:
    assert app.state.engine.pool.size() == 10
    await builders.network(client, admin_headers)
    scoped = {"Authorization": f"Bearer {await keys.create('secretariat', networks=['citynet'])}"}
    queue: ImportQueue = app.state.import_queue
    assert queue.capacity == app.state.settings.max_concurrent_imports == 2
    # (every import arrived, running, waiting, connections)
    samples: list[tuple[bool, int, int, int]] = []
    done = asyncio.Event()
    answered = 0  # imports answered so far

    async def watch() -> None:
        while not done.is_set():
            connections = app.state.engine.pool.checkedout()
            # An import is in the queue, running or answered once its key is looked up.
            arrived = queue.running + queue.waiting + answered == IMPORTS
            samples.append((arrived, queue.running, queue.waiting, connections))
            await asyncio.sleep(0.005)

    async def one_import(number: int) -> tuple[float, httpx.Response]:
        nonlocal answered
        try:
            return await _timed(import_csv(client, scoped, _member_list(number), dry_run=True))
        finally:
            answered += 1

    async def others() -> list[tuple[float, httpx.Response]]:
        answers = []
        for number in range(15):
            answers.append(await _timed(client.get("/readyz")))
            answers.append(await _timed(client.get("/v1/networks/citynet/members")))
            city = {"name": f"Other {number}", "country_code": "JP"}
            answers.append(await _timed(client.post("/v1/cities", json=city, headers=scoped)))
            await asyncio.sleep(0.05)
        return answers

    watcher = asyncio.create_task(watch())
    imports = [one_import(number) for number in range(IMPORTS)]
    *imported, served = await asyncio.gather(*imports, others())
    done.set()
    await watcher

    for elapsed, response in served:
        assert response.status_code in (200, 201), (response.request.url, response.text)
        assert elapsed < PROMPT, (response.request.url, elapsed)
    statuses = sorted(response.status_code for _, response in imported)
    assert statuses.count(200) >= queue.capacity, statuses
    assert set(statuses) <= {200, 503}, statuses
    for _, response in imported:
        if response.status_code == 503:
            assert int(response.headers["Retry-After"]) >= 1
            assert response.headers["content-type"] == "application/problem+json"
        else:
            assert len(response.json()["rows"]) == ROWS
    assert max(running for _, running, _, _ in samples) == queue.capacity
    # Once every import has arrived (its key looked up), those waiting hold no connection
    # and those running one each; the other requests take one at a time.
    queued = [connections for arrived, _, waiting, connections in samples if waiting and arrived]
    assert queued, "no import waited its turn"
    assert max(queued) <= queue.capacity + 1, queued


async def test_an_import_that_waits_too_long_is_503_and_writes_nothing(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    await builders.network(client, admin_headers)
    queue = ImportQueue(1, wait=0.2, depth=1)
    app.state.import_queue = queue
    async with queue.turn():  # an import that runs
        waited = await import_csv(client, admin_headers, _member_list(0))
        assert waited.status_code == 503, waited.text
        assert waited.headers["Retry-After"] == "1"
        assert waited.json()["type"] == "urn:netregistry:problem:service-unavailable"
        assert app.state.engine.pool.checkedout() == 0, "a waiting import held a connection"
    assert (await client.get("/v1/networks/citynet/members")).json()["items"] == []
    assert (await import_csv(client, admin_headers, _member_list(0))).status_code == 201


async def test_beyond_the_queue_an_import_is_refused_at_once(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    await builders.network(client, admin_headers)
    queue = ImportQueue(1, wait=30, depth=0)
    app.state.import_queue = queue
    async with queue.turn():
        elapsed, refused = await _timed(import_csv(client, admin_headers, _member_list(0)))
    assert refused.status_code == 503
    assert elapsed < 2
