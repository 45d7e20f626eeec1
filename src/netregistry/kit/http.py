"""Turning representations into HTTP responses: ETags, 304s, Link headers, caching."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Annotated, Any

import orjson
from fastapi import Header, Request, Response
from pydantic import BaseModel

from netregistry.errors import Problem
from netregistry.kit.etag import etag_of_bytes, none_match
from netregistry.kit.pagination import Page
from netregistry.kit.readcache import asks_for_geojson

JSON = "application/json"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

IfMatch = Annotated[
    str | None,
    Header(
        description="The ETag you last read; the write is refused with 412 if it changed since.",
        examples=['"3f2a9c0d5e8b7a6f1c4d2e0b9a8f7c6d"'],
    ),
]


def _cache_headers(request: Request) -> dict[str, str]:
    if "authorization" in request.headers:
        # What a key may read (the audit log) must never sit in a shared cache.
        return {"Cache-Control": "private, no-store"}
    return {"Cache-Control": f"public, max-age={request.app.state.settings.cache_max_age}"}


def represent(
    request: Request,
    body: BaseModel,
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """Serialise ``body`` with its ETag; answer 304 when the client already has it."""
    return represent_bytes(
        request, body.model_dump_json().encode(), status_code=status_code, headers=headers
    )


def represent_bytes(
    request: Request,
    content: bytes,
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
    media_type: str = JSON,
) -> Response:
    """Like :func:`represent`, for a representation already written as bytes (JSON
    unless ``media_type`` says otherwise)."""
    etag = etag_of_bytes(content)
    response_headers = {"ETag": etag, **(headers or {})}
    if request.method in ("GET", "HEAD"):
        response_headers.update(_cache_headers(request))
        if none_match(request.headers.get("if-none-match"), etag):
            return Response(status_code=304, headers=response_headers)
    return Response(
        content, status_code=status_code, media_type=media_type, headers=response_headers
    )


def created(request: Request, body: BaseModel, location: str) -> Response:
    """201 with the new resource and its ``Location``."""
    return represent(request, body, status_code=201, headers={"Location": location})


def represent_page(
    request: Request, page: Page[Any], *, headers: Mapping[str, str] | None = None
) -> Response:
    """A list page, with a ``Link: rel="next"`` header when there is more."""
    return represent(
        request, page, headers={**_next_link(request, page.next_cursor), **(headers or {})}
    )


def represent_page_bytes(
    request: Request,
    content: bytes,
    next_cursor: str | None,
    *,
    media_type: str = JSON,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """Like :func:`represent_page`, for a page already written as bytes."""
    return represent_bytes(
        request,
        content,
        headers={**(headers or {}), **_next_link(request, next_cursor)},
        media_type=media_type,
    )


def wants_geojson(accept: str | None) -> bool:
    """Whether an ``Accept`` header asks for GeoJSON (``application/geo+json``) and not
    for JSON before it (as kit/readcache.py decides for the cache)."""
    return asks_for_geojson(accept.encode("latin-1") if accept else None)


def _next_link(request: Request, next_cursor: str | None) -> dict[str, str]:
    if next_cursor is None:
        return {}
    return {"Link": next_link(request, cursor=next_cursor)}


def next_link(request: Request, **params: str) -> str:
    """A ``Link: rel="next"`` value: this request's path and query with ``params`` set.

    Never built from the ``Host`` header, which any client may choose: the reference is
    relative (RFC 8288 resolves it against the request's own URL) or, with
    ``NETREGISTRY_PUBLIC_URL`` set, absolute on that URL. So a cached answer is the same
    for every client and a spoofed ``Host`` is reflected nowhere.
    """
    query = request.url.include_query_params(**params).query
    base: str = request.app.state.settings.public_url or ""
    return f'<{base}{request.url.path}?{query}>; rel="next"'


def json_bytes(value: Any) -> bytes:
    """Plain values (dicts in field order, lists, strings, numbers, UUIDs, UTC
    timestamps) as the bytes ``model_dump_json`` writes for them: compact, UTF-8,
    timestamps in UTC with ``Z`` (tests/kit/test_cold_path.py holds the two equal)."""
    return orjson.dumps(value, default=_uuid_text, option=orjson.OPT_UTC_Z)


def _uuid_text(value: Any) -> str:
    # asyncpg's UUID subclasses uuid.UUID; orjson only knows uuid.UUID itself.
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def no_content() -> Response:
    return Response(status_code=204)


def problem_doc(description: str) -> dict[str, Any]:
    return {
        "model": Problem,
        "description": description,
        "content": {"application/problem+json": {}},
    }


_PROBLEMS = {
    400: "A malformed request: a forged cursor, or a body that is not UTF-8 text.",
    401: "No valid API key (missing, unknown or revoked).",
    403: "The API key may not do this.",
    404: "No such resource.",
    409: "The write breaks a registry rule; the detail names the record in the way.",
    412: "If-Match does not name the current representation.",
    413: "The request body exceeds the configured limit.",
    415: "The request body is not JSON (Content-Type: application/json).",
    422: (
        "Malformed JSON, invalid fields, or a query parameter this operation does not take "
        "(never ignored: the problem names it and the closest one it takes); `errors` "
        "names each."
    ),
    429: "The API key has used its write rate; `Retry-After` says when to retry.",
    431: "The request line and header fields exceed the configured limit.",
    503: "The database is unavailable.",
}

Responses = dict[int | str, dict[str, Any]]

WRITE_STATUSES = (400, 401, 403, 413, 415, 422, 429)


_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before retrying.",
        "schema": {"type": "integer", "minimum": 1},
    }
}


def problems(*statuses: int) -> Responses:
    """The problem responses an operation documents; every operation may answer 422, 431
    (oversized headers or URL) and 503."""
    responses: Responses = {
        status: problem_doc(_PROBLEMS[status]) for status in sorted({*statuses, 422, 431, 503})
    }
    for status in (429, 503):
        if status in responses:
            responses[status]["headers"] = dict(_RETRY_AFTER)
    return responses
