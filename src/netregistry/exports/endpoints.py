from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from netregistry.auth.dependencies import authorize_write
from netregistry.errors import NotFound, ServiceUnavailable
from netregistry.exports.repository import ExportSnapshot, begin_snapshot
from netregistry.exports.service import MEDIA_TYPES, ExportRequest, Format, stream_export
from netregistry.kit.deps import OptionalAsOfDep
from netregistry.kit.http import problem_doc, problems
from netregistry.networks.endpoints import SlugPath

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


async def _streamed(request: Request, export: ExportRequest) -> StreamingResponse:
    # Each export holds a pooled connection while it streams: a few at a time, so that
    # exports cannot starve the requests that answer in milliseconds.
    slots: asyncio.Semaphore = request.app.state.export_slots
    if slots.locked():
        raise ServiceUnavailable(
            "Too many exports are streaming right now; retry in a minute.",
            retry_after=30,
        )
    await slots.acquire()
    try:
        snapshot = await begin_snapshot(request.app.state.engine, export.network, export.as_of)
    except BaseException:
        slots.release()
        raise
    try:
        if export.network is not None and not await snapshot.network_exists(export.network):
            raise NotFound(f"No network with slug {export.network!r}.")
    except BaseException:
        await snapshot.close()
        slots.release()
        raise
    return StreamingResponse(
        _closing(snapshot, export, slots),
        media_type=MEDIA_TYPES[export.format],
        headers={"Content-Disposition": f'attachment; filename="{export.filename()}"'},
    )


async def _closing(  # type: ignore[no-untyped-def]
    snapshot: ExportSnapshot, export: ExportRequest, slots: asyncio.Semaphore
):
    try:
        async for chunk in stream_export(snapshot, export):
            yield chunk
    finally:
        await snapshot.close()
        slots.release()


@router.get(
    "/v1/networks/{slug}/export",
    operation_id="export_network",
    summary="Export a network",
    response_class=StreamingResponse,
    responses=_RESPONSES,
)
async def export_network(
    request: Request, slug: SlugPath, as_of: OptionalAsOfDep, format: FormatQuery = "json"
) -> StreamingResponse:
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
) -> StreamingResponse:
    """Every network, member, membership, role and tenure, as one consistent snapshot."""
    return await _streamed(request, ExportRequest(format, None, as_of))
