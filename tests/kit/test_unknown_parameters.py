"""Unknown query parameters are refused, never ignored (kit/deps.py): a 422 problem
naming each one and the closest parameter the operation takes, else what it takes; on
every operation, writes included, and never answered by the read cache or a direct read."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from netregistry.config import Settings
from netregistry.kit.direct import DIRECT_READS, DirectReads
from netregistry.kit.readcache import ReadCache
from tests.auth.test_authentication_first import _statements
from tests.conftest import Database, running
from tests.kit.test_readcache import (
    _client,
    registry,  # noqa: F401  (a fixture)
)

OPENAPI = Path(__file__).parents[2] / "openapi" / "openapi.json"
PROBLEM = "application/problem+json"
VALIDATION = "urn:netregistry:problem:validation-failed"
ABSENT = "00000000-0000-4000-8000-000000000000"
MEMBERS = "/v1/networks/citynet/members"
MEMBERS_TAKE = (
    "`category`, `country`, `kind`, `role`, `q`, `format`, `as_of`, `limit`, `cursor` and `lang`"
)


def _refused(response: httpx.Response) -> dict[str, Any]:
    """The problem of a refused query: its body, once its shape is checked."""
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["type"] == VALIDATION
    assert body["status"] == 422
    assert body["request_id"] == response.headers["x-request-id"]
    return body


def _unknown(body: dict[str, Any]) -> list[str]:
    """The query parameters a problem names as unknown, in its order."""
    return [
        error["location"][1]
        for error in body["errors"]
        if error["location"][0] == "query" and error["type"] == "extra_forbidden"
    ]


async def test_a_misspelt_filter_names_the_parameter_meant(
    client: httpx.AsyncClient,
    registry: dict[str, str],  # noqa: F811
) -> None:
    body = _refused(await client.get(f"{MEMBERS}?contry=KR"))
    assert body["detail"] == "`contry` is not a parameter of this request. Did you mean `country`?"
    assert body["errors"] == [
        {
            "location": ["query", "contry"],
            "message": "not a parameter of this request; did you mean `country`?",
            "type": "extra_forbidden",
        }
    ]
    assert body["total_errors"] == 1
    asof = _refused(await client.get(f"{MEMBERS}?asof=2010-01-01"))
    assert asof["detail"] == "`asof` is not a parameter of this request. Did you mean `as_of`?"
    # Capitals are a misspelling too.
    upper = _refused(await client.get("/v1/cities?Country=KR"))
    assert upper["detail"].endswith("Did you mean `country`?")


async def test_a_name_close_to_none_lists_the_parameters_the_request_takes(
    client: httpx.AsyncClient,
    registry: dict[str, str],  # noqa: F811
) -> None:
    body = _refused(await client.get(f"{MEMBERS}?sort=name"))
    assert body["detail"] == (
        f"`sort` is not a parameter of this request, which takes {MEMBERS_TAKE}."
    )
    assert body["errors"][0]["message"] == (
        f"not a parameter of this request, which takes {MEMBERS_TAKE}"
    )
    holders = _refused(await client.get("/v1/networks/citynet/roles/chair/holders?x=1"))
    assert holders["detail"] == (
        "`x` is not a parameter of this request, which takes `as_of`, `limit`, `cursor` and `lang`."
    )


async def test_every_unknown_parameter_is_named_once(
    client: httpx.AsyncClient,
    registry: dict[str, str],  # noqa: F811
) -> None:
    body = _refused(
        await client.get(f"{MEMBERS}?contry=KR&category=full&asof=2010-01-01&sort=name&contry=JP")
    )
    assert _unknown(body) == ["contry", "asof", "sort"]
    assert body["total_errors"] == 3
    assert body["detail"] == (
        "`contry` (did you mean `country`?), `asof` (did you mean `as_of`?) and `sort` "
        f"are not parameters of this request, which takes {MEMBERS_TAKE}."
    )
    both_close = _refused(await client.get(f"{MEMBERS}?contry=KR&asof=2010-01-01"))
    assert both_close["detail"] == (
        "`contry` (did you mean `country`?) and `asof` (did you mean `as_of`?) "
        "are not parameters of this request."
    )
    # A URL of many: each listed (at most 50, all counted), the detail stays one line.
    many = _refused(await client.get(MEMBERS, params={f"p{n}": "1" for n in range(70)}))
    assert _unknown(many) == [f"p{n}" for n in range(50)]
    assert many["total_errors"] == 70
    assert many["detail"].startswith("`p0`, `p1`, ")
    assert "and 60 more are not parameters of this request" in many["detail"]


async def test_an_operation_without_query_parameters_says_it_takes_none(
    client: httpx.AsyncClient,
    registry: dict[str, str],  # noqa: F811
) -> None:
    for url in (
        f"/v1/cities/{registry['seoul']}?fields=name",
        "/v1/networks/citynet/roles/chair?fields=name",
        "/healthz?verbose=1",
        "/readyz?verbose=1",
        "/metrics?name[]=http_requests_total",
    ):
        body = _refused(await client.get(url))
        name = url.split("?")[1].split("=")[0]
        assert body["detail"] == (
            f"`{name}` is not a parameter of this request, which takes no query parameters."
        ), url
    # The interactive documentation is pages, not operations: it takes what browsers send.
    assert (await client.get("/docs?v=1")).status_code == 200
    assert (await client.get("/openapi.json?v=1")).status_code == 200


def _cache(app: FastAPI) -> ReadCache:
    cache: ReadCache = app.state.read_cache
    return cache


async def test_a_cached_read_never_answers_an_unknown_parameter(
    app: FastAPI,
    client: httpx.AsyncClient,
    registry: dict[str, str],  # noqa: F811
) -> None:
    """The 2010 list is cached; the same request misspelt is still refused, every time,
    and a refusal is never kept."""
    cache = _cache(app)
    url = f"{MEMBERS}?as_of=2010-01-01"
    first = await client.get(url)
    assert first.status_code == 200
    hits = cache.hits
    assert (await client.get(url)).content == first.content
    assert cache.hits == hits + 1  # the cache answers this read
    entries = len(cache)
    for refused in (
        f"{MEMBERS}?asof=2010-01-01",
        f"{MEMBERS}?contry=KR",
        f"{url}&contry=KR",
        f"{MEMBERS}?contry=KR&as_of=2010-01-01",
    ):
        for _ in range(2):
            assert _unknown(_refused(await client.get(refused))) in (["asof"], ["contry"])
            head = await client.head(refused)
            assert head.status_code == 422
    assert (cache.hits, len(cache)) == (hits + 1, entries)


@pytest.fixture
async def direct_app(settings: Settings) -> AsyncIterator[FastAPI]:
    """The service answering directly where it can, without the cache in front."""
    async with running(settings.model_copy(update={"read_cache": False})) as direct:
        yield direct


async def test_a_direct_read_declines_an_unknown_parameter_and_the_framework_refuses_it(
    direct_app: FastAPI,
    registry: dict[str, str],  # noqa: F811
) -> None:
    direct: DirectReads = direct_app.state.direct_reads
    urls = {
        "/v1/networks/{slug}/members": f"{MEMBERS}?contry=KR",
        "/v1/networks/{slug}/roles/{role}/holders": (
            "/v1/networks/citynet/roles/chair/holders?asof=2010-01-01"
        ),
        "/v1/networks/{slug}/stats": "/v1/networks/citynet/stats?asof=2010-01-01",
        "/v1/cities": "/v1/cities?contry=KR",
        "/v1/cities/{member_id}": f"/v1/cities/{registry['seoul']}?as_of=2010-01-01",
        "/v1/organizations": "/v1/organizations?netwrk=citynet",
        "/v1/organizations/{member_id}": f"/v1/organizations/{registry['institute']}?lang=ko",
    }
    assert set(urls) == set(DIRECT_READS)
    async with _client(direct_app) as fast:
        for url in urls.values():
            known = url.split("?")[0]
            answered = direct.answered
            assert (await fast.get(known)).status_code == 200
            assert direct.answered == answered + 1, f"{known} is not answered directly"
            declined = direct.declined
            body = _refused(await fast.get(url))
            assert (direct.answered, direct.declined) == (answered + 1, declined + 1), url
            assert _unknown(body) == [url.split("?")[1].split("=")[0]]


async def test_a_write_with_an_unknown_parameter_writes_nothing(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    registry: dict[str, str],  # noqa: F811
) -> None:
    db = Database(app)
    before = await db.contents()
    csv = b"name,country_code,category\r\nLyon,FR,full\r\n"
    dry = await client.post(
        "/v1/networks/citynet/memberships:import?dryrun=true",
        content=csv,
        headers={**admin_headers, "Content-Type": "text/csv"},
    )
    # A dry run misspelt is not a real import.
    body = _refused(dry)
    assert body["detail"] == "`dryrun` is not a parameter of this request. Did you mean `dry_run`?"
    created = await client.post(
        "/v1/cities?dry_run=true",
        json={"name": "Lyon", "country_code": "FR"},
        headers=admin_headers,
    )
    assert _refused(created)["detail"] == (
        "`dry_run` is not a parameter of this request, which takes no query parameters."
    )
    membership = f"/v1/networks/citynet/memberships/{registry['membership']}"
    assert _unknown(
        _refused(await client.delete(f"{membership}?force=true", headers=admin_headers))
    )
    patched = await client.patch(
        f"{membership}?notify=1", json={"note": "x"}, headers=admin_headers
    )
    assert _unknown(_refused(patched)) == ["notify"]
    with _statements(app) as statements:
        handover = await client.post(
            "/v1/networks/citynet/roles/chair/handover?date=2020-01-01",
            json={"member_id": registry["institute"], "date": "2020-01-01"},
            headers={**admin_headers, "Idempotency-Key": "handover-1"},
        )
    assert _unknown(_refused(handover)) == ["date"]
    assert statements == []  # refused before the key is looked up or claimed
    assert await db.contents() == before
    # The same write without the parameter is written: the refusal claimed no key.
    retried = await client.post(
        "/v1/networks/citynet/roles/chair/handover",
        json={"member_id": registry["institute"], "date": "2020-01-01"},
        headers={**admin_headers, "Idempotency-Key": "handover-1"},
    )
    assert retried.status_code == 201, retried.text
    assert "idempotent-replayed" not in retried.headers


def _operations() -> list[tuple[str, str, list[str]]]:
    """Every operation of the contract: method, template, its query parameters."""
    document = json.loads(OPENAPI.read_text())
    return [
        (
            method.upper(),
            template,
            [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"],
        )
        for template, operations in document["paths"].items()
        for method, operation in operations.items()
    ]


PATH_VALUES = {"slug": "citynet", "role": "chair"}


def _in_words(names: list[str]) -> str:
    """``a``, ``b`` and ``c``, as the problem lists what an operation takes."""
    quoted = [f"`{name}`" for name in names]
    return " and ".join(filter(None, [", ".join(quoted[:-1]), *quoted[-1:]]))


async def test_every_operation_of_the_contract_refuses_an_unknown_parameter(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    registry: dict[str, str],  # noqa: F811
) -> None:
    """Each refusal names what the operation takes: the query parameters the contract lists."""
    db = Database(app)
    before = await db.contents()
    operations = _operations()
    assert len(operations) >= 40
    for method, template, listed in operations:
        path = re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES.get(m[1], ABSENT), template)
        response = await client.request(method, f"{path}?zz_unknown=1", headers=admin_headers)
        body = _refused(response)
        assert body["errors"] == [
            {
                "location": ["query", "zz_unknown"],
                "message": "not a parameter of this request, which takes "
                + (_in_words(listed) or "no query parameters"),
                "type": "extra_forbidden",
            }
        ], f"{method} {template}"
    assert await db.contents() == before


def test_the_contract_states_the_rule_where_a_client_reads_it() -> None:
    document = json.loads(OPENAPI.read_text())
    assert "**Unknown query parameters are refused**" in document["info"]["description"]
    for template, operations in document["paths"].items():
        for method, operation in operations.items():
            described = operation["responses"]["422"]["description"]
            assert "query parameter" in described, f"{method} {template}"
