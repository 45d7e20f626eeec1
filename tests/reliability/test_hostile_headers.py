"""Headers a client chooses are never reflected as the service's own word (issue 12, item 5).

The bad-input catalogue's rows for spoofed headers: a ``Host`` (or ``X-Forwarded-*``) of
the client's choosing reaches no ``Link`` and no ``Location``, and no cached answer; a
trailing slash is a 404 problem naming the path without it, not a bodiless 307; the
client's ``X-Request-ID`` is kept beside the server's own id in the audit log, never in
its place. Through the HTTP API in-process, and on a real ``netregistry serve`` process,
where the headers come off the wire as a proxy or an attacker sends them.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from netregistry.config import Settings
from tests.conftest import running
from tests.operations.test_invalidation import Instance
from tests.operations.test_invalidation import env as shared_env
from tests.registry import builders

env = shared_env

EVIL = "evil.example"
SPOOFED = {"Host": EVIL, "X-Forwarded-Host": EVIL, "X-Forwarded-Proto": "https"}
SERVER_ID = re.compile(r"[0-9a-f]{32}")

# Trailing-slash paths of every kind of route: lists, items, nested lists, the feed.
TRAILING_SLASHES = [
    ("/v1/networks/", "/v1/networks"),
    ("/v1/networks/citynet/", "/v1/networks/citynet"),
    ("/v1/networks/citynet/members/", "/v1/networks/citynet/members"),
    ("/v1/cities/", "/v1/cities"),
    ("/v1/changes/", "/v1/changes"),
    ("/v1/audit/", "/v1/audit"),
]


async def _three_cities(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    for name in ("Busan", "Incheon", "Seoul"):
        await builders.city(client, admin_headers, name)


def _assert_not_found_naming(response: httpx.Response, bare: str) -> None:
    assert response.status_code == 404, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert "location" not in response.headers
    body = response.json()
    assert body["type"] == "urn:netregistry:problem:not-found"
    assert f"use {bare}." in body["detail"]
    assert EVIL not in response.text


@pytest.mark.parametrize(("path", "bare"), TRAILING_SLASHES)
async def test_a_trailing_slash_is_a_404_problem_naming_the_path_without_it(
    client: httpx.AsyncClient, path: str, bare: str
) -> None:
    response = await client.get(path, headers=SPOOFED, follow_redirects=False)

    _assert_not_found_naming(response, bare)


async def test_a_write_to_a_trailing_slash_path_writes_nothing_and_says_where(
    client: httpx.AsyncClient, admin_headers: dict[str, str], db: Any
) -> None:
    response = await client.post(
        "/v1/cities/",
        json={"name": "Busan", "country_code": "KR"},
        headers={**admin_headers, **SPOOFED},
        follow_redirects=False,
    )

    _assert_not_found_naming(response, "/v1/cities")
    assert await db.count("members") == 0


async def test_a_path_that_does_not_exist_without_its_slash_is_a_plain_404(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/v1/nowhere/")

    assert response.status_code == 404
    assert response.json()["detail"] == "Nothing at /v1/nowhere/."


async def test_the_next_link_is_relative_whatever_the_host_and_the_cache_holds_one_answer(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    await _three_cities(client, admin_headers)

    spoofed = await client.get("/v1/cities", params={"limit": 2}, headers=SPOOFED)
    honest = await client.get("/v1/cities", params={"limit": 2}, headers={"Host": "test"})
    other = await client.get("/v1/cities", params={"limit": 2}, headers={"Host": "other.example"})

    cursor = spoofed.json()["next_cursor"]
    expected = f'</v1/cities?limit=2&cursor={cursor}>; rel="next"'
    assert [r.headers["link"] for r in (spoofed, honest, other)] == [expected] * 3
    assert spoofed.content == honest.content == other.content
    assert EVIL not in spoofed.text


async def test_the_cache_holds_one_answer_for_every_host(
    client: httpx.AsyncClient, admin_headers: dict[str, str], app: Any
) -> None:
    await _three_cities(client, admin_headers)
    cache = app.state.read_cache
    cache.clear()

    for host in (EVIL, "a.example", "b.example", "test"):
        answer = await client.get("/v1/cities", params={"limit": 2}, headers={"Host": host})
        assert host not in answer.headers["link"]

    assert len(cache) == 1


async def test_the_change_feed_link_is_relative_whatever_the_host(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    await _three_cities(client, admin_headers)

    page = await client.get("/v1/changes", params={"limit": 2}, headers=SPOOFED)

    cursor = page.json()["next_cursor"]
    assert page.headers["link"] == f'</v1/changes?limit=2&after={cursor}>; rel="next"'


async def test_with_a_public_url_links_are_absolute_on_it_not_on_the_host(
    settings: Settings, admin_headers: dict[str, str]
) -> None:
    public = settings.model_copy(update={"public_url": "https://registry.example.org"})
    async with (
        running(public) as app,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
    ):
        headers = {"Authorization": f"Bearer {await _admin_key(app)}"}
        await _three_cities(client, headers)
        page = await client.get("/v1/cities", params={"limit": 2}, headers=SPOOFED)

    cursor = page.json()["next_cursor"]
    assert page.headers["link"] == (
        f'<https://registry.example.org/v1/cities?limit=2&cursor={cursor}>; rel="next"'
    )


async def _admin_key(app: Any) -> str:
    from tests.conftest import Keys

    return await Keys(app).create("public-url", admin=True)


@pytest.mark.parametrize(
    "value",
    ["registry.example.org", "ftp://registry.example.org", "https://r.example.org/?x=1", ""],
)
def test_a_public_url_that_is_not_a_bare_http_url_is_refused_or_unset(value: str) -> None:
    if value == "":
        assert Settings(public_url="").public_url is None
        return
    with pytest.raises(ValueError, match="public_url"):
        Settings(public_url=value)


async def test_the_audit_log_keeps_the_servers_request_id_and_the_clients_beside_it(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    chosen = {**admin_headers, "X-Request-ID": "someone-elses-request"}
    first = await client.post(
        "/v1/cities", json={"name": "Busan", "country_code": "KR"}, headers=chosen
    )
    second = await client.post(
        "/v1/cities", json={"name": "Seoul", "country_code": "KR"}, headers=chosen
    )
    assert first.headers["x-request-id"] == "someone-elses-request"  # echoed, as before

    log = await client.get("/v1/audit", headers=admin_headers)
    entries = log.json()["items"]

    assert [e["client_request_id"] for e in entries] == ["someone-elses-request"] * 2
    ids = [e["request_id"] for e in entries]
    assert all(SERVER_ID.fullmatch(found) for found in ids), ids
    assert len(set(ids)) == 2  # one client id, two requests: two server ids
    assert second.status_code == 201


async def test_an_unsafe_client_request_id_is_kept_nowhere(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    await client.post(
        "/v1/cities",
        json={"name": "Busan", "country_code": "KR"},
        headers={**admin_headers, "X-Request-ID": "x" * 101},
    )

    (entry,) = (await client.get("/v1/audit", headers=admin_headers)).json()["items"]
    assert entry["client_request_id"] is None
    assert SERVER_ID.fullmatch(entry["request_id"])


async def test_a_problem_names_the_servers_request_id_not_the_clients(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/v1/networks/nowhere", headers={"X-Request-ID": "mine-1"})

    assert response.headers["x-request-id"] == "mine-1"
    assert SERVER_ID.fullmatch(response.json()["request_id"])


# On a real server: the headers as uvicorn reads them off the wire (its proxy-header
# handling trusts 127.0.0.1, so X-Forwarded-Proto does change the scheme there).


@pytest.fixture
def admin(env: dict[str, str]) -> dict[str, str]:
    created = subprocess.run(
        [sys.executable, "-m", "netregistry", "keys", "create", "--name", "ops", "--admin"],
        env=env,
        capture_output=True,
        check=True,
    )
    return {"Authorization": f"Bearer {created.stdout.decode().strip()}"}


@pytest.fixture
async def served(env: dict[str, str], tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    instance = Instance(env, tmp_path / "serve.log")
    try:
        await instance.wait_ready()
        async with httpx.AsyncClient(base_url=instance.url, trust_env=False, timeout=10) as client:
            yield client
    finally:
        instance.stop()


async def test_a_real_server_reflects_no_spoofed_host_in_links_redirects_or_its_cache(
    served: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await _three_cities(served, admin)

    slash = await served.get("/v1/cities/", headers=SPOOFED, follow_redirects=False)
    pages = [
        await served.get("/v1/cities", params={"limit": 2}, headers=headers)
        for headers in (SPOOFED, {}, SPOOFED, {"Host": "other.example"})
    ]
    members = await served.get("/v1/networks/", headers=SPOOFED, follow_redirects=False)

    _assert_not_found_naming(slash, "/v1/cities")
    _assert_not_found_naming(members, "/v1/networks")
    cursor = pages[0].json()["next_cursor"]
    assert {page.headers["link"] for page in pages} == {
        f'</v1/cities?limit=2&cursor={cursor}>; rel="next"'
    }
    assert all(EVIL not in str(page.headers) for page in pages)
    hits = re.search(
        r"^netregistry_read_cache_hits_total (\S+)$", (await served.get("/metrics")).text, re.M
    )
    assert hits is not None
    assert float(hits.group(1)) >= 3  # one answer served to every Host


async def test_a_real_server_audits_its_own_request_id_beside_the_clients(
    served: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    written = await served.post(
        "/v1/cities",
        json={"name": "Busan", "country_code": "KR"},
        headers={**admin, "X-Request-ID": "forged-audit-id"},
    )
    assert written.status_code == 201, written.text

    (entry,) = (await served.get("/v1/audit", headers=admin)).json()["items"]
    assert entry["client_request_id"] == "forged-audit-id"
    assert SERVER_ID.fullmatch(entry["request_id"])
