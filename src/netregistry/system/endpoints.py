"""Probes and metrics for operators."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy.exc import SQLAlchemyError

from netregistry.errors import ServiceUnavailable
from netregistry.kit.http import Responses, problem_doc
from netregistry.kit.metrics import exposition
from netregistry.migrations import current_revision

router = APIRouter(tags=["operations"])

# The probes and metrics take no query parameters, and refuse one as every operation does.
_NO_PARAMETERS: Responses = {
    422: problem_doc("A query parameter was given: this operation takes none.")
}


class Health(BaseModel):
    status: Literal["ok"] = Field(examples=["ok"])


class Readiness(BaseModel):
    status: Literal["ready"] = Field(examples=["ready"])
    schema_revision: str = Field(examples=["0001"])


@router.get(
    "/healthz",
    operation_id="healthz",
    summary="Liveness probe",
    response_model=Health,
    responses=_NO_PARAMETERS,
)
async def healthz() -> Health:
    """The process is up and answering. Does not touch the database."""
    return Health(status="ok")


@router.get(
    "/readyz",
    operation_id="readyz",
    summary="Readiness probe",
    response_model=Readiness,
    responses={
        **_NO_PARAMETERS,
        503: problem_doc("The database is unreachable or its schema is not current."),
    },
)
async def readyz(request: Request) -> Readiness:
    """Ready when the database answers and its schema is at the newest migration."""
    head = request.app.state.head_revision
    try:
        current = await current_revision(request.app.state.engine)
    except (SQLAlchemyError, OSError) as error:
        raise ServiceUnavailable("The database is unreachable.") from error
    if current != head:
        raise ServiceUnavailable(
            f"The database schema is at {current or 'nothing'}, the code expects {head}: "
            "run `netregistry migrate`."
        )
    return Readiness(status="ready", schema_revision=current)


@router.get(
    "/metrics",
    operation_id="metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={
        200: {"content": {"text/plain": {}}, "description": "Prometheus text format."},
        **_NO_PARAMETERS,
    },
)
async def metrics() -> Response:
    """Request counts and latencies by route and status, in the Prometheus text format."""
    content, media_type = exposition()
    return Response(content, media_type=media_type)
