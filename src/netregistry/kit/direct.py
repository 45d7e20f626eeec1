"""Direct reads: the hottest public reads answered without the framework.

Partner sites mostly ask for a few reads: a network's members, the holders of a role,
the stats, one city. On a read-cache miss (or with the cache off) the edge hands such a
request to its direct handler instead of FastAPI: the handler parses the query itself,
calls the same domain service the endpoint calls and answers with the same helpers
(``kit/http.py``), so the bytes and headers are the endpoint's. What it saves is the
route walk, the dependency solving, the per-request ORM session and the pool's ping:
the service's one statement runs on a raw asyncpg connection of a pool of its own,
compiled from the repository's SQLAlchemy statement once per shape.

A handler takes only what it is sure of. Anything else it **declines**, and the
request goes to the framework, which answers it as it always has: a parameter it does
not know or that is out of bounds (the framework's 4xx explains it), a domain error to
render (an unknown network: the framework's 404), a database that fails or is away (the
framework's own pool and its problem responses). Declining costs the attempt, never a
wrong answer; tests/kit/test_direct.py holds every direct read byte-identical to its
endpoint.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Final, cast
from urllib.parse import parse_qsl

import asyncpg
import structlog
from sqlalchemy import ClauseElement
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.sql.compiler import SQLCompiler
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from netregistry.errors import NetregistryError
from netregistry.kit.invalidation import connect_options
from netregistry.kit.languages import NameChoice, name_choice, standard_tag
from netregistry.kit.pagination import (
    DEFAULT_LIMIT,
    MAX_CURSOR_LENGTH,
    MAX_LIMIT,
    PageRequest,
    list_scope,
)
from netregistry.kit.types import COUNTRY_CODE_INPUTS, CURSOR_PATTERN, WIKIDATA_PATTERN

log = structlog.get_logger(__name__)

# Query patterns the endpoints declare (``Query(pattern=...)``) and direct reads check.
WIKIDATA = re.compile(WIKIDATA_PATTERN)
# The endpoints declare ``country`` as a CountryCode (kit/types.py), which explains a
# code it refuses ("UK": did you mean GB?); direct reads take exactly the same spellings.
COUNTRY = re.compile("|".join(COUNTRY_CODE_INPUTS))
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_LIMIT = re.compile(r"[1-9][0-9]{0,3}")
_CURSOR = re.compile(CURSOR_PATTERN)
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


# What a database that fails, or is away, raises in a direct read.
DATABASE_ERRORS = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    OSError,
    TimeoutError,
)


class Decline(Exception):
    """This request is for the framework: the direct handler is not sure of it."""


class _Row(asyncpg.Record):  # type: ignore[misc]  # asyncpg ships no types
    """A row read by name as SQLAlchemy's rows are (``row.fetched``), or by position."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def items(self) -> Any:
        """The column ``items`` (a JSON page's), not the mapping's ``items()``."""
        return self["items"]


@dataclass(frozen=True, slots=True)
class _Compiled:
    """A statement as asyncpg runs it: the SQL, and where each placeholder's value comes
    from (the request's parameters, else the value compiled into the statement)."""

    sql: str
    names: tuple[str, ...]
    defaults: dict[str, Any]
    processors: dict[str, Callable[[Any], Any]]
    statement: ClauseElement  # held, so that its id() stays its own

    def arguments(self, parameters: dict[str, Any]) -> list[Any]:
        values = []
        for name in self.names:
            value = parameters[name] if name in parameters else self.defaults[name]
            processor = self.processors.get(name)
            values.append(value if processor is None or value is None else processor(value))
        return values


def _compile(statement: ClauseElement, dialect: Dialect) -> _Compiled:
    compiled = statement.compile(dialect=dialect)
    assert isinstance(compiled, SQLCompiler)
    processors = compiled._bind_processors
    if any(bind.expanding for bind in compiled.binds.values()) or not all(
        callable(processor) for processor in processors.values()
    ):
        raise TypeError("a statement whose parameters expand cannot be compiled once")
    return _Compiled(
        sql=compiled.string,
        names=tuple(compiled.positiontup or ()),
        defaults=dict(compiled.params),
        processors=cast(dict[str, Callable[[Any], Any]], dict(processors)),
        statement=statement,
    )


class _Result:
    """What the repositories read of a result: ``one()``, ``first()``, ``all()``."""

    __slots__ = ("_rows",)

    def __init__(self, rows: list[_Row]) -> None:
        self._rows = rows

    def all(self) -> list[_Row]:
        return self._rows

    def first(self) -> _Row | None:
        return self._rows[0] if self._rows else None

    def one(self) -> _Row:
        if len(self._rows) != 1:
            raise Decline(f"{len(self._rows)} rows where one was expected")
        return self._rows[0]


class DirectConnection:
    """A raw asyncpg connection that runs the repositories' statements (one each, out of
    any transaction): what :func:`netregistry.db.read_connection` gives inside a
    direct read."""

    __slots__ = ("_compiled", "_connection", "_dialect")

    def __init__(
        self,
        connection: asyncpg.Connection[_Row],
        dialect: Dialect,
        compiled: dict[int, _Compiled],
    ) -> None:
        self._connection = connection
        self._dialect = dialect
        self._compiled = compiled

    async def execute(self, statement: ClauseElement, parameters: dict[str, Any]) -> _Result:
        compiled = self._compiled.get(id(statement))
        if compiled is None or compiled.statement is not statement:
            compiled = self._compiled[id(statement)] = _compile(statement, self._dialect)
        rows = await self._connection.fetch(compiled.sql, *compiled.arguments(parameters))
        return _Result(rows)


direct_connection: ContextVar[DirectConnection | None] = ContextVar(
    "direct_connection", default=None
)


class DirectRead:
    """One request as a direct handler sees it: its path and query parameters, parsed
    the way the endpoint's declarations parse them or declined, and what the domain
    services need (a session they will not use for a one-statement read)."""

    __slots__ = ("_query", "_session", "_sessionmaker", "path_params", "request")

    def __init__(
        self,
        scope: Scope,
        path_params: dict[str, str],
        allowed: frozenset[str],
        sessionmaker: async_sessionmaker[AsyncSession],
    ) -> None:
        query: dict[str, str] = {}
        for name, value in parse_qsl(scope["query_string"].decode("latin-1"), True):
            if name in query or name not in allowed or not value:
                raise Decline(f"query parameter {name!r}")
            query[name] = value
        self._query = query
        self.path_params = path_params
        self.request = Request(scope)
        self._sessionmaker = sessionmaker
        self._session: AsyncSession | None = None

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            self._session = self._sessionmaker()
        return self._session

    async def close(self) -> None:
        # A session the read never used holds nothing (the usual case: one statement on
        # the direct connection); one that did (a 404 looked up) gives its connection back.
        if self._session is not None and self._session.in_transaction():
            await self._session.close()

    def path(self, name: str, *, max_length: int = 63) -> str:
        value = self.path_params[name]
        if len(value) > max_length or "\x00" in value:
            raise Decline(f"path parameter {name!r}")
        return value

    def path_uuid(self, name: str) -> uuid.UUID:
        value = self.path_params[name]
        if not _UUID.fullmatch(value):
            raise Decline(f"path parameter {name!r}")
        return uuid.UUID(value)

    def text(
        self, name: str, *, max_length: int, pattern: re.Pattern[str] | None = None
    ) -> str | None:
        value = self._query.get(name)
        if value is not None and (
            len(value) > max_length
            or "\x00" in value
            or (pattern is not None and not pattern.fullmatch(value))
        ):
            raise Decline(f"query parameter {name!r}")
        return value

    def choice(self, name: str, choices: Iterable[str]) -> str | None:
        value = self._query.get(name)
        if value is not None and value not in choices:
            raise Decline(f"query parameter {name!r}")
        return value

    def as_of(self) -> date:
        value = self._query.get("as_of")
        if value is None:
            return datetime.now(UTC).date()
        if not _DAY.fullmatch(value):
            raise Decline("as_of")
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise Decline("as_of") from None

    def names(self) -> NameChoice:
        """The names the reader asked for: ``lang``, else ``Accept-Language``."""
        lang = self._query.get("lang")
        tag = None
        if lang is not None:
            tag = standard_tag(lang)
            if tag is None:
                raise Decline("lang")
        return name_choice(tag, self.request.headers.get("accept-language"))

    def page(self) -> PageRequest:
        limit = self._query.get("limit")
        if limit is not None and (not _LIMIT.fullmatch(limit) or int(limit) > MAX_LIMIT):
            raise Decline("limit")
        cursor = self._query.get("cursor")
        if cursor is not None and (
            len(cursor) > MAX_CURSOR_LENGTH or not _CURSOR.fullmatch(cursor)
        ):
            raise Decline("cursor")
        return PageRequest(
            limit=int(limit) if limit is not None else DEFAULT_LIMIT,
            cursor=cursor,
            scope=list_scope(self.request),
            codec=self.request.app.state.cursor_codec,
        )


Handler = Callable[[DirectRead], Awaitable[Response]]


@dataclass(frozen=True, slots=True)
class DirectHandler:
    query: frozenset[str]
    handle: Handler


# Route template -> its direct handler; filled by the endpoint modules (``direct_read``).
DIRECT_READS: Final[dict[str, DirectHandler]] = {}


def direct_read(template: str, *, query: Sequence[str] = ()) -> Callable[[Handler], Handler]:
    """Register ``handler`` as the direct answer to ``GET template`` with the query
    parameters ``query`` (any other is declined)."""

    def register(handler: Handler) -> Handler:
        DIRECT_READS[template] = DirectHandler(frozenset(query), handler)
        return handler

    return register


async def _no_reset(connection: asyncpg.Connection[Any]) -> None:
    """Nothing to reset: a direct read runs one statement and no transaction, sets
    nothing, takes no lock and listens to nothing."""


class DirectReads:
    """The direct handlers, their pool of raw connections and the compiled statements.
    Made with the application; it answers once :meth:`start` has given it the engine."""

    def __init__(
        self, app: ASGIApp, *, enabled: bool, pool_size: int, acquire_timeout: float
    ) -> None:
        self.app = app
        self.handlers: dict[str, DirectHandler] = DIRECT_READS if enabled else {}
        self.pool_size = pool_size
        self.acquire_timeout = acquire_timeout
        self.answered = 0
        self.declined = 0
        self._compiled: dict[int, _Compiled] = {}
        self._pool: asyncpg.Pool[_Row] | None = None
        self._dialect: Dialect | None = None
        self._sessionmaker: async_sessionmaker[AsyncSession] | None = None

    async def start(
        self,
        engine: AsyncEngine,
        sessionmaker: async_sessionmaker[AsyncSession],
        connect_arguments: dict[str, Any],
    ) -> None:
        """Make the pool, on the engine's database with the engine's connection
        settings. It connects on first use: a server away at start is no error here."""
        if not self.handlers:
            return
        self._dialect = engine.dialect
        self._sessionmaker = sessionmaker
        self._pool = await asyncpg.create_pool(
            **connect_options(engine),
            **connect_arguments,
            min_size=0,
            max_size=self.pool_size,
            reset=_no_reset,
            record_class=_Row,
        )

    async def stop(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            try:
                await asyncio.wait_for(pool.close(), timeout=5)
            except TimeoutError:
                pool.terminate()

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[None]:
        if self._pool is None or self._dialect is None:
            raise Decline("not started")
        async with self._pool.acquire(timeout=self.acquire_timeout) as connection:
            token = direct_connection.set(
                DirectConnection(connection, self._dialect, self._compiled)
            )
            try:
                yield
            except DATABASE_ERRORS:
                # In whatever state the failure left it, the pool gets a new one instead.
                connection.terminate()
                raise
            finally:
                direct_connection.reset(token)

    async def answer(
        self,
        handler: DirectHandler,
        path_params: dict[str, str],
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> bool:
        """Answer the request with ``handler``; False (nothing sent): it declined."""
        if self._sessionmaker is None:
            return False
        scope["app"] = self.app  # what the framework sets, and request.app reads
        try:
            read = DirectRead(scope, path_params, handler.query, self._sessionmaker)
        except Decline:
            self.declined += 1
            return False
        try:
            async with self._connection():
                response = await handler.handle(read)
        except (Decline, NetregistryError):
            self.declined += 1
            return False
        except DATABASE_ERRORS as error:
            # The framework's own pool and error handling answer it (503 and the like).
            log.info("direct read declined on a database error", error=type(error).__name__)
            self.declined += 1
            return False
        finally:
            await read.close()
        self.answered += 1
        await response(scope, receive, send)
        return True
