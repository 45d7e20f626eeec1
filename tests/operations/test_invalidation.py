"""PostgreSQL tells every process what changed: a write through one instance is read on
another at once, and a listener that lost its connection never lets a stale answer out."""

from __future__ import annotations

import asyncio
import contextlib
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.engine import make_url

from netregistry.kit.invalidation import APPLICATION_NAME, ChangeListener, connector
from netregistry.kit.readcache import ReadCache
from tests.conftest import free_port
from tests.kit.test_readcache import settled
from tests.processes import environment
from tests.registry import builders

# How soon after a write's response on one instance another instance answers with it.
PROPAGATION_BOUND = 0.1


def _dsn(database_url: str) -> str:
    return make_url(database_url).set(drivername="postgresql").render_as_string(False)


class Instance:
    """One ``netregistry serve`` process on the shared database."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "netregistry", "serve", "--port", str(self.port)],
                env=env,
                stdout=out,
                stderr=out,
            )

    async def wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        async with httpx.AsyncClient(base_url=self.url, trust_env=False, timeout=2) as client:
            while time.monotonic() < deadline:
                assert self.process.poll() is None, self.log.read_text()
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get("/readyz")).status_code == 200:
                        return
                await asyncio.sleep(0.1)
        raise AssertionError(f"not ready:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        **environment(tmp_path),
        "NETREGISTRY_DATABASE_URL": database_url,
        "NETREGISTRY_MIGRATE_ON_START": "false",
        "NETREGISTRY_WRITE_RATE_LIMIT": "",
        "NETREGISTRY_LOG_LEVEL": "WARNING",
    }


@asynccontextmanager
async def running_instances(env: dict[str, str], logs: Path) -> AsyncIterator[list[Instance]]:
    """Two ``netregistry serve`` processes on ``env``'s database, ready, stopped after."""
    started = [Instance(env, logs / f"instance-{number}.log") for number in range(2)]
    try:
        await asyncio.gather(*(instance.wait_ready() for instance in started))
        yield started
    finally:
        for instance in started:
            instance.stop()


def admin_key_headers(env: dict[str, str]) -> dict[str, str]:
    """The headers of a new admin key, made by ``netregistry keys create``."""
    created = subprocess.run(
        [sys.executable, "-m", "netregistry", "keys", "create", "--name", "ops", "--admin"],
        env=env,
        capture_output=True,
        check=True,
    )
    return {"Authorization": f"Bearer {created.stdout.decode().strip()}"}


@pytest.fixture
async def instances(env: dict[str, str], tmp_path: Path) -> AsyncIterator[list[Instance]]:
    async with running_instances(env, tmp_path) as started:
        yield started


@pytest.fixture
def admin(env: dict[str, str]) -> dict[str, str]:
    return admin_key_headers(env)


async def _hits(client: httpx.AsyncClient) -> float:
    metrics = (await client.get("/metrics")).text
    found = re.search(r"^netregistry_read_cache_hits_total (\S+)$", metrics, re.MULTILINE)
    assert found is not None, metrics
    return float(found.group(1))


async def _listeners(database_url: str) -> set[int]:
    connection = await asyncpg.connect(_dsn(database_url))
    try:
        rows = await connection.fetch(
            "SELECT pid FROM pg_stat_activity "
            "WHERE application_name = $1 AND datname = current_database()",
            APPLICATION_NAME,
        )
        return {row["pid"] for row in rows}
    finally:
        await connection.close()


async def _sql(database_url: str, statement: str, *args: Any) -> Any:
    connection = await asyncpg.connect(_dsn(database_url))
    try:
        return await connection.fetchval(statement, *args)
    finally:
        await connection.close()


async def _names_within(
    client: httpx.AsyncClient, url: str, expected: str, bound: float, *, since: float
) -> float:
    """Poll ``url`` until its member list names ``expected``; seconds after ``since``."""
    while True:
        response = await client.get(url)
        names = [row["member"]["name"] for row in response.json()["items"]]
        elapsed = time.monotonic() - since
        if expected in names:
            return elapsed
        assert elapsed < bound * 20, f"{expected} never appeared on {url}: {names}"


@pytest.fixture
async def clients(instances: list[Instance]) -> AsyncIterator[list[httpx.AsyncClient]]:
    async with (
        httpx.AsyncClient(base_url=instances[0].url, trust_env=False, timeout=5) as a,
        httpx.AsyncClient(base_url=instances[1].url, trust_env=False, timeout=5) as b,
    ):
        yield [a, b]


async def test_a_write_through_one_instance_is_read_on_another_within_100_ms(
    clients: list[httpx.AsyncClient], admin: dict[str, str], database_url: str
) -> None:
    a, b = clients
    await builders.network(a, admin)
    await builders.network(a, admin, slug="metropolis")
    seoul = await builders.city(a, admin, "Seoul")
    incheon = await builders.city(a, admin, "Incheon")
    await builders.membership(a, admin, seoul["id"])
    await builders.membership(a, admin, seoul["id"], network="metropolis")
    members = "/v1/networks/citynet/members"
    for url in (members, "/v1/networks/metropolis/members"):
        await b.get(url)  # warm B's cache
    hits = await _hits(b)
    assert [row["member"]["name"] for row in (await b.get(members)).json()["items"]] == ["Seoul"]
    assert await _hits(b) == hits + 1

    answered = await _join(a, admin, incheon["id"], "citynet")
    elapsed = await _names_within(b, members, "Incheon", PROPAGATION_BOUND, since=answered)
    assert elapsed < PROPAGATION_BOUND, f"B answered with the write after {elapsed:.3f} s"

    # Once more after both listeners were cut off and came back on their own.
    before = await _listeners(database_url)
    await _terminate_listeners(database_url)
    await _until(lambda: _listeners(database_url), lambda now: len(now - before) == 2)
    metropolis = "/v1/networks/metropolis/members"
    await b.get(metropolis)
    hits = await _hits(b)
    await b.get(metropolis)
    assert await _hits(b) == hits + 1  # caching resumed
    answered = await _join(a, admin, incheon["id"], "metropolis")
    elapsed = await _names_within(b, metropolis, "Incheon", PROPAGATION_BOUND, since=answered)
    assert elapsed < PROPAGATION_BOUND, f"B answered with the write after {elapsed:.3f} s"


async def _join(
    client: httpx.AsyncClient, admin: dict[str, str], member: str, network: str
) -> float:
    """Add ``member`` to ``network``; the time the response arrived."""
    written = await client.post(
        f"/v1/networks/{network}/memberships",
        json={"member_id": member, "category": "full"},
        headers=admin,
    )
    answered = time.monotonic()
    assert written.status_code == 201, written.text
    return answered


async def _terminate_listeners(database_url: str) -> None:
    await _sql(
        database_url,
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE application_name = $1 AND datname = current_database()",
        APPLICATION_NAME,
    )


async def _until(probe: Any, done: Any, within: float = 10) -> Any:
    deadline = time.monotonic() + within
    while True:
        value = await probe()
        if done(value):
            return value
        assert time.monotonic() < deadline, f"not reached: {value}"
        await asyncio.sleep(0.02)


async def test_a_change_made_while_the_listener_is_away_is_never_served_stale(
    clients: list[httpx.AsyncClient], admin: dict[str, str], database_url: str
) -> None:
    """A write no notification announces (plain SQL) while the listeners reconnect:
    the next read is fresh, because the cache was bypassed or cleared meanwhile."""
    a, b = clients
    seoul = await builders.city(a, admin, "Seoul")
    url = f"/v1/cities/{seoul['id']}"
    await b.get(url)
    hits = await _hits(b)
    assert (await b.get(url)).json()["name"] == "Seoul"
    assert await _hits(b) == hits + 1
    before = await _listeners(database_url)
    assert len(before) == 2
    await _terminate_listeners(database_url)
    await _until(lambda: _listeners(database_url), lambda now: not (now & before))
    await _sql(database_url, "UPDATE public.members SET name = 'Hanyang' WHERE name = 'Seoul'")
    assert (await b.get(url)).json()["name"] == "Hanyang"
    await _until(lambda: _listeners(database_url), lambda now: len(now) == 2)

    # The listener's session shows before its process has cleared the cache and
    # resumed it: every read until then is computed, and none is ever stale.
    async def read_counting_hits() -> float:
        hits = await _hits(b)
        assert (await b.get(url)).json()["name"] == "Hanyang"
        return await _hits(b) - hits

    await _until(read_counting_hits, lambda hit: hit == 1)  # caching resumed


@pytest.fixture
def unreachable(app: FastAPI) -> Iterator[ChangeListener]:
    """The app's listener, unable to reconnect until the test lets it."""
    listener: ChangeListener = app.state.change_listener
    connect = listener.connect

    async def refused() -> asyncpg.Connection:
        raise OSError("connection refused (by the test)")

    listener.connect = refused
    yield listener
    listener.connect = connect


async def test_reads_are_computed_fresh_while_the_listener_is_away_and_cached_once_it_is_back(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    database_url: str,
    unreachable: ChangeListener,
) -> None:
    cache: ReadCache = app.state.read_cache
    seoul = await builders.city(client, admin_headers, "Seoul")
    url = f"/v1/cities/{seoul['id']}"
    await settled(app)
    await client.get(url)
    hits = cache.hits
    await client.get(url)
    assert cache.hits == hits + 1
    await _terminate_listeners(database_url)
    await _until(lambda: _value(cache.available), lambda available: not available)
    async with app.state.engine.begin() as connection:  # no audit event, no notification
        await connection.execute(text("UPDATE members SET name = 'Hanyang'"))
    bypasses = cache.bypasses
    for _ in range(3):
        assert (await client.get(url)).json()["name"] == "Hanyang"
    assert (cache.hits, cache.bypasses, len(cache)) == (hits + 1, bypasses + 3, 0)

    unreachable.connect = connector(app.state.engine, app.state.settings)
    await asyncio.wait_for(unreachable.ready.wait(), 10)
    assert cache.available
    async with app.state.engine.begin() as connection:
        await connection.execute(text("UPDATE members SET name = 'Seoul'"))
    assert (await client.get(url)).json()["name"] == "Seoul"  # cleared when it came back
    assert (await client.get(url)).json()["name"] == "Seoul"
    assert cache.hits == hits + 2


async def _value(value: Any) -> Any:
    return value
