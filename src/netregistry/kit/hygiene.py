"""Request hygiene: what a request must be before any work starts, and the last resort
when work fails unseen.

Inside the edge (``kit/edge.py``), outermost first:

1. :class:`ErrorBoundaryMiddleware`: the last-resort 500 problem (the traceback goes to
   the log only); the edge adds the CORS headers so that a browser can read it.
2. :class:`HeadMiddleware`: HEAD answered as GET without the body.
3. :class:`RequestLimitsMiddleware`: a body over the limit a 413, one too slow a 408,
   one that is not JSON (or, for a CSV import, not CSV) or declares a charset other than
   UTF-8 a 415, JSON that is not UTF-8 or names a key twice in one object a 422, before
   any work (the head's size is the edge's: 431). The body it has read is kept in the
   scope's state for the Idempotency-Key fingerprint.

Inside them runs the unit of work (``kit/unit_of_work.py``), then the routes.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import structlog
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from netregistry.config import Settings
from netregistry.errors import (
    FieldError,
    PayloadTooLarge,
    RequestTimeout,
    UnsupportedMediaType,
    ValidationFailed,
    problem_response,
    render,
)
from netregistry.kit.context import request_id_var

log = structlog.get_logger("netregistry.http")

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class HeadMiddleware:
    """HEAD is GET without the body (RFC 9110 9.3.2), for every GET route."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        inner = {**scope, "method": "GET"}
        try:
            await self.app(inner, receive, send_headers_only)
        finally:
            if "route" in inner:  # the matched template, for the metrics and the log line
                scope["route"] = inner["route"]


class ErrorBoundaryMiddleware:
    """The last resort: an exception nobody handled is logged with its traceback and
    answered with a 500 problem that carries only the request id."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        response_started = False

        async def watch(message: Message) -> None:
            nonlocal response_started
            response_started = response_started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception:
            log.exception("unhandled exception", method=scope["method"], path=scope["path"])
            if not response_started:
                response = problem_response(
                    500,
                    "internal-error",
                    "Internal server error",
                    "An unexpected error occurred. Quote the request id when reporting it.",
                    instance=scope["path"],
                    request_id=request_id_var.get(),
                )
                await response(scope, receive, send)


async def read_body(receive: Receive, limit: int, *, grace: float, min_rate: float) -> bytes:
    """The whole request body: :class:`PayloadTooLarge` past ``limit`` bytes, and
    :class:`RequestTimeout` if it arrives slower than ``min_rate`` bytes a second after
    ``grace`` seconds (by then ``n`` bytes may take ``grace + n / min_rate`` seconds)."""
    started = asyncio.get_running_loop().time()
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        try:
            async with asyncio.timeout_at(started + grace + size / min_rate):
                message = await receive()
        except TimeoutError:
            raise RequestTimeout(
                f"The request body arrived slower than {min_rate:g} bytes a second."
            ) from None
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"The request body exceeds the limit of {limit} bytes.")
        chunks.append(chunk)
        more = message.get("more_body", False)
    return b"".join(chunks)


def replaying(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands ``body`` over once, then defers to the real one."""
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def _is_json(content_type: str) -> bool:
    media_type = _media_type(content_type)
    return media_type == "application/json" or media_type.endswith("+json")


# Secretariats keep member lists in spreadsheets: these paths take CSV, and only CSV.
CSV_PATH_SUFFIX = "/memberships:import"


# OpenRefine sends reconciliation queries as a form (``queries=<JSON>``).
FORM_PATHS = frozenset({"/v1/reconcile"})
FORM = "application/x-www-form-urlencoded"


# The charsets a body may declare: UTF-8 (RFC 8259 8.1 for JSON; the CSV import reads
# UTF-8 only), and US-ASCII, which is UTF-8 too. No charset at all means UTF-8.
UTF8_CHARSETS = frozenset({"utf-8", "utf8", "us-ascii"})


def _charset(content_type: str) -> str | None:
    """The ``charset`` parameter of ``content_type``, lower-case, or ``None``."""
    for parameter in content_type.split(";")[1:]:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip('"').lower()
    return None


def _unsupported(path: str, content_type: str) -> UnsupportedMediaType | None:
    """Why a body with ``content_type`` is refused on ``path``, or ``None``."""
    got = f"(got {content_type[:100] or 'none'!r})"
    if path.endswith(CSV_PATH_SUFFIX):
        if _media_type(content_type) != "text/csv":
            return UnsupportedMediaType(f"A member list is CSV: send Content-Type: text/csv {got}.")
        what, fix = "A member list is UTF-8 text", "Save the spreadsheet as CSV UTF-8"
    elif path in FORM_PATHS:
        if _media_type(content_type) != FORM:
            return UnsupportedMediaType(
                f"Reconciliation queries are a form: send Content-Type: {FORM} {got}."
            )
        what, fix = "A form is UTF-8", "Send the form as UTF-8"
    elif _is_json(content_type):
        what, fix = "JSON is UTF-8", "Send the body as UTF-8 with Content-Type: application/json"
    else:
        return UnsupportedMediaType(
            f"Request bodies are JSON: send Content-Type: application/json {got}."
        )
    charset = _charset(content_type)
    if charset is None or charset in UTF8_CHARSETS:
        return None
    return UnsupportedMediaType(f"{what}; got charset {charset[:40]!r}. {fix}.")


def _require_utf8(body: bytes) -> None:
    """JSON between systems is UTF-8 (RFC 8259 8.1); other bytes are malformed JSON."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValidationFailed(
            "The request body is not valid JSON: it is not UTF-8.",
            [
                FieldError(
                    location=["body", error.start],
                    message=f"Invalid UTF-8 at byte {error.start}.",
                    type="json_invalid",
                )
            ],
        ) from None


class _DuplicateKeys(dict[str, Any]):
    """A JSON object that named a key more than once (the parse keeps the last value)."""

    repeated: str  # the first key named again

    def __init__(self, pairs: list[tuple[str, Any]]) -> None:
        super().__init__(pairs)
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                self.repeated = key
                break
            seen.add(key)


def _first_duplicate(document: Any) -> list[str | int] | None:
    """The location of the first key named twice in one object of ``document`` (in
    document order), or ``None``. A walk without recursion: the document may be as deep
    as the parser allows."""
    pending: list[tuple[Any, list[str | int]]] = [(document, ["body"])]
    while pending:
        value, location = pending.pop()
        if isinstance(value, _DuplicateKeys):
            return [*location, value.repeated]
        if isinstance(value, dict):
            children: list[tuple[Any, list[str | int]]] = [
                (item, [*location, key]) for key, item in value.items()
            ]
        elif isinstance(value, list):
            children = [(item, [*location, index]) for index, item in enumerate(value)]
        else:
            continue
        pending.extend(reversed(children))
    return None


def _refuse_duplicate_keys(body: bytes) -> None:
    """A JSON object that names a key twice is ambiguous (RFC 8259 4: "names within an
    object SHOULD be unique"), and parsers disagree on which value wins: refuse it, where
    FastAPI's parse would silently keep the last one. A body that is not JSON at all is
    left to FastAPI's parse, which explains it."""
    repeated = False

    def pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal repeated
        found = dict(pairs)
        if len(found) == len(pairs):
            return found
        repeated = True
        return _DuplicateKeys(pairs)

    try:
        document = json.loads(body, object_pairs_hook=pairs_hook)
    except (ValueError, RecursionError):
        return
    location = _first_duplicate(document) if repeated else None
    if location is None:
        return
    key = json.dumps(location[-1], ensure_ascii=False)[:100]
    raise ValidationFailed(
        f"The request body names {key} twice in one object: send each field once.",
        [
            FieldError(
                location=location,
                message=f"{key} is given more than once in this object: send it once",
                type="json_duplicate_key",
            )
        ],
    )


class RequestLimitsMiddleware:
    """Refuse bodies over ``max_bytes`` with 413 (by header or by counting), bodies slower than the
    settings' ``request_body_min_rate`` with 408, bodies that are not JSON (not CSV on an
    import path) or declare a charset other than UTF-8 with 415, and JSON that is not
    UTF-8 or names a key twice in one object with 422."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        try:
            declared = int(Headers(scope=scope).get("content-length", "0"))
        except ValueError:
            declared = 0
        try:
            if declared > self.max_bytes:
                raise PayloadTooLarge(
                    f"The request body exceeds the limit of {self.max_bytes} bytes."
                )
            settings: Settings = scope["app"].state.settings
            body = await read_body(
                receive,
                self.max_bytes,
                # The same grace as the head's: a body may start as late as a head may end.
                grace=settings.request_head_timeout,
                min_rate=settings.request_body_min_rate,
            )
            content_type = Headers(scope=scope).get("content-type", "")
            if body and (refusal := _unsupported(scope["path"], content_type)):
                raise refusal
            if body and _is_json(content_type):
                _require_utf8(body)
                _refuse_duplicate_keys(body)
        except (PayloadTooLarge, RequestTimeout, UnsupportedMediaType, ValidationFailed) as error:
            response = render(error, instance=scope["path"], request_id=request_id_var.get())
            response.headers["Connection"] = "close"
            await response(scope, receive, send)
            return
        scope.setdefault("state", {})["body"] = body
        await self.app(scope, replaying(body, receive), send)
