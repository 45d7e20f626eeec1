from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from netregistry.auth.dependencies import Admin, authorize_write, service_for
from netregistry.kit.deps import AsOfDep, NameChoiceDep, PageDep
from netregistry.kit.direct import DirectRead, direct_read
from netregistry.kit.http import (
    WRITE_STATUSES,
    IfMatch,
    created,
    no_content,
    problems,
    represent,
    represent_bytes,
    represent_page,
)
from netregistry.kit.pagination import Page
from netregistry.networks.schemas import NetworkCreate, NetworkRead, NetworkStats, NetworkUpdate
from netregistry.networks.service import NetworkService
from netregistry.registry.paths import SlugPath

router = APIRouter(
    prefix="/v1/networks", tags=["networks"], dependencies=[Depends(authorize_write)]
)

Service = Annotated[NetworkService, service_for(NetworkService)]


@router.get(
    "",
    operation_id="list_networks",
    summary="List networks",
    response_model=Page[NetworkRead],
    responses=problems(400),
)
async def list_networks(
    request: Request, service: Service, page: PageDep, names: NameChoiceDep
) -> Response:
    """All networks, ordered by slug. With `lang` (or `Accept-Language`), each `name` is
    the network's name in that language when it has one."""
    items, next_cursor = await service.read_page(page, names)
    return represent_page(
        request, Page(items=items, next_cursor=next_cursor), headers=names.headers()
    )


@router.post(
    "",
    operation_id="create_network",
    summary="Create a network",
    status_code=201,
    response_model=NetworkRead,
    responses=problems(*WRITE_STATUSES, 409),
)
async def create_network(
    request: Request, service: Service, _admin: Admin, body: NetworkCreate
) -> Response:
    """Add a network to the registry. Admin keys only."""
    network = await service.create(body)
    return created(request, network, location=f"/v1/networks/{network.slug}")


@router.get(
    "/{slug}",
    operation_id="get_network",
    summary="Get a network",
    response_model=NetworkRead,
    responses=problems(404),
)
async def get_network(
    request: Request, service: Service, slug: SlugPath, names: NameChoiceDep
) -> Response:
    """One network by slug. With `lang` (or `Accept-Language`), `name` is its name in
    that language when it has one (`names` lists them all)."""
    return represent(request, await service.read(slug, names), headers=names.headers())


@router.get(
    "/{slug}/stats",
    operation_id="get_network_stats",
    summary="A network in numbers",
    response_model=NetworkStats,
    responses=problems(404),
)
async def get_network_stats(
    request: Request, service: Service, slug: SlugPath, as_of: AsOfDep, names: NameChoiceDep
) -> Response:
    """On `as_of` (default today): members per category and per kind, distinct countries,
    and the holders of every role, each named as in force that day in the language of
    `lang` (else `Accept-Language`)."""
    return represent_bytes(
        request, await service.stats(slug, as_of, names), headers=names.headers()
    )


@direct_read("/v1/networks/{slug}/stats", query=("as_of", "lang"))
async def get_network_stats_directly(read: DirectRead) -> Response:
    """:func:`get_network_stats`, without the framework (kit/direct.py)."""
    service = NetworkService(read.session, None)
    names = read.names()
    return represent_bytes(
        read.request,
        await service.stats(read.path("slug"), read.as_of(), names),
        headers=names.headers(),
    )


@router.patch(
    "/{slug}",
    operation_id="update_network",
    summary="Update a network",
    response_model=NetworkRead,
    responses=problems(*WRITE_STATUSES, 404, 409, 412),
)
async def update_network(
    request: Request,
    service: Service,
    slug: SlugPath,
    body: NetworkUpdate,
    if_match: IfMatch = None,
) -> Response:
    """Change some fields of a network; send `If-Match` to refuse a lost update."""
    network = await service.update(slug, body, if_match=if_match)
    return represent(request, network)


@router.delete(
    "/{slug}",
    operation_id="delete_network",
    summary="Delete a network",
    status_code=204,
    response_class=Response,
    responses=problems(*WRITE_STATUSES, 404, 409, 412),
)
async def delete_network(
    service: Service, _admin: Admin, slug: SlugPath, if_match: IfMatch = None
) -> Response:
    """Remove a network that has no memberships, roles or tenures. Admin keys only."""
    await service.delete(slug, if_match=if_match)
    return no_content()
