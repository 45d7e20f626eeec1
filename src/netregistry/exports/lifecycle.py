"""An export's lifecycle, the same for ``GET /v1/export`` and ``netregistry export``: take
a slot (the HTTP path does, the command line has none), open the snapshot, check the
network, stream the chosen format, close.

The endpoint hands its :class:`ExportRun` to the streamed response, which closes it when
the send ends (``exports/endpoints.py``); the command line runs one inside
:func:`open_export` and writes the chunks to a file (``cli.py``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager

import anyio
import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from netregistry.errors import NotFound, ServiceUnavailable
from netregistry.exports.repository import ExportSnapshot, begin_snapshot
from netregistry.exports.service import ExportRequest, stream_export

log = structlog.get_logger("netregistry.exports")


class ExportRun:
    """One export from its snapshot to its last chunk; it owns the snapshot and the slot.

    :meth:`close` gives both back, once, whichever way the run ends: complete, abandoned
    after any number of chunks, failed while streaming, or never streamed at all. The
    cancellation that a client's disconnect delivers cannot skip it: the stream and the
    snapshot are closed shielded from it, and the slot is released whether or not that
    close succeeds.
    """

    def __init__(
        self, snapshot: ExportSnapshot, request: ExportRequest, slots: asyncio.Semaphore | None
    ) -> None:
        self.request = request
        self._snapshot = snapshot
        self._slots = slots
        self._stream: AsyncIterator[bytes] | None = None
        self._closed = False

    def chunks(self) -> AsyncIterator[bytes]:
        """The export's bytes in the requested format, chunk by chunk (one stream a run)."""
        assert self._stream is None, "an export run streams once"
        self._stream = stream_export(self._snapshot, self.request)
        return self._stream

    async def close(self) -> None:
        """Close the stream and the snapshot, shielded from cancellation, then give the
        slot back."""
        if self._closed:
            return
        self._closed = True
        try:
            # A task of its own, so that even a cancellation anyio's shield does not cover
            # (the task's own) cannot stop the connection going back to the pool.
            closing = asyncio.ensure_future(_close(self._snapshot, self._stream))
            _CLOSING.add(closing)
            closing.add_done_callback(_CLOSING.discard)
            with anyio.CancelScope(shield=True):
                await asyncio.shield(closing)
        finally:
            if self._slots is not None:
                self._slots.release()


async def _close(snapshot: ExportSnapshot, stream: AsyncIterator[bytes] | None) -> None:
    try:
        if isinstance(stream, AsyncGenerator):
            await stream.aclose()
    except Exception:  # an error of the stream itself was already answered or logged
        log.warning("closing an export stream failed", exc_info=True)
    await snapshot.close()


# Snapshot closes in flight: the event loop holds tasks only weakly.
_CLOSING: set[asyncio.Future[None]] = set()


async def begin_export(
    engine: AsyncEngine, request: ExportRequest, *, slots: asyncio.Semaphore | None = None
) -> ExportRun:
    """Take one of ``slots`` (if given), open the snapshot and check that the network
    exists; the caller streams :meth:`ExportRun.chunks` and closes the run.

    Raises :class:`ServiceUnavailable` when every slot is taken and :class:`NotFound` for
    an unknown network, having given back whatever it took.
    """
    if slots is not None:
        if slots.locked():
            raise ServiceUnavailable(
                "Too many exports are streaming right now; retry in a minute.",
                retry_after=30,
            )
        await slots.acquire()
    try:
        snapshot = await begin_snapshot(engine, request.network, request.as_of)
    except BaseException:
        if slots is not None:
            slots.release()
        raise
    run = ExportRun(snapshot, request, slots)
    try:
        if request.network is not None and not await snapshot.network_exists(request.network):
            raise NotFound(f"No network with slug {request.network!r}.")
    except BaseException:
        await run.close()
        raise
    return run


@asynccontextmanager
async def open_export(engine: AsyncEngine, request: ExportRequest) -> AsyncIterator[ExportRun]:
    """:func:`begin_export` without a slot, closed when the block ends."""
    run = await begin_export(engine, request)
    try:
        yield run
    finally:
        await run.close()
