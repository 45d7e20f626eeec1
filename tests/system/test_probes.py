"""Liveness and readiness probes."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from netregistry import migrations


async def _set_schema_revision(app: FastAPI, revision: str) -> None:
    async with app.state.engine.begin() as connection:
        await connection.execute(
            text("UPDATE alembic_version SET version_num = :revision"), {"revision": revision}
        )


async def test_healthz_is_200(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_is_200_with_the_schema_revision(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "schema_revision": migrations.head_revision()}


async def test_readyz_is_503_while_the_schema_is_behind(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    head = migrations.head_revision()
    assert head is not None
    await _set_schema_revision(app, "0000")

    behind = await client.get("/readyz")
    assert behind.status_code == 503
    assert behind.headers["content-type"] == "application/problem+json"
    body = behind.json()
    assert body["type"].endswith("service-unavailable")
    assert "0000" in body["detail"]
    assert head in body["detail"]
    # Liveness does not depend on the database.
    assert (await client.get("/healthz")).status_code == 200

    await _set_schema_revision(app, head)
    restored = await client.get("/readyz")
    assert restored.status_code == 200
    assert restored.json()["schema_revision"] == head
