from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Annotated, Any

import anyio
import structlog
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from netregistry.auth.dependencies import authorize_write
from netregistry.errors import NotFound, ServiceUnavailable
from netregistry.exports.repository import ExportSnapshot, begin_snapshot
from netregistry.exports.service import MEDIA_TYPES, ExportRequest, Format, stream_export
from netregistry.kit.deps import OptionalAsOfDep
from netregistry.kit.http import problem_doc, problems
from netregistry.networks.endpoints import SlugPath

log = structlog.get_logger("netregistry.exports")

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
    """A streamed export that owns its snapshot and its export slot.

    Both are given back in a ``finally`` around the whole send, whichever way it ends:
    complete, the client gone after any number of bytes, HEAD, an error while streaming,
    or a body never iterated at all. The release cannot be skipped by the cancellation
    that a client's disconnect delivers: the snapshot is closed shielded from it, and the
    slot is released whether or not the close succeeds.
    """

    def __init__(
        self, snapshot: ExportSnapshot, export: ExportRequest, slots: asyncio.Semaphore
    ) -> None:
        super().__init__(
            stream_export(snapshot, export),
            media_type=MEDIA_TYPES[export.format],
            headers={"Content-Disposition": f'attachment; filename="{export.filename()}"'},
        )
        self._snapshot = snapshot
        self._slots: asyncio.Semaphore | None = slots

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self.release()

    async def release(self) -> None:
        """Close the stream and the snapshot, then give the slot back (once)."""
        slots, self._slots = self._slots, None
        if slots is not None:
            await _give_back(self._snapshot, slots, self.body_iterator)


async def _give_back(
    snapshot: ExportSnapshot, slots: asyncio.Semaphore, stream: object = None
) -> None:
    """Close ``stream`` and ``snapshot``, shielded from cancellation, then release the
    slot whether or not that succeeded."""
    try:
        # A task of its own, so that even a cancellation anyio's shield does not cover
        # (the task's own) cannot stop the connection going back to the pool.
        closing = asyncio.ensure_future(_close(snapshot, stream))
        _CLOSING.add(closing)
        closing.add_done_callback(_CLOSING.discard)
        with anyio.CancelScope(shield=True):
            await asyncio.shield(closing)
    finally:
        slots.release()


async def _close(snapshot: ExportSnapshot, stream: object) -> None:
    try:
        if isinstance(stream, AsyncGenerator):
            await stream.aclose()
    except Exception:  # an error of the stream itself was already answered or logged
        log.warning("closing an export stream failed", exc_info=True)
    await snapshot.close()


# Snapshot closes in flight: the event loop holds tasks only weakly.
_CLOSING: set[asyncio.Future[None]] = set()


async def _streamed(request: Request, export: ExportRequest) -> ExportResponse:
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
        # From here the response owns the slot and the snapshot.
        return ExportResponse(snapshot, export, slots)
    except BaseException:
        await _give_back(snapshot, slots)
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
