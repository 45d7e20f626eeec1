"""Direct reads (kit/direct.py): the same answers as the framework's, byte for byte,
and whatever they are not sure of left to the framework."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from netregistry.config import Settings
from netregistry.kit.direct import DIRECT_READS, DirectConnection, DirectReads
from netregistry.kit.readcache import CACHEABLE_ROUTES
from tests.conftest import running
from tests.kit.test_readcache import (
    _client,
    _representation,
    registry,  # noqa: F401  (a fixture)
)


def _refusal(response: httpx.Response) -> tuple[int, dict[str, object], dict[str, str]]:
    """A problem answer, but for its request's id (in the body too) and so its length."""
    _, _, headers = _representation(response)
    headers.pop("content-length", None)
    body = response.json()
    body.pop("request_id", None)
    return response.status_code, body, headers


def _direct(app: FastAPI) -> DirectReads:
    direct: DirectReads = app.state.direct_reads
    return direct


@pytest.fixture
async def pair(settings: Settings) -> AsyncIterator[tuple[FastAPI, FastAPI]]:
    """Two services on one database, neither caching: one answering directly, one only
    through the framework."""
    uncached = settings.model_copy(update={"read_cache": False})
    async with (
        running(uncached) as direct,
        running(uncached.model_copy(update={"direct_reads": False})) as framework,
    ):
        assert _direct(framework).handlers == {}
        yield direct, framework


def _reads(ids: dict[str, str]) -> dict[str, list[str]]:
    """Requests of every direct route: defaults, every filter, pages, days, escapes."""
    network = "/v1/networks/citynet"
    return {
        "/v1/networks/{slug}/members": [
            f"{network}/members",
            f"{network}/members?limit=1",
            f"{network}/members?limit=1000",
            f"{network}/members?as_of=1990-01-01",
            f"{network}/members?category=full&kind=city",
            f"{network}/members?kind=organization",
            f"{network}/members?country=kr",
            f"{network}/members?country=KR&as_of=2014-01-01",
            f"{network}/members?role=chair",
            f"{network}/members?role=executive&as_of=2012-06-30",
            f"{network}/members?q=seou",
            f"{network}/members?q=%EC%84%9C%EC%9A%B8",
            f"{network}/members?format=json",
        ],
        "/v1/networks/{slug}/roles/{role}/holders": [
            f"{network}/roles/chair/holders",
            f"{network}/roles/chair/holders?as_of=2012-01-01",
            f"{network}/roles/executive/holders",
            f"{network}/roles/executive/holders?limit=1",
        ],
        "/v1/networks/{slug}/stats": [
            f"{network}/stats",
            f"{network}/stats?as_of=2014-01-01",
        ],
        "/v1/cities": [
            "/v1/cities",
            "/v1/cities?limit=1",
            "/v1/cities?q=seoul",
            "/v1/cities?q=busn",
            "/v1/cities?country=kr",
            "/v1/cities?network=citynet",
            "/v1/cities?network=citynet&as_of=1990-01-01",
            "/v1/cities?wikidata=Q8684",
        ],
        "/v1/cities/{member_id}": [f"/v1/cities/{ids['seoul']}"],
        "/v1/organizations": ["/v1/organizations", "/v1/organizations?q=urban"],
        "/v1/organizations/{member_id}": [f"/v1/organizations/{ids['institute']}"],
    }


# What a direct handler is not sure of: each goes to the framework, which answers it
# (most with a 4xx).
DECLINED = [
    "/v1/networks/citynet/members?limit=0",
    "/v1/networks/citynet/members?limit=1001",
    "/v1/networks/citynet/members?limit=+5",
    "/v1/networks/citynet/members?limit=five",
    "/v1/networks/citynet/members?limit=1&limit=2",
    "/v1/networks/citynet/members?as_of=2014-02-30",
    "/v1/networks/citynet/members?as_of=20140101",
    "/v1/networks/citynet/members?kind=planet",
    "/v1/networks/citynet/members?format=geojson",
    "/v1/networks/citynet/members?format=xml",
    "/v1/networks/citynet/members?country=KOR",
    "/v1/networks/citynet/members?q=",
    "/v1/networks/citynet/members?category=" + "x" * 64,
    "/v1/networks/citynet/members?cursor=forged",
    "/v1/networks/citynet/members?colour=blue",
    "/v1/networks/nope/members",
    "/v1/networks/nope/stats",
    "/v1/networks/nope/roles/chair/holders",
    "/v1/networks/citynet/roles/nope/holders",
    "/v1/networks/" + "n" * 64 + "/stats",
    "/v1/cities?wikidata=8684",
    "/v1/cities?network=nope",
    "/v1/cities/not-a-uuid",
    "/v1/cities/00000000-0000-0000-0000-000000000000",
]


async def test_every_direct_read_answers_what_the_framework_answers(
    pair: tuple[FastAPI, FastAPI],
    registry: dict[str, str],  # noqa: F811
) -> None:
    direct_app, framework_app = pair
    reads = _reads(registry)
    assert set(reads) == set(DIRECT_READS) <= set(CACHEABLE_ROUTES)
    direct = _direct(direct_app)
    async with _client(direct_app) as fast, _client(framework_app) as plain:
        for urls in reads.values():
            for url in urls:
                answered = direct.answered
                answer = await fast.get(url)
                assert direct.answered == answered + 1, f"{url} was not answered directly"
                assert answer.status_code == 200, (url, answer.text)
                assert _representation(answer) == _representation(await plain.get(url)), url
                etag = {"If-None-Match": answer.headers["etag"]}
                not_modified = await fast.get(url, headers=etag)
                assert not_modified.status_code == 304
                assert _representation(not_modified) == _representation(
                    await plain.get(url, headers=etag)
                )
                cors = {"Origin": "https://partner.example.org"}
                assert _representation(await fast.get(url, headers=cors)) == _representation(
                    await plain.get(url, headers=cors)
                )
                # Pages: the next one, by the cursor of the Link header, the same way.
                if "link" in answer.headers:
                    following = answer.headers["link"].split(">")[0].lstrip("<")
                    assert _representation(await fast.get(following)) == _representation(
                        await plain.get(following)
                    )


async def test_a_direct_read_takes_exactly_the_query_parameters_of_its_route(
    pair: tuple[FastAPI, FastAPI],
) -> None:
    """The contract's parameters and the handler's are the same names: a parameter added
    to a route and not to its direct handler would be declined, never ignored."""
    async with _client(pair[1]) as plain:
        paths = json.loads((await plain.get("/openapi.json")).content)["paths"]
    for template, handler in DIRECT_READS.items():
        declared = {
            parameter["name"]
            for parameter in paths[template]["get"].get("parameters", [])
            if parameter["in"] == "query"
        }
        assert handler.query == declared, template


async def test_what_a_direct_read_is_not_sure_of_is_answered_by_the_framework(
    pair: tuple[FastAPI, FastAPI],
    registry: dict[str, str],  # noqa: F811
) -> None:
    direct_app, framework_app = pair
    direct = _direct(direct_app)
    async with _client(direct_app) as fast, _client(framework_app) as plain:
        for url in DECLINED:
            answered, declined = direct.answered, direct.declined
            answer = await fast.get(url)
            assert (direct.answered, direct.declined) == (answered, declined + 1), url
            expected = await plain.get(url)
            if answer.status_code == 200:  # "limit=+5" is " 5", which the framework takes
                assert _representation(answer) == _representation(expected), url
            else:
                assert _refusal(answer) == _refusal(expected), url
        # With a key, or as a HEAD, a read is the framework's too.
        answered = direct.answered
        await fast.get("/v1/networks/citynet/members", headers={"Authorization": "Bearer x"})
        await fast.head("/v1/networks/citynet/members")
        assert direct.answered == answered


async def test_a_lost_connection_is_answered_by_the_framework_and_then_replaced(
    pair: tuple[FastAPI, FastAPI],
    registry: dict[str, str],  # noqa: F811
) -> None:
    direct_app, _ = pair
    direct = _direct(direct_app)
    url = "/v1/networks/citynet/members"
    async with _client(direct_app) as fast:
        first = await fast.get(url)
        assert direct.answered == 1
        pool = direct._pool
        assert pool is not None
        # Every idle connection of the direct pool, killed by the server.
        async with pool.acquire() as connection:
            pids = [connection.get_server_pid()]
        async with direct_app.state.engine.connect() as admin:
            for pid in pids:
                await admin.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)})")
        answered, declined = direct.answered, direct.declined
        again = await fast.get(url)
        assert again.status_code == 200
        assert again.content == first.content
        # The pool either saw the connection gone before using it (and opened another)
        # or failed on it, and the framework answered.
        assert direct.answered + direct.declined == answered + declined + 1
        answered = direct.answered
        assert (await fast.get(url)).content == first.content
        assert direct.answered == answered + 1  # on a new connection, direct again


async def test_a_database_error_is_answered_by_the_framework_on_a_new_connection(
    pair: tuple[FastAPI, FastAPI],
    registry: dict[str, str],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    direct_app, _ = pair
    direct = _direct(direct_app)
    url = "/v1/networks/citynet/stats"
    servers: list[int] = []  # the server process of each direct statement
    execute = DirectConnection.execute

    async def fail_once(self: DirectConnection, statement: Any, parameters: Any) -> Any:
        servers.append(self._connection.get_server_pid())
        if len(servers) == 1:
            raise asyncpg.ConnectionDoesNotExistError("connection was closed in the middle")
        return await execute(self, statement, parameters)

    monkeypatch.setattr(DirectConnection, "execute", fail_once)
    async with _client(direct_app) as fast:
        declined = direct.declined
        answer = await fast.get(url)
        assert answer.status_code == 200
        assert direct.declined == declined + 1  # the framework answered it
        answered = direct.answered
        assert (await fast.get(url)).content == answer.content
        assert direct.answered == answered + 1
        # ... on a new connection: the one that failed was closed, not given back.
        assert len(servers) == 2
        assert servers[1] != servers[0]
