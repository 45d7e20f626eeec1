"""The change feed: every committed write exactly once, in commit order, resumable from
any cursor, enough to rebuild the registry, and never naming who wrote."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from tests.conftest import Database, Keys
from tests.registry import builders

Headers = dict[str, str]
FIELDS = {"cursor", "committed_at", "action", "resource_type", "resource_id", "network", "data"}
KEY_NAME = "feed-test-secretariat"


@pytest.fixture
async def headers(keys: Keys) -> Headers:
    return {"Authorization": f"Bearer {await keys.create(KEY_NAME, admin=True)}"}


async def feed(client: httpx.AsyncClient, after: str = "0", limit: int = 1000) -> dict[str, Any]:
    response = await client.get("/v1/changes", params={"after": after, "limit": str(limit)})
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


async def whole_feed(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    page = await feed(client)
    assert len(page["items"]) < 1000
    items: list[dict[str, Any]] = page["items"]
    return items


@dataclass
class Write:
    action: str
    resource_type: str
    resource_id: str
    network: str | None
    data: dict[str, Any] | None


class Writer:
    """Writes through the API and remembers what the feed must say about each write."""

    def __init__(self, client: httpx.AsyncClient, headers: Headers) -> None:
        self.client = client
        self.headers = headers
        self.writes: list[Write] = []

    async def send(
        self,
        method: str,
        path: str,
        expect: tuple[str, str, str | None, str | None] | None,
        json: dict[str, Any] | None = None,
        status: int | None = None,
    ) -> dict[str, Any]:
        """``expect``: (action, resource_type, resource_id or None for the body's id,
        network); None for a write that must fail and leave no change."""
        response = await self.client.request(method, path, json=json, headers=self.headers)
        wanted = status or {"POST": 201, "PATCH": 200, "DELETE": 204}[method]
        assert response.status_code == wanted, response.text
        body: dict[str, Any] = response.json() if response.content else {}
        if expect is not None:
            action, kind, resource_id, network = expect
            if resource_id is None:
                resource_id = body["started"]["id"] if kind == "handover" else body["id"]
            self.writes.append(
                Write(action, kind, resource_id, network, body if method != "DELETE" else None)
            )
        return body


async def write_everything(writer: Writer) -> dict[str, str]:
    """Creates, updates and deletes every kind of resource, and hands a role over."""
    w = writer.send
    await w(
        "POST",
        "/v1/networks",
        ("create", "network", "citynet", "citynet"),
        {"slug": "citynet", "name": "CITYNET", "founded_on": "1987"},
    )
    await w(
        "PATCH",
        "/v1/networks/citynet",
        ("update", "network", "citynet", "citynet"),
        {"scope": "Asia-Pacific"},
    )
    await w("POST", "/v1/networks", None, {"slug": "citynet", "name": "Again"}, status=409)
    await w(
        "POST",
        "/v1/networks",
        ("create", "network", "tmpnet", "tmpnet"),
        {"slug": "tmpnet", "name": "Short-lived", "membership_categories": ["full"]},
    )
    await w("DELETE", "/v1/networks/tmpnet", ("delete", "network", "tmpnet", "tmpnet"))

    ids: dict[str, str] = {}
    for name, country in [("Seoul", "KR"), ("Yokohama", "JP"), ("Lyon", "FR"), ("Gone", "FR")]:
        city = await w(
            "POST",
            "/v1/cities",
            ("create", "city", None, None),
            {"name": name, "country_code": country},
        )
        ids[name] = city["id"]
    await w(
        "PATCH",
        f"/v1/cities/{ids['Yokohama']}",
        ("update", "city", ids["Yokohama"], None),
        {"population": 3_770_000, "alt_names": ["横浜"]},
    )
    await w("DELETE", f"/v1/cities/{ids['Gone']}", ("delete", "city", ids["Gone"], None))
    koica = await w(
        "POST",
        "/v1/organizations",
        ("create", "organization", None, None),
        {"name": "KOICA", "country_code": "KR"},
    )
    ids["KOICA"] = koica["id"]
    await w(
        "PATCH",
        f"/v1/organizations/{ids['KOICA']}",
        ("update", "organization", ids["KOICA"], None),
        {"org_type": "agency"},
    )

    memberships = "/v1/networks/citynet/memberships"
    for name, category, start in [
        ("Seoul", "full", "1987"),
        ("Yokohama", "full", "1987"),
        ("Lyon", "full", "1990-05"),
        ("KOICA", "associate", "2009"),
    ]:
        created = await w(
            "POST",
            memberships,
            ("create", "membership", None, "citynet"),
            {"member_id": ids[name], "category": category, "start_date": start},
        )
        ids[f"{name} membership"] = created["id"]
    await w(
        "PATCH",
        f"{memberships}/{ids['Lyon membership']}",
        ("update", "membership", ids["Lyon membership"], "citynet"),
        {"end_date": "2016-12", "note": "Left."},
    )
    await w(
        "DELETE",
        f"{memberships}/{ids['KOICA membership']}",
        ("delete", "membership", ids["KOICA membership"], "citynet"),
    )
    await w(
        "POST",
        memberships,
        None,
        {"member_id": ids["Seoul"], "category": "full", "start_date": "2001"},
        status=409,
    )

    roles = "/v1/networks/citynet/roles"
    for slug, max_holders in [("chair", 1), ("executive", None), ("auditor", None)]:
        await w(
            "POST",
            roles,
            ("create", "role", f"citynet/{slug}", "citynet"),
            {"slug": slug, "name": slug.title(), "max_holders": max_holders},
        )
    await w(
        "PATCH",
        f"{roles}/chair",
        ("update", "role", "citynet/chair", "citynet"),
        {"name": "Chair city", "eligible_categories": ["full"]},
    )
    await w("DELETE", f"{roles}/auditor", ("delete", "role", "citynet/auditor", "citynet"))

    tenures = "/v1/networks/citynet/tenures"
    chair = await w(
        "POST",
        tenures,
        ("create", "tenure", None, "citynet"),
        {"role": "chair", "member_id": ids["Yokohama"], "start_date": "1999"},
    )
    await w(
        "PATCH",
        f"{tenures}/{chair['id']}",
        ("update", "tenure", chair["id"], "citynet"),
        {"representative": "Mayor of Yokohama"},
    )
    await w(
        "POST",
        f"{roles}/chair/handover",
        ("create", "handover", None, "citynet"),
        {"member_id": ids["Seoul"], "date": "2013-11-05"},
    )
    executive = await w(
        "POST",
        tenures,
        ("create", "tenure", None, "citynet"),
        {"role": "executive", "member_id": ids["Lyon"], "start_date": "2010", "end_date": "2015"},
    )
    await w(
        "POST",
        tenures,
        ("create", "tenure", None, "citynet"),
        {"role": "executive", "member_id": ids["Seoul"], "start_date": "2013"},
    )
    await w(
        "DELETE", f"{tenures}/{executive['id']}", ("delete", "tenure", executive["id"], "citynet")
    )
    # A member renamed after it joined: its embedded summaries change without a write.
    await w(
        "PATCH",
        f"/v1/cities/{ids['Seoul']}",
        ("update", "city", ids["Seoul"], None),
        {"name": "Seoul Metropolitan City"},
    )
    return ids


async def test_every_write_appears_once_in_commit_order_without_the_actor(
    client: httpx.AsyncClient, headers: Headers, db: Database
) -> None:
    writer = Writer(client, headers)
    await write_everything(writer)
    changes = await whole_feed(client)

    assert [
        (c["action"], c["resource_type"], c["resource_id"], c["network"], c["data"])
        for c in changes
    ] == [(w.action, w.resource_type, w.resource_id, w.network, w.data) for w in writer.writes]
    assert {w.resource_type for w in writer.writes} == {
        "network",
        "city",
        "organization",
        "membership",
        "role",
        "tenure",
        "handover",
    }
    assert {w.action for w in writer.writes} == {"create", "update", "delete"}
    for change in changes:
        assert set(change) == FIELDS
    cursors = [int(c["cursor"]) for c in changes]
    assert cursors == sorted(set(cursors))
    committed = [datetime.fromisoformat(c["committed_at"]) for c in changes]
    assert all(moment.utcoffset() is not None for moment in committed)
    assert all(moment.utcoffset().total_seconds() == 0 for moment in committed)  # type: ignore[union-attr]
    assert committed == sorted(committed)
    handover = next(c for c in changes if c["resource_type"] == "handover")
    assert set(handover["data"]) == {"ended", "started"}
    assert handover["data"]["ended"]["end_date"] == "2013-11-05"

    # Who wrote is the audit log's business, not the public feed's.
    response = await client.get("/v1/changes", params={"limit": "1000"})
    key_id = str(await db.scalar("SELECT id FROM api_keys WHERE name = :name", name=KEY_NAME))
    token = headers["Authorization"].removeprefix("Bearer ")
    for secret in (key_id, KEY_NAME, token, token[:12]):
        assert secret not in response.text
    assert "actor" not in response.text


async def test_pages_resume_from_next_cursor(client: httpx.AsyncClient, headers: Headers) -> None:
    await builders.network(client, headers)
    for i in range(6):
        await builders.city(client, headers, f"City {i}")
    everything = await whole_feed(client)
    assert len(everything) == 7

    pages: list[list[dict[str, Any]]] = []
    cursor = "0"
    while True:
        response = await client.get("/v1/changes", params={"after": cursor, "limit": "3"})
        assert response.status_code == 200
        page = response.json()
        if len(page["items"]) == 3:
            assert f"after={page['next_cursor']}" in response.headers["link"]
            assert 'rel="next"' in response.headers["link"]
        else:
            assert "link" not in response.headers
        if not page["items"]:
            assert page["next_cursor"] == cursor
            break
        assert page["next_cursor"] == page["items"][-1]["cursor"]
        pages.append(page["items"])
        cursor = page["next_cursor"]
    assert [len(page) for page in pages] == [3, 3, 1]
    assert [c for page in pages for c in page] == everything

    middle = everything[3]["cursor"]
    assert (await feed(client, after=middle))["items"] == everything[4:]
    assert (await feed(client, after=middle, limit=1))["items"] == everything[4:5]
    beyond = str(int(everything[-1]["cursor"]) + 1000)
    assert await feed(client, after=beyond) == {"items": [], "next_cursor": beyond}
    # The default is the beginning.
    response = await client.get("/v1/changes")
    assert response.json()["items"] == everything


async def test_an_after_that_is_no_position_is_422_naming_it(client: httpx.AsyncClient) -> None:
    for after in ["abc", "-1", "1.5", " 1", "0x10", "１", "", "1e3", "١٢"]:
        response = await client.get("/v1/changes", params={"after": after})
        assert response.status_code == 422, (after, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        error = response.json()["errors"][0]
        assert error["location"] == ["query", "after"]
        assert "position in the change feed" in error["message"], error


async def test_an_after_beyond_every_position_is_400(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/changes", params={"after": str(2**63)})
    assert response.status_code == 400, response.text
    assert response.json()["type"] == "urn:netregistry:problem:invalid-cursor"
    response = await client.get("/v1/changes", params={"after": str(2**63 - 1)})
    assert response.status_code == 200, response.text


async def test_limits_out_of_range_are_422(client: httpx.AsyncClient) -> None:
    for limit in ("0", "1001", "many"):
        response = await client.get("/v1/changes", params={"limit": limit})
        assert response.status_code == 422, (limit, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    response = await client.get("/v1/changes", params={"after": "1" * 21})
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["location"] == ["query", "after"]


# --- replaying the feed ---------------------------------------------------------------------


def summary(member: dict[str, Any]) -> dict[str, Any]:
    return {key: member[key] for key in ("id", "kind", "name", "country_code")}


class Replica:
    """What a consumer of the feed keeps: every resource, by type and id."""

    def __init__(self) -> None:
        self.state: dict[str, dict[str, dict[str, Any]]] = {
            kind: {} for kind in ("network", "city", "organization", "membership", "role")
        }
        self.state["tenure"] = {}

    def apply(self, change: dict[str, Any]) -> None:
        kind, key, data = change["resource_type"], change["resource_id"], change["data"]
        if kind == "handover":
            assert change["action"] == "create"
            if data["ended"] is not None:
                self.state["tenure"][data["ended"]["id"]] = data["ended"]
            self.state["tenure"][data["started"]["id"]] = data["started"]
        elif change["action"] == "delete":
            assert data is None
            del self.state[kind][key]
        else:
            assert (change["action"] == "create") == (key not in self.state[kind]), change
            self.state[kind][key] = data

    def view(self, kind: str, network: str | None = None) -> list[dict[str, Any]]:
        members = {**self.state["city"], **self.state["organization"]}
        rows = []
        for row in self.state[kind].values():
            if network is not None and row["network"] != network:
                continue
            if "member" in row:  # summaries follow the member, as the API embeds them
                row = {**row, "member": summary(members[row["member_id"]])}
            rows.append(row)
        return rows


def by_key(rows: list[dict[str, Any]], key: str = "id") -> dict[str, dict[str, Any]]:
    keyed = {row[key]: row for row in rows}
    assert len(keyed) == len(rows)
    return keyed


async def listed(client: httpx.AsyncClient, path: str) -> list[dict[str, Any]]:
    response = await client.get(path, params={"limit": "1000"})
    assert response.status_code == 200, response.text
    assert response.json()["next_cursor"] is None
    rows: list[dict[str, Any]] = response.json()["items"]
    return rows


async def test_replaying_the_feed_from_the_beginning_rebuilds_the_registry(
    client: httpx.AsyncClient, headers: Headers
) -> None:
    writer = Writer(client, headers)
    await write_everything(writer)
    await builders.network(client, headers, "metropolis")
    seoul = next(c for c in await listed(client, "/v1/cities") if c["name"].startswith("Seoul"))
    await builders.membership(client, headers, seoul["id"], network="metropolis")

    replica = Replica()
    cursor = "0"
    while page := (await feed(client, after=cursor, limit=4))["items"]:
        for change in page:
            replica.apply(change)
        cursor = page[-1]["cursor"]

    networks = await listed(client, "/v1/networks")
    assert by_key(networks, "slug") == replica.state["network"]
    assert by_key(await listed(client, "/v1/cities")) == replica.state["city"]
    assert by_key(await listed(client, "/v1/organizations")) == replica.state["organization"]
    for network in networks:
        slug = network["slug"]
        assert by_key(await listed(client, f"/v1/networks/{slug}/memberships")) == by_key(
            replica.view("membership", slug)
        ), slug
        assert by_key(await listed(client, f"/v1/networks/{slug}/tenures")) == by_key(
            replica.view("tenure", slug)
        ), slug
        roles = {
            f"{slug}/{role['slug']}": role
            for role in await listed(client, f"/v1/networks/{slug}/roles")
        }
        assert roles == {
            key: role for key, role in replica.state["role"].items() if key.startswith(f"{slug}/")
        }
    assert len(replica.state["tenure"]) == 3  # Yokohama's ended chair, Seoul's, Seoul executive
    assert len(replica.state["membership"]) == 4


# --- concurrency and commit order ------------------------------------------------------------


async def test_a_poller_sees_every_change_once_while_many_writers_commit(
    app: FastAPI, client: httpx.AsyncClient, headers: Headers
) -> None:
    await builders.network(client, headers)
    cities = await builders.gather_in_batches(
        [builders.city(client, headers, f"Member {i}") for i in range(15)]
    )
    done = asyncio.Event()
    collected: list[dict[str, Any]] = []
    polls_during_writes = 0

    async def poll() -> None:
        nonlocal polls_during_writes
        cursor = "0"
        while True:
            finished = done.is_set()
            page = await feed(client, after=cursor, limit=5)
            collected.extend(page["items"])
            cursor = page["next_cursor"]
            if not finished:
                polls_during_writes += 1
            if finished and not page["items"]:
                return
            if not page["items"]:
                await asyncio.sleep(0.002)

    half_done = asyncio.Event()
    finished_writes = 0

    async def write(call: Awaitable[Any]) -> None:
        nonlocal finished_writes
        await call
        finished_writes += 1
        if finished_writes == 15:
            half_done.set()

    async def slow_write(number: int) -> None:
        """A transaction that writes early and commits late (as a big import does), while
        quicker ones commit: its change must come after theirs, not behind the poller."""
        async with app.state.engine.connect() as connection:
            await _insert_member_with_audit(connection, f"Slow {number}")
            await half_done.wait()
            await asyncio.sleep(0.005 * number)
            await connection.commit()

    poller = asyncio.create_task(poll())
    await asyncio.gather(
        *(slow_write(number) for number in range(1, 6)),
        *(
            write(builders.membership(client, headers, city["id"], start_date=f"{1990 + i}"))
            for i, city in enumerate(cities)
        ),
        *(write(builders.city(client, headers, f"Newcomer {i}", "JP")) for i in range(15)),
    )
    done.set()
    await asyncio.wait_for(poller, timeout=30)

    everything = await whole_feed(client)
    assert len(everything) == 1 + 15 + 30 + 5
    cursors = [int(c["cursor"]) for c in collected]
    assert cursors == sorted(set(cursors)), "positions seen out of order or twice"
    assert collected == everything, "the poller skipped or repeated changes"
    assert polls_during_writes > 1


async def _insert_member_with_audit(connection: Any, name: str) -> str:
    member_id = str(uuid.uuid4())
    await connection.execute(
        text("INSERT INTO members (id, kind, name, country_code) VALUES (:id, 'city', :n, 'KR')"),
        {"id": member_id, "n": name},
    )
    await connection.execute(
        text(
            "INSERT INTO audit_events (actor_name, action, resource_type, resource_id, after) "
            "VALUES ('raw', 'create', 'city', :id, CAST(:after AS jsonb))"
        ),
        {"id": member_id, "after": f'{{"name": "{name}"}}'},
    )
    return member_id


async def test_a_change_takes_its_place_when_it_commits_not_when_it_was_written(
    app: FastAPI, client: httpx.AsyncClient, headers: Headers, db: Database
) -> None:
    await builders.network(client, headers)
    before = (await whole_feed(client))[-1]["cursor"]
    async with app.state.engine.connect() as slow:
        # Transaction A writes first and stays open ...
        a_id = await _insert_member_with_audit(slow, "Slow City")
        # ... transaction B writes later and commits first (not blocked by A).
        b = await asyncio.wait_for(builders.city(client, headers, "Fast City"), timeout=10)
        seen = (await feed(client, after=before))["items"]
        assert [c["resource_id"] for c in seen] == [b["id"]]
        b_cursor = seen[0]["cursor"]
        await slow.commit()

    # A poller holding B's cursor still gets A: it was placed after B.
    later = (await feed(client, after=b_cursor))["items"]
    assert [c["resource_id"] for c in later] == [a_id]
    assert int(later[0]["cursor"]) > int(b_cursor)
    assert later[0]["data"] == {"name": "Slow City"}
    assert datetime.fromisoformat(later[0]["committed_at"]) >= datetime.fromisoformat(
        seen[0]["committed_at"]
    )
    ids = await db.scalar(
        "SELECT array_agg(id ORDER BY id) FROM audit_events WHERE resource_id IN (:a, :b)",
        a=a_id,
        b=b["id"],
    )
    first_written = await db.scalar(
        "SELECT resource_id FROM audit_events WHERE id = :id", id=ids[0]
    )
    assert first_written == a_id  # A was written first, yet comes second in the feed


async def test_a_rolled_back_write_never_appears(
    app: FastAPI, client: httpx.AsyncClient, headers: Headers
) -> None:
    await builders.network(client, headers)
    async with app.state.engine.connect() as connection:
        await _insert_member_with_audit(connection, "Never City")
        await connection.rollback()
    await builders.city(client, headers, "Real City")
    changes = await whole_feed(client)
    assert [c["resource_type"] for c in changes] == ["network", "city"]
    assert changes[1]["data"]["name"] == "Real City"
