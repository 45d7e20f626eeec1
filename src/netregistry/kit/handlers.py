"""The exception handlers: every error a route raises, answered as an RFC 9457 problem.

Domain errors (``errors.py``), FastAPI's request validation, Starlette's HTTP errors (404,
405 with a full ``Allow``) and the database failures a request caused by its content or
its timing. They run inside the unit of work (``kit/unit_of_work.py``), so a handled
error rolls the request's transaction back; what no handler takes reaches the error
boundary (``kit/hygiene.py``) as a logged 500.
"""

from __future__ import annotations

from itertools import islice

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from netregistry.errors import (
    MAX_LISTED_ERRORS,
    FieldError,
    NetregistryError,
    RequestInvalid,
    ValidationFailed,
    problem_response,
    render,
)
from netregistry.kit.context import current_request_id
from netregistry.kit.integrity import database_problem
from netregistry.kit.messages import officer_message

log = structlog.get_logger("netregistry")

_HTTP_CODES = {
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    406: ("not-acceptable", "Not acceptable"),
    415: ("unsupported-media-type", "Unsupported media type"),
}


_UNPARSABLE_BODY = "There was an error parsing the body"


def _instance(request: Request) -> str:
    return request.url.path


async def _domain_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, NetregistryError)
    return render(error, instance=_instance(request), request_id=current_request_id())


async def _validation_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    # A body of 90,000 unknown keys has 90,000 errors: list the first few and count the
    # rest, so that neither the answer nor the work to build it grows with the request.
    found = error.errors()
    listed = [
        FieldError(
            location=[str(part) if not isinstance(part, int) else part for part in item["loc"]],
            message=officer_message(item)[:500],
            type=item["type"],
        )
        for item in islice(found, MAX_LISTED_ERRORS)
    ]
    if any(item.type == "json_invalid" for item in listed):
        detail = "The request body is not valid JSON."
    else:
        detail = "; ".join(
            f"{'.'.join(str(part) for part in item.location)}: {item.message}" for item in listed
        )
        if len(found) > len(listed):
            detail = f"{len(found)} problems, the first {len(listed)}: {detail}"
    return render(
        RequestInvalid(detail[:2000], listed, total=len(found)),
        instance=_instance(request),
        request_id=current_request_id(),
    )


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    if error.status_code == 400 and error.detail == _UNPARSABLE_BODY:
        # FastAPI's answer to a JSON body its parser gave up on (nested too deep).
        malformed = ValidationFailed(
            "The request body is not valid JSON.",
            [FieldError(location=["body"], message=str(error.detail), type="json_invalid")],
        )
        return render(malformed, instance=_instance(request), request_id=current_request_id())
    code, title = _HTTP_CODES.get(error.status_code, ("http-error", "HTTP error"))
    detail = {
        404: _not_found(request),
        405: f"{request.method} is not allowed on {request.url.path}.",
    }.get(error.status_code, str(error.detail))
    headers = dict(error.headers or {})
    if error.status_code == 405:
        headers["Allow"] = ", ".join(_allowed_methods(request))
    return problem_response(
        error.status_code,
        code,
        title,
        detail,
        instance=_instance(request),
        request_id=current_request_id(),
        headers=headers,
    )


def _not_found(request: Request) -> str:
    """What a 404 says: for a path that exists without its trailing slash, that path."""
    path = request.url.path
    bare = path.rstrip("/")
    if bare and bare != path:
        scope = {**request.scope, "path": bare}
        if any(route.matches(scope)[0] != Match.NONE for route in request.app.router.routes):
            return f"Nothing at {path}: paths have no trailing slash; use {bare}."
    return f"Nothing at {path}."


def _allowed_methods(request: Request) -> list[str]:
    # Starlette's 405 names only the first route on the path; Allow must name them all.
    return [
        method
        for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
        if any(
            route.matches({**request.scope, "method": method})[0] == Match.FULL
            for route in request.app.router.routes
        )
    ]


async def _database_error(request: Request, error: Exception) -> JSONResponse:
    """A database failure the request caused by its content or its timing (see
    :func:`integrity.database_problem`); anything else is re-raised as a logged 500."""
    problem = database_problem(error)
    if problem is None:
        raise error
    log.warning("database refused the request", problem=problem.code, error=type(error).__name__)
    return render(problem, instance=_instance(request), request_id=current_request_id())


def add_exception_handlers(app: FastAPI) -> None:
    """Register the handlers on ``app``."""
    app.add_exception_handler(NetregistryError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    for error in (DBAPIError, PoolTimeout, ConnectionError, OSError):
        app.add_exception_handler(error, _database_error)
