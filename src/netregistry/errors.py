"""Domain errors and their one rendering: RFC 9457 problem details.

Every expected failure is a :class:`NetregistryError` subclass with a fixed status and
problem type. Services and repositories raise them; nothing else in the code base
builds an error response.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import JSONResponse

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_PREFIX = "urn:netregistry:problem:"


class FieldError(BaseModel):
    """One invalid field of a request."""

    location: list[str | int] = Field(examples=[["body", "category"]])
    message: str = Field(
        examples=[
            'use lowercase letters, digits, hyphens or underscores, e.g. full-member (got "Full '
            'member")'
        ]
    )
    type: str = Field(examples=["string_pattern_mismatch"])


class Problem(BaseModel):
    """An RFC 9457 problem details document."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(examples=["urn:netregistry:problem:not-found"])
    title: str = Field(examples=["Not found"])
    status: int = Field(examples=[404])
    detail: str = Field(examples=["No network with slug 'citynet'."])
    instance: str | None = Field(default=None, examples=["/v1/networks/citynet"])
    request_id: str | None = Field(default=None, examples=["5f0c6a9e2b8e4f3c9d1a7b6e4c2d8f10"])
    errors: list[FieldError] | None = Field(
        default=None,
        description="The invalid fields, at most the first 50 (`total_errors` counts them all).",
    )
    total_errors: int | None = Field(
        default=None,
        description="How many problems validation found; `errors` lists at most the first 50.",
        examples=[1],
    )


class NetregistryError(Exception):
    """Base class of every expected failure."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal-error"
    title: ClassVar[str] = "Internal server error"

    def __init__(self, detail: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers or {}

    def extra(self) -> dict[str, Any]:
        """Additional members of the problem document."""
        return {}


class BadRequest(NetregistryError):
    """The request is malformed in a way validation cannot name a field for."""

    status = 400
    code = "bad-request"
    title = "Bad request"


class InvalidCursor(BadRequest):
    """A pagination cursor was not issued by this service for this list."""

    code = "invalid-cursor"
    title = "Invalid cursor"


class Unauthorized(NetregistryError):
    """No valid API key was presented for a write."""

    status = 401
    code = "unauthorized"
    title = "Unauthorized"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer realm="netregistry"'})


class Forbidden(NetregistryError):
    """The API key is valid but does not grant this write."""

    status = 403
    code = "forbidden"
    title = "Forbidden"


class NotFound(NetregistryError):
    """The addressed resource does not exist."""

    status = 404
    code = "not-found"
    title = "Not found"


class Conflict(NetregistryError):
    """The write would break a rule of the registry; the detail names the record in the way."""

    status = 409
    code = "conflict"
    title = "Conflict"


class IdempotencyKeyInUse(Conflict):
    """A request with the same ``Idempotency-Key`` is still running."""

    code = "idempotency-key-in-use"
    title = "Idempotency key in use"

    def __init__(self) -> None:
        super().__init__(
            "A request with this Idempotency-Key is still being processed; retry shortly.",
            headers={"Retry-After": "1"},
        )


class PreconditionFailed(NetregistryError):
    """``If-Match`` named a representation that is no longer current."""

    status = 412
    code = "precondition-failed"
    title = "Precondition failed"


class PayloadTooLarge(NetregistryError):
    """The request body exceeds the configured limit."""

    status = 413
    code = "payload-too-large"
    title = "Payload too large"


class UnsupportedMediaType(NetregistryError):
    """The request body is not JSON."""

    status = 415
    code = "unsupported-media-type"
    title = "Unsupported media type"


class ValidationFailed(NetregistryError):
    """The request is well-formed but some fields are invalid."""

    status = 422
    code = "validation-failed"
    title = "Validation failed"

    def __init__(self, detail: str, errors: Sequence[FieldError] = ()) -> None:
        super().__init__(detail)
        self.errors = list(errors)

    def extra(self) -> dict[str, Any]:
        return {"errors": [error.model_dump() for error in self.errors]}


def invalid(field: str, message: str, *, type: str = "value_error") -> ValidationFailed:
    """One invalid field of the request body; ``type`` names the rule it breaks where a
    client may tell it apart (a rule against stored data, which a schema cannot state)."""
    return ValidationFailed(
        f"{field}: {message}",
        [FieldError(location=["body", field], message=message, type=type)],
    )


def unknown_member(member_id: object) -> ValidationFailed:
    """A body naming a member (``member_id``) that does not exist."""
    return invalid(
        "member_id", f"no city or organization with id {member_id}", type="unknown_member"
    )


class IdempotencyKeyReused(ValidationFailed):
    """An ``Idempotency-Key`` was sent again with a different request."""

    code = "idempotency-key-reused"
    title = "Idempotency key reused"


class HeadersTooLarge(NetregistryError):
    """The request's header fields exceed the configured limit."""

    status = 431
    code = "headers-too-large"
    title = "Request header fields too large"


class RateLimited(NetregistryError):
    """The API key has sent more writes than its rate allows; ``Retry-After`` says when
    the next one will be accepted."""

    status = 429
    code = "rate-limited"
    title = "Too many requests"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)})


class ServiceUnavailable(NetregistryError):
    """The database cannot be reached or the schema is not current."""

    status = 503
    code = "service-unavailable"
    title = "Service unavailable"

    def __init__(self, detail: str, *, retry_after: int = 1) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)})


class CommitOutcomeUnknown(ServiceUnavailable):
    """The database stopped answering during the commit of a write, which may or may
    not have been saved. Only a retry with the same ``Idempotency-Key`` is safe, so
    ``Retry-After`` is sent only to a request that had one."""

    code = "commit-outcome-unknown"
    title = "Commit outcome unknown"

    def __init__(self, *, retry_after: int | None) -> None:
        NetregistryError.__init__(
            self,
            "The database stopped answering during the commit: the change may or may not "
            "have been saved. Read it back before writing it again, or retry with the same "
            "Idempotency-Key.",
            headers={"Retry-After": str(retry_after)} if retry_after else None,
        )


class CommitFailed(NetregistryError):
    """The database refused to commit a change that was otherwise complete."""

    status = 500
    code = "commit-failed"
    title = "Commit failed"


def problem_response(
    status: int,
    code: str,
    title: str,
    detail: str,
    *,
    instance: str | None,
    request_id: str | None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    """The one place a problem document is built."""
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_PREFIX + code,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
        "request_id": request_id,
        **(extra or {}),
    }
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_MEDIA_TYPE)


def render(
    error: NetregistryError, *, instance: str | None, request_id: str | None
) -> JSONResponse:
    """Render a domain error as problem details."""
    return problem_response(
        error.status,
        error.code,
        error.title,
        error.detail,
        instance=instance,
        request_id=request_id,
        headers=error.headers,
        extra=error.extra(),
    )


class RequestTimeout(NetregistryError):
    """The request body arrived slower than the configured minimum rate."""

    status = 408
    code = "request-timeout"
    title = "Request timeout"


class TooManyConnections(ServiceUnavailable):
    """The process holds as many connections as it may; a new one is refused."""

    code = "too-many-connections"
    title = "Too many connections"


MAX_LISTED_ERRORS = 50
"""A validation problem lists at most this many fields: its size must not grow with
the request's (90,000 unknown keys are one line of detail, not 9 MB)."""


class RequestInvalid(ValidationFailed):
    """The request failed validation; ``errors`` lists the first problems, at most
    :data:`MAX_LISTED_ERRORS`, and ``total_errors`` counts them all."""

    def __init__(self, detail: str, errors: Sequence[FieldError], *, total: int) -> None:
        super().__init__(detail, list(errors)[:MAX_LISTED_ERRORS])
        self.total = total

    def extra(self) -> dict[str, Any]:
        return {**super().extra(), "total_errors": self.total}


class TooManyStreams(ServiceUnavailable):
    """The process holds as many open change streams as it may; a new one is refused."""

    code = "too-many-streams"
    title = "Too many open streams"
