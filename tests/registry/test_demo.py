"""The demo loader writes through the services, once: loading it again creates nothing."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from netregistry.demo import load_demo


async def test_the_demo_loads_once_and_again_creates_nothing(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    async with app.state.sessionmaker.begin() as session:
        created = await load_demo(session)
    assert created > 0
    first = (await client.get("/v1/changes", params={"after": "0", "limit": "1000"})).json()
    async with app.state.sessionmaker.begin() as session:
        assert await load_demo(session) == 0
    again = (await client.get("/v1/changes", params={"after": "0", "limit": "1000"})).json()
    assert again["items"] == first["items"]
    # Everything it wrote is audited and on the change feed, one entry per record.
    assert len(first["items"]) == created
    chair = await client.get(
        "/v1/networks/citynet/roles/chair/holders", params={"as_of": "2014-01-01"}
    )
    assert chair.status_code == 200, chair.text
    assert [row["member"]["name"] for row in chair.json()["items"]] == ["Seoul"]
