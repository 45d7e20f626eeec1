"""Connections are bounded: against a real ``netregistry serve`` with raw sockets.

A request head must be complete within the head timeout (of the accept, or of the
previous response), a body must keep up a minimum rate (else ``408``), an idle
keep-alive connection closes, and past the connection ceiling a new connection gets a
``503`` at once while those already open are served. The timeouts are shortened so the
module runs in seconds; one server serves every test.
"""

from __future__ import annotations

import asyncio
import functools
import json
import pickle
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn
from sqlalchemy.engine import URL

from netregistry.config import Settings
from netregistry.kit import server as kit_server
from netregistry.kit.server import uvicorn_options
from tests.conftest import free_port, fresh_database
from tests.reliability.test_faults import Service

HEAD_TIMEOUT = 3.0
KEEP_ALIVE = 1.0  # below the head timeout, so that each bound is seen on its own
MAX_CONNECTIONS = 60
# How late a bound may act on a busy 2-core machine.
SLACK = 1.5


@dataclass
class BoundedService(Service):
    """The fault tests' ``netregistry serve`` process, with short connection bounds."""

    bounds: dict[str, str] = field(
        default_factory=lambda: {
            "NETREGISTRY_REQUEST_HEAD_TIMEOUT": str(HEAD_TIMEOUT),
            "NETREGISTRY_KEEP_ALIVE_TIMEOUT": str(KEEP_ALIVE),
            "NETREGISTRY_MAX_CONNECTIONS": str(MAX_CONNECTIONS),
        }
    )

    @property
    def env(self) -> dict[str, str]:
        return {**super().env, **self.bounds}


@pytest.fixture(scope="module")
async def service(
    server_url: URL, template_database: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Service]:
    async with fresh_database(server_url, template_database) as database_url:
        running = BoundedService(database_url, tmp_path_factory.mktemp("connections"))
        await running.start()
        try:
            yield running
        finally:
            running.kill()


async def _connect(service: Service) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", service.port)


async def _until_closed(reader: asyncio.StreamReader, within: float) -> bytes:
    """Everything the server sends until it closes the connection."""
    received = b""
    try:
        async with asyncio.timeout(within):
            while chunk := await reader.read(65536):
                received += chunk
    except ConnectionResetError:  # closed while the client was still sending
        pass
    return received


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


async def _response(reader: asyncio.StreamReader, within: float = 5.0) -> Response:
    async with asyncio.timeout(within):
        head = await reader.readuntil(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = dict(line.lower().split(": ", 1) for line in lines if line)
        body = await reader.readexactly(int(headers.get("content-length", "0")))
    return Response(int(status_line.split()[1]), headers, body)


async def _trickle(writer: asyncio.StreamWriter, pieces: list[bytes], every: float) -> None:
    """Send ``pieces`` one at a time, ``every`` seconds apart, until the server hangs up."""
    try:
        for piece in pieces:
            writer.write(piece)
            await writer.drain()
            await asyncio.sleep(every)
    except ConnectionError:
        pass


HEALTHZ = b"GET /healthz HTTP/1.1\r\nHost: netregistry\r\n\r\n"


async def test_a_silent_connection_is_closed_after_the_head_timeout(service: Service) -> None:
    reader, writer = await _connect(service)
    started = time.monotonic()
    received = await _until_closed(reader, within=HEAD_TIMEOUT + SLACK)
    elapsed = time.monotonic() - started
    writer.close()
    assert received == b""
    assert HEAD_TIMEOUT - 0.2 <= elapsed <= HEAD_TIMEOUT + SLACK


async def test_a_head_sent_a_line_at_a_time_is_closed_after_the_head_timeout(
    service: Service,
) -> None:
    reader, writer = await _connect(service)
    started = time.monotonic()
    lines = [b"GET /healthz HTTP/1.1\r\n", *(b"X-Slow: %d\r\n" % n for n in range(100))]
    sending = asyncio.create_task(_trickle(writer, lines, every=0.5))
    received = await _until_closed(reader, within=HEAD_TIMEOUT + SLACK)
    elapsed = time.monotonic() - started
    sending.cancel()
    writer.close()
    assert received == b""
    assert elapsed <= HEAD_TIMEOUT + SLACK


async def test_a_body_sent_a_byte_at_a_time_is_cut_with_408_and_closed(
    service: Service,
) -> None:
    reader, writer = await _connect(service)
    writer.write(
        b"POST /v1/networks HTTP/1.1\r\nHost: netregistry\r\n"
        b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
    )
    started = time.monotonic()
    sending = asyncio.create_task(_trickle(writer, [b" "] * 1000, every=0.5))
    # The body's grace is the head timeout; at 2 bytes a second it never catches up.
    timed_out = await _response(reader, within=HEAD_TIMEOUT + SLACK)
    elapsed = time.monotonic() - started
    rest = await _until_closed(reader, within=SLACK)
    sending.cancel()
    writer.close()
    assert timed_out.status == 408
    assert timed_out.headers["content-type"] == "application/problem+json"
    assert timed_out.headers["connection"] == "close"
    assert "x-request-id" in timed_out.headers
    problem = json.loads(timed_out.body)
    assert problem["type"] == "urn:netregistry:problem:request-timeout"
    assert problem["status"] == 408
    assert HEAD_TIMEOUT - 0.2 <= elapsed <= HEAD_TIMEOUT + SLACK
    assert rest == b""


async def test_an_idle_keep_alive_connection_is_closed_after_the_keep_alive_timeout(
    service: Service,
) -> None:
    reader, writer = await _connect(service)
    writer.write(HEALTHZ + HEALTHZ)  # pipelined: both are answered
    assert (await _response(reader)).status == 200
    assert (await _response(reader)).status == 200
    answered = time.monotonic()
    received = await _until_closed(reader, within=HEAD_TIMEOUT + SLACK)
    idle = time.monotonic() - answered
    writer.close()
    assert received == b""
    assert KEEP_ALIVE - 0.2 <= idle < HEAD_TIMEOUT


async def test_a_head_trickled_after_a_response_is_closed_after_the_head_timeout(
    service: Service,
) -> None:
    # uvicorn's keep-alive timer starts again on every byte: only the head timeout,
    # armed again after each response, ends this.
    reader, writer = await _connect(service)
    writer.write(HEALTHZ)
    assert (await _response(reader)).status == 200
    answered = time.monotonic()
    trickled = [bytes([byte]) for byte in HEALTHZ]
    sending = asyncio.create_task(_trickle(writer, trickled, every=KEEP_ALIVE / 3))
    received = await _until_closed(reader, within=HEAD_TIMEOUT + SLACK)
    elapsed = time.monotonic() - answered
    sending.cancel()
    writer.close()
    assert received == b""
    assert HEAD_TIMEOUT - 0.2 <= elapsed <= HEAD_TIMEOUT + SLACK


async def test_past_the_connection_ceiling_new_connections_get_503_at_once(
    service: Service,
) -> None:
    # The ceiling less one, held by sockets that send nothing.
    idle = [await _connect(service) for _ in range(MAX_CONNECTIONS - 1)]
    filled = time.monotonic()
    # The last place: a connection that will ask for /healthz once the ceiling is reached.
    reader, writer = await _connect(service)
    refused: list[Response] = []
    for _ in range(20):
        started = time.monotonic()
        extra_reader, extra_writer = await _connect(service)
        refused.append(await _response(extra_reader, within=1.0))
        assert await _until_closed(extra_reader, within=1.0) == b""
        assert time.monotonic() - started < 1.0
        extra_writer.close()
    writer.write(HEALTHZ)
    served = await _response(reader)

    assert {response.status for response in refused} == {503}
    problem = json.loads(refused[0].body)
    assert problem["type"] == "urn:netregistry:problem:too-many-connections"
    assert refused[0].headers["retry-after"] == "1"
    assert refused[0].headers["x-content-type-options"] == "nosniff"
    assert served.status == 200

    # The head timeout frees the places the idle sockets held; new connections serve again.
    for idle_reader, _ in idle:
        assert await _until_closed(idle_reader, within=HEAD_TIMEOUT + SLACK) == b""
    assert time.monotonic() - filled <= HEAD_TIMEOUT + SLACK
    for _, idle_writer in idle:
        idle_writer.close()
    writer.close()
    reader, writer = await _connect(service)
    writer.write(HEALTHZ)
    assert (await _response(reader)).status == 200
    writer.close()


async def _ok(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "http":
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]}
        )
        await send({"type": "http.response.body", "body": b"ok"})


@pytest.mark.parametrize("name", ["BoundedH11Protocol", "BoundedHttpToolsProtocol"])
async def test_each_uvicorn_protocol_keeps_the_head_timeout_and_the_ceiling(name: str) -> None:
    # What the mixin relies on, for httptools (what serves) and for h11, on a bare uvicorn
    # in this process.
    protocol = getattr(kit_server, name)
    limit = {"head_limit": 16_384} if name == "BoundedHttpToolsProtocol" else {}
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            _ok,
            port=port,
            log_config=None,
            ws="none",
            timeout_keep_alive=5,
            http=functools.partial(protocol, head_timeout=0.5, max_connections=3, **limit),
        )
    )
    serving = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110  # uvicorn offers a flag, not an event
        await asyncio.sleep(0.01)
    try:
        # Two pipelined requests, then a head trickled after the responses.
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(HEALTHZ + HEALTHZ)
        assert (await _response(reader)).status == 200
        assert (await _response(reader)).status == 200
        answered = time.monotonic()
        sending = asyncio.create_task(
            _trickle(writer, [bytes([byte]) for byte in HEALTHZ], every=0.1)
        )
        assert await _until_closed(reader, within=2) == b""
        assert 0.4 <= time.monotonic() - answered < 2
        sending.cancel()
        writer.close()
        # Three silent connections fill the ceiling: a fourth is refused at once.
        silent = [await asyncio.open_connection("127.0.0.1", port) for _ in range(3)]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        assert (await _response(reader, within=1)).status == 503
        writer.close()
        for silent_reader, silent_writer in silent:
            assert await _until_closed(silent_reader, within=2) == b""
            silent_writer.close()
    finally:
        server.should_exit = True
        await serving


def test_the_protocol_reaches_every_worker_with_its_bounds() -> None:
    # --workers pickles uvicorn's config for each worker process.
    options = uvicorn_options(Settings(request_head_timeout=7, max_connections=123))
    protocol = pickle.loads(pickle.dumps(options["http"]))  # noqa: S301
    assert protocol.func is kit_server.BoundedHttpToolsProtocol
    assert protocol.keywords == {
        "head_timeout": 7,
        "max_connections": 123,
        "head_limit": Settings().max_header_bytes + 8192,
    }
    config = uvicorn.Config(_ok, **options)
    config.load()
    assert config.http_protocol_class is options["http"]
