"""Declared figures: what a network states about itself, dated and sourced, shown in
stats beside the counted figures (the one in force on ``as_of``), and the seeds' own."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from netregistry.demo import load_demo
from tests.conftest import Database
from tests.networks.builders import create_network

SOURCE = "Seoul Metropolitan Government, International Relations News 4624 (2013)"


async def _declare(
    client: httpx.AsyncClient, headers: dict[str, str], **body: Any
) -> httpx.Response:
    return await client.post("/v1/networks/citynet/declarations", json=body, headers=headers)


async def test_a_declaration_is_stored_listed_and_in_stats_from_its_date_on(
    client: httpx.AsyncClient, admin_headers: dict[str, str], db: Database
) -> None:
    await create_network(
        client, admin_headers, "citynet", membership_categories=["full", "associate"]
    )
    created = await _declare(
        client,
        admin_headers,
        date="2013",
        by_category={"associate": 46, "full": 85},
        source=SOURCE,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["network"] == "citynet"
    assert body["by_category"] == {"full": 85, "associate": 46}
    assert created.headers["location"] == f"/v1/networks/citynet/declarations/{body['id']}"
    later = await _declare(
        client, admin_headers, date="2020-06", total=140, source_url="https://example.org/a"
    )
    assert later.status_code == 201, later.text

    listed = (await client.get("/v1/networks/citynet/declarations")).json()
    assert [item["date"] for item in listed["items"]] == ["2020-06", "2013"]
    one = await client.get(f"/v1/networks/citynet/declarations/{body['id']}")
    assert one.json() == body

    before = (await client.get("/v1/networks/citynet/stats?as_of=2012-12-31")).json()
    assert before["declared"] is None
    in_2013 = (await client.get("/v1/networks/citynet/stats?as_of=2013-01-01")).json()
    declared = in_2013["declared"]
    assert declared["date"] == "2013"
    # The declared figures beside the counted ones (none recorded here), in the
    # network's order of categories.
    assert list(declared["by_category"].items()) == [("full", 85), ("associate", 46)]
    assert declared["source"] == SOURCE
    assert in_2013["members_total"] == 0
    june = (await client.get("/v1/networks/citynet/stats?as_of=2020-06-01")).json()
    assert june["declared"]["total"] == 140
    assert june["declared"]["by_category"] == {}
    # Audited, on the change feed.
    assert (
        await db.scalar("SELECT count(*) FROM audit_events WHERE resource_type = 'declaration'")
        == 2
    )


async def test_bad_declarations_are_refused_and_change_nothing(
    client: httpx.AsyncClient, admin_headers: dict[str, str], db: Database
) -> None:
    await create_network(
        client, admin_headers, "citynet", membership_categories=["full", "associate"]
    )
    await _declare(client, admin_headers, date="2013", total=5, source=SOURCE)
    before = await db.contents()
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"date": "2013", "source": SOURCE}, 422, "at least one figure"),
        ({"date": "2013", "total": 5}, 422, "name the source"),
        ({"date": "2013", "by_category": {"guest": 3}, "source": SOURCE}, 422, "guest"),
        ({"date": "2013", "total": -1, "source": SOURCE}, 422, "total"),
        ({"date": "2013", "total": True, "source": SOURCE}, 422, "total"),
        ({"date": "13", "total": 1, "source": SOURCE}, 422, "date"),
        ({"date": "2013", "total": 9, "source": SOURCE}, 409, "already has a declaration"),
        ({"date": "2014", "total": 9, "source": SOURCE, "extra": 1}, 422, "extra"),
    ]
    for body, status, words in cases:
        response = await _declare(client, admin_headers, **body)
        assert response.status_code == status, (body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert words in response.text, (body, response.text)
    assert (await _declare(client, {}, date="2014", total=1, source=SOURCE)).status_code == 401
    assert (await client.get("/v1/networks/nowhere/declarations")).status_code == 404
    assert await db.contents() == before


async def test_a_declaration_can_be_deleted_and_keeps_its_network_from_deletion(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    await create_network(client, admin_headers, "citynet")
    made = (await _declare(client, admin_headers, date="2013", total=5, source=SOURCE)).json()
    refused = await client.delete("/v1/networks/citynet", headers=admin_headers)
    assert refused.status_code == 409
    assert "declarations" in refused.json()["detail"]
    path = f"/v1/networks/citynet/declarations/{made['id']}"
    stale = await client.delete(path, headers={**admin_headers, "If-Match": '"nope"'})
    assert stale.status_code == 412
    assert (await client.delete(path, headers=admin_headers)).status_code == 204
    assert (await client.get(path)).status_code == 404
    assert (await client.delete("/v1/networks/citynet", headers=admin_headers)).status_code == 204


async def test_the_demo_holds_the_seeds_declarations(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    async with app.state.sessionmaker.begin() as session:
        await load_demo(session)
    citynet = (await client.get("/v1/networks/citynet/stats?as_of=2013-12-01")).json()
    assert citynet["declared"]["by_category"] == {"full": 85, "associate": 46}
    assert citynet["members_total"] == 11  # the rows the article names
    metropolis = (await client.get("/v1/networks/metropolis/stats?as_of=2025-10-01")).json()
    assert metropolis["declared"]["total"] == 163
    assert metropolis["declared"]["countries"] == 65
    assert "Global Economic Times" in metropolis["declared"]["source"]
    assert (await client.get("/v1/networks/metropolis/stats?as_of=2025-08-31")).json()[
        "declared"
    ] is None
