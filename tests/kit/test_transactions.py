"""Nothing half-written: a request's writes commit together before the answer, or not at all."""

from __future__ import annotations

import httpx
import pytest
import structlog.testing
from fastapi import FastAPI
from sqlalchemy import text

from netregistry.audit.service import AuditTrail
from tests.conftest import Database
from tests.networks.builders import network_payload

REFUSE_AT_COMMIT = [
    """
    CREATE FUNCTION refuse_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'refused at commit';
    END
    $$
    """,
    """
    CREATE CONSTRAINT TRIGGER refuse_at_commit
        AFTER INSERT ON networks
        DEFERRABLE INITIALLY DEFERRED
        FOR EACH ROW EXECUTE FUNCTION refuse_at_commit()
    """,
]


async def test_a_failing_commit_is_a_500_and_the_write_is_absent(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str], db: Database
) -> None:
    async with app.state.engine.begin() as connection:
        for statement in REFUSE_AT_COMMIT:
            await connection.execute(text(statement))

    response = await client.post(
        "/v1/networks", json=network_payload("citynet"), headers=admin_headers
    )
    assert response.status_code == 500, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert "location" not in response.headers
    body = response.json()
    assert body["status"] == 500
    assert body["request_id"] == response.headers["x-request-id"]
    assert "refused at commit" not in response.text
    assert await db.count("networks") == 0
    assert await db.count("audit_events") == 0
    assert (await client.get("/v1/networks/citynet")).status_code == 404


async def test_a_failing_commit_stores_no_idempotent_response(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str], db: Database
) -> None:
    async with app.state.engine.begin() as connection:
        for statement in REFUSE_AT_COMMIT:
            await connection.execute(text(statement))
    headers = {**admin_headers, "Idempotency-Key": "commit-fails"}
    failed = await client.post("/v1/networks", json=network_payload("citynet"), headers=headers)
    assert failed.status_code == 500
    assert await db.count("idempotency_keys") == 0

    async with app.state.engine.begin() as connection:
        await connection.execute(text("DROP TRIGGER refuse_at_commit ON networks"))
    retry = await client.post("/v1/networks", json=network_payload("citynet"), headers=headers)
    assert retry.status_code == 201
    assert "idempotent-replayed" not in retry.headers


async def test_an_exception_after_the_flush_rolls_back_the_write(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    db: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    flushed: list[int] = []

    async def fail_to_audit(self: AuditTrail, *args: object, **kwargs: object) -> None:
        session = self.repository.session
        flushed.append(await session.scalar(text("SELECT count(*) FROM networks")))
        raise RuntimeError("audit store exploded")

    # The network row is flushed before the audit record is written.
    monkeypatch.setattr(AuditTrail, "record", fail_to_audit)
    with structlog.testing.capture_logs():
        response = await client.post(
            "/v1/networks", json=network_payload("citynet"), headers=admin_headers
        )
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert flushed == [1], "the write was in the transaction when it failed"
    assert await db.count("networks") == 0
    assert await db.count("audit_events") == 0
