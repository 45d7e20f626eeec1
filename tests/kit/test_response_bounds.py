"""A validation problem is bounded whatever the request: it lists at most
``MAX_LISTED_ERRORS`` problems and counts them all in ``total_errors``."""

from __future__ import annotations

import json
import time

import httpx

from netregistry.errors import MAX_LISTED_ERRORS
from tests.registry import builders
from tests.registry.test_csv_import import import_csv, spreadsheet

Headers = dict[str, str]
UNKNOWN_KEYS = 90_000


def _body_with_unknown_keys() -> bytes:
    body: dict[str, object] = {"slug": "citynet", "name": "CITYNET"}
    body.update({f"{number:x}": 1 for number in range(UNKNOWN_KEYS)})
    raw = json.dumps(body).encode()
    assert 0.85e6 < len(raw) < 1024 * 1024  # the 0.9 MB body of issue 9, under the limit
    return raw


async def test_ninety_thousand_unknown_keys_are_a_small_422_with_their_count(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    started = time.monotonic()
    response = await client.post(
        "/v1/networks",
        content=_body_with_unknown_keys(),
        headers={**admin_headers, "Content-Type": "application/json"},
    )
    elapsed = time.monotonic() - started
    assert response.status_code == 422, response.text[:500]
    problem = response.json()
    assert problem["type"] == "urn:netregistry:problem:validation-failed"
    assert problem["total_errors"] == UNKNOWN_KEYS
    assert len(problem["errors"]) == MAX_LISTED_ERRORS
    assert all(error["type"] == "extra_forbidden" for error in problem["errors"])
    assert problem["detail"].startswith(f"{UNKNOWN_KEYS} problems, the first {MAX_LISTED_ERRORS}:")
    assert len(response.content) < 16 * 1024  # was 8.8 MB
    assert elapsed < 5, elapsed  # was 2 s of CPU on the handler alone, 4-5 s in all


async def test_a_small_422_lists_every_problem_and_counts_them(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    response = await client.post("/v1/networks", json={"slug": "Not A Slug"}, headers=admin_headers)
    assert response.status_code == 422
    problem = response.json()
    assert problem["total_errors"] == len(problem["errors"]) >= 2


async def test_a_member_list_of_ten_thousand_bad_rows_is_a_bounded_422(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    await builders.network(client, admin_headers)
    rows = [f"City {number},XX,nonsense,13th century," for number in range(10_000)]
    response = await import_csv(client, admin_headers, spreadsheet(*rows))
    assert response.status_code == 422
    problem = response.json()
    assert len(problem["errors"]) == MAX_LISTED_ERRORS
    assert problem["total_errors"] >= 20_000
    assert len(response.content) < 32 * 1024
