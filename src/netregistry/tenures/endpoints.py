from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from netregistry.auth.dependencies import authorize_write, service_for
from netregistry.kit.deps import PageDep
from netregistry.kit.http import (
    WRITE_STATUSES,
    IfMatch,
    created,
    no_content,
    problems,
    represent,
    represent_page,
)
from netregistry.kit.pagination import Page
from netregistry.networks.endpoints import SlugPath
from netregistry.tenures.schemas import TenureCreate, TenureRead, TenureUpdate
from netregistry.tenures.service import TenureService

router = APIRouter(
    prefix="/v1/networks/{slug}/tenures", tags=["tenures"], dependencies=[Depends(authorize_write)]
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
    role: Annotated[str | None, Query(max_length=63, examples=["chair"])] = None,
    member_id: Annotated[uuid.UUID | None, Query()] = None,
) -> Response:
    """Every tenure of the network's roles, ended ones too, in the order they were recorded."""
    items, next_cursor = await service.list_page(slug, page, role=role, member_id=member_id)
    return represent_page(request, Page(items=items, next_cursor=next_cursor))


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
    request: Request, service: Service, slug: SlugPath, tenure_id: TenureId
) -> Response:
    """One tenure by id."""
    return represent(request, await service.get(slug, tenure_id))


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
