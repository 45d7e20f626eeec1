from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

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
from netregistry.registry.paths import RolePath, SlugPath
from netregistry.roles.schemas import RoleCreate, RoleRead, RoleUpdate
from netregistry.roles.service import RoleService

router = APIRouter(
    prefix="/v1/networks/{slug}/roles", tags=["roles"], dependencies=[Depends(authorize_write)]
)

Service = Annotated[RoleService, service_for(RoleService)]


@router.get(
    "",
    operation_id="list_roles",
    summary="List roles",
    response_model=Page[RoleRead],
    responses=problems(400, 404),
)
async def list_roles(request: Request, service: Service, slug: SlugPath, page: PageDep) -> Response:
    """The offices the network defines, by slug."""
    items, next_cursor = await service.list_page(slug, page)
    return represent_page(request, Page(items=items, next_cursor=next_cursor))


@router.post(
    "",
    operation_id="create_role",
    summary="Define a role",
    status_code=201,
    response_model=RoleRead,
    responses=problems(*WRITE_STATUSES, 404, 409),
)
async def create_role(
    request: Request, service: Service, slug: SlugPath, body: RoleCreate
) -> Response:
    """Define an office: its holder limit, whether holders must be members, and of which
    categories."""
    role = await service.create(slug, body)
    return created(request, role, location=f"/v1/networks/{slug}/roles/{role.slug}")


@router.get(
    "/{role}",
    operation_id="get_role",
    summary="Get a role",
    response_model=RoleRead,
    responses=problems(404),
)
async def get_role(request: Request, service: Service, slug: SlugPath, role: RolePath) -> Response:
    """One role by slug."""
    return represent(request, await service.get(slug, role))


@router.patch(
    "/{role}",
    operation_id="update_role",
    summary="Update a role",
    response_model=RoleRead,
    responses=problems(*WRITE_STATUSES, 404, 409, 412),
)
async def update_role(
    request: Request,
    service: Service,
    slug: SlugPath,
    role: RolePath,
    body: RoleUpdate,
    if_match: IfMatch = None,
) -> Response:
    """Change a role's rules; 409 if the recorded tenures would break them."""
    return represent(request, await service.update(slug, role, body, if_match=if_match))


@router.delete(
    "/{role}",
    operation_id="delete_role",
    summary="Delete a role",
    status_code=204,
    response_class=Response,
    responses=problems(*WRITE_STATUSES, 404, 409, 412),
)
async def delete_role(
    service: Service, slug: SlugPath, role: RolePath, if_match: IfMatch = None
) -> Response:
    """Remove a role that has no tenures."""
    await service.delete(slug, role, if_match=if_match)
    return no_content()
