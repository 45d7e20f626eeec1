"""The export routes, HTTP only: the slot pool, the headers, and a streamed response that
closes its export however the send ends. The lifecycle itself is ``exports/lifecycle.py``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from netregistry.auth.dependencies import authorize_write
from netregistry.exports.lifecycle import ExportRun, begin_export
from netregistry.exports.service import MEDIA_TYPES, ExportRequest, Format
from netregistry.kit.deps import OptionalAsOfDep
from netregistry.kit.http import problem_doc, problems
from netregistry.registry.paths import SlugPath

router = APIRouter(tags=["exports"], dependencies=[Depends(authorize_write)])

FormatQuery = Annotated[
    Format, Query(description="json (one document), ndjson (a record per line), csv (a zip).")
]

_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": (
            "The export, streamed. JSON follows openapi/export.schema.json; NDJSON has the same "
            "records one per line with a `type`; CSV is a zip of one file per record type "
            "with a Frictionless `datapackage.json`."
        ),
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "application/x-ndjson": {},
            "application/zip": {},
        },
    },
    **problems(404),
    503: problem_doc("Too many exports are streaming; retry after `Retry-After` seconds."),
}


class ExportResponse(StreamingResponse):
    """A streamed export that owns its run: its snapshot and its export slot.

    The run is closed in a ``finally`` around the whole send, whichever way it ends:
    complete, the client gone after any number of bytes, HEAD, an error while streaming,
    or a body never iterated at all.
    """

    def __init__(self, run: ExportRun) -> None:
        export = run.request
        super().__init__(
            run.chunks(),
            media_type=MEDIA_TYPES[export.format],
            headers={"Content-Disposition": f'attachment; filename="{export.filename()}"'},
        )
        self._run = run

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self._run.close()


async def _streamed(request: Request, export: ExportRequest) -> ExportResponse:
    # Each export holds a pooled connection while it streams: a few at a time, so that
    # exports cannot starve the requests that answer in milliseconds.
    run = await begin_export(request.app.state.engine, export, slots=request.app.state.export_slots)
    try:
        return ExportResponse(run)  # from here the response owns the run
    except BaseException:
        await run.close()
        raise


@router.get(
    "/v1/networks/{slug}/export",
    operation_id="export_network",
    summary="Export a network",
    response_class=StreamingResponse,
    responses=_RESPONSES,
)
async def export_network(
    request: Request, slug: SlugPath, as_of: OptionalAsOfDep, format: FormatQuery = "json"
) -> ExportResponse:
    """One network with its roles, memberships, tenures and members, as one consistent
    snapshot: the full history, or the state on `as_of`."""
    return await _streamed(request, ExportRequest(format, slug, as_of))


@router.get(
    "/v1/export",
    operation_id="export_registry",
    summary="Export the registry",
    response_class=StreamingResponse,
    responses=_RESPONSES,
)
async def export_registry(
    request: Request, as_of: OptionalAsOfDep, format: FormatQuery = "json"
) -> ExportResponse:
    """Every network, member, membership, role and tenure, as one consistent snapshot."""
    return await _streamed(request, ExportRequest(format, None, as_of))
