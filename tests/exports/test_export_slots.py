"""Export slots come back however a stream ends: complete, the client gone after any
number of bytes, HEAD, an error while streaming, a body never iterated. Each way is
taken ten times with two slots, then both slots must still be free.

Disconnects are only real on a real server: those run against a ``netregistry serve``
process (as the fault tests start one); the error cases run in process.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.engine import make_url

from netregistry.exports import lifecycle as export_lifecycle
from tests.reliability.test_faults import Service

SLOTS = 2
TIMES = 10
MEMBERS = 20_000  # an NDJSON export of several MB: far more than a socket buffers


@dataclass
class ExportingService(Service):
    """A served registry with two export slots."""

    @property
    def env(self) -> dict[str, str]:
        return {**super().env, "NETREGISTRY_MAX_CONCURRENT_EXPORTS": str(SLOTS)}


def _dsn(database_url: str) -> str:
    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


@pytest.fixture
async def service(database_url: str, tmp_path: Path) -> AsyncIterator[ExportingService]:
    connection = await asyncpg.connect(_dsn(database_url))
    try:
        await connection.execute(
            "INSERT INTO members (id, kind, name, country_code) "
            "SELECT gen_random_uuid(), 'city', 'Bulk City ' || lpad(i::text, 6, '0'), 'KR' "
            "FROM generate_series(1, $1::int) AS i",
            MEMBERS,
        )
    finally:
        await connection.close()
    running = ExportingService(database_url, tmp_path)
    await running.start()
    try:
        yield running
    finally:
        running.kill()


async def _export_until_admitted(client: httpx.AsyncClient, method: str = "GET") -> int:
    """The status of an export, retried while it is 503: the server may not yet have
    noticed the previous client go. A slot that leaked stays 503 and fails the test."""
    deadline = time.monotonic() + 10
    while True:
        response = await client.request(method, "/v1/export", params={"format": "ndjson"})
        if response.status_code != 503 or time.monotonic() > deadline:
            return response.status_code
        await asyncio.sleep(0.05)


def _read_then_leave(port: int, keep: int, *, reset: bool) -> int:
    """Ask for an export on a raw socket, read its head and ``keep`` bytes of the body,
    and go: a plain close, or a reset (SO_LINGER 0)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(b"GET /v1/export?format=ndjson HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        received = b""
        while b"\r\n\r\n" not in received or len(received.partition(b"\r\n\r\n")[2]) < keep:
            chunk = connection.recv(65536)
            if not chunk:
                break
            received += chunk
        if reset:
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00" * 2)
        assert received.startswith(b"HTTP/1.1 "), received[:100]
        return int(received[9:12])


async def _leave_mid_stream(port: int, keep: int, *, reset: bool) -> int:
    deadline = time.monotonic() + 10
    while True:
        status = await asyncio.to_thread(_read_then_leave, port, keep, reset=reset)
        if status != 503 or time.monotonic() > deadline:
            return status
        await asyncio.sleep(0.05)


async def _every_slot_is_free(service: Service) -> None:
    """``SLOTS`` exports streaming at once, each read to the end."""
    async with httpx.AsyncClient(base_url=service.url, timeout=30) as client:
        deadline = time.monotonic() + 10
        while True:
            async with (
                client.stream("GET", "/v1/export", params={"format": "ndjson"}) as first,
                client.stream("GET", "/v1/export", params={"format": "ndjson"}) as second,
            ):
                statuses = (first.status_code, second.status_code)
                if statuses == (200, 200):
                    sizes = [
                        sum([len(chunk) async for chunk in first.aiter_raw()]),
                        sum([len(chunk) async for chunk in second.aiter_raw()]),
                    ]
                    assert sizes[0] == sizes[1] > MEMBERS * 100
                    return
            assert time.monotonic() < deadline, f"a slot stayed taken: {statuses}"
            await asyncio.sleep(0.1)


async def _no_connection_left_in_a_transaction(database_url: str) -> None:
    connection = await asyncpg.connect(_dsn(database_url))
    try:
        deadline = time.monotonic() + 10
        while True:
            open_transactions = await connection.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND application_name = 'netregistry' AND state LIKE 'idle in transaction%'"
            )
            if open_transactions == 0 or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.1)
        assert open_transactions == 0
    finally:
        await connection.close()


async def test_slots_come_back_after_complete_exports_head_and_clients_that_leave(
    service: ExportingService, database_url: str
) -> None:
    async with httpx.AsyncClient(base_url=service.url, timeout=30) as client:
        for _ in range(TIMES):
            assert await _export_until_admitted(client) == 200
        for _ in range(TIMES):
            assert await _export_until_admitted(client, "HEAD") == 200
    # After the head only, after a few bytes, after a chunk or two, deep into the body.
    for time_ in range(TIMES):
        keep = (0, 1, 300, 70_000, 1_000_000)[time_ % 5]
        assert await _leave_mid_stream(service.port, keep, reset=time_ % 2 == 1) == 200
    await _every_slot_is_free(service)
    await _no_connection_left_in_a_transaction(database_url)


class _Failing:
    """An export stream that breaks after its first chunk."""

    def __init__(self, real: Any) -> None:
        self.real = real

    async def __call__(self, snapshot: Any, export: Any, **kwargs: Any) -> AsyncIterator[bytes]:
        async for chunk in self.real(snapshot, export, **kwargs):
            yield chunk
            raise RuntimeError("the stream broke")


async def _call(app: FastAPI, method: str, *, never_read: bool = False) -> list[dict[str, Any]]:
    """One export through the ASGI app, its messages as sent."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": "/v1/export",
        "raw_path": b"/v1/export",
        "query_string": b"format=ndjson",
        "root_path": "",
        "headers": [(b"host", b"test")],
        "client": ("127.0.0.1", 1),
        "server": ("test", 80),
        "app": app,
    }
    sent: list[dict[str, Any]] = []
    requested = False

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Event().wait()  # the client stays
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if never_read and message["type"] == "http.response.start":
            raise OSError("the client is gone before the body")

    with contextlib.suppress(RuntimeError, OSError):  # the broken stream, the gone client
        await app(scope, receive, send)
    return sent


async def test_slots_come_back_after_errors_while_streaming_bodies_never_read_and_404s(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    app.state.export_slots = asyncio.Semaphore(SLOTS)
    monkeypatch.setattr(export_lifecycle, "stream_export", _Failing(export_lifecycle.stream_export))
    for _ in range(TIMES):
        sent = await _call(app, "GET")
        assert sent[0]["status"] == 200
        assert not any(message.get("more_body") is False for message in sent[1:])
    for method in ("GET", "HEAD"):
        for _ in range(TIMES):
            sent = await _call(app, method, never_read=True)
            assert [message["type"] for message in sent] == ["http.response.start"]
    monkeypatch.undo()
    assert app.state.export_slots._value == SLOTS
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:
        for _ in range(TIMES):  # refused before the first byte
            missing = await client.get("/v1/networks/nowhere/export")
            assert missing.status_code == 404
        response = await client.get("/v1/export", params={"format": "ndjson"})
    assert response.status_code == 200
    assert response.text.startswith('{"type":"export"')
    assert app.state.export_slots._value == SLOTS
    assert app.state.engine.pool.checkedout() == 0, "a snapshot kept its connection"
