"""A webhook receiver on 127.0.0.1 for tests: records every request it gets, verifies
nothing by itself, and answers with the status the test sets."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from standardwebhooks import Webhook


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    status: int
    arrived: float

    def json(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.body)
        return value


class Receiver:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.status = 204
        self.delay = 0.0  # seconds before answering
        self.server: asyncio.Server | None = None
        self.port = 0
        self._arrived = asyncio.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.server.wait_closed(), 2)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        name, _, value = line.partition(":")
                        headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                if self.delay:
                    await asyncio.sleep(self.delay)
                status = self.status
                self.received.append(Received(headers, body, status, time.monotonic()))
                self._arrived.set()
                writer.write(f"HTTP/1.1 {status} X\r\ncontent-length: 0\r\n\r\n".encode("latin-1"))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    def accepted(self) -> list[Received]:
        return [entry for entry in self.received if 200 <= entry.status < 300]

    async def until(self, count: int, within: float = 15.0, *, accepted: bool = True) -> None:
        deadline = time.monotonic() + within
        while len(self.accepted() if accepted else self.received) < count:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"{len(self.received)} received, wanted {count}"
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(remaining, 0.2)):
                    await self._arrived.wait()


def verified(secret: str, entry: Received) -> dict[str, Any]:
    """The body, once the maintained Standard Webhooks library accepts its signature."""
    value: dict[str, Any] = Webhook(secret).verify(entry.body, entry.headers)
    return value


@contextlib.asynccontextmanager
async def receiving() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    await receiver.start()
    try:
        yield receiver
    finally:
        await receiver.stop()
