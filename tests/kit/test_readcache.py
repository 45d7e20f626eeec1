"""The read cache: the same bytes as the computed answer, no database on a hit, bounded,
never stale after a write, keyed on the day."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, text

from netregistry.config import Settings
from netregistry.kit import readcache
from netregistry.kit.readcache import CACHEABLE_ROUTES, CachedRoute, Entry, ReadCache
from tests.conftest import running
from tests.registry import builders

# Per-request headers: everything else of a hit must equal the computed answer's.
PER_REQUEST = {"x-request-id"}


def _client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


def _cache(app: FastAPI) -> ReadCache:
    cache: ReadCache = app.state.read_cache
    return cache


def _representation(response: httpx.Response) -> tuple[int, bytes, dict[str, str]]:
    headers = {name: value for name, value in response.headers.items() if name not in PER_REQUEST}
    return response.status_code, response.content, headers


async def settled(app: FastAPI) -> None:
    """Wait until the listener has heard every change committed so far: the app's own
    writes are announced too, and clear the cache once more when they are heard."""
    cache = _cache(app)
    # Notifications arrive in commit order: once this one is heard, so were the others.
    sentinel = f"settled-{uuid.uuid4().hex}"
    async with app.state.engine.begin() as connection:
        await connection.execute(
            text("SELECT pg_notify('netregistry_changes', :sentinel)"), {"sentinel": sentinel}
        )
    for _ in range(2000):
        if cache.generation(sentinel).network:
            return
        await asyncio.sleep(0.005)
    raise AssertionError("the listener did not hear a notification within 10 s")


@pytest.fixture
async def registry(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> dict[str, str]:
    """A network with members, roles, tenures and memberships; the ids to read them by."""
    await builders.network(client, admin_headers, membership_categories=["full", "associate"])
    await builders.network(client, admin_headers, slug="metropolis")
    seoul = await builders.city(client, admin_headers, "Seoul")
    busan = await builders.city(client, admin_headers, "Busan")
    institute = await builders.organization(client, admin_headers, "Urban Institute")
    membership = await builders.membership(client, admin_headers, seoul["id"], start_date="1987")
    await builders.membership(client, admin_headers, busan["id"], category="associate")
    await builders.membership(client, admin_headers, institute["id"], start_date="2001-05")
    await builders.membership(client, admin_headers, seoul["id"], network="metropolis")
    await builders.role(client, admin_headers, "chair", requires_membership=True)
    await builders.role(client, admin_headers, "executive", max_holders=5)
    tenure = await builders.tenure(client, admin_headers, seoul["id"], start_date="2013-11")
    await builders.tenure(client, admin_headers, busan["id"], role="executive", start_date="2010")
    declared = await client.post(
        "/v1/networks/citynet/declarations",
        json={"date": "2013", "by_category": {"full": 85}, "source": "An article (2013)"},
        headers=admin_headers,
    )
    assert declared.status_code == 201, declared.text
    await settled(app)
    return {
        "seoul": seoul["id"],
        "institute": institute["id"],
        "membership": membership["id"],
        "tenure": tenure["id"],
        "declaration": declared.json()["id"],
    }


def _reads(ids: dict[str, str]) -> dict[str, list[str]]:
    """Requests of every cacheable route, by template: defaults, filters, pages, days."""
    network = "/v1/networks/citynet"
    return {
        "/v1/networks": ["/v1/networks", "/v1/networks?limit=1"],
        "/v1/networks/{slug}": [network],
        "/v1/networks/{slug}/stats": [f"{network}/stats", f"{network}/stats?as_of=2014-01-01"],
        "/v1/networks/{slug}/members": [
            f"{network}/members",
            f"{network}/members?limit=1",
            f"{network}/members?as_of=1990-01-01",
            f"{network}/members?category=full&kind=city",
            f"{network}/members?kind=city&category=full",
            f"{network}/members?role=chair",
            f"{network}/members?q=seou",
        ],
        "/v1/networks/{slug}/memberships": [
            f"{network}/memberships",
            f"{network}/memberships?limit=2",
            f"{network}/memberships?member_id={ids['seoul']}",
        ],
        "/v1/networks/{slug}/memberships/{membership_id}": [
            f"{network}/memberships/{ids['membership']}"
        ],
        "/v1/networks/{slug}/roles": [f"{network}/roles"],
        "/v1/networks/{slug}/roles/{role}": [f"{network}/roles/chair"],
        "/v1/networks/{slug}/roles/{role}/holders": [
            f"{network}/roles/chair/holders",
            f"{network}/roles/chair/holders?as_of=2012-01-01",
            f"{network}/roles/executive/holders",
        ],
        "/v1/networks/{slug}/tenures": [f"{network}/tenures", f"{network}/tenures?role=chair"],
        "/v1/networks/{slug}/tenures/{tenure_id}": [f"{network}/tenures/{ids['tenure']}"],
        "/v1/cities": [
            "/v1/cities",
            "/v1/cities?limit=1",
            "/v1/cities?q=seoul",
            "/v1/cities?network=citynet",
            "/v1/cities?network=citynet&as_of=1990-01-01",
        ],
        "/v1/cities/{member_id}": [f"/v1/cities/{ids['seoul']}"],
        "/v1/organizations": ["/v1/organizations"],
        "/v1/organizations/{member_id}": [f"/v1/organizations/{ids['institute']}"],
        "/v1/members/{member_id}/memberships": [f"/v1/members/{ids['seoul']}/memberships"],
        "/v1/networks/{slug}/declarations": [f"{network}/declarations"],
        "/v1/networks/{slug}/declarations/{declaration_id}": [
            f"{network}/declarations/{ids['declaration']}"
        ],
        # The public directory's pages (no operations of the contract).
        "/": ["/", "/?lang=ko"],
        "/networks/{slug}": [
            "/networks/citynet",
            "/networks/citynet?as_of=2014-01-01&lang=ko",
            "/networks/citynet?category=full&country=&kind=city&q=seou",
        ],
        "/networks/{slug}/timeline.svg": ["/networks/citynet/timeline.svg"],
        "/embed/networks/{slug}/members": [
            "/embed/networks/citynet/members",
            "/embed/networks/citynet/members?category=associate&lang=ko",
        ],
    }


async def test_every_cacheable_route_answers_the_bytes_the_uncached_service_computes(
    app: FastAPI, settings: Settings, registry: dict[str, str]
) -> None:
    reads = _reads(registry)
    assert set(reads) == set(CACHEABLE_ROUTES)
    paths = json.loads((await _client(app).get("/openapi.json")).content)["paths"]
    operations = {template for template in CACHEABLE_ROUTES if template.startswith("/v1/")}
    assert {template for template in operations if "get" in paths[template]} == operations
    # The rest are the directory's pages (outside the contract), each read below.
    cache = _cache(app)
    async with (
        running(
            settings.model_copy(update={"read_cache": False, "direct_reads": False})
        ) as plain_app,
        _client(app) as cached,
        _client(plain_app) as plain,
    ):
        assert _cache(plain_app).enabled is False
        for template, urls in reads.items():
            for url in urls:
                first = await cached.get(url)
                assert first.status_code == 200, (url, first.text)
                hits = cache.hits
                hit = await cached.get(url)
                assert cache.hits == hits + 1, f"{url} was not answered from the cache"
                computed = await plain.get(url)
                assert _representation(hit) == _representation(first) == _representation(computed)
                # The hit is logged and counted under the route template.
                head_hit, head_plain = await cached.head(url), await plain.head(url)
                assert head_hit.content == b""
                assert _representation(head_hit) == _representation(head_plain), url
                etag = {"If-None-Match": first.headers["etag"]}
                not_modified = await cached.get(url, headers=etag)
                assert cache.hits == hits + 3, template
                assert not_modified.status_code == 304
                assert _representation(not_modified) == _representation(
                    await plain.get(url, headers=etag)
                )
                cors = {"Origin": "https://partner.example.org"}
                assert _representation(await cached.get(url, headers=cors)) == _representation(
                    await plain.get(url, headers=cors)
                )
    metrics = (await _client(app).get("/metrics")).text
    route = 'route="/v1/networks/{slug}/members",status="200"'
    assert f'netregistry_http_requests_total{{method="GET",{route}}}' in metrics
    assert "netregistry_read_cache_hits_total" in metrics
    assert "netregistry_read_cache_bytes" in metrics


async def test_a_hit_touches_no_database(
    app: FastAPI, client: httpx.AsyncClient, registry: dict[str, str]
) -> None:
    statements: list[str] = []
    checkouts: list[object] = []
    engine = app.state.engine.sync_engine
    url = "/v1/networks/citynet/members"
    first = await client.get(url)

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    def checkout(*args: Any) -> None:
        checkouts.append(args)

    event.listen(engine, "before_cursor_execute", count)
    event.listen(engine.pool, "checkout", checkout)
    direct = app.state.direct_reads
    try:
        answered = direct.answered
        hit = await client.get(url)
        not_modified = await client.get(url, headers={"If-None-Match": hit.headers["etag"]})
        assert (statements, checkouts, direct.answered) == ([], [], answered)
        await client.get(url + "?limit=3")  # a miss, for contrast: a direct read
        assert direct.answered == answered + 1
        await client.get("/v1/networks/citynet/roles")  # a miss through the framework
        assert statements
        assert checkouts
    finally:
        event.remove(engine, "before_cursor_execute", count)
        event.remove(engine.pool, "checkout", checkout)
    assert hit.content == first.content
    assert not_modified.status_code == 304


async def test_a_write_through_the_api_is_read_back_by_the_next_read(
    client: httpx.AsyncClient, admin_headers: dict[str, str], registry: dict[str, str]
) -> None:
    assert await builders.member_names(client) == ["Busan", "Seoul", "Urban Institute"]
    assert await builders.member_names(client) == ["Busan", "Seoul", "Urban Institute"]
    incheon = await builders.city(client, admin_headers, "Incheon")
    await builders.membership(client, admin_headers, incheon["id"])
    assert await builders.member_names(client) == ["Busan", "Incheon", "Seoul", "Urban Institute"]
    # A member's name is in every network's member list: renaming it drops them all.
    assert await builders.member_names(client, network="metropolis") == ["Seoul"]
    current = await client.get(f"/v1/cities/{registry['seoul']}")
    renamed = await client.patch(
        f"/v1/cities/{registry['seoul']}",
        json={"name": "Seoul Special City"},
        headers={**admin_headers, "If-Match": current.headers["etag"]},
    )
    assert renamed.status_code == 200, renamed.text
    assert await builders.member_names(client, network="metropolis") == ["Seoul Special City"]
    assert (await client.get(f"/v1/cities/{registry['seoul']}")).json()["name"] == (
        "Seoul Special City"
    )


async def test_an_answer_without_as_of_is_for_the_current_utc_day(
    app: FastAPI,
    client: httpx.AsyncClient,
    registry: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cache = _cache(app)
    monkeypatch.setattr(readcache, "today", lambda: date(2030, 1, 1))
    await client.get("/v1/networks/citynet/members")
    hits, misses = cache.hits, cache.misses
    await client.get("/v1/networks/citynet/members")
    assert (cache.hits, cache.misses) == (hits + 1, misses)
    monkeypatch.setattr(readcache, "today", lambda: date(2030, 1, 2))  # midnight, UTC
    await client.get("/v1/networks/citynet/members")
    assert (cache.hits, cache.misses) == (hits + 1, misses + 1)
    # With as_of the day is in the query, whatever the date.
    await client.get("/v1/networks/citynet/members?as_of=2014-01-01")
    monkeypatch.setattr(readcache, "today", lambda: date(2030, 1, 3))
    await client.get("/v1/networks/citynet/members?as_of=2014-01-01")
    assert (cache.hits, cache.misses) == (hits + 2, misses + 2)


def _entry(size: int, network: str | None = None) -> Entry:
    body = b"x" * (size - readcache._ENTRY_OVERHEAD)
    return Entry((), body, '"e"', network, CachedRoute("/v1/networks"), size)


def _key(name: str) -> readcache.Key:
    return ("http", "test", "", name, (), "2030-01-01")


def test_least_recently_used_answers_go_first_and_large_ones_are_not_kept() -> None:
    cache = ReadCache(8000)
    cache.resume()
    for name in "abcd":
        assert cache.store(_key(name), _entry(1000), cache.generation(None))
    assert cache.get(_key("a")) is not None  # a is now the most recently used
    for name in "efghi":
        assert cache.store(_key(name), _entry(1000), cache.generation(None))
    assert cache.size <= 8000
    assert cache.evictions == 1
    assert cache.get(_key("b")) is None
    assert cache.get(_key("a")) is not None
    assert not cache.store(_key("big"), _entry(1001), cache.generation(None))  # over 1/8
    assert cache.get(_key("big")) is None


def test_an_answer_computed_before_an_invalidation_is_not_stored() -> None:
    cache = ReadCache(1 << 20)
    cache.resume()
    citynet, anywhere = cache.generation("citynet"), cache.generation(None)
    other = cache.generation("metropolis")
    cache.invalidate("citynet")
    assert not cache.store(_key("a"), _entry(300, "citynet"), citynet)
    assert not cache.store(_key("b"), _entry(300), anywhere)
    assert cache.store(_key("c"), _entry(300, "metropolis"), other)
    cache.invalidate("citynet")  # keeps another network's answers
    assert cache.get(_key("c")) is not None
    seen = cache.generation("metropolis")
    cache.invalidate(None)
    assert cache.get(_key("c")) is None
    assert not cache.store(_key("c"), _entry(300, "metropolis"), seen)
    cache.suspend()  # the listener is away: nothing is kept
    assert not cache.store(_key("c"), _entry(300, "metropolis"), cache.generation("metropolis"))


async def test_requests_with_authorization_and_uncacheable_routes_bypass_the_cache(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    registry: dict[str, str],
) -> None:
    cache = _cache(app)
    before = (cache.hits, cache.misses, len(cache))
    for _ in range(2):
        keyed = await client.get("/v1/networks/citynet/members", headers=admin_headers)
        assert keyed.headers["cache-control"] == "private, no-store"
        for url in ("/v1/changes", "/v1/export", "/v1/networks/citynet/export", "/healthz"):
            assert (await client.get(url)).status_code == 200, url
        assert (await client.get("/v1/audit", headers=admin_headers)).status_code == 200
        assert (await client.get("/v1/networks/nowhere/members")).status_code == 404
    # Only the 404s were looked up (and not kept).
    assert (cache.hits, len(cache)) == (before[0], before[2])
    assert cache.misses == before[1] + 2


@pytest.fixture
async def small_cache_app(settings: Settings) -> AsyncIterator[FastAPI]:
    async with running(settings.model_copy(update={"read_cache_bytes": 64 * 1024})) as app:
        yield app


async def test_the_budget_in_bytes_bounds_the_cache_of_a_running_service(
    small_cache_app: FastAPI, admin_headers: dict[str, str]
) -> None:
    cache = _cache(small_cache_app)
    async with _client(small_cache_app) as client:
        headers = {"Authorization": admin_headers["Authorization"]}
        await builders.network(client, headers)
        for limit in range(1, 400):
            assert (await client.get(f"/v1/networks?limit={limit}")).status_code == 200
        assert cache.size <= 64 * 1024
        assert cache.evictions > 0
        metrics = (await client.get("/metrics")).text
    assert "netregistry_read_cache_evictions_total" in metrics
