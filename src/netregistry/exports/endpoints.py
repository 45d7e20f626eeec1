from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from netregistry.auth.dependencies import authorize_write
from netregistry.errors import NotFound
from netregistry.exports.repository import ExportSnapshot, begin_snapshot
from netregistry.exports.service import MEDIA_TYPES, ExportRequest, Format, stream_export
from netregistry.kit.deps import OptionalAsOfDep
from netregistry.kit.http import problems
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
        "content": {"application/x-ndjson": {}, "application/zip": {}},
    },
    **problems(404),
}


async def _streamed(request: Request, export: ExportRequest) -> StreamingResponse:
    snapshot = await begin_snapshot(request.app.state.engine, export.network, export.as_of)
    try:
        if export.network is not None and not await snapshot.network_exists(export.network):
            raise NotFound(f"No network with slug {export.network!r}.")
    except BaseException:
        await snapshot.close()
        raise
    return StreamingResponse(
        _closing(snapshot, export),
        media_type=MEDIA_TYPES[export.format],
        headers={"Content-Disposition": f'attachment; filename="{export.filename()}"'},
    )


async def _closing(snapshot: ExportSnapshot, export: ExportRequest):  # type: ignore[no-untyped-def]
    try:
        async for chunk in stream_export(snapshot, export):
            yield chunk
    finally:
        await snapshot.close()


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
