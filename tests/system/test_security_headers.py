"""Security headers: a Content-Security-Policy on every response, a page-specific one on
the docs pages (whose assets the service serves itself), and a bound on the size of the
request's header fields."""

from __future__ import annotations

import base64
import hashlib
import re
from importlib.resources import files
from urllib.parse import urlsplit

import httpx
import pytest

_MEDIA_TYPES = {"js": "text/javascript", "css": "text/css", "png": "image/png"}


def _asset_urls(page: str) -> list[str]:
    """What a docs page loads: its scripts, stylesheets and icon."""
    return re.findall(r'<script src="([^"]+)"', page) + re.findall(
        r'<link\b[^>]*href="([^"]+)"', page
    )


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
    # The service's own scripts, and each inline one by its hash: nothing else.
    inline = re.findall(r"<script>(.*?)</script>", response.text, re.DOTALL)
    hashes = [
        f"'sha256-{base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()}'"
        for script in inline
    ]
    assert scripts == ["'self'", *hashes]
    assert _asset_urls(response.text), "the page loads its bundle"


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
async def test_docs_pages_load_nothing_from_another_origin(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path)

    for directive, sources in _directives(response.headers["content-security-policy"]).items():
        for source in sources:
            assert source.startswith("'") or source in ("data:", "blob:"), (directive, source)
    for url in _asset_urls(response.text):
        assert url.startswith("/"), url
        assert not url.startswith("//"), url
        assert not urlsplit(url).netloc


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
async def test_docs_assets_are_served_by_the_service_to_be_cached_for_a_year(
    client: httpx.AsyncClient, path: str
) -> None:
    page = await client.get(path)

    for url in _asset_urls(page.text):
        response = await client.get(url)
        assert response.status_code == 200, url
        assert response.headers["content-type"].split(";")[0] == _MEDIA_TYPES[url.rsplit(".", 1)[1]]
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        # The URL names the content: a new version of the file is a new URL.
        digest = hashlib.sha256(response.content).hexdigest()[:16]
        assert f".{digest}." in url
        again = await client.get(url, headers={"If-None-Match": response.headers["etag"]})
        assert again.status_code == 304


async def test_docs_assets_are_the_pinned_packages_files(client: httpx.AsyncClient) -> None:
    static = files("fastapi_standalone_docs") / "static"
    swagger = _asset_urls((await client.get("/docs")).text)
    redoc = _asset_urls((await client.get("/redoc")).text)

    served = {url.rsplit("/", 1)[1].split(".", 1)[0]: url for url in [*swagger, *redoc]}
    for name, resource in (
        ("swagger-ui-bundle", "swagger/swagger-ui-bundle.js"),
        ("swagger-ui", "swagger/swagger-ui.css"),
        ("redoc", "redoc/redoc.standalone.js"),
        ("favicon", "fastapi/favicon.png"),
    ):
        assert (await client.get(served[name])).content == (static / resource).read_bytes()


async def test_redoc_finds_its_logo_beside_the_page(client: httpx.AsyncClient) -> None:
    # The packaged bundle asks for location.pathname + "/logo-mini.svg" (not a CDN).
    response = await client.get("/redoc/logo-mini.svg")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    assert _directives(response.headers["content-security-policy"])["default-src"] == ["'none'"]


async def test_an_unknown_docs_asset_is_404(client: httpx.AsyncClient) -> None:
    # Only the files named on the pages, by their digest: no directory to list or climb.
    for path in ("/docs/assets/swagger-ui-bundle.js", "/docs/assets/", "/docs/assets/%2e%2e"):
        assert (await client.get(path)).status_code == 404


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
