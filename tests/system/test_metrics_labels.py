"""Metric label values come from fixed sets: made-up methods and paths add counts to the
``other`` and ``unmatched`` series, never series of their own."""

from __future__ import annotations

import re

import httpx

from netregistry.kit.metrics import status_label

REQUESTS = 300


async def _metrics(client: httpx.AsyncClient) -> str:
    response = await client.get("/metrics")
    assert response.status_code == 200
    return response.text


def _count(metrics: str, **labels: str) -> float:
    """The request counter of the series with exactly ``labels``."""
    wanted = ",".join(f'{name}="{value}"' for name, value in labels.items())
    match = re.search(
        rf"^netregistry_http_requests_total\{{{re.escape(wanted)}\}} (\S+)$", metrics, re.M
    )
    return float(match.group(1)) if match else 0.0


async def _made_up(client: httpx.AsyncClient, number: int) -> None:
    """A made-up method on a real route, and a known one and a made-up one on made-up paths."""
    method = f"BREW{number}"
    assert (await client.request(method, "/v1/networks")).status_code == 405
    assert (await client.get(f"/made-up/{number}/path")).status_code == 404
    assert (await client.request(method, f"/made-up-{number}")).status_code in (404, 405)


async def test_made_up_methods_and_paths_do_not_grow_the_metrics(
    client: httpx.AsyncClient,
) -> None:
    await _made_up(client, 0)  # the fixed series exist from here on,
    await _metrics(client)  # and those of /metrics itself
    before = await _metrics(client)
    for number in range(1, REQUESTS + 1):
        await _made_up(client, number)
    after = await _metrics(client)

    # Counters and sums gain digits, nothing else: no series per method or path.
    assert len(after) - len(before) < 2000, (len(before), len(after))
    assert len(after.splitlines()) == len(before.splitlines())
    assert "BREW" not in after
    assert "made-up" not in after
    other_on_networks = _count(after, method="other", route="/v1/networks", status="405")
    assert (
        other_on_networks - _count(before, method="other", route="/v1/networks", status="405")
        == REQUESTS
    )
    unmatched = _count(after, method="GET", route="unmatched", status="404") - _count(
        before, method="GET", route="unmatched", status="404"
    )
    assert unmatched == REQUESTS


async def test_head_requests_are_counted_under_their_route_template(
    client: httpx.AsyncClient,
) -> None:
    before = _count(await _metrics(client), method="HEAD", route="/v1/networks", status="200")
    assert (await client.head("/v1/networks")).status_code == 200
    after = _count(await _metrics(client), method="HEAD", route="/v1/networks", status="200")
    assert after == before + 1


def test_status_labels_are_registered_codes_only() -> None:
    assert status_label(200) == "200"
    assert status_label(503) == "503"
    assert status_label(299) == "other"
    assert status_label(999) == "other"
