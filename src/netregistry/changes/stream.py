"""The live change stream: the change feed as Server-Sent Events, pushed as it commits.

A stream reads the feed after its cursor whenever PostgreSQL's change notification
(``kit/invalidation.py``, the one the read cache follows) says something committed, so
a change reaches an open stream a few milliseconds after its commit, and no stream
polls the table. Each event's ``id`` is the change's feed cursor: a client that
reconnects with ``Last-Event-ID`` (browsers do it by themselves) resumes right after the
last change it received, as ``?after=`` does on the feed.

Each stream holds a database connection only while it reads a page, never while it
waits. A comment line every ``stream_heartbeat_seconds`` keeps proxies from closing an
idle stream, and the stream reads the feed then too, so a notification missed while the
listener reconnected costs at most one heartbeat. When the server shuts down every
stream ends, and clients reconnect (to another instance) where they were.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import structlog
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from netregistry.changes.schemas import ChangeFilter, ChangeRead
from netregistry.changes.service import read_changes
from netregistry.kit.invalidation import ChangeListener
from netregistry.kit.server import when_draining

log = structlog.get_logger("netregistry.changes.stream")

# Changes read at once while a stream catches up.
PAGE = 100
# Milliseconds a browser's EventSource waits before reconnecting.
RECONNECT_MS = 2000


class StreamSlots:
    """The open streams of this process, at most ``limit``."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.open = 0

    def take(self) -> bool:
        if self.open >= self.limit:
            return False
        self.open += 1
        return True

    def give_back(self) -> None:
        self.open -= 1


def encode_event(change: ChangeRead) -> bytes:
    """One change as an SSE event: ``id`` its cursor, ``event: change``, ``data`` its JSON
    (one line: JSON text holds no raw line break)."""
    return f"id: {change.cursor}\nevent: change\ndata: {change.model_dump_json()}\n\n".encode()


class ChangeStream:
    """One client's stream of the changes after ``after`` that ``wanted`` takes."""

    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        listener: ChangeListener,
        wanted: ChangeFilter,
        after: int,
        heartbeat: float,
        max_bytes: int,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.listener = listener
        self.wanted = wanted
        self.cursor = after
        self.heartbeat = heartbeat
        self.max_bytes = max_bytes

    async def events(self) -> AsyncIterator[bytes]:
        wake = asyncio.Event()
        stop = asyncio.Event()

        def heard(network: str | None) -> None:
            if self.wanted.concerns(network):
                wake.set()

        unsubscribe = self.listener.subscribe(heard)
        forget = when_draining(stop.set)
        try:
            yield f"retry: {RECONNECT_MS}\n\n".encode()
            loop = asyncio.get_running_loop()
            sent = loop.time()
            while not stop.is_set():
                wake.clear()  # before reading: a commit during the read wakes us again
                try:
                    changes, cut_short = await self._read()
                except (SQLAlchemyError, OSError) as error:
                    # The client reconnects with Last-Event-ID, perhaps to another instance.
                    log.warning("change stream ends: the feed cannot be read", error=str(error))
                    return
                for change in changes:
                    yield encode_event(change)
                    self.cursor = int(change.cursor)
                    sent = loop.time()
                if len(changes) == PAGE or cut_short:
                    continue  # catching up: read on at once
                # Silent for a heartbeat (woken or not, by changes of other networks): a
                # comment, so that no proxy takes the stream for dead.
                idle = loop.time() - sent
                if idle >= self.heartbeat or not await _wait(wake, stop, self.heartbeat - idle):
                    yield b": heartbeat\n\n"
                    sent = loop.time()
        finally:
            unsubscribe()
            forget()

    async def _read(self) -> tuple[list[ChangeRead], bool]:
        async with self.sessionmaker() as session:
            return await read_changes(session, self.cursor, PAGE, self.max_bytes, self.wanted)


async def _wait(wake: asyncio.Event, stop: asyncio.Event, seconds: float) -> bool:
    """Wait for ``wake`` or ``stop``; False when ``seconds`` passed first."""
    waiters = [asyncio.ensure_future(wake.wait()), asyncio.ensure_future(stop.wait())]
    try:
        done, _ = await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await waiter
    return bool(done)
