"""The live change stream on real `netregistry serve` processes: a change written through
one instance reaches a stream open on another within 100 ms, under the feed's filters,
each event's id its feed cursor; `Last-Event-ID` resumes exactly; heartbeats; a bounded
number of open streams; and a shutdown that ends the streams instead of waiting on them."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.changes.sse import open_stream
from tests.operations.test_invalidation import Instance, admin_key_headers, running_instances
from tests.processes import environment
from tests.registry import builders

# How soon after a write's response on one instance a stream on another has its change.
PROPAGATION_BOUND = 0.1
LAGGARD_BOUND = 0.25


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        **environment(tmp_path),
        "NETREGISTRY_DATABASE_URL": database_url,
        "NETREGISTRY_MIGRATE_ON_START": "false",
        "NETREGISTRY_WRITE_RATE_LIMIT": "",
        "NETREGISTRY_LOG_LEVEL": "WARNING",
        "NETREGISTRY_STREAM_HEARTBEAT_SECONDS": "0.5",
        "NETREGISTRY_MAX_OPEN_STREAMS": "3",
    }


@pytest.fixture
def admin(env: dict[str, str]) -> dict[str, str]:
    return admin_key_headers(env)


@pytest.fixture
async def instances(env: dict[str, str], tmp_path: Path) -> AsyncIterator[list[Instance]]:
    async with running_instances(env, tmp_path) as started:
        yield started


@pytest.fixture
async def clients(instances: list[Instance]) -> AsyncIterator[list[httpx.AsyncClient]]:
    timeout = httpx.Timeout(10, read=30)
    async with (
        httpx.AsyncClient(base_url=instances[0].url, trust_env=False, timeout=timeout) as a,
        httpx.AsyncClient(base_url=instances[1].url, trust_env=False, timeout=timeout) as b,
    ):
        yield [a, b]


async def feed(client: httpx.AsyncClient, **params: str) -> list[dict[str, Any]]:
    response = await client.get("/v1/changes", params={"limit": "1000", **params})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_a_write_through_one_instance_reaches_a_stream_on_another_within_100_ms(
    clients: list[httpx.AsyncClient], admin: dict[str, str]
) -> None:
    a, b = clients
    await builders.network(a, admin)
    await builders.network(a, admin, "metropolis")
    async with (
        open_stream(b) as everything,
        open_stream(b, params={"network": "citynet", "resource_type": "city"}) as cities,
        open_stream(b, params={"network": "metropolis"}) as metropolis,
    ):
        delays = []
        for number in range(5):
            city = await builders.city(a, admin, f"City {number}")
            answered = time.monotonic()
            await builders.membership(a, admin, city["id"])
            (event,) = (await everything.until(2 * number + 1))[-1:]
            delays.append(event.arrived - answered)
            await everything.until(2 * number + 2)
        # Four of five within the bound, and none far past it: on a CI machine running two
        # suites on two cores, one write in five may wait a scheduler's turn.
        assert sum(delay < PROPAGATION_BOUND for delay in delays) >= 4, f"delays {delays}"
        assert max(delays) < LAGGARD_BOUND, f"delays {delays}"
        renamed = await a.patch(f"/v1/cities/{city['id']}", json={"population": 100}, headers=admin)
        assert renamed.status_code == 200
        await everything.until(11)
        await cities.until(1)
        # Each event is the feed's change: same cursor, same object, in feed order.
        whole = await feed(a)
        started = int(whole[0]["cursor"])
        assert [event.change() for event in everything.events] == [
            item for item in whole if int(item["cursor"]) > started + 1
        ]
        assert [event.id for event in everything.events] == [
            event.change()["cursor"] for event in everything.events
        ]
        assert {event.event for event in everything.events} == {"change"}
        assert [event.change() for event in cities.events] == [
            item
            for item in await feed(a, network="citynet", resource_type="city")
            if int(item["cursor"]) > started + 1
        ]
        assert len(cities.events) == 1  # the rename: the cities were created outside citynet
        assert metropolis.events == []
        # Idle for over the heartbeat interval (0.5 s here), it gets a heartbeat.
        for _ in range(40):
            if "heartbeat" in metropolis.comments:
                break
            await asyncio.sleep(0.05)
        assert "heartbeat" in metropolis.comments


async def test_last_event_id_resumes_right_after_the_last_event_received(
    clients: list[httpx.AsyncClient], admin: dict[str, str]
) -> None:
    a, b = clients
    await builders.network(a, admin)
    async with open_stream(b, params={"after": "0"}) as first:
        seoul = await builders.city(a, admin, "Seoul")
        await builders.membership(a, admin, seoul["id"])
        received = await first.until(3)
    last = received[-1].id
    assert last is not None
    # Written while no stream was open, then resumed on the other instance.
    busan = await builders.city(a, admin, "Busan")
    await builders.membership(a, admin, busan["id"])
    async with open_stream(a, params={"after": "0"}, headers={"Last-Event-ID": last}) as resumed:
        await resumed.until(2)
        await builders.city(a, admin, "Incheon")
        await resumed.until(3)
        await asyncio.sleep(0.3)
    whole = await feed(a)
    assert [event.change() for event in received + resumed.events] == whole
    bad = await b.get("/v1/changes/stream", headers={"Last-Event-ID": "99999999999999999999"})
    assert bad.status_code == 422, bad.text


async def test_open_streams_are_bounded_and_give_their_slot_back(
    clients: list[httpx.AsyncClient],
) -> None:
    a, b = clients
    async with open_stream(a), open_stream(a):
        async with open_stream(a):
            refused = await a.get("/v1/changes/stream")
            assert refused.status_code == 503, refused.text
            assert refused.headers["content-type"] == "application/problem+json"
            assert int(refused.headers["retry-after"]) > 0
            assert refused.json()["type"] == "urn:netregistry:problem:too-many-streams"
            async with open_stream(b):  # per process: the other instance has room
                pass
        async with open_stream(a):  # the slot of the stream closed is back
            pass


async def test_a_stop_signal_ends_open_streams_and_the_process_stops(
    instances: list[Instance], clients: list[httpx.AsyncClient]
) -> None:
    a, _ = clients
    async with open_stream(a) as stream:
        instances[0].process.send_signal(signal.SIGTERM)
        stopped = time.monotonic()
        await asyncio.wait_for(stream.ended.wait(), timeout=5)
        await asyncio.to_thread(instances[0].process.wait, 10)
        assert time.monotonic() - stopped < 5
