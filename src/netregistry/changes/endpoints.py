from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from netregistry.auth.dependencies import authorize_write
from netregistry.changes.repository import ChangeRepository
from netregistry.changes.schemas import ChangePage, ChangeRead
from netregistry.errors import InvalidCursor
from netregistry.kit.deps import SessionDep
from netregistry.kit.http import next_link, problems, represent
from netregistry.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT
from netregistry.kit.types import POSITION_PATTERN

MAX_POSITION = 2**63 - 1  # positions are bigint

router = APIRouter(prefix="/v1/changes", tags=["changes"], dependencies=[Depends(authorize_write)])


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
    after: Annotated[
        str,
        Query(
            max_length=19,
            pattern=POSITION_PATTERN,
            description="The cursor of the last change you have; `0` for the beginning.",
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
    follow (then it has a `Link: rel="next"`)."""
    if not after.isascii() or not after.isdigit() or int(after) > MAX_POSITION:
        raise InvalidCursor("`after` is a cursor from this feed: a non-negative integer.")
    max_bytes = request.app.state.settings.changes_page_max_bytes
    rows, cut_short = await ChangeRepository(session).after(int(after), limit, max_bytes)
    items = [
        ChangeRead(
            cursor=str(row.position),
            committed_at=row.committed_at,
            action=row.action,
            resource_type=row.resource_type,
            resource_id=row.resource_id,
            network=row.network,
            data=row.after,
        )
        for row in rows
    ]
    page = ChangePage(items=items, next_cursor=items[-1].cursor if items else str(int(after)))
    headers = {}
    if len(items) == limit or cut_short:
        headers["Link"] = next_link(request, after=page.next_cursor)
    return represent(request, page, headers=headers)
