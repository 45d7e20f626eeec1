"""A change-feed page is bounded by bytes as well as by count: it stops early at the byte
budget (``changes_page_max_bytes``), and the cursor still resumes exactly."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from netregistry.config import Settings
from tests.conftest import Database, running

SMALL_BUDGET = 64 * 1024  # the least the settings allow


async def _big_changes(app: FastAPI, sizes: list[int]) -> None:
    """One committed change per size, its data a resource of about that many bytes
    (written as the service's audit writes it; the feed's trigger numbers them)."""
    async with app.state.engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO audit_events (action, resource_type, resource_id, network, after) "
                "SELECT 'create', 'city', gen_random_uuid()::text, NULL, "
                "jsonb_build_object('number', number, 'notes', repeat('x', size)) "
                "FROM unnest(CAST(:sizes AS int[])) WITH ORDINALITY AS s(size, number)"
            ),
            {"sizes": sizes},
        )


async def _walk(client: httpx.AsyncClient) -> list[tuple[int, list[dict[str, Any]], bool]]:
    """Every change, page by page from the start: each page's size in bytes, its items,
    and whether it links to a next page."""
    pages: list[tuple[int, list[dict[str, Any]], bool]] = []
    cursor = "0"
    while True:
        response = await client.get("/v1/changes", params={"after": cursor, "limit": 1000})
        assert response.status_code == 200, response.text
        page = response.json()
        if not page["items"]:
            assert page["next_cursor"] == cursor
            return pages
        link = response.headers.get("link")
        if link is not None:
            assert f"after={page['next_cursor']}" in link
        pages.append((len(response.content), page["items"], link is not None))
        cursor = page["next_cursor"]


@pytest.fixture
async def small_budget_app(settings: Settings) -> AsyncIterator[FastAPI]:
    async with running(settings.model_copy(update={"changes_page_max_bytes": SMALL_BUDGET})) as app:
        yield app


async def test_a_walk_with_a_small_budget_gets_every_change_once_in_order(
    small_budget_app: FastAPI,
) -> None:
    app = small_budget_app
    # Small and big entries, and one bigger than the whole budget (a page of its own).
    sizes = [10, 20_000, 30, 5_000, 150_000, 40, *([9_000] * 40), 60_000, 1, 70_000]
    await _big_changes(app, sizes)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:
        pages = await _walk(client)
    items = [item for _, page, _ in pages for item in page]
    positions = await Database(app).scalar(
        "SELECT array_agg(position ORDER BY position) FROM changes"
    )
    assert [int(item["cursor"]) for item in items] == positions
    assert [item["data"]["number"] for item in items] == list(range(1, len(sizes) + 1))
    assert len(pages) > 5
    for size, page, _ in pages:
        # Within the budget, unless one entry alone exceeds it.
        assert size <= SMALL_BUDGET or len(page) == 1, (size, len(page))
    # Every page but the last says that more follow, though none is full.
    assert [linked for _, _, linked in pages] == [True] * (len(pages) - 1) + [False]


async def test_a_page_of_a_thousand_big_entries_stops_at_the_default_budget(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    budget = app.state.settings.changes_page_max_bytes
    assert budget == 4 * 1024 * 1024
    await _big_changes(app, [40_000] * 1000)  # the 40 MB page of issue 9
    response = await client.get("/v1/changes", params={"limit": "1000"})
    assert response.status_code == 200
    page = response.json()
    assert 50 <= len(page["items"]) < 1000
    assert len(response.content) <= budget
    assert 'rel="next"' in response.headers["link"]
    assert f"after={page['next_cursor']}" in response.headers["link"]
    rest = await client.get("/v1/changes", params={"after": page["next_cursor"], "limit": 1000})
    assert int(rest.json()["items"][0]["cursor"]) > int(page["next_cursor"])
    assert rest.json()["items"][0]["data"]["number"] == len(page["items"]) + 1
