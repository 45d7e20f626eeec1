"""The application's assembly: lifespan (database, embedded server), the middleware
(``kit/hygiene.py``, ``kit/unit_of_work.py``) inside the edge (``kit/edge.py``), the
exception handlers (``kit/handlers.py``) and the routers."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import structlog
from fastapi import Depends, FastAPI
from fastapi.openapi.utils import get_openapi
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from starlette.middleware import Middleware
from starlette.types import ASGIApp

from netregistry import __version__, migrations
from netregistry.audit.endpoints import router as audit_router
from netregistry.changes.endpoints import router as changes_router
from netregistry.changes.stream import StreamSlots
from netregistry.config import Settings, get_settings
from netregistry.db import connect_arguments, create_sessionmaker, open_database
from netregistry.declarations.endpoints import router as declarations_router
from netregistry.directory.endpoints import router as directory_router
from netregistry.exports.endpoints import router as exports_router
from netregistry.imports.endpoints import router as imports_router
from netregistry.imports.member_list import ImportQueue
from netregistry.kit import idempotency
from netregistry.kit.direct import DirectReads
from netregistry.kit.edge import Edge
from netregistry.kit.handlers import add_exception_handlers
from netregistry.kit.hygiene import (
    ErrorBoundaryMiddleware,
    HeadMiddleware,
    RequestLimitsMiddleware,
)
from netregistry.kit.invalidation import listening
from netregistry.kit.logging import configure_logging, flush_access_log
from netregistry.kit.pagination import CursorCodec
from netregistry.kit.query import known_query_parameters, single_valued_query
from netregistry.kit.ratelimit import WriteRateLimiter
from netregistry.kit.readcache import ReadCache
from netregistry.kit.unit_of_work import TransactionMiddleware
from netregistry.members.endpoints import (
    cities_router,
    lookup_router,
    member_router,
    organizations_router,
)
from netregistry.memberships.endpoints import router as memberships_router
from netregistry.networks.endpoints import router as networks_router
from netregistry.reconcile.endpoints import router as reconcile_router
from netregistry.roles.endpoints import router as roles_router
from netregistry.system.docs import router as docs_router
from netregistry.system.endpoints import router as system_router
from netregistry.tenures.endpoints import role_router as role_tenures_router
from netregistry.tenures.endpoints import router as tenures_router
from netregistry.webhooks.delivery import Dispatcher
from netregistry.webhooks.endpoints import payloads as webhook_payloads
from netregistry.webhooks.endpoints import router as webhooks_router

log = structlog.get_logger("netregistry")

DESCRIPTION = """
The membership registry of international city networks: who belongs to which network,
in which category, and who holds which office, on any date.

* **Reads are public** and cacheable (`ETag`, `If-None-Match`, `Cache-Control`).
* **Writes need an API key** (`Authorization: Bearer <key>`), admin or scoped to networks.
* **Errors** are RFC 9457 problem details (`application/problem+json`).
* **Lists** are paginated by cursor: `{"items": [...], "next_cursor": ...}` and a `Link` header
  (a relative reference, or on the configured public URL; never the request's `Host`).
* **Paths have no trailing slash**: `/v1/networks/` is a 404 problem naming `/v1/networks`.
* **Unknown query parameters are refused**, never ignored: `?contry=KR` is a 422 problem
  saying "`contry` is not a parameter of this request. Did you mean `country`?" (or, when
  no name is close, which parameters the operation takes), with `errors` at
  `["query", "contry"]`, so a misspelt filter never answers with an unfiltered list. An
  operation takes exactly the query parameters it lists here; one without any takes none.
* **Lost updates** are refused: send `If-Match` with `PATCH` and `DELETE`.
* **Retries are safe**: send an `Idempotency-Key` with `POST`.
* **Request ids**: a safe `X-Request-ID` you send is echoed and kept in the audit log as
  `client_request_id`, beside the server's own `request_id`.
* **CSV exports** put a single quote before a text cell that begins with `=`, `+`, `-`,
  `@`, a tab or a carriage return (OWASP), so no spreadsheet runs it; JSON and NDJSON
  keep the text as stored.
"""

TAGS = [
    {"name": "networks", "description": "City networks and their membership categories."},
    {"name": "memberships", "description": "Who belongs to a network, when, in which category."},
    {"name": "roles", "description": "Offices (chair, executive...), their holders, handovers."},
    {"name": "tenures", "description": "Who held which office over which period."},
    {"name": "cities", "description": "Cities: local governments that are members of networks."},
    {"name": "organizations", "description": "Non-city members: NGOs, institutes, agencies."},
    {"name": "members", "description": "Any member, city or organization, across networks."},
    {"name": "exports", "description": "The registry or a network as JSON, NDJSON or CSV."},
    {"name": "changes", "description": "Every committed write in commit order, to sync from."},
    {"name": "webhooks", "description": "The change feed pushed to partners' URLs, signed."},
    {"name": "audit", "description": "The append-only log of every change (admin keys)."},
    {"name": "operations", "description": "Probes and metrics for operators."},
]


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    async with open_database(settings) as engine:
        app.state.engine = engine
        app.state.sessionmaker = create_sessionmaker(engine)
        app.state.head_revision = migrations.head_revision()
        app.state.cursor_codec = CursorCodec(settings.resolve_secret_key())
        app.state.export_slots = asyncio.Semaphore(settings.max_concurrent_exports)
        app.state.import_queue = ImportQueue(settings.max_concurrent_imports)
        app.state.stream_slots = StreamSlots(settings.max_open_streams)
        await _purge_idempotency_keys(app, settings)
        direct_reads: DirectReads = app.state.direct_reads
        await direct_reads.start(engine, app.state.sessionmaker, connect_arguments(settings))
        try:
            async with listening(app.state.read_cache, engine, settings) as listener:
                app.state.change_listener = listener
                dispatcher = Dispatcher(_delivery_engine(engine, settings), listener, settings)
                app.state.webhook_sender = dispatcher.sender
                await dispatcher.start()
                _freeze_the_heap()
                try:
                    yield
                finally:
                    await dispatcher.stop()
                    flush_access_log()
        finally:
            await direct_reads.stop()


def _delivery_engine(engine: AsyncEngine, settings: Settings) -> AsyncEngine:
    """The webhook deliveries' own two connections, beside the request pool."""
    return create_async_engine(
        engine.url,
        pool_size=2,
        max_overflow=0,
        pool_timeout=settings.db_pool_timeout,
        pool_pre_ping=True,
        connect_args=connect_arguments(settings),
    )


_heap_frozen = False


def _freeze_the_heap() -> None:
    """Leave what start-up built (modules, the app, the schemas: most of the heap) out of
    the garbage collector's full passes, which otherwise walk all of it and stall every
    request in flight for tens of milliseconds (the p99 of a direct read: 76 ms before,
    11 to 16 ms after, at 16 connections). Once a process: the heap stays frozen for
    good, and an application started again in the same process (as the tests do, a
    thousand times) does not walk it all again with a full pass of its own."""
    global _heap_frozen
    if _heap_frozen:
        return
    gc.collect()
    gc.freeze()
    _heap_frozen = True


async def _purge_idempotency_keys(app: FastAPI, settings: Settings) -> None:
    try:
        async with app.state.sessionmaker.begin() as session:
            await idempotency.purge_expired(
                session, timedelta(hours=settings.idempotency_ttl_hours)
            )
    except (OperationalError, InterfaceError, OSError, DBAPIError):
        log.warning("could not purge expired idempotency keys", exc_info=True)


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema is not None:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        webhooks=app.webhooks.routes,
        tags=TAGS,
    )
    # The bearer scheme guards writes; public reads work without it.
    for path in schema["paths"].values():
        operation = path.get("get")
        if (
            operation
            and operation.get("operationId") != "list_audit_events"
            and "security" in operation
        ):
            operation["security"] = [{}, *operation["security"]]
    app.openapi_schema = schema
    return schema


class NetregistryAPI(FastAPI):
    """FastAPI with the edge (``kit/edge.py``) outside all of its middleware, its own
    included: what the edge answers by itself never enters the framework."""

    def build_middleware_stack(self) -> ASGIApp:
        settings: Settings = self.state.settings
        return Edge(
            super().build_middleware_stack(),
            cache=self.state.read_cache,
            direct=self.state.direct_reads,
            max_header_bytes=settings.max_header_bytes,
            cors_origins=settings.cors_origins,
        )


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the ASGI application for ``settings`` (default: from the environment)."""
    settings = settings or get_settings()
    configure_logging(settings.log_level, json=settings.log_json)
    read_cache = ReadCache(settings.read_cache_bytes, enabled=settings.read_cache)
    app = NetregistryAPI(
        # FastAPI's native OpenTelemetry is not used: off, it costs no look-up a request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
        title="netregistry",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        # A misspelt parameter first: repeated or not, it is not the one meant.
        dependencies=[Depends(known_query_parameters), Depends(single_valued_query)],
        docs_url=None,  # served by system/docs.py, with a Content-Security-Policy
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
        # A trailing slash is a 404 problem naming the path without it (kit/handlers.py),
        # not a bodiless 307 whose Location echoes the client's Host header.
        redirect_slashes=False,
        middleware=[
            Middleware(ErrorBoundaryMiddleware),
            Middleware(HeadMiddleware),
            Middleware(RequestLimitsMiddleware, max_bytes=settings.max_body_bytes),
            Middleware(TransactionMiddleware),
        ],
    )
    app.state.settings = settings
    app.state.read_cache = read_cache
    app.state.query_parameters = {}  # per route, by kit/query.known_query_parameters
    app.state.direct_reads = DirectReads(
        app,
        enabled=settings.direct_reads,
        pool_size=settings.db_pool_size,
        acquire_timeout=settings.db_pool_timeout,
    )
    app.state.write_limiter = WriteRateLimiter(settings.write_rate_limit, settings.redis_url)
    add_exception_handlers(app)
    app.include_router(system_router)
    app.include_router(docs_router)
    app.include_router(directory_router)
    for router in (
        networks_router,
        declarations_router,
        memberships_router,
        imports_router,
        roles_router,
        role_tenures_router,
        tenures_router,
        cities_router,
        organizations_router,
        member_router,
        lookup_router,
        changes_router,
        webhooks_router,
        exports_router,
        audit_router,
        reconcile_router,
    ):
        app.include_router(router)
    app.webhooks.include_router(webhook_payloads)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app
