from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from netregistry.auth.dependencies import authorize_write
from netregistry.changes.schemas import Action, ChangeFilter, ChangePage, ResourceType
from netregistry.changes.service import newest_position, parse_position, read_changes
from netregistry.changes.stream import ChangeStream, StreamSlots
from netregistry.errors import InvalidCursor, TooManyStreams
from netregistry.kit.deps import SessionDep
from netregistry.kit.http import next_link, problem_doc, problems, represent
from netregistry.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT
from netregistry.kit.types import POSITION_PATTERN, SLUG_PATTERN

router = APIRouter(prefix="/v1/changes", tags=["changes"], dependencies=[Depends(authorize_write)])


async def change_filter(
    network: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=63,
            pattern=SLUG_PATTERN,
            examples=["citynet"],
            description=(
                "Only the changes that concern this network: its own, its roles', "
                "memberships', tenures' and handovers', and those of members that were in "
                "it when the change was made (as the audit log records it)."
            ),
        ),
    ] = None,
    resource_type: Annotated[
        ResourceType | None, Query(description="Only the changes of this kind of resource.")
    ] = None,
    action: Annotated[
        Action | None, Query(description="Only creations, updates or deletions.")
    ] = None,
) -> ChangeFilter:
    return ChangeFilter(
        networks=frozenset([network] if network else []),
        resource_types=frozenset([resource_type] if resource_type else []),
        actions=frozenset([action] if action else []),
    )


FilterDep = Annotated[ChangeFilter, Depends(change_filter)]

_AFTER_DESCRIPTION = "The cursor of the last change you have; `0` for the beginning."


def _position(value: str, name: str) -> int:
    position = parse_position(value)
    if position is None:
        raise InvalidCursor(f"`{name}` is a cursor from this feed: a non-negative integer.")
    return position


@router.get(
    "",
    operation_id="list_changes",
    summary="The change feed",
    response_model=ChangePage,
    responses=problems(400),
)
async def list_changes(
    request: Request,
    session: SessionDep,
    wanted: FilterDep,
    after: Annotated[
        str,
        Query(
            max_length=19,
            pattern=POSITION_PATTERN,
            description=_AFTER_DESCRIPTION,
            examples=["0"],
        ),
    ] = "0",
    limit: Annotated[
        int,
        Query(
            ge=1,
            le=MAX_LIMIT,
            description=(
                "Changes per page, at most. A page also ends once its entries reach the "
                "service's byte budget (4 MiB by default), after at least one entry: "
                "resume from `next_cursor` either way."
            ),
        ),
    ] = DEFAULT_LIMIT,
) -> Response:
    """Every committed write in commit order. Store `next_cursor` and poll with it: a change
    that commits later never appears before a cursor you already hold. A page holds at most
    `limit` changes and stops early at a byte budget, so it may be shorter while more
    follow (then it has a `Link: rel="next"`). With filters, the same with only the changes
    they take: a filter's verdict on a change is fixed at its commit, so resuming a filtered
    feed never skips or repeats one either."""
    position = _position(after, "after")
    max_bytes = request.app.state.settings.changes_page_max_bytes
    items, cut_short = await read_changes(session, position, limit, max_bytes, wanted)
    page = ChangePage(items=items, next_cursor=items[-1].cursor if items else str(position))
    headers = {}
    if len(items) == limit or cut_short:
        headers["Link"] = next_link(request, after=page.next_cursor)
    return represent(request, page, headers=headers)


class StreamResponse(StreamingResponse):
    """An event stream that gives its slot back however the send ends (complete, the
    client gone, an error), or when it never starts."""

    def __init__(self, stream: ChangeStream, slots: StreamSlots) -> None:
        super().__init__(
            stream.events(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )
        self._slots = slots

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._slots.give_back()


_STREAM_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": (
            "Server-Sent Events: for each change, `id:` its feed cursor, `event: change` and "
            "`data:` the change object (as an item of `GET /v1/changes`), on one line; a "
            "comment (`: heartbeat`) when idle. The stream ends when the server shuts down: "
            "reconnect with `Last-Event-ID`."
        ),
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    },
    **problems(400),
    503: problem_doc("Too many open streams on this instance; retry after `Retry-After` seconds."),
}


@router.get(
    "/stream",
    operation_id="stream_changes",
    summary="The change feed, live (Server-Sent Events)",
    response_class=StreamResponse,
    status_code=200,
    responses=_STREAM_RESPONSES,
)
async def stream_changes(
    request: Request,
    wanted: FilterDep,
    after: Annotated[
        str | None,
        Query(
            max_length=19,
            pattern=POSITION_PATTERN,
            description=(
                "Start after this cursor (`0`: from the beginning). Default: only changes "
                "committed from now on. `Last-Event-ID` overrides it."
            ),
            examples=["0"],
        ),
    ] = None,
    last_event_id: Annotated[
        str | None,
        Header(
            max_length=19,
            pattern=POSITION_PATTERN,
            description="The id of the last event received: resume right after it.",
        ),
    ] = None,
) -> StreamResponse:
    """Each change as it commits, as an event whose id is its feed cursor, under the same
    filters as the feed; reconnect with `Last-Event-ID` to resume exactly."""
    app_state = request.app.state
    if last_event_id is not None:
        position = _position(last_event_id, "Last-Event-ID")
    elif after is not None:
        position = _position(after, "after")
    else:
        async with app_state.sessionmaker() as session:
            position = await newest_position(session)
    slots: StreamSlots = app_state.stream_slots
    if not slots.take():
        raise TooManyStreams(
            f"This instance already streams to {slots.limit} clients; retry shortly, or "
            "poll GET /v1/changes.",
            retry_after=5,
        )
    stream = ChangeStream(
        sessionmaker=app_state.sessionmaker,
        listener=app_state.change_listener,
        wanted=wanted,
        after=position,
        heartbeat=app_state.settings.stream_heartbeat_seconds,
        max_bytes=app_state.settings.changes_page_max_bytes,
    )
    return StreamResponse(stream, slots)
