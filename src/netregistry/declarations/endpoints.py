from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response

from netregistry.auth.dependencies import authorize_write, service_for
from netregistry.declarations.schemas import DeclarationCreate, DeclarationRead
from netregistry.declarations.service import DeclarationService
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
from netregistry.registry.paths import SlugPath

router = APIRouter(
    prefix="/v1/networks/{slug}/declarations",
    tags=["networks"],
    dependencies=[Depends(authorize_write)],
)

Service = Annotated[DeclarationService, service_for(DeclarationService)]
DeclarationId = Annotated[uuid.UUID, Path(description="The declaration's id.")]


@router.get(
    "",
    operation_id="list_declarations",
    summary="Declared figures",
    response_model=Page[DeclarationRead],
    responses=problems(400, 404),
)
async def list_declarations(
    request: Request, service: Service, slug: SlugPath, page: PageDep
) -> Response:
    """The figures the network has stated about itself (members per category, in all,
    countries), each dated and sourced, the latest date first. Stats show the one in
    force on their day beside the counted figures."""
    items, next_cursor = await service.list_page(slug, page)
    return represent_page(request, Page(items=items, next_cursor=next_cursor))


@router.post(
    "",
    operation_id="create_declaration",
    summary="Record declared figures",
    status_code=201,
    response_model=DeclarationRead,
    responses=problems(*WRITE_STATUSES, 404, 409),
)
async def create_declaration(
    request: Request, service: Service, slug: SlugPath, body: DeclarationCreate
) -> Response:
    """Record what the network stated on a date, with its source; one declaration per
    date (409 for a second)."""
    declaration = await service.create(slug, body)
    return created(
        request, declaration, location=f"/v1/networks/{slug}/declarations/{declaration.id}"
    )


@router.get(
    "/{declaration_id}",
    operation_id="get_declaration",
    summary="Get a declaration",
    response_model=DeclarationRead,
    responses=problems(404),
)
async def get_declaration(
    request: Request, service: Service, slug: SlugPath, declaration_id: DeclarationId
) -> Response:
    """One declaration by id."""
    return represent(request, await service.get(slug, declaration_id))


@router.delete(
    "/{declaration_id}",
    operation_id="delete_declaration",
    summary="Delete a declaration",
    status_code=204,
    response_class=Response,
    responses=problems(*WRITE_STATUSES, 404, 412),
)
async def delete_declaration(
    service: Service, slug: SlugPath, declaration_id: DeclarationId, if_match: IfMatch = None
) -> Response:
    """Remove a declaration recorded in error (to correct one, delete it and declare
    again)."""
    await service.delete(slug, declaration_id, if_match=if_match)
    return no_content()
