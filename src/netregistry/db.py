"""Engine and sessions: one session and one transaction per request.

The :class:`UnitOfWork` is opened lazily by the first dependency that asks for a
session and is committed or rolled back in exactly one place, the transaction
middleware (``kit/unit_of_work.py``), before the response leaves.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from netregistry.config import Settings
from netregistry.embedded import EmbeddedPostgres
from netregistry.kit.direct import direct_connection
from netregistry.kit.pagination import ReadConnection

log = logging.getLogger(__name__)

# Word similarity above which a name counts as a match for a search (`<%`, answered by
# the trigram index): "surabya" ~ "surabaya". Set on every connection, so a search needs
# no transaction to set it in.
SEARCH_THRESHOLD = 0.45


def create_engine(url: str, settings: Settings) -> AsyncEngine:
    """An asyncpg engine whose connections fail fast when the server is away."""
    return create_async_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout,
        pool_pre_ping=True,
        connect_args=connect_arguments(settings),
    )


def connect_arguments(settings: Settings) -> dict[str, Any]:
    """asyncpg's arguments for every connection: the engine's and the direct reads'."""
    return {
        "timeout": settings.db_connect_timeout,
        "command_timeout": settings.db_command_timeout,
        "server_settings": {
            "application_name": "netregistry",
            "statement_timeout": str(settings.db_statement_timeout_ms),
            "lock_timeout": "10000",
            "pg_trgm.word_similarity_threshold": str(SEARCH_THRESHOLD),
        },
    }


@asynccontextmanager
async def open_database(settings: Settings) -> AsyncIterator[AsyncEngine]:
    """An engine on the configured server, or on the embedded one (started, migrated).

    ``migrate_on_start`` unset means: migrate the embedded server, never a named one.
    """
    from netregistry import migrations

    embedded: EmbeddedPostgres | None = None
    url = settings.database_url
    if url is None:
        embedded = EmbeddedPostgres(settings.data_dir)
        await asyncio.to_thread(embedded.start)
        await embedded.ensure_database()
        url = embedded.url()
    engine = create_engine(url, settings)
    try:
        if settings.migrate_on_start or (settings.migrate_on_start is None and embedded):
            await migrations.upgrade(engine)
        yield engine
    finally:
        await engine.dispose()
        if embedded is not None:
            await asyncio.to_thread(embedded.stop)


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


async def read_connection(session: AsyncSession) -> ReadConnection:
    """The connection for a read that is one statement: inside a direct read
    (kit/direct.py), its raw connection; else outside any transaction (autocommit: no
    BEGIN, no COMMIT; the statement is its own snapshot) when the session has none yet,
    else the session's own transaction, whose writes it must see."""
    direct = direct_connection.get()
    if direct is not None:
        return direct
    if session.in_transaction():
        return await session.connection()
    return await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


class UnitOfWork:
    """The request's transaction: a session created on first use."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker
        self._session: AsyncSession | None = None

    @property
    def started(self) -> bool:
        return self._session is not None

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            self._session = self._sessionmaker()
        return self._session

    async def commit(self) -> None:
        if self._session is not None:
            await self._session.commit()

    async def rollback(self) -> None:
        if self._session is not None:
            await self._or_drop_connection(self._session.rollback)

    async def close(self) -> None:
        if self._session is not None:
            await self._or_drop_connection(self._session.close)
            self._session = None

    async def _or_drop_connection(self, step: Callable[[], Awaitable[None]]) -> None:
        """Run ``step`` (rollback, close). A connection too far gone for it (the server
        went away or stopped answering) is invalidated instead: the pool discards it."""
        assert self._session is not None
        try:
            await step()
        except (SQLAlchemyError, OSError):
            log.warning("%s failed; dropping the connection", step.__name__, exc_info=True)
            with contextlib.suppress(SQLAlchemyError, OSError):
                await self._session.invalidate()
