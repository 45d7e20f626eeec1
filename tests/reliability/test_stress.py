"""A storm of concurrent writers on one network, then an audit of what it left behind.

About two hundred requests from four API keys (two admin, two scoped) and none run at once:
overlapping and disjoint memberships of the same cities, chair handovers to different
cities on different days, tenures of a three-seat role, PATCHes and DELETEs with ETags
read before the storm (so all but one lose with 412), a role losing a seat, idempotent
retries, writes refused for the key's scope. Who wins each race varies from run to run;
what is asserted holds for every interleaving:

* no 5xx, and every status one the request may get;
* the rules of SPEC.md hold in the database, checked by SQL written here from the
  dates as given (not the app's generated periods or its rule queries);
* every 2xx write has exactly one audit event and one change in the feed, with the
  response's content; a 4xx has neither and its payload is nowhere;
* the registry the API serves is the one the change feed replays to;
* with one ETag, exactly one conditional write wins.

Every request carries its own X-Request-ID, which is also written into its payload
(note, description, subdivision, representative): a refused request's id must appear
nowhere in the database.
"""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from netregistry.config import Settings
from tests.conftest import Database, Keys
from tests.registry import builders

Headers = dict[str, str]
Json = dict[str, Any]

# Requests in flight at once: below the test app's pool (30 + 10 connections), so that a
# request never waits out the pool timeout (a 503 that would measure the fixture, not
# the rules). Each in-flight request is a concurrent transaction.
IN_FLIGHT = 32

SEEDED = 12  # cities 0..11: full members of citynet since 2000; city 0 chairs from 2010
FRESH = 8  # cities 12..19: members of nothing before the storm
DELETABLE = 4  # cities that a DELETE, two PATCHes (and maybe a membership) race for
ENDED_ON = "2020-06-01"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The usual test settings without a write rate limit: the storm measures races."""
    return settings.model_copy(update={"write_rate_limit": None})


RID = object()  # placeholder in a body: replaced by the call's request id


@dataclass
class Call:
    """One request of the storm, what it may answer, and (after the storm) its answer."""

    rid: str
    method: str
    path: str
    key: str | None  # the API key's name; None sends no key
    body: Json | None = None
    if_match: str | None = None
    idempotency_key: str | None = None
    allowed: frozenset[int] = frozenset()
    resource_type: str | None = None  # what a success writes (None: a read)
    resource_id: str | None = None  # None: the id in the response body
    response: httpx.Response | None = None

    @property
    def status(self) -> int:
        assert self.response is not None
        return self.response.status_code

    @property
    def succeeded(self) -> bool:
        return 200 <= self.status < 300

    @property
    def replayed(self) -> bool:
        assert self.response is not None
        return self.response.headers.get("idempotent-replayed") == "true"

    @property
    def writes(self) -> bool:
        """True when this call committed a write of its own (not a replay, not a read)."""
        return self.resource_type is not None and self.succeeded and not self.replayed

    @property
    def json(self) -> Json:
        assert self.response is not None
        body: Json = self.response.json()
        return body

    def change(self) -> tuple[str, str, str, str | None]:
        """(action, resource_type, resource_id, canonical data) its change must carry."""
        assert self.resource_type is not None
        action = {"POST": "create", "PATCH": "update", "DELETE": "delete"}[self.method]
        if self.resource_id is not None:
            resource_id = self.resource_id
        elif self.resource_type == "handover":
            resource_id = self.json["started"]["id"]
        else:
            resource_id = self.json["id"]
        data = None if self.method == "DELETE" else canonical(self.json)
        return action, self.resource_type, resource_id, data

    def header(self, name: str) -> str | None:
        assert self.response is not None
        return self.response.headers.get(name)

    def written(self) -> list[tuple[tuple[str, str], Json | None]]:
        """The resources this committed call left, as (type, id) and content (None: gone)."""
        action, resource_type, resource_id, _ = self.change()
        if resource_type == "handover":
            tenures = [self.json["ended"], self.json["started"]]
            return [(("tenure", t["id"]), t) for t in tenures if t is not None]
        return [((resource_type, resource_id), None if action == "delete" else self.json)]

    def describe(self) -> str:
        text = self.response.text[:300] if self.response is not None else "no response"
        return f"{self.rid} {self.method} {self.path} {self.body} -> {text}"


def canonical(data: Any) -> str | None:
    return None if data is None else json.dumps(data, sort_keys=True)


@dataclass
class Storm:
    """Builds the storm's calls, fires them, and remembers the contests between them."""

    tokens: dict[str, str]
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    calls: list[Call] = field(default_factory=list)
    # Calls racing for one thing (an ETag, a seat, a period, an Idempotency-Key): at most
    # one may win, exactly one where only the other contenders can make them fail.
    contests: dict[str, list[Call]] = field(default_factory=dict)

    def add(
        self, method: str, path: str, key: str | None, allowed: Iterable[int], **kw: Any
    ) -> Call:
        call = Call(
            rid=f"stress-{len(self.calls):04d}-{self.run}",
            method=method,
            path=path,
            key=key,
            allowed=frozenset(allowed),
            **kw,
        )
        if call.body is not None:  # the request's id goes into its payload (see module doc)
            call.body = {k: call.rid if v is RID else v for k, v in call.body.items()}
        self.calls.append(call)
        return call

    def contest(self, name: str, *calls: Call) -> None:
        self.contests[name] = list(calls)

    async def fire(self, client: httpx.AsyncClient) -> None:
        order = list(self.calls)
        random.Random(self.run).shuffle(order)
        gate = asyncio.Semaphore(IN_FLIGHT)

        async def send(call: Call) -> None:
            headers = {"X-Request-ID": call.rid}
            if call.key is not None:
                headers["Authorization"] = f"Bearer {self.tokens[call.key]}"
            if call.if_match is not None:
                headers["If-Match"] = call.if_match
            if call.idempotency_key is not None:
                headers["Idempotency-Key"] = call.idempotency_key
            async with gate:
                call.response = await client.request(
                    call.method, call.path, json=call.body, headers=headers
                )

        await asyncio.gather(*(send(call) for call in order))

    def winners(self) -> list[Call]:
        return [call for call in self.calls if call.writes]

    def losers(self) -> list[Call]:
        return [c for c in self.calls if c.resource_type is not None and not c.succeeded]


# --- independent SQL checks of the rules of SPEC.md -------------------------------------------

# The days certainly inside each period, from the dates exactly as given: a partial start
# counts from the last day of its year or month, a partial end stops at the first day of
# its year or month, NULL is unbounded. ``first_day``/``stop_day`` stay apart so that an
# empty period is seen rather than rejected by daterange().
_DAYS = """
SELECT *, CASE WHEN first_day >= stop_day THEN 'empty'::daterange
               ELSE daterange(first_day, stop_day, '[)') END AS days
FROM (
    SELECT t.*,
        CASE length(start_date)
            WHEN 4 THEN make_date(start_date::int, 12, 31)
            WHEN 7 THEN (to_date(start_date, 'YYYY-MM')
                         + interval '1 month' - interval '1 day')::date
            ELSE to_date(start_date, 'YYYY-MM-DD')
        END AS first_day,
        CASE length(end_date)
            WHEN 4 THEN to_date(end_date, 'YYYY')
            WHEN 7 THEN to_date(end_date, 'YYYY-MM')
            ELSE to_date(end_date, 'YYYY-MM-DD')
        END AS stop_day
    FROM {table} t
) AS bounded
"""
PERIODS = (
    f"WITH m AS ({_DAYS.format(table='memberships')}), t AS ({_DAYS.format(table='tenures')}) "
)


def over_periods(sql: str) -> str:
    """``sql`` with ``m`` (memberships) and ``t`` (tenures) carrying their ``days``."""
    return PERIODS + sql


RULES = {
    "a period ends after it starts": over_periods(
        "SELECT count(*) FROM (SELECT days FROM m UNION ALL SELECT days FROM t) p "
        "WHERE isempty(days)"
    ),
    "the stored period is the days the dates give": over_periods(
        "SELECT count(*) FROM (SELECT days, period FROM m UNION ALL SELECT days, period FROM t) p "
        "WHERE days IS DISTINCT FROM period"
    ),
    "one member's memberships of a network never overlap": over_periods(
        "SELECT count(*) FROM m a JOIN m b ON a.network_id = b.network_id "
        "AND a.member_id = b.member_id AND a.id < b.id AND a.days && b.days"
    ),
    "a membership's category is one of its network's": (
        "SELECT count(*) FROM memberships m JOIN networks n ON n.id = m.network_id "
        "WHERE NOT m.category = ANY(n.membership_categories)"
    ),
    "a member never holds one role twice at once": over_periods(
        "SELECT count(*) FROM t a JOIN t b ON a.role_id = b.role_id "
        "AND a.member_id = b.member_id AND a.id < b.id AND a.days && b.days"
    ),
    "a tenure is of a role of its own network": (
        "SELECT count(*) FROM tenures t JOIN roles r ON r.id = t.role_id "
        "WHERE r.network_id <> t.network_id"
    ),
    # The busiest day of a set of periods is the first day of one of them.
    "no role has more than max_holders holders on any day": over_periods(
        "SELECT count(*) FROM roles r JOIN t starts ON starts.role_id = r.id "
        "WHERE r.max_holders IS NOT NULL AND r.max_holders < ("
        "    SELECT count(*) FROM t WHERE t.role_id = r.id "
        "    AND t.days @> coalesce(lower(starts.days), '-infinity'::date))"
    ),
    "a role requiring membership is held by an eligible member every day": over_periods(
        "SELECT count(*) FROM t JOIN roles r ON r.id = t.role_id WHERE r.requires_membership "
        "AND NOT coalesce((SELECT range_agg(m.days) FROM m WHERE m.network_id = t.network_id "
        "    AND m.member_id = t.member_id AND (r.eligible_categories IS NULL "
        "    OR m.category = ANY(r.eligible_categories))) @> t.days, false)"
    ),
}

CHAIR_HOLDERS_ON = over_periods(
    "SELECT coalesce(array_agg(x.name ORDER BY x.name), '{}') FROM t "
    "JOIN roles r ON r.id = t.role_id AND r.slug = 'chair' "
    "JOIN members x ON x.id = t.member_id WHERE t.days @> CAST(:day AS date)"
)


# --- reading the API ---------------------------------------------------------------------------


async def whole_list(client: httpx.AsyncClient, path: str) -> list[Json]:
    """Every item of a cursor-paginated list, following ``next_cursor``."""
    items: list[Json] = []
    params: dict[str, str] = {"limit": "200"}
    while True:
        response = await client.get(path, params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        items.extend(page["items"])
        if page["next_cursor"] is None:
            return items
        params["cursor"] = page["next_cursor"]


async def changes_after(client: httpx.AsyncClient, cursor: str) -> list[Json]:
    """The change feed after ``cursor``, paginated to its end in pages of 50."""
    changes: list[Json] = []
    while True:
        response = await client.get("/v1/changes", params={"after": cursor, "limit": "50"})
        assert response.status_code == 200, response.text
        page = response.json()["items"]
        if not page:
            return changes
        changes.extend(page)
        cursor = page[-1]["cursor"]


async def etag(client: httpx.AsyncClient, path: str) -> str:
    response = await client.get(path)
    assert response.status_code == 200, response.text
    return response.headers["etag"]


def replay(changes: list[Json]) -> dict[tuple[str, str], Json | None]:
    """The state the change feed describes: resource (type, id) to data, None if deleted."""
    state: dict[tuple[str, str], Json | None] = {}
    for change in changes:
        data = change["data"]
        if change["resource_type"] == "handover":
            for tenure in (data["ended"], data["started"]):
                if tenure is not None:
                    state["tenure", tenure["id"]] = tenure
        else:
            state[change["resource_type"], change["resource_id"]] = data
    return state


# --- the scenario ------------------------------------------------------------------------------


@dataclass
class World:
    cities: list[Json]  # 0..11 seeded members, 12..19 fresh
    deletable: list[Json]
    memberships: dict[str, str]  # city id -> its seeded citynet membership id
    chair_tenure: str


async def seed(client: httpx.AsyncClient, headers: Headers) -> World:
    await builders.network(client, headers)
    await builders.network(client, headers, "metro")
    seeded = await builders.members_of(
        client, headers, [f"Seeded {n:02d}" for n in range(SEEDED)], start_date="2000"
    )
    fresh = await builders.gather_in_batches(
        [builders.city(client, headers, f"Fresh {n:02d}", "JP") for n in range(FRESH)]
    )
    deletable = await builders.gather_in_batches(
        [builders.city(client, headers, f"Deletable {n}", "FR") for n in range(DELETABLE)]
    )
    await builders.role(client, headers, "chair")
    await builders.role(client, headers, "executive", max_holders=3)
    chair = await builders.tenure(client, headers, seeded[0]["id"], start_date="2010-01-01")
    memberships = {
        m["member_id"]: m["id"]
        for m in await whole_list(client, "/v1/networks/citynet/memberships")
    }
    return World(seeded + fresh, deletable, memberships, chair["id"])


async def build_storm(client: httpx.AsyncClient, storm: Storm, world: World) -> None:
    """About two hundred calls; the comments say why each may answer what it may."""
    add, cities = storm.add, world.cities
    citynet = "/v1/networks/citynet"
    writers = ["admin-a", "admin-b", "citynet-staff", "regional-staff"]

    def writer(n: int) -> str:
        return writers[n % len(writers)]

    def admin(n: int) -> str:  # cities belong to no network: admin keys write them
        return writers[n % 2]

    def membership(member: Json, n: int, allowed: Iterable[int], **dates: Any) -> Call:
        body = {"member_id": member["id"], "category": "full", "note": RID, **dates}
        return add(
            "POST",
            f"{citynet}/memberships",
            writer(n),
            allowed,
            body=body,
            resource_type="membership",
        )

    # Memberships. A seeded city already is an ongoing member: a second ongoing one
    # overlaps (409), unless the storm deleted the first (cities 9..11, below).
    for n, city in enumerate(cities[:SEEDED]):
        membership(city, n, {409} if n < 9 else {201, 409}, start_date=f"{2005 + n}")
    # A fresh city gets three ongoing memberships (they overlap: one wins) and two
    # closed ones that overlap nothing ("1990" to "1995" ends before "1995" begins).
    for n, city in enumerate(cities[SEEDED:]):
        ongoing = [
            membership(city, n + m, {201, 409}, start_date=start, category=category)
            for m, (start, category) in enumerate(
                [("2001", "full"), ("2002-05", "associate"), ("2003-01-01", "full")]
            )
        ]
        storm.contest(f"memberships of {city['name']}", *ongoing)
        membership(city, n, {201}, start_date="1990", end_date="1995", category="associate")
        membership(city, n + 1, {201}, start_date="1995", end_date="1998-06")
    for n in range(3):  # not a category of citynet
        membership(cities[SEEDED + n], n, {422}, start_date="1980", category="observer")
    # Metro: a key scoped to both networks adds ten members; one scoped to citynet only
    # may not write there (403), and no key is 401.
    for city in cities[:10]:
        add(
            "POST",
            "/v1/networks/metro/memberships",
            "regional-staff",
            {201},
            body={"member_id": city["id"], "category": "full", "note": RID},
            resource_type="membership",
        )
    for n in range(3):
        add(
            "POST",
            "/v1/networks/metro/memberships",
            "citynet-staff",
            {403},
            body={"member_id": cities[n]["id"], "category": "full", "note": RID},
            resource_type="membership",
        )
    for _ in range(2):
        add(
            "PATCH",
            "/v1/networks/metro",
            None,
            {401},
            body={"description": RID},
            resource_type="network",
            resource_id="metro",
        )

    # The chair (one seat, city 0 since 2010-01-01): handovers to members on distinct
    # days, in random order. One on a day whose holder already changed later, or to the
    # holder itself, is refused (409); so is one to a fresh city that is not yet a member.
    targets = [*cities[1:9], *cities[SEEDED : SEEDED + 4]]
    days = [f"{2011 + n}-{(n % 12) + 1:02d}-{(3 * n) % 28 + 1:02d}" for n in range(len(targets))]
    random.Random(storm.run).shuffle(days)
    for n, (city, day) in enumerate(zip(targets, days, strict=True)):
        add(
            "POST",
            f"{citynet}/roles/chair/handover",
            writer(n),
            {201, 409},
            body={"member_id": city["id"], "date": day, "note": RID},
            resource_type="handover",
        )
    for n in range(2):  # handover is for one-seat roles only
        add(
            "POST",
            f"{citynet}/roles/executive/handover",
            writer(n),
            {409},
            body={"member_id": cities[n + 1]["id"], "date": "2015-01-01", "note": RID},
            resource_type="handover",
        )
    # A chair tenure in 2002-2004 (before city 0's): three candidates, one seat.
    storm.contest(
        "early chair",
        *[
            add(
                "POST",
                f"{citynet}/tenures",
                writer(n),
                {201, 409},
                body={
                    "role": "chair",
                    "member_id": cities[n]["id"],
                    "start_date": "2001",
                    "end_date": "2005",
                    "note": RID,
                },
                resource_type="tenure",
            )
            for n in range(1, 4)
        ],
    )
    # An ongoing chair from 2030 always meets the ongoing chair of the day.
    add(
        "POST",
        f"{citynet}/tenures",
        "admin-a",
        {409},
        body={"role": "chair", "member_id": cities[4]["id"], "start_date": "2030", "note": RID},
        resource_type="tenure",
    )

    # The executive (three seats, two if the role PATCH below wins): sixteen candidates,
    # city 1 twice (a member never holds a role twice at once).
    for n, city in enumerate([*cities[1:SEEDED], cities[1], *cities[SEEDED : SEEDED + 4]]):
        add(
            "POST",
            f"{citynet}/tenures",
            writer(n),
            {201, 409},
            body={
                "role": "executive",
                "member_id": city["id"],
                "start_date": f"2012-{(n % 12) + 1:02d}",
                "note": RID,
            },
            resource_type="tenure",
        )
    # Down to two seats: refused (409) if three are already seated on a day.
    add(
        "PATCH",
        f"{citynet}/roles/executive",
        "admin-b",
        {200, 409},
        body={"max_holders": 2},
        if_match=await etag(client, f"{citynet}/roles/executive"),
        resource_type="role",
        resource_id="citynet/executive",
    )

    # Conditional PATCHes with the ETags of before the storm.
    tag = await etag(client, citynet)
    storm.contest(
        "network citynet",
        *[
            add(
                "PATCH",
                citynet,
                writer(n),
                {200, 412},
                body={"description": RID},
                if_match=tag,
                resource_type="network",
                resource_id="citynet",
            )
            for n in range(6)
        ],
    )
    tag = await etag(client, f"{citynet}/tenures/{world.chair_tenure}")
    # A handover ending this tenure changes its ETag too: then all three lose.
    storm.contest(
        "chair tenure",
        *[
            add(
                "PATCH",
                f"{citynet}/tenures/{world.chair_tenure}",
                writer(n),
                {200, 412},
                body={"representative": RID},
                if_match=tag,
                resource_type="tenure",
                resource_id=world.chair_tenure,
            )
            for n in range(3)
        ],
    )
    for city in cities[SEEDED:]:
        path = f"/v1/cities/{city['id']}"
        tag = await etag(client, path)
        storm.contest(
            f"city {city['name']}",
            *[
                add(
                    "PATCH",
                    path,
                    admin(n),
                    {200, 412},
                    body={"subdivision": RID},
                    if_match=tag,
                    resource_type="city",
                    resource_id=city["id"],
                )
                for n in range(2)
            ],
        )
    # A DELETE and two PATCHes with one ETag; after the DELETE the PATCHes find nothing
    # (404). Two of these cities also get a membership: the DELETE is then refused (409),
    # or the membership is (422, no such member).
    for n, city in enumerate(world.deletable):
        path = f"/v1/cities/{city['id']}"
        tag = await etag(client, path)
        contenders = [
            add(
                "DELETE",
                path,
                "admin-a",
                {204, 409, 412},
                if_match=tag,
                resource_type="city",
                resource_id=city["id"],
            ),
            *[
                add(
                    "PATCH",
                    path,
                    admin(m + 1),
                    {200, 404, 412},
                    body={"subdivision": RID},
                    if_match=tag,
                    resource_type="city",
                    resource_id=city["id"],
                )
                for m in range(2)
            ],
        ]
        storm.contest(f"city {city['name']}", *contenders)
        if n < 2:
            add(
                "POST",
                "/v1/networks/metro/memberships",
                "regional-staff",
                {201, 422},
                body={"member_id": city["id"], "category": "associate", "note": RID},
                resource_type="membership",
            )
    # Each seeded membership: a note and an end in 2020, with one ETag. The end is
    # refused (409) while the city holds an ongoing tenure; then the note may win.
    # Memberships of cities 9..11 are also deleted without a precondition (refused while
    # the city holds a tenure); after that, both PATCHes find nothing (404).
    for n, city in enumerate(cities[:SEEDED]):
        path = f"{citynet}/memberships/{world.memberships[city['id']]}"
        tag = await etag(client, path)
        storm.contest(
            f"membership of {city['name']}",
            *[
                add(
                    "PATCH",
                    path,
                    writer(n),
                    {200, 404, 412},
                    body={"note": RID},
                    if_match=tag,
                    resource_type="membership",
                    resource_id=world.memberships[city["id"]],
                ),
                add(
                    "PATCH",
                    path,
                    writer(n + 1),
                    {200, 404, 409, 412},
                    body={"end_date": ENDED_ON, "note": RID},
                    if_match=tag,
                    resource_type="membership",
                    resource_id=world.memberships[city["id"]],
                ),
            ],
        )
        if n >= 9:
            add(
                "DELETE",
                path,
                writer(n),
                {204, 409},
                resource_type="membership",
                resource_id=world.memberships[city["id"]],
            )

    # Metro's description, unconditionally, four times: the last committed one stays.
    for _ in range(4):
        add(
            "PATCH",
            "/v1/networks/metro",
            "regional-staff",
            {200},
            body={"description": RID},
            resource_type="network",
            resource_id="metro",
        )
    # New cities, and two requests retried three times each with one Idempotency-Key:
    # one runs, the retries replay it (or, still running, 409).
    for n in range(10):
        add(
            "POST",
            "/v1/cities",
            admin(n),
            {201},
            body={"name": f"Newcomer {n}", "country_code": "KR", "subdivision": RID},
            resource_type="city",
        )
    for n in range(2):
        body = {"name": f"Retried {n}", "country_code": "KR", "subdivision": f"retry-{storm.run}"}
        storm.contest(
            f"idempotent {n}",
            *[
                add(
                    "POST",
                    "/v1/cities",
                    "admin-b",
                    {201, 409},
                    body=body,
                    idempotency_key=f"retry-{n}-{storm.run}",
                    resource_type="city",
                )
                for _ in range(3)
            ],
        )
    # Readers, meanwhile.
    for n in range(16):
        path = [f"{citynet}/members", f"{citynet}/roles/chair/holders", "/v1/cities"][n % 3]
        add("GET", path, None, {200})


# --- the test ----------------------------------------------------------------------------------


async def test_a_storm_of_mixed_concurrent_writers_keeps_every_rule_and_records_every_write(
    app: FastAPI, client: httpx.AsyncClient, keys: Keys, db: Database
) -> None:
    tokens = {name: await keys.create(name, admin=True) for name in ("admin-a", "admin-b")}
    world = await seed(client, {"Authorization": f"Bearer {tokens['admin-a']}"})
    tokens["citynet-staff"] = await keys.create("citynet-staff", networks=["citynet"])
    tokens["regional-staff"] = await keys.create("regional-staff", networks=["citynet", "metro"])
    seeded_changes = await changes_after(client, "0")
    audit_before = int(await db.scalar("SELECT coalesce(max(id), 0) FROM audit_events"))
    storm = Storm(tokens)
    await build_storm(client, storm, world)
    assert 150 <= len(storm.calls) <= 300

    await storm.fire(client)

    # 1. Statuses: no 5xx, each one the request may get, each with its own request id.
    assert not [c.describe() for c in storm.calls if c.status >= 500]
    assert not [c.describe() for c in storm.calls if c.status not in c.allowed]
    assert [c.rid for c in storm.calls] == [c.header("x-request-id") for c in storm.calls]
    by_status = Counter(c.status for c in storm.calls)
    for status, at_least in {200: 20, 201: 30, 409: 20, 412: 10}.items():
        assert by_status[status] >= at_least, by_status

    # 2. One ETag (one seat, one Idempotency-Key), one winner: exactly one where nothing
    #    but the other contenders can fail them.
    deleted = {c.resource_id for c in storm.winners() if c.method == "DELETE"}
    for name, contenders in storm.contests.items():
        won = [c for c in contenders if c.succeeded]
        if name.startswith("idempotent"):
            assert len([c for c in won if not c.replayed]) == 1, name
            assert len({c.json["id"] for c in won}) == 1, name
            continue
        assert len(won) <= 1, (name, [c.describe() for c in won])
        may_all_lose = name == "chair tenure" or contenders[0].resource_id in deleted
        assert len(won) == 1 or may_all_lose, (name, [c.describe() for c in contenders])
    # A 404 only for what the storm deleted.
    assert all(c.resource_id in deleted for c in storm.calls if c.status == 404)

    # 3. The rules of SPEC.md hold in the database, and the holders the API lists agree.
    broken = {rule: await db.scalar(sql) for rule, sql in RULES.items()}
    assert broken == dict.fromkeys(RULES, 0)
    handover_days = [c.body["date"] for c in storm.calls if c.body and "date" in c.body]
    for day in ["2003-06-01", "2009-12-31", "2010-01-01", "2030-01-01", *handover_days]:
        in_db = list(await db.scalar(CHAIR_HOLDERS_ON, day=date.fromisoformat(day)))
        assert len(in_db) <= 1
        assert sorted(await builders.holder_names(client, day)) == in_db, day

    # 4. The audit log: exactly one event per committed write, with its request id, actor
    #    and content; none for a refused request, a replay or a read.
    events: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    async with app.state.engine.connect() as connection:
        rows = await connection.execute(
            text(
                "SELECT client_request_id, action, resource_type, resource_id, actor_name, after "
                "FROM audit_events WHERE id > :before ORDER BY id"
            ),
            {"before": audit_before},
        )
        for request_id, *event in rows:
            events[request_id].append(tuple(event))
    winners = {c.rid: c for c in storm.winners()}
    assert set(events) == set(winners), {
        "audited, not committed": [str(rid) for rid in set(events) - set(winners)],
        "committed, not audited": [winners[rid].describe() for rid in set(winners) - set(events)],
    }
    for rid, call in winners.items():
        action, resource_type, resource_id, data = call.change()
        after = None if data is None else call.json
        assert events[rid] == [(action, resource_type, resource_id, call.key, after)], rid

    # 5. The change feed after the seed: exactly the committed writes, once each.
    storm_changes = await changes_after(client, seeded_changes[-1]["cursor"])
    cursors = [int(c["cursor"]) for c in storm_changes]
    assert cursors == sorted(set(cursors))
    assert Counter(
        (c["action"], c["resource_type"], c["resource_id"], canonical(c["data"]))
        for c in storm_changes
    ) == Counter(call.change() for call in winners.values())

    # 6. A refused request left no trace: its request id is in no row and no change.
    everything = await db.scalar(
        "SELECT concat_ws(' ', (SELECT string_agg(m::text, ' ') FROM members m), "
        "(SELECT string_agg(x::text, ' ') FROM memberships x), "
        "(SELECT string_agg(t::text, ' ') FROM tenures t), "
        "(SELECT string_agg(n::text, ' ') FROM networks n), "
        "(SELECT string_agg(a::text, ' ') FROM audit_events a))"
    )
    feed_text = json.dumps(storm_changes)
    for call in storm.losers():
        assert call.rid not in everything, call.describe()
        assert call.rid not in feed_text, call.describe()

    # 7. The registry served is the one the feed replays to ...
    state = replay(seeded_changes + storm_changes)
    served = await registry(client)
    assert served == {key: data for key, data in state.items() if key[0] in KINDS and data}
    # ... so what a 2xx wrote is there, unless a later committed write changed it.
    last = replay(storm_changes)
    for call in winners.values():
        for key, data in call.written():
            assert key in last, call.describe()
            if last[key] == data:
                path = call.path if call.method != "POST" else resource_path(key, data or {})
                response = await client.get(path)
                assert response.status_code == (404 if data is None else 200), call.describe()
                assert data is None or response.json() == data, call.describe()
    # Contests on resources nothing else writes: the winner's request id is there.
    for name, (kind, resource_id, field_name) in {
        "network citynet": ("network", "citynet", "description"),
        **{
            f"city {city['name']}": ("city", city["id"], "subdivision")
            for city in world.cities[SEEDED:]
        },
    }.items():
        (winner,) = [c for c in storm.contests[name] if c.succeeded]
        assert served[kind, resource_id][field_name] == winner.rid, name
    metro = [c for c in storm_changes if c["resource_id"] == "metro"]
    assert served["network", "metro"] == metro[-1]["data"]


KINDS = ("network", "city", "organization", "membership", "role", "tenure")


async def registry(client: httpx.AsyncClient) -> dict[tuple[str, str], Json]:
    """Every resource the API serves, by (type, id) as the change feed names them."""
    served: dict[tuple[str, str], Json] = {}
    networks = await whole_list(client, "/v1/networks")
    for network in networks:
        slug = network["slug"]
        served["network", slug] = network
        for kind in ("membership", "tenure"):
            for item in await whole_list(client, f"/v1/networks/{slug}/{kind}s"):
                served[kind, item["id"]] = item
        for item in await whole_list(client, f"/v1/networks/{slug}/roles"):
            served["role", f"{slug}/{item['slug']}"] = item
    for kind in ("city", "organization"):
        for item in await whole_list(
            client, f"/v1/{'cities' if kind == 'city' else 'organizations'}"
        ):
            served[kind, item["id"]] = item
    return served


def resource_path(key: tuple[str, str], data: Json) -> str:
    kind, resource_id = key
    if kind == "city":
        return f"/v1/cities/{resource_id}"
    if kind == "network":
        return f"/v1/networks/{resource_id}"
    return f"/v1/networks/{data['network']}/{kind}s/{resource_id}"
