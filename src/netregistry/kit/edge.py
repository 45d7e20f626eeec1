"""The edge: one pure-ASGI pass around the whole application, for every request.

In one look at the request's headers it takes the request id, the origin, the size of
the head and what the read cache needs; then it either answers by itself (a head too
large: 431; a CORS preflight; a public read the cache holds) or hands the request on.
On the way out it adds to every response, its own answers included, the request id, the
security headers and the CORS headers, then counts the request in the metrics and
writes its log line. It sits outside FastAPI's own middleware (see
:class:`netregistry.app.NetregistryAPI`), so a cached read costs a dictionary look-up
and two ``send`` calls, not a trip through the framework.

Inside it: request hygiene (error boundary, HEAD, body limits) in ``kit/hygiene.py``
and the unit of work (the transaction) in ``kit/unit_of_work.py``.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Sequence

import structlog
from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from netregistry.errors import BadRequest, HeadersTooLarge, render
from netregistry.kit.context import client_request_id_var, request_id_var
from netregistry.kit.direct import DirectReads
from netregistry.kit.logging import access_log
from netregistry.kit.metrics import UNMATCHED_ROUTE, observe_request
from netregistry.kit.readcache import ReadCache, ReadCacheFront

_SAFE_REQUEST_ID = re.compile(rb"^[A-Za-z0-9._:-]{1,100}$")

# JSON is not a page: it may load nothing and be framed by nobody. The docs pages
# (system/docs.py) send their own policy.
API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
_SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"content-security-policy", API_POLICY.encode()),
)


class _CORS(CORSMiddleware):
    """Starlette's CORS rules, used for their decisions only: the edge applies them."""

    def preflight_response(self, request_headers: Headers) -> Response:
        """A refused preflight is a problem document, with the CORS headers it had."""
        response = super().preflight_response(request_headers)
        if response.status_code < 400:
            return response
        refused = BadRequest(
            f"The CORS preflight was refused ({bytes(response.body).decode()}): "
            "cross-origin requests may only read."
        )
        problem = render(refused, instance=None, request_id=request_id_var.get())
        for name, value in response.headers.items():
            if name.startswith("access-control-") or name == "vary":
                problem.headers[name] = value
        return problem


class _RequestIds:
    """Random request ids (128 bits, hex) from the operating system's generator, read
    256 at a time: one system call for many requests, not one each."""

    BATCH = 256

    def __init__(self) -> None:
        self._pool = b""
        self._next = 0
        # A forked worker must not hand out the ids its parent had read.
        os.register_at_fork(after_in_child=self._forget)

    def _forget(self) -> None:
        self._pool, self._next = b"", 0

    def __call__(self) -> str:
        if self._next >= len(self._pool):
            self._pool, self._next = os.urandom(16 * self.BATCH), 0
        start, self._next = self._next, self._next + 16
        return self._pool[start : self._next].hex()


_request_id = _RequestIds()


def _route_template(scope: Scope) -> str:
    """The matched route's template (a fixed set), never the path a client sent."""
    route = scope.get("route")
    return getattr(route, "path", None) or UNMATCHED_ROUTE


class Edge:
    """Request id, head limit, CORS, the read cache, security headers, metrics and the
    request log line, in one pass (see the module's docstring)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        cache: ReadCache,
        direct: DirectReads,
        max_header_bytes: int,
        cors_origins: Sequence[str],
    ) -> None:
        self.app = app
        self.max_header_bytes = max_header_bytes
        self.front = ReadCacheFront(cache, direct)
        self.cors = _CORS(
            app,
            allow_origins=cors_origins,
            allow_methods=["GET", "HEAD", "OPTIONS"],
            allow_headers=["If-None-Match", "Accept"],
            expose_headers=["ETag", "Link", "X-Request-ID", "Retry-After"],
            max_age=3600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        method: str = scope["method"]
        incoming = origin = if_none_match = accept = None
        authorization = preflight = False
        size = len(scope.get("raw_path") or scope["path"].encode()) + len(scope["query_string"])
        for name, value in scope["headers"]:
            size += len(name) + len(value) + 4
            if name == b"if-none-match":
                if_none_match = value
            elif name == b"origin":
                origin = value
            elif name == b"authorization":
                authorization = True
            elif name == b"x-request-id":
                incoming = value
            elif name == b"access-control-request-method":
                preflight = True
            elif name == b"accept":
                accept = value
        # The server's own id names the request in the audit log, the logs and problem
        # documents; a client's id is kept beside it and echoed, never put in its place.
        request_id = _request_id()
        client_request_id = (
            incoming.decode() if incoming is not None and _SAFE_REQUEST_ID.match(incoming) else None
        )
        token = request_id_var.set(request_id)
        client_token = client_request_id_var.set(client_request_id)
        status = 500
        finishing = _HeaderFinisher(client_request_id or request_id, origin, self.cors)

        async def send_at_edge(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = finishing(message.get("headers") or [])
            await send(message)

        try:
            if size > self.max_header_bytes:
                too_large = HeadersTooLarge(
                    f"The request target and header fields exceed {self.max_header_bytes} bytes."
                )
                await render(too_large, instance=None, request_id=request_id)(
                    scope, receive, send_at_edge
                )
            elif preflight and origin is not None and method == "OPTIONS":
                response = self.cors.preflight_response(Headers(scope=scope))
                await response(scope, receive, send_at_edge)
            else:
                await self.front.handle(
                    self._inner,
                    scope,
                    receive,
                    send_at_edge,
                    authorization=authorization,
                    if_none_match=if_none_match,
                    accept=accept,
                )
        finally:
            elapsed = time.perf_counter() - started
            route = _route_template(scope)
            observe_request(method, route, status, elapsed)
            access_log(method, scope["path"], route, status, elapsed, request_id)
            client_request_id_var.reset(client_token)
            request_id_var.reset(token)

    async def _inner(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The application, with the request id bound to every log line it writes."""
        client_request_id = client_request_id_var.get()
        structlog.contextvars.bind_contextvars(
            request_id=request_id_var.get(),
            **({"client_request_id": client_request_id} if client_request_id else {}),
        )
        try:
            await self.app(scope, receive, send)
        finally:
            structlog.contextvars.unbind_contextvars("request_id", "client_request_id")


class _HeaderFinisher:
    """Adds the edge's headers to one response's (in one pass over them): the request id
    (the client's own when it sent a safe one, else the server's),
    the security headers the response did not set itself, and CORS as Starlette decides
    it (with an origin, its simple headers; an explicit origin when only some are
    allowed; ``Vary: Origin`` always)."""

    __slots__ = ("allow_origin", "request_id", "simple")

    def __init__(self, request_id: str, origin: bytes | None, cors: _CORS) -> None:
        self.request_id = request_id.encode()
        self.simple: list[tuple[bytes, bytes]] = []
        self.allow_origin: bytes | None = None
        if origin is not None:
            self.simple = [
                (name.lower().encode(), value.encode())
                for name, value in cors.simple_headers.items()
            ]
            explicit = (cors.allow_all_origins and cors.allow_credentials) or (
                not cors.allow_all_origins and cors.is_allowed_origin(origin.decode("latin-1"))
            )
            if explicit:
                self.allow_origin = origin

    def __call__(self, headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        replaced = {b"x-request-id", b"vary", *(name for name, _ in self.simple)}
        if self.allow_origin is not None:
            replaced.add(b"access-control-allow-origin")
        finished: list[tuple[bytes, bytes]] = []
        varies: list[bytes] = []
        present: set[bytes] = set()
        for name, value in headers:
            lower = name.lower()
            if lower == b"vary":
                varies.append(value)
            elif lower not in replaced:
                present.add(lower)
                finished.append((name, value))
        finished.append((b"x-request-id", self.request_id))
        finished.extend(header for header in _SECURITY_HEADERS if header[0] not in present)
        finished.extend(self.simple)
        if self.allow_origin is not None:
            finished.append((b"access-control-allow-origin", self.allow_origin))
        finished.append((b"vary", b", ".join([*varies, b"Origin"])))
        return finished
