"""Security headers: a Content-Security-Policy on every response, a page-specific one on
the docs pages, and a bound on the size of the request's header fields."""

from __future__ import annotations

import base64
import hashlib
import re
from urllib.parse import urlsplit

import httpx
import pytest


def _directives(policy: str) -> dict[str, list[str]]:
    return {
        name: values
        for name, *values in (part.split() for part in policy.split(";") if part.strip())
    }


@pytest.mark.parametrize("path", ["/v1/networks", "/v1/nowhere", "/healthz", "/openapi.json"])
async def test_api_responses_may_load_and_frame_nothing(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path)

    policy = _directives(response.headers["content-security-policy"])
    assert policy["default-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
async def test_docs_pages_admit_only_their_own_scripts(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    policy = _directives(response.headers["content-security-policy"])
    assert policy["default-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["connect-src"] == ["'self'"]
    scripts = policy["script-src"]
    assert "'unsafe-inline'" not in scripts
    assert "'unsafe-eval'" not in scripts
    assert "*" not in scripts
    # Every external script comes from the allowed origin, every inline one by its hash.
    external = re.findall(r'<script src="([^"]+)"', response.text)
    assert external, "the page loads its bundle"
    for source in external:
        assert any(source.startswith(origin) for origin in scripts if origin.startswith("https"))
    for inline in re.findall(r"<script>(.*?)</script>", response.text, re.DOTALL):
        digest = base64.b64encode(hashlib.sha256(inline.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in scripts


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
async def test_docs_pages_name_each_asset_by_its_full_url_not_its_host(
    client: httpx.AsyncClient, path: str
) -> None:
    policy = _directives((await client.get(path)).headers["content-security-policy"])

    for directive in ("script-src", "style-src"):
        for source in policy[directive]:
            if source.startswith("https:"):
                assert urlsplit(source).path not in ("", "/"), source
                assert "," not in source
                assert "?" not in source


async def test_swagger_ui_runs_one_inline_script_by_hash(client: httpx.AsyncClient) -> None:
    response = await client.get("/docs")

    hashes = [
        s
        for s in _directives(response.headers["content-security-policy"])["script-src"]
        if s.startswith("'sha256-")
    ]
    assert len(hashes) == 1


async def test_docs_pages_are_not_in_the_contract(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]

    assert "/docs" not in paths
    assert "/redoc" not in paths


async def test_oversized_header_fields_are_431_before_any_work(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    headers = {**admin_headers, "X-Padding": "a" * 20_000}

    response = await client.post(
        "/v1/cities", json={"name": "Seoul", "country_code": "KR"}, headers=headers
    )

    assert response.status_code == 431
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "urn:netregistry:problem:headers-too-large"
    assert "X-Request-ID" in response.headers
    assert (await client.get("/v1/cities")).json()["items"] == []


async def test_a_431_is_readable_cross_origin(client: httpx.AsyncClient) -> None:
    headers = {"Origin": "https://partner.example", "X-Padding": "a" * 20_000}

    response = await client.get("/v1/networks", headers=headers)

    assert response.status_code == 431
    assert response.headers["access-control-allow-origin"] == "*"


async def test_retry_after_is_readable_cross_origin(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/networks", headers={"Origin": "https://partner.example"})

    assert "retry-after" in response.headers["access-control-expose-headers"].lower()


async def test_many_small_headers_count_together(client: httpx.AsyncClient) -> None:
    headers = {f"X-Header-{n}": "v" * 100 for n in range(200)}

    assert (await client.get("/v1/networks", headers=headers)).status_code == 431


async def test_an_oversized_query_string_is_431(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/cities", params={"q": "x" * 20_000})

    assert response.status_code == 431


async def test_ordinary_headers_pass(client: httpx.AsyncClient) -> None:
    headers = {"X-Padding": "a" * 8_000, "User-Agent": "partner-site/1.0"}

    assert (await client.get("/v1/networks", headers=headers)).status_code == 200
