"""The cold read path: pages written by PostgreSQL or serialised straight from rows send
exactly the bytes the declared response models write, in one statement and no
transaction."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel
from sqlalchemy import event, literal_column, select
from sqlalchemy.ext.asyncio import AsyncConnection

from netregistry.config import Settings
from netregistry.db import read_connection
from netregistry.kit.direct import DirectConnection
from netregistry.kit.etag import etag_of_bytes
from netregistry.kit.pagination import Page
from netregistry.members.schemas import CityRead, OrganizationRead
from netregistry.memberships.schemas import MemberListRow
from netregistry.networks.schemas import NetworkStats
from netregistry.tenures.schemas import HolderRow
from tests.conftest import running
from tests.registry import builders

# A name with what a JSON writer may escape differently, as a name may hold it (text
# hygiene refuses control characters in names, kit/types.py): quotes, a backslash, a line
# separator, letters of other scripts.
ODD = 'Qu"ote \\ back/slash \u2028 Ærø 서울 /'


@pytest.fixture
async def registry(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> dict[str, str]:
    await builders.network(client, admin_headers, membership_categories=["full", "associate"])
    await builders.network(client, admin_headers, slug="empty")
    seoul = await builders.city(
        client,
        admin_headers,
        "Seoul",
        alt_names=["서울"],
        population=9_386_034,
        latitude=37.0,
        longitude=126.9783,
        wikidata="Q8684",
        geonames=1835848,
    )
    odd = await builders.city(client, admin_headers, ODD, "JP", latitude=1e-7, longitude=-0.5)
    busan = await builders.city(client, admin_headers, "Busan")
    institute = await builders.organization(
        client, admin_headers, "Urban Institute", website="https://example.org"
    )
    stateless = await builders.organization(client, admin_headers, "Worldwide")
    await builders.membership(client, admin_headers, seoul["id"], start_date="1987")
    await builders.membership(client, admin_headers, odd["id"], start_date="2001-05-03")
    await builders.membership(
        client, admin_headers, busan["id"], category="associate", end_date="2030-02"
    )
    await builders.membership(client, admin_headers, institute["id"], start_date="2001-05")
    await builders.membership(client, admin_headers, stateless["id"], start_date="1999")
    await builders.role(client, admin_headers, "chair")
    await builders.role(client, admin_headers, "executive", max_holders=5)
    await builders.role(client, admin_headers, "unheld")
    await builders.tenure(client, admin_headers, seoul["id"], start_date="2013-11")
    for member in (seoul, odd):
        await builders.tenure(
            client, admin_headers, member["id"], role="executive", start_date="2010"
        )
    return {"seoul": seoul["id"], "odd": odd["id"], "institute": institute["id"]}


def _requests(ids: dict[str, str]) -> list[tuple[str, type[BaseModel]]]:
    net = "/v1/networks/citynet"
    members = Page[MemberListRow]
    holders = Page[HolderRow]
    cities = Page[CityRead]
    organizations = Page[OrganizationRead]
    return [
        (f"{net}/members", members),
        (f"{net}/members?limit=1", members),
        (f"{net}/members?limit=2&as_of=2014-01-01", members),
        (f"{net}/members?as_of=1990-01-01", members),
        (f"{net}/members?as_of=1000-01-01", members),
        (f"{net}/members?category=associate", members),
        (f"{net}/members?kind=organization&country=kr", members),
        (f"{net}/members?role=executive&limit=1", members),
        (f"{net}/members?q=seou", members),
        (f"{net}/members?q=zzzzzz", members),
        ("/v1/networks/empty/members", members),
        (f"{net}/roles/executive/holders", holders),
        (f"{net}/roles/executive/holders?limit=1", holders),
        (f"{net}/roles/chair/holders?as_of=2000-01-01", holders),
        (f"{net}/stats", NetworkStats),
        (f"{net}/stats?as_of=1990-01-01", NetworkStats),
        ("/v1/networks/empty/stats", NetworkStats),
        (f"/v1/cities/{ids['seoul']}", CityRead),
        (f"/v1/cities/{ids['odd']}", CityRead),
        (f"/v1/organizations/{ids['institute']}", OrganizationRead),
        ("/v1/cities", cities),
        ("/v1/cities?limit=1", cities),
        ("/v1/cities?country=JP", cities),
        ("/v1/cities?q=seoul", cities),
        ("/v1/cities?q=seoul&limit=1", cities),
        ("/v1/cities?wikidata=Q8684", cities),
        ("/v1/cities?network=citynet&as_of=2014-01-01&limit=1", cities),
        ("/v1/cities?network=empty", cities),
        ("/v1/organizations", organizations),
        ("/v1/organizations?network=citynet", organizations),
    ]


async def _walk(client: httpx.AsyncClient, path: str) -> list[httpx.Response]:
    """The page at ``path`` and every page after it, by the Link header."""
    responses = [await client.get(path)]
    while "link" in responses[-1].headers:
        link = responses[-1].headers["link"]
        assert link.endswith('>; rel="next"')
        responses.append(await client.get(link[1 : -len('>; rel="next"')]))
        assert len(responses) < 20
    return responses


async def test_cold_reads_send_the_bytes_of_their_response_models(
    client: httpx.AsyncClient, registry: dict[str, str]
) -> None:
    for path, model in _requests(registry):
        for response in await _walk(client, path):
            assert response.status_code == 200, (path, response.text)
            body = response.content
            decoded = model.model_validate(json.loads(body), by_name=True)
            assert decoded.model_dump_json().encode() == body, path
            assert response.headers["etag"] == etag_of_bytes(body)
            assert response.headers["content-type"] == "application/json"
            cursor = json.loads(body).get("next_cursor") if "/stats" not in path else None
            assert ("link" in response.headers) == (cursor is not None), path
            again = await client.get(
                str(response.url), headers={"If-None-Match": etag_of_bytes(body)}
            )
            assert again.status_code == 304


async def test_pages_hold_every_row_once_in_order(
    client: httpx.AsyncClient, registry: dict[str, str]
) -> None:
    whole = (await client.get("/v1/networks/citynet/members?as_of=2014-01-01")).json()["items"]
    paged = [
        item
        for response in await _walk(client, "/v1/networks/citynet/members?as_of=2014-01-01&limit=2")
        for item in response.json()["items"]
    ]
    assert paged == whole
    names = [item["member"]["name"] for item in whole]
    assert names == sorted(names)
    assert ODD in names
    roles = {item["member"]["name"]: [r["role"] for r in item["roles"]] for item in whole}
    assert roles["Seoul"] == ["chair", "executive"]


async def test_a_city_keeps_its_float_and_timestamp_forms(
    client: httpx.AsyncClient, registry: dict[str, str]
) -> None:
    seoul = (await client.get(f"/v1/cities/{registry['seoul']}")).content
    assert b'"latitude":37.0,' in seoul
    assert b'"created_at":"' in seoul
    assert b'Z","updated_at"' in seoul
    odd = (await client.get(f"/v1/cities/{registry['odd']}")).json()
    assert odd["name"] == ODD
    assert odd["latitude"] == 1e-7


async def test_stats_list_every_category_and_role(
    client: httpx.AsyncClient, registry: dict[str, str]
) -> None:
    stats = (await client.get("/v1/networks/citynet/stats?as_of=2014-01-01")).json()
    assert stats["by_category"] == {"full": 4, "associate": 1}
    assert stats["by_kind"] == {"city": 3, "organization": 2}
    assert list(stats["role_holders"]) == ["chair", "executive", "unheld"]
    assert stats["role_holders"]["unheld"] == []
    assert stats["countries"] == 2


@contextmanager
def _statements(app: FastAPI) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    engine = app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


@contextmanager
def _direct_statements(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bool]]:
    """Whether each statement of a direct read ran inside a transaction."""
    seen: list[bool] = []
    execute = DirectConnection.execute

    async def record(self: DirectConnection, statement: Any, parameters: Any) -> Any:
        seen.append(self._connection.is_in_transaction())
        return await execute(self, statement, parameters)

    with monkeypatch.context() as patch:
        patch.setattr(DirectConnection, "execute", record)
        yield seen


async def test_a_cold_read_is_one_statement_outside_a_transaction(
    app: FastAPI,
    client: httpx.AsyncClient,
    settings: Settings,
    registry: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A direct read (kit/direct.py): one statement on its raw connection, nothing through
    # the engine, no transaction.
    for path, _ in _requests(registry):
        with _statements(app) as through_engine, _direct_statements(monkeypatch) as direct:
            assert (await client.get(path)).status_code == 200
        assert direct == [False], (path, direct)
        assert through_engine == [], (path, through_engine)
    # Through the framework: one statement of the session, in autocommit (the driver sends
    # no BEGIN and no COMMIT around it).
    framework = settings.model_copy(update={"direct_reads": False, "read_cache": False})
    async with running(framework) as plain_app:
        transport = httpx.ASGITransport(app=plain_app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as plain:
            for path, _ in _requests(registry):
                with _statements(plain_app) as seen:
                    assert (await plain.get(path)).status_code == 200
                assert len(seen) == 1, (path, seen)
        async with plain_app.state.sessionmaker() as session:
            connection = await read_connection(session)
            assert isinstance(connection, AsyncConnection)
            await connection.execute(select(literal_column("1")))
            raw = await connection.get_raw_connection()
            assert not raw.driver_connection.is_in_transaction()


async def test_unknown_networks_and_roles_are_404_before_a_bad_cursor(
    client: httpx.AsyncClient, registry: dict[str, str]
) -> None:
    for path in (
        "/v1/networks/nope/members",
        "/v1/networks/nope/stats",
        "/v1/networks/nope/roles/chair/holders",
        "/v1/networks/citynet/roles/nope/holders",
        "/v1/cities?network=nope",
        "/v1/networks/nope/members?cursor=forged",
        "/v1/networks/citynet/roles/nope/holders?cursor=forged",
        "/v1/cities?network=nope&cursor=forged",
    ):
        assert (await client.get(path)).status_code == 404, path
    assert (await client.get("/v1/networks/citynet/members?cursor=forged")).status_code == 400


# A fresh process starts the application twice, as a test process does.
_TWO_STARTS = """
import asyncio, gc, sys
from asgi_lifespan import LifespanManager
from netregistry.app import create_app
from netregistry.config import Settings

full_passes = []
collect = gc.collect
gc.collect = lambda *args: full_passes.append(1) or collect(*args)

async def main() -> None:
    counts = [gc.get_freeze_count()]
    for _ in range(2):
        settings = Settings(database_url=sys.argv[1], secret_key="test-secret-key",
                            migrate_on_start=False)
        async with LifespanManager(create_app(settings)):
            counts.append(gc.get_freeze_count())
    print(*counts, len(full_passes))

asyncio.run(main())
"""


async def test_what_start_up_built_is_left_out_of_full_collections_once_a_process(
    database_url: str,
) -> None:
    """Full garbage collections would walk the whole heap in the middle of requests; the
    first start freezes it, and a second start in the process does not walk it again."""
    import asyncio
    import sys

    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _TWO_STARTS,
        database_url,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0, stderr.decode()
    done = stdout.decode()
    before, first, second, full_passes = (int(n) for n in done.split()[-4:])
    assert before == 0
    assert first > 10_000
    assert second > first // 2  # still frozen: not thawed when the first one stopped
    assert full_passes == 1
