"""Hearing the changes other processes commit, to drop the read cache's stale answers.

Every commit that changes the registry notifies ``netregistry_changes`` (migration 0005:
the deferred trigger that gives each audit event its feed position), with the network's
slug as payload, or an empty payload when the change may touch any network (a member:
its name is in every network's member list). PostgreSQL delivers a notification after
the commit, to every session listening then.

Each process listens on a connection of its own, outside the pool (a pooled connection
is reset and handed to requests). While that connection is away a notification could
be missed, so the cache is bypassed from the moment the loss is noticed (asyncpg's
termination listener, or a failed ping) until the listener is back and has cleared it.

The same notification drives what pushes changes to partners (the change stream and the
webhook deliveries, ``changes/``): they :meth:`ChangeListener.subscribe` and are called
with the network heard, and with ``None`` ("anything may have changed") whenever the
listener (re)connects, since a notification sent meanwhile was not heard. They read the
feed itself for what changed, so a missed or merged notification costs time, never a
change. The listener runs with the cache off too, for them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from netregistry.config import Settings
from netregistry.kit.readcache import ReadCache

log = structlog.get_logger("netregistry.invalidation")

CHANNEL = "netregistry_changes"
APPLICATION_NAME = "netregistry-listener"
# Between reconnection attempts: from the first to the longest, doubling.
FIRST_BACKOFF = 0.05
LONGEST_BACKOFF = 2.0
# A connection that died without a word (a partition) is found by pinging it.
PING_INTERVAL = 2.0

Connect = Callable[[], Awaitable[asyncpg.Connection]]
# Told of each change heard: its network, or None when it may concern any network.
Subscriber = Callable[[str | None], None]


class ChangeListener:
    """Keeps one listening connection up and applies what it hears to ``cache``."""

    def __init__(self, cache: ReadCache, connect: Connect, *, ping_timeout: float) -> None:
        self.cache = cache
        self.connect = connect
        self.ping_timeout = ping_timeout
        self.connection: asyncpg.Connection | None = None
        self.ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._backoff = FIRST_BACKOFF
        self._subscribers: set[Subscriber] = set()

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Call ``subscriber`` on every change heard (and with ``None`` on every
        reconnection); returns what unsubscribes it. A subscriber must not block: it is
        called on the connection's own callback."""
        self._subscribers.add(subscriber)
        return lambda: self._subscribers.discard(subscriber)

    def _tell(self, network: str | None) -> None:
        for subscriber in list(self._subscribers):
            try:
                subscriber(network)
            except Exception:  # one subscriber's fault is not the others'
                log.exception("a change subscriber failed")

    async def start(self, wait: float) -> None:
        """Start listening, waiting up to ``wait`` seconds for the first connection (the
        cache is bypassed until then, so not waiting longer costs speed, not truth)."""
        self._task = asyncio.create_task(self._run(), name="netregistry-change-listener")
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait):
                await self.ready.wait()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            lost = asyncio.Event()
            try:
                await self._listen(lost)
            except Exception as error:  # whatever broke, the answer is to reconnect
                log.warning("change listener lost its connection", error=type(error).__name__)
            finally:
                self._lost(lost)
                await self._close()
            await asyncio.sleep(self._backoff)
            self._backoff = min(self._backoff * 2, LONGEST_BACKOFF)

    async def _listen(self, lost: asyncio.Event) -> None:
        self.connection = await self.connect()
        self.connection.add_termination_listener(lambda _: self._lost(lost))
        await self.connection.add_listener(CHANNEL, self._notified)
        # From here on every commit is heard: what was cached before may be stale.
        self.cache.resume()
        self.ready.set()
        self._tell(None)  # what committed while nobody listened is in the feed
        self._backoff = FIRST_BACKOFF
        log.info("listening for changes")
        await self._watch(self.connection, lost)

    async def _watch(self, connection: asyncpg.Connection, lost: asyncio.Event) -> None:
        while not lost.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(PING_INTERVAL):
                    await lost.wait()
                    return
            await connection.fetchval("SELECT 1", timeout=self.ping_timeout)

    def _lost(self, lost: asyncio.Event) -> None:
        if not lost.is_set():
            lost.set()
            self.ready.clear()
            self.cache.suspend()

    def _notified(self, connection: Any, pid: int, channel: str, payload: str) -> None:
        self.cache.invalidate(payload or None)
        self._tell(payload or None)

    async def _close(self) -> None:
        connection, self.connection = self.connection, None
        if connection is not None and not connection.is_closed():
            connection.terminate()


def connector(engine: AsyncEngine, settings: Settings) -> Connect:
    """Opens a connection to the engine's server and database, outside its pool."""
    options = connect_options(engine)

    async def connect() -> asyncpg.Connection:
        return await asyncpg.connect(
            **options,
            timeout=settings.db_connect_timeout,
            command_timeout=settings.db_command_timeout,
            server_settings={"application_name": APPLICATION_NAME},
        )

    return connect


_ASYNCPG_OPTIONS = frozenset({"host", "port", "user", "password", "database", "ssl", "dsn"})


def connect_options(engine: AsyncEngine) -> dict[str, Any]:
    """What asyncpg needs to reach the engine's server and database."""
    _, options = engine.dialect.create_connect_args(engine.url)
    return {name: value for name, value in options.items() if name in _ASYNCPG_OPTIONS}


@asynccontextmanager
async def listening(
    cache: ReadCache, engine: AsyncEngine, settings: Settings
) -> AsyncIterator[ChangeListener]:
    """The change listener of this process, for the lifespan of the application (with
    the cache off too: the change stream and the webhooks follow it)."""
    listener = ChangeListener(
        cache, connector(engine, settings), ping_timeout=settings.db_connect_timeout
    )
    await listener.start(wait=min(settings.db_connect_timeout, 3.0))
    try:
        yield listener
    finally:
        await listener.stop()
        cache.suspend()
