"""How uvicorn serves the application: protocol, bounds on connections and request heads.

uvicorn already bounds an idle keep-alive connection (``timeout_keep_alive``) and the
bytes of an incomplete request head (``h11_max_incomplete_event_size``). Two bounds it
lacks are added by :class:`ConnectionBounds`, a small mixin on its HTTP protocols:

- **A deadline for each request head.** uvicorn's keep-alive timer restarts on every
  byte received, and none runs before the first request, so a client sending nothing,
  or a header line now and then, held its connection for ever. The head must now be
  complete within ``request_head_timeout`` of the connection's accept or of the
  previous response, or the connection is closed.
- **A ceiling on open connections.** Past ``max_connections`` in this process a new
  connection gets a fixed ``503`` problem document and is closed at once, so its file
  descriptor is back before the next accept. uvicorn's ``limit_concurrency`` is not
  used: it counts idle connections too and then answers ``503`` to every request,
  ``/healthz`` on connections already open included, until the idle ones go away.

The body's pace is the application's to bound (``RequestLimitsMiddleware``: ``408``).

A graceful shutdown waits for every response in flight, and a change stream never ends
by itself: :func:`when_draining` tells the streams when uvicorn starts shutting down, so
they end their responses and the shutdown completes.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable
from typing import Any, ClassVar

import httptools
from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from netregistry.config import Settings
from netregistry.errors import TooManyConnections, render
from netregistry.kit.edge import API_POLICY

log = logging.getLogger("netregistry.http")

# Files a process holds besides its client connections: the database pool, the
# listening socket, logs, the embedded server's pipes, imports and exports in flight.
_OTHER_FILES = 128


def _refusal() -> bytes:
    """The whole HTTP response a connection past the ceiling gets before it is closed."""
    problem = render(
        TooManyConnections("The server has too many open connections; retry shortly."),
        instance=None,
        request_id=None,
    )
    headers = [
        *problem.raw_headers,
        (b"connection", b"close"),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"content-security-policy", API_POLICY.encode()),
    ]
    head = b"HTTP/1.1 503 Service Unavailable\r\n"
    head += b"".join(name + b": " + value + b"\r\n" for name, value in headers)
    return head + b"\r\n" + bytes(problem.body)


_drain_callbacks: set[Callable[[], None]] = set()


def when_draining(callback: Callable[[], None]) -> Callable[[], None]:
    """Call ``callback`` once this process's server begins a graceful shutdown (asks its
    connections to finish); returns what forgets it. Never called in-process (tests'
    ASGI transport), where no server shuts down."""
    _drain_callbacks.add(callback)
    return lambda: _drain_callbacks.discard(callback)


def _drain() -> None:
    for callback in list(_drain_callbacks):
        _drain_callbacks.discard(callback)
        callback()


class ConnectionBounds(asyncio.Protocol):
    """A request-head deadline and a connection ceiling for one of uvicorn's HTTP
    protocols (mixed in before it).

    It relies on what uvicorn's h11 and httptools protocols share, pinned by
    ``tests/reliability/test_connections.py``: ``connection_made``, ``connection_lost``
    and ``on_response_complete`` (called once a response is sent); ``transport``,
    ``loop``, the process-wide ``connections`` set; and ``cycle``, a new object for
    every request whose head is complete, with ``response_complete``.
    """

    REFUSAL: ClassVar[bytes] = _refusal()
    _last_refusal_logged: ClassVar[float] = float("-inf")

    # Set by the protocol this is mixed into.
    transport: asyncio.Transport
    loop: asyncio.AbstractEventLoop
    connections: set[Any]
    cycle: Any

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        *,
        head_timeout: float,
        max_connections: int,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)  # type: ignore[call-arg]
        self.head_timeout = head_timeout
        self.max_connections = max_connections
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.max_connections:
            self._refuse()
            return
        self._await_head()

    def on_response_complete(self) -> None:
        super().on_response_complete()  # type: ignore[misc]
        if not self.transport.is_closing():
            self._await_head()

    def shutdown(self) -> None:
        """uvicorn's graceful shutdown of this connection: long responses (change
        streams) are told to end first."""
        _drain()
        super().shutdown()  # type: ignore[misc]

    def connection_lost(self, exc: Exception | None) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
        super().connection_lost(exc)

    def _await_head(self) -> None:
        """Close the connection unless a new request head completes in time."""
        if self._head_timer is not None:
            self._head_timer.cancel()
        self._head_timer = self.loop.call_later(self.head_timeout, self._head_timed_out, self.cycle)

    def _head_timed_out(self, awaited: Any) -> None:
        # Still the cycle the timer was armed after, and answered (a pipelined one may
        # be running): no head has completed since.
        idle = awaited is None or awaited.response_complete
        if self.cycle is awaited and idle and not self.transport.is_closing():
            self.transport.close()

    def _refuse(self) -> None:
        self.transport.write(self.REFUSAL)
        self.transport.close()
        now = time.monotonic()
        if now - ConnectionBounds._last_refusal_logged > 10:
            ConnectionBounds._last_refusal_logged = now
            log.warning(
                "connection limit reached: refusing new connections",
                extra={"max_connections": self.max_connections},
            )


class BoundedH11Protocol(ConnectionBounds, H11Protocol):
    """uvicorn's h11 protocol with :class:`ConnectionBounds`."""


class BoundedHttpToolsProtocol(ConnectionBounds, HttpToolsProtocol):
    """uvicorn's httptools protocol (the one that serves) with :class:`ConnectionBounds`,
    and a bound on the bytes of a request head, which h11 has of its own
    (``h11_max_incomplete_event_size``) and httptools lacks: past ``head_limit`` the
    head is refused with uvicorn's ``400`` and the connection closed."""

    def __init__(self, *args: Any, head_limit: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.head_limit = head_limit
        self._head_bytes = 0

    def on_message_begin(self) -> None:
        self._head_bytes = 0
        super().on_message_begin()

    def on_url(self, url: bytes) -> None:
        self._count_head(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count_head(len(name) + len(value) + 4)
        super().on_header(name, value)

    def _count_head(self, size: int) -> None:
        self._head_bytes += size
        if self._head_bytes > self.head_limit:
            # Raised inside the parser's callback: uvicorn answers 400 and closes.
            raise httptools.HttpParserError("request head too large")


def ensure_open_files(settings: Settings) -> None:
    """Raise the soft limit on open files so that ``max_connections`` fit: at that limit
    ``accept()`` fails and the event loop stops accepting, logging each failure."""
    try:
        import resource
    except ImportError:  # not a POSIX system
        return
    needed = settings.max_connections + settings.db_pool_size + settings.db_max_overflow
    needed += _OTHER_FILES
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return
    target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError):
        target = soft
    if target < needed:
        log.warning(
            "NETREGISTRY_MAX_CONNECTIONS=%d needs about %d open files, the process may "
            "open %d: lower it or raise the limit (ulimit -n)",
            settings.max_connections,
            needed,
            target,
        )


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """The keyword arguments of ``uvicorn.Config`` that every ``serve`` uses (and the
    open-files limit those bounds need)."""
    ensure_open_files(settings)
    return {
        "log_config": None,
        # The edge writes the request lines (kit/logging.py); uvicorn's would be a second.
        "access_log": False,
        "loop": "uvloop",
        # A partial of a module-level class: --workers pickles the config for each worker.
        "http": functools.partial(
            BoundedHttpToolsProtocol,
            head_timeout=settings.request_head_timeout,
            max_connections=settings.max_connections,
            # The connection's own bound on the request head; the app answers 431 below it.
            head_limit=settings.max_header_bytes + 8192,
        ),
        "ws": "none",  # the service has no WebSocket routes
        "timeout_keep_alive": settings.keep_alive_timeout,
    }
