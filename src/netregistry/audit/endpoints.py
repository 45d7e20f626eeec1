from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from netregistry.audit.schemas import AuditEventRead
from netregistry.audit.service import AuditTrail
from netregistry.auth.dependencies import authorize_write, require_principal
from netregistry.auth.principal import Principal
from netregistry.kit.deps import PageDep, SessionDep
from netregistry.kit.http import problems, represent_page
from netregistry.kit.pagination import Page
from netregistry.kit.types import LOOKUP_PATTERN, Timestamp

router = APIRouter(prefix="/v1/audit", tags=["audit"], dependencies=[Depends(authorize_write)])


@router.get(
    "",
    operation_id="list_audit_events",
    summary="Read the audit log",
    response_model=Page[AuditEventRead],
    responses=problems(400, 401, 403),
)
async def list_audit_events(
    request: Request,
    session: SessionDep,
    reader: Annotated[Principal, Depends(require_principal)],
    page: PageDep,
    resource_type: Annotated[
        str | None, Query(max_length=40, pattern=LOOKUP_PATTERN, examples=["network"])
    ] = None,
    resource_id: Annotated[
        str | None, Query(max_length=100, pattern=LOOKUP_PATTERN, examples=["citynet"])
    ] = None,
    network: Annotated[
        str | None,
        Query(
            max_length=63,
            pattern=LOOKUP_PATTERN,
            examples=["citynet"],
            description="Entries that concern this network: its resources' and those of "
            "members that are or were in it. Required for a scoped key (its own networks).",
        ),
    ] = None,
    since: Annotated[Timestamp | None, Query(description="Changes at or after this time.")] = None,
    until: Annotated[Timestamp | None, Query(description="Changes before this time.")] = None,
) -> Response:
    """Every change, newest first, with actor, before and after: all of them for an admin
    key, one of its own networks' (``network``) for a scoped key."""
    events, next_cursor = await AuditTrail(session, reader).list_page(
        page,
        resource_type=resource_type,
        resource_id=resource_id,
        network=network,
        since=since,
        until=until,
    )
    items = [AuditEventRead.model_validate(event) for event in events]
    return represent_page(request, Page(items=items, next_cursor=next_cursor))
