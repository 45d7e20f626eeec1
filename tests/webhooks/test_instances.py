"""Webhook deliveries on real `netregistry serve` processes sharing one database: a mirror
built only from deliveries equals the registry's export after concurrent writes on several
networks, a restart in the middle and a receiver that failed for a while; and while two
instances run each change is delivered once, by the lease holder, until it dies and the
other takes over."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from tests.changes.test_feed import Replica
from tests.operations.test_invalidation import Instance, _dsn, admin_key_headers, running_instances
from tests.processes import environment
from tests.registry import builders
from tests.webhooks.receiver import Receiver, receiving, verified

Headers = dict[str, str]


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        **environment(tmp_path),
        "NETREGISTRY_DATABASE_URL": database_url,
        "NETREGISTRY_MIGRATE_ON_START": "false",
        "NETREGISTRY_WRITE_RATE_LIMIT": "",
        "NETREGISTRY_LOG_LEVEL": "WARNING",
        "NETREGISTRY_WEBHOOK_ALLOWED_ADDRESSES": '["127.0.0.1/32"]',
        "NETREGISTRY_WEBHOOK_FIRST_RETRY_SECONDS": "0.2",
        "NETREGISTRY_WEBHOOK_LONGEST_RETRY_SECONDS": "1",
        "NETREGISTRY_WEBHOOK_LEASE_SECONDS": "2",
        "NETREGISTRY_WEBHOOK_TIMEOUT_SECONDS": "1",
    }


@pytest.fixture
def admin(env: dict[str, str]) -> Headers:
    return admin_key_headers(env)


@pytest.fixture
async def instances(env: dict[str, str], tmp_path: Path) -> AsyncIterator[list[Instance]]:
    async with running_instances(env, tmp_path) as started:
        yield started


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with receiving() as receiver:
        yield receiver


def client_of(instance: Instance) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=instance.url, trust_env=False, timeout=30)


async def subscribe(client: httpx.AsyncClient, admin: Headers, url: str) -> dict[str, Any]:
    response = await client.post("/v1/webhooks", json={"url": url, "after": "0"}, headers=admin)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def delivered_up_to(
    client: httpx.AsyncClient, admin: Headers, hook: str, within: float = 60
) -> None:
    """Wait until the subscription's position is the feed's last cursor."""
    deadline = time.monotonic() + within
    while True:
        page = (await client.get("/v1/changes", params={"after": "0", "limit": "1000"})).json()
        newest = page["items"][-1]["cursor"]
        read = (await client.get(f"/v1/webhooks/{hook}", headers=admin)).json()
        if read["position"] == newest:
            return
        assert read["enabled"], read
        assert time.monotonic() < deadline, f"delivered up to {read['position']} of {newest}"
        await asyncio.sleep(0.2)


def mirror_of(receiver: Receiver, secret: str) -> Replica:
    """Apply each accepted delivery once (a redelivery has the same webhook-id)."""
    replica = Replica()
    seen: set[str] = set()
    cursors = []
    for entry in receiver.accepted():
        change = verified(secret, entry)
        if entry.headers["webhook-id"] in seen:
            continue
        seen.add(entry.headers["webhook-id"])
        cursors.append(int(change["cursor"]))
        replica.apply(change)
    assert cursors == sorted(cursors)  # feed order
    return replica


def assert_equal_to_export(replica: Replica, export: dict[str, Any]) -> None:
    """Every exported record is in the mirror with the same values for every field both
    carry, and the mirror holds nothing more."""
    mirrored = {
        "networks": replica.state["network"],
        "members": {**replica.state["city"], **replica.state["organization"]},
        "memberships": replica.state["membership"],
        "roles": {
            f"{role['network']}/{role['slug']}": role for role in replica.state["role"].values()
        },
        "tenures": replica.state["tenure"],
    }
    for kind, rows in mirrored.items():
        records = export[kind]
        if kind == "networks":
            keyed = {record["slug"]: record for record in records}
        elif kind == "roles":
            keyed = {f"{record['network']}/{record['slug']}": record for record in records}
        else:
            keyed = {record["id"]: record for record in records}
        assert set(keyed) == set(rows), kind
        for key, record in keyed.items():
            shared = set(record) & set(rows[key]) - {"created_at", "updated_at"}
            assert len(shared) >= 2, (kind, record, rows[key])
            assert {name: record[name] for name in shared} == {
                name: rows[key][name] for name in shared
            }, (kind, key)


async def test_a_mirror_built_from_deliveries_equals_the_export_after_a_restart_and_failures(
    instances: list[Instance],
    env: dict[str, str],
    admin: Headers,
    receiver: Receiver,
    tmp_path: Path,
) -> None:
    async with client_of(instances[0]) as a, client_of(instances[1]) as b:
        hook = await subscribe(a, admin, receiver.url)
        networks = ["citynet", "metropolis", "c40"]
        for slug in networks:
            await builders.network(a, admin, slug)
            await builders.role(b, admin, "chair", network=slug, max_holders=100)
        rng = random.Random(15)

        async def member_life(number: int, client: httpx.AsyncClient) -> None:
            city = await builders.city(client, admin, f"City {number}", population=number)
            joined = [slug for slug in networks if rng.random() < 0.6] or ["c40"]
            memberships = [
                await builders.membership(client, admin, city["id"], network=slug)
                for slug in joined
            ]
            patched = await client.patch(
                f"/v1/cities/{city['id']}", json={"population": number * 10}, headers=admin
            )
            assert patched.status_code == 200, patched.text
            if number % 4 == 0:
                await builders.tenure(client, admin, city["id"], network=joined[0])
            if number % 5 == 0 and number % 4 != 0:
                gone = await client.delete(
                    f"/v1/networks/{joined[-1]}/memberships/{memberships[-1]['id']}",
                    headers=admin,
                )
                assert gone.status_code == 204, gone.text

        await asyncio.gather(*(member_life(n, a if n % 2 else b) for n in range(30)))
        receiver.status = 500  # failing for a while, during writes and the restart
        instances[0].stop()
        await asyncio.gather(*(member_life(n, b) for n in range(30, 45)))
        restarted = Instance(env, tmp_path / "instance-restarted.log")
        instances.append(restarted)
        await restarted.wait_ready()
        await asyncio.sleep(1)
        receiver.status = 204
        async with client_of(restarted) as c:
            await asyncio.gather(*(member_life(n, c if n % 2 else b) for n in range(45, 70)))
            await delivered_up_to(c, admin, hook["id"])
            export = (await c.get("/v1/export")).json()
    assert any(entry.status == 500 for entry in receiver.received)
    assert len(receiver.accepted()) > 300
    assert_equal_to_export(mirror_of(receiver, hook["secret"]), export)


async def _lease_holder(database_url: str) -> str | None:
    connection = await asyncpg.connect(_dsn(database_url))
    try:
        holder: str | None = await connection.fetchval(
            "SELECT lease_holder FROM webhook_subscriptions"
        )
        return holder
    finally:
        await connection.close()


async def test_two_instances_deliver_each_change_once_and_the_survivor_takes_over(
    instances: list[Instance], admin: Headers, receiver: Receiver, database_url: str
) -> None:
    async with client_of(instances[0]) as a, client_of(instances[1]) as b:
        hook = await subscribe(a, admin, receiver.url)
        await builders.network(a, admin)
        for number in range(40):  # alternating: both instances are woken by every write
            await builders.city(a if number % 2 else b, admin, f"City {number}")
        await delivered_up_to(a, admin, hook["id"])
        ids = [entry.headers["webhook-id"] for entry in receiver.received]
        assert len(ids) == 41
        assert len(set(ids)) == len(ids)  # each change once, while both live

        receiver.delay = 0.3  # slow: the holder is in the middle of delivering
        for number in range(40, 60):
            await builders.city(b, admin, f"City {number}")
        holder = None
        while holder is None:
            holder = await _lease_holder(database_url)
            await asyncio.sleep(0.05)
        pids = [instance.process.pid for instance in instances]
        dying = pids.index(int(holder.split(":")[1]))
        os.kill(pids[dying], signal.SIGKILL)
        instances[dying].process.wait(10)
        survivor = b if dying == 0 else a
        receiver.delay = 0
        await delivered_up_to(survivor, admin, hook["id"], within=30)
    ids = [entry.headers["webhook-id"] for entry in receiver.received]
    assert len(set(ids)) == 61
    assert len(ids) - len(set(ids)) <= 1  # at most the change in flight, again
