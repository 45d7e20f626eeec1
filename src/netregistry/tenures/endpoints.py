from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from netregistry.auth.dependencies import authorize_write, service_for
from netregistry.kit.deps import AsOfDep, NameChoiceDep, PageDep
from netregistry.kit.direct import DirectRead, direct_read
from netregistry.kit.http import (
    WRITE_STATUSES,
    IfMatch,
    created,
    no_content,
    problems,
    represent,
    represent_page,
    represent_page_bytes,
)
from netregistry.kit.pagination import Page
from netregistry.kit.types import LOOKUP_PATTERN
from netregistry.registry.paths import RolePath, SlugPath
from netregistry.tenures.schemas import (
    HandoverRead,
    HandoverRequest,
    HolderRow,
    TenureCreate,
    TenureRead,
    TenureUpdate,
)
from netregistry.tenures.service import TenureService

router = APIRouter(
    prefix="/v1/networks/{slug}/tenures", tags=["tenures"], dependencies=[Depends(authorize_write)]
)

# The routes under a role's path that answer with tenures: its holders and its handover.
# Listed under "roles" in the contract, where partners look for them; the app includes
# this router right after the roles' own, so the contract keeps its order.
role_router = APIRouter(
    prefix="/v1/networks/{slug}/roles", tags=["roles"], dependencies=[Depends(authorize_write)]
)

TenureId = Annotated[uuid.UUID, Path(description="The tenure's id.")]


Service = Annotated[TenureService, service_for(TenureService)]


@router.get(
    "",
    operation_id="list_tenures",
    summary="Tenure history",
    response_model=Page[TenureRead],
    responses=problems(400, 404),
)
async def list_tenures(
    request: Request,
    service: Service,
    slug: SlugPath,
    page: PageDep,
    names: NameChoiceDep,
    role: Annotated[
        str | None, Query(max_length=63, pattern=LOOKUP_PATTERN, examples=["chair"])
    ] = None,
    member_id: Annotated[uuid.UUID | None, Query()] = None,
) -> Response:
    """Every tenure of the network's roles, ended ones too, in the order they were
    recorded; members named in the language of `lang` (else `Accept-Language`)."""
    items, next_cursor = await service.list_page(
        slug, page, role=role, member_id=member_id, names=names
    )
    return represent_page(
        request, Page(items=items, next_cursor=next_cursor), headers=names.headers()
    )


@router.post(
    "",
    operation_id="create_tenure",
    summary="Record a tenure",
    status_code=201,
    response_model=TenureRead,
    responses=problems(*WRITE_STATUSES, 404, 409),
)
async def create_tenure(
    request: Request, service: Service, slug: SlugPath, body: TenureCreate
) -> Response:
    """Record that a member holds a role over a period. 409 when the role would have too
    many holders, the member would hold it twice, or would not be a member throughout."""
    tenure = await service.create(slug, body)
    return created(request, tenure, location=f"/v1/networks/{slug}/tenures/{tenure.id}")


@router.get(
    "/{tenure_id}",
    operation_id="get_tenure",
    summary="Get a tenure",
    response_model=TenureRead,
    responses=problems(404),
)
async def get_tenure(
    request: Request, service: Service, slug: SlugPath, tenure_id: TenureId, names: NameChoiceDep
) -> Response:
    """One tenure by id; its member named in the language of `lang` (else
    `Accept-Language`)."""
    return represent(
        request, await service.get(slug, tenure_id, names=names), headers=names.headers()
    )


@router.patch(
    "/{tenure_id}",
    operation_id="update_tenure",
    summary="Change or end a tenure",
    response_model=TenureRead,
    responses=problems(*WRITE_STATUSES, 404, 409, 412),
)
async def update_tenure(
    request: Request,
    service: Service,
    slug: SlugPath,
    tenure_id: TenureId,
    body: TenureUpdate,
    if_match: IfMatch = None,
) -> Response:
    """Correct a tenure or end it (`end_date`); the role's rules are checked again."""
    return represent(request, await service.update(slug, tenure_id, body, if_match=if_match))


@router.delete(
    "/{tenure_id}",
    operation_id="delete_tenure",
    summary="Delete a tenure",
    status_code=204,
    response_class=Response,
    responses=problems(*WRITE_STATUSES, 404, 412),
)
async def delete_tenure(
    service: Service, slug: SlugPath, tenure_id: TenureId, if_match: IfMatch = None
) -> Response:
    """Remove a tenure recorded in error (to end one, set its `end_date`)."""
    await service.delete(slug, tenure_id, if_match=if_match)
    return no_content()


@role_router.get(
    "/{role}/holders",
    operation_id="list_role_holders",
    summary="Holders on a date",
    response_model=Page[HolderRow],
    responses=problems(400, 404),
)
async def list_role_holders(
    request: Request,
    tenures: Service,
    slug: SlugPath,
    role: RolePath,
    as_of: AsOfDep,
    page: PageDep,
    names: NameChoiceDep,
) -> Response:
    """Who holds the role on `as_of` (default today): "who was chair on 1 January 2014".
    Each holder's `name` is the one in force that day in the language asked for (`lang`,
    else `Accept-Language`)."""
    found = await tenures.holders(slug, role, as_of, page, names=names.on(as_of))
    return represent_page_bytes(request, found.body(), found.next_cursor, headers=names.headers())


@direct_read("/v1/networks/{slug}/roles/{role}/holders", query=("as_of", "limit", "cursor", "lang"))
async def list_role_holders_directly(read: DirectRead) -> Response:
    """:func:`list_role_holders`, without the framework (kit/direct.py)."""
    names = read.names()
    as_of = read.as_of()
    found = await TenureService(read.session, None).holders(
        read.path("slug"), read.path("role"), as_of, read.page(), names=names.on(as_of)
    )
    return represent_page_bytes(
        read.request, found.body(), found.next_cursor, headers=names.headers()
    )


@role_router.post(
    "/{role}/handover",
    operation_id="hand_over_role",
    summary="Hand a role over",
    status_code=201,
    response_model=HandoverRead,
    responses=problems(*WRITE_STATUSES, 404, 409),
)
async def hand_over_role(
    request: Request, tenures: Service, slug: SlugPath, role: RolePath, body: HandoverRequest
) -> Response:
    """In one transaction, end the current holder's tenure on `date` and start the new
    holder's on the same day (periods are half-open). Roles with one holder only."""
    result = await tenures.handover(slug, role, body)
    return created(request, result, location=f"/v1/networks/{slug}/tenures/{result.started.id}")
