"""A small Server-Sent Events reader for tests, on a real server's stream."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class Event:
    id: str | None
    event: str | None
    data: str
    arrived: float

    def change(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.data)
        return value


@dataclass
class Stream:
    """An open stream: the events and comments received so far, read in the background."""

    response: httpx.Response
    events: list[Event] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    retry: str | None = None
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def read(self) -> None:
        fields: dict[str, str] = {}
        try:
            async for line in self.response.aiter_lines():
                if line == "":
                    if "data" in fields:
                        self.events.append(
                            Event(
                                fields.get("id"),
                                fields.get("event"),
                                fields["data"],
                                time.monotonic(),
                            )
                        )
                        self._arrived.set()
                    fields = {}
                elif line.startswith(":"):
                    self.comments.append(line[1:].strip())
                    self._arrived.set()
                else:
                    name, _, value = line.partition(":")
                    value = value.removeprefix(" ")
                    if name == "retry":
                        self.retry = value
                    else:
                        fields[name] = value
        except (httpx.ReadError, httpx.RemoteProtocolError):
            pass
        finally:
            self.ended.set()
            self._arrived.set()

    async def until(self, count: int, within: float = 10.0) -> list[Event]:
        """Wait until ``count`` events have arrived."""
        deadline = time.monotonic() + within
        while len(self.events) < count:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"{len(self.events)} of {count} events: {self.events}"
            assert not self.ended.is_set(), f"stream ended after {len(self.events)} events"
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await self._arrived.wait()
        return self.events[:count]


@contextlib.asynccontextmanager
async def open_stream(
    client: httpx.AsyncClient, path: str = "/v1/changes/stream", **kwargs: Any
) -> AsyncIterator[Stream]:
    async with client.stream("GET", path, **kwargs) as response:
        assert response.status_code == 200, (await response.aread()).decode()
        assert response.headers["content-type"].startswith("text/event-stream")
        stream = Stream(response)
        reader = asyncio.create_task(stream.read())
        try:
            # The stream's first line (retry) says it is open and its start is fixed.
            deadline = time.monotonic() + 10
            while stream.retry is None and not stream.ended.is_set():
                assert time.monotonic() < deadline, "the stream never opened"
                await asyncio.sleep(0.01)
            yield stream
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
