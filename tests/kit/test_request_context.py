"""What every response carries: a request id, security headers, CORS, metrics."""

from __future__ import annotations

import re

import httpx
from prometheus_client.parser import text_string_to_metric_families

REQUESTS_TOTAL = "netregistry_http_requests_total"


async def test_request_id_is_generated_when_absent(client: httpx.AsyncClient) -> None:
    first = await client.get("/healthz")
    second = await client.get("/healthz")
    assert re.fullmatch(r"[0-9a-f]{32}", first.headers["x-request-id"])
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


async def test_request_id_is_echoed_when_sent(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/networks/nowhere", headers={"X-Request-ID": "trace-42.a:b"})
    assert response.headers["x-request-id"] == "trace-42.a:b"
    # The problem names the server's own id: the one the logs and the audit log carry.
    assert re.fullmatch(r"[0-9a-f]{32}", response.json()["request_id"])


async def test_request_id_with_unsafe_characters_is_replaced(client: httpx.AsyncClient) -> None:
    for unsafe in ("<script>alert(1)</script>", "a b", "x" * 101, "id;rm -rf"):
        response = await client.get("/v1/networks/nowhere", headers={"X-Request-ID": unsafe})
        request_id = response.headers["x-request-id"]
        assert request_id != unsafe
        assert re.fullmatch(r"[0-9a-f]{32}", request_id)
        assert response.json()["request_id"] == request_id


async def test_responses_carry_nosniff(client: httpx.AsyncClient) -> None:
    for path in ("/healthz", "/v1/networks", "/v1/no-such-thing"):
        response = await client.get(path)
        assert response.headers["x-content-type-options"] == "nosniff", path


async def test_cors_get_with_origin_is_allowed(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/networks", headers={"Origin": "https://partner.example"})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    exposed = {
        name.strip().lower()
        for name in response.headers["access-control-expose-headers"].split(",")
    }
    assert {"etag", "link", "x-request-id"} <= exposed


async def test_cors_preflight_for_get_is_answered(client: httpx.AsyncClient) -> None:
    response = await client.options(
        "/v1/networks",
        headers={
            "Origin": "https://partner.example",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "If-None-Match",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    assert "GET" in response.headers["access-control-allow-methods"]
    assert "if-none-match" in response.headers["access-control-allow-headers"].lower()


def _requests_total(exposition: str, **labels: str) -> float:
    for family in text_string_to_metric_families(exposition):
        if family.name != REQUESTS_TOTAL.removesuffix("_total"):
            continue
        for sample in family.samples:
            if sample.name == REQUESTS_TOTAL and sample.labels == labels:
                return sample.value
    return 0.0


async def test_metrics_count_requests_by_route_template(client: httpx.AsyncClient) -> None:
    labels = {"method": "GET", "route": "/v1/networks/{slug}", "status": "404"}
    before = _requests_total((await client.get("/metrics")).text, **labels)
    await client.get("/v1/networks/metrics-probe")
    await client.get("/v1/networks/another-probe")
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert _requests_total(response.text, **labels) == before + 2
    assert "metrics-probe" not in response.text


async def test_metrics_label_unknown_paths_as_unmatched(client: httpx.AsyncClient) -> None:
    labels = {"method": "GET", "route": "unmatched", "status": "404"}
    before = _requests_total((await client.get("/metrics")).text, **labels)
    await client.get("/v1/scan-me-8c1f")
    response = await client.get("/metrics")
    assert _requests_total(response.text, **labels) == before + 1
    assert "scan-me-8c1f" not in response.text
