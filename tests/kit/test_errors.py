"""Every failure is an RFC 9457 problem document with a request id and nothing internal."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import structlog.testing

from netregistry.networks.service import NetworkService
from tests.conftest import Database
from tests.networks.builders import create_network, network_payload

PROBLEM = "application/problem+json"


def problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The problem document of ``response``, checked for the members every problem has."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["type"] == f"urn:netregistry:problem:{code}"
    assert body["status"] == status
    assert isinstance(body["title"], str)
    assert body["title"]
    assert isinstance(body["detail"], str)
    assert body["detail"]
    assert body["request_id"] == response.headers["x-request-id"]
    return body


async def test_unknown_path_is_404_problem(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/no-such-thing")
    body = problem(response, 404, "not-found")
    assert body["title"] == "Not found"
    assert body["instance"] == "/v1/no-such-thing"


def _allowed(response: httpx.Response) -> set[str]:
    return {method.strip() for method in response.headers["allow"].split(",")}


async def test_wrong_method_is_405_problem_with_allow_header(client: httpx.AsyncClient) -> None:
    response = await client.put("/v1/networks", json={})
    body = problem(response, 405, "method-not-allowed")
    assert "PUT" in body["detail"]
    assert _allowed(response) == {"GET", "POST"}


async def test_405_allow_header_names_every_method_of_the_resource(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/v1/networks/citynet", json={})
    problem(response, 405, "method-not-allowed")
    assert _allowed(response) == {"GET", "PATCH", "DELETE"}


async def test_malformed_json_is_422_with_an_errors_list(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    response = await client.post(
        "/v1/networks",
        content=b'{"slug": "citynet", "name": ',
        headers={**admin_headers, "Content-Type": "application/json"},
    )
    body = problem(response, 422, "validation-failed")
    assert body["detail"] == "The request body is not valid JSON."
    assert [error["type"] for error in body["errors"]] == ["json_invalid"]


async def test_invalid_field_is_422_naming_the_field(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    response = await client.post(
        "/v1/networks", json=network_payload("Not A Slug"), headers=admin_headers
    )
    body = problem(response, 422, "validation-failed")
    assert [error["location"] for error in body["errors"]] == [["body", "slug"]]
    assert "body.slug" in body["detail"]


async def test_missing_required_field_is_422_naming_the_field(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    response = await client.post("/v1/networks", json={"slug": "citynet"}, headers=admin_headers)
    body = problem(response, 422, "validation-failed")
    assert {"location": ["body", "name"], "type": "missing"}.items() <= body["errors"][0].items()


async def test_unknown_field_is_422(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    response = await client.post(
        "/v1/networks", json=network_payload("citynet", colour="blue"), headers=admin_headers
    )
    body = problem(response, 422, "validation-failed")
    assert [(error["location"], error["type"]) for error in body["errors"]] == [
        (["body", "colour"], "extra_forbidden")
    ]


def _oversized_network() -> bytes:
    payload = network_payload("citynet", description="x" * (2 * 1024 * 1024))
    return json.dumps(payload).encode()


async def test_body_over_the_limit_is_413_and_writes_nothing(
    client: httpx.AsyncClient, admin_headers: dict[str, str], db: Database
) -> None:
    body = _oversized_network()
    response = await client.post(
        "/v1/networks",
        content=body,
        headers={**admin_headers, "Content-Type": "application/json"},
    )
    problem(response, 413, "payload-too-large")
    assert response.request.headers["content-length"] == str(len(body))
    assert await db.count("networks") == 0
    assert await db.count("audit_events") == 0


async def test_streamed_body_over_the_limit_is_413_without_content_length(
    client: httpx.AsyncClient, admin_headers: dict[str, str], db: Database
) -> None:
    body = _oversized_network()

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 64 * 1024):
            yield body[start : start + 64 * 1024]

    response = await client.post(
        "/v1/networks",
        content=chunks(),
        headers={**admin_headers, "Content-Type": "application/json"},
    )
    problem(response, 413, "payload-too-large")
    assert "content-length" not in response.request.headers
    assert await db.count("networks") == 0


async def test_unexpected_exception_is_500_with_only_a_request_id(
    client: httpx.AsyncClient, admin_headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    await create_network(client, admin_headers, "citynet")

    async def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret internals at 0xdeadbeef")

    monkeypatch.setattr(NetworkService, "get", explode)
    with structlog.testing.capture_logs() as logs:
        response = await client.get("/v1/networks/citynet")
    body = problem(response, 500, "internal-error")
    assert "request id" in body["detail"]
    for leak in ("Traceback", "RuntimeError", "secret internals", "0xdeadbeef", ".py"):
        assert leak not in response.text
        assert all(leak not in value for value in response.headers.values())
    # The traceback goes to the log, not to the client.
    assert [event["event"] for event in logs if event.get("exc_info")] == ["unhandled exception"]


async def test_forged_cursor_is_400(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/networks", params={"cursor": "bm90LWEtY3Vyc29y"})
    problem(response, 400, "invalid-cursor")


async def test_cursor_that_is_not_base64url_is_refused_as_the_contract_says(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/v1/networks", params={"cursor": "%%%ünïcødé"})
    body = problem(response, 422, "validation-failed")
    assert body["errors"][0]["location"] == ["query", "cursor"]
    assert body["errors"][0]["message"].startswith("is not a cursor of this list")


@pytest.mark.parametrize(
    "url",
    [
        "/v1/networks/city%00net",
        "/v1/networks?cursor=%00",
        "/v1/audit?resource_id=city%00net",
        "/v1/audit?network=%00",
    ],
)
async def test_nul_character_in_the_url_is_a_4xx_problem_not_a_500(
    client: httpx.AsyncClient, admin_headers: dict[str, str], url: str
) -> None:
    with structlog.testing.capture_logs():
        response = await client.get(url, headers=admin_headers)
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["request_id"] == response.headers["x-request-id"]
