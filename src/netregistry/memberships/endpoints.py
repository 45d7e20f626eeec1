from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from netregistry.auth.dependencies import authorize_write, service_for
from netregistry.kit.deps import AsOfDep, NameChoiceDep, PageDep
from netregistry.kit.direct import COUNTRY, DirectRead, direct_read
from netregistry.kit.http import (
    WRITE_STATUSES,
    IfMatch,
    created,
    json_bytes,
    no_content,
    problems,
    represent,
    represent_page,
    represent_page_bytes,
    wants_geojson,
)
from netregistry.kit.pagination import Page
from netregistry.kit.types import LOOKUP_PATTERN, CountryCode
from netregistry.memberships.schemas import (
    MEMBER_FEATURES_SCHEMA,
    MemberListRow,
    MembershipCreate,
    MembershipRead,
    MembershipUpdate,
)
from netregistry.memberships.service import MembershipService
from netregistry.registry.paths import SlugPath
from netregistry.registry.places import GEOJSON

router = APIRouter(
    prefix="/v1/networks/{slug}",
    tags=["memberships"],
    dependencies=[Depends(authorize_write)],
)

MembershipId = Annotated[uuid.UUID, Path(description="The membership's id.")]


Service = Annotated[MembershipService, service_for(MembershipService)]

# The member list varies by Accept (GeoJSON, which the read cache and the direct read
# leave to the framework: kit/readcache.py) and by Accept-Language (the names).
_VARY_ACCEPT = "Accept, Accept-Language"

_MEMBER_LIST_QUERY = (
    "as_of",
    "limit",
    "cursor",
    "category",
    "country",
    "kind",
    "role",
    "q",
    "lang",
    "format",
)


@router.get(
    "/members",
    operation_id="list_network_members",
    summary="Members on a date",
    response_model=Page[MemberListRow],
    responses={
        **problems(400, 404),
        200: {
            "description": "A page of the member list: JSON, or GeoJSON when asked for.",
            "content": {GEOJSON: {"schema": MEMBER_FEATURES_SCHEMA}},
        },
    },
)
async def list_network_members(
    request: Request,
    service: Service,
    slug: SlugPath,
    as_of: AsOfDep,
    page: PageDep,
    names: NameChoiceDep,
    category: Annotated[
        str | None, Query(max_length=63, pattern=LOOKUP_PATTERN, examples=["full"])
    ] = None,
    country: Annotated[CountryCode | None, Query(examples=["KR"])] = None,
    kind: Annotated[Literal["city", "organization"] | None, Query()] = None,
    role: Annotated[
        str | None,
        Query(
            max_length=63, pattern=LOOKUP_PATTERN, description="Only holders of this role that day."
        ),
    ] = None,
    q: Annotated[
        str | None,
        Query(min_length=1, max_length=200, pattern=LOOKUP_PATTERN, description="Name search."),
    ] = None,
    format: Annotated[
        Literal["json", "geojson"] | None,
        Query(
            description=(
                "`geojson`: the page as an RFC 7946 FeatureCollection (as with "
                "`Accept: application/geo+json`). Default: JSON."
            )
        ),
    ] = None,
) -> Response:
    """The memberships in force on `as_of` (default today), by member name, with the roles
    each member holds that day. Each member's `name` is the one in force on `as_of` in
    the language asked for (`lang`, else `Accept-Language`), falling back to broader
    tags and then to its default name; as of 1990 a member once called otherwise shows
    its name of then (Bombay, not Mumbai).
    As GeoJSON (`format=geojson` or `Accept: application/geo+json`): one Feature per
    membership, the member's point or `geometry: null` when it has no coordinates, its
    name, kind, country, category and roles as properties."""
    found = await service.members_on(
        slug,
        as_of,
        page,
        category=category,
        country=country.upper() if country else None,
        kind=kind,
        role=role,
        q=q,
        names=names.on(as_of),
    )
    headers = {**names.headers(), "Vary": _VARY_ACCEPT}
    if format == "geojson" or (format is None and wants_geojson(request.headers.get("accept"))):
        collection = await service.members_geojson(found)
        return represent_page_bytes(
            request, json_bytes(collection), found.next_cursor, media_type=GEOJSON, headers=headers
        )
    return represent_page_bytes(request, found.body(), found.next_cursor, headers=headers)


@direct_read("/v1/networks/{slug}/members", query=_MEMBER_LIST_QUERY)
async def list_network_members_directly(read: DirectRead) -> Response:
    """:func:`list_network_members`, without the framework (kit/direct.py)."""
    # GeoJSON is the framework's to answer (its coordinates are read through the ORM).
    read.choice("format", ("json",))
    country = read.text("country", max_length=2, pattern=COUNTRY)
    names = read.names()
    as_of = read.as_of()
    found = await MembershipService(read.session, None).members_on(
        read.path("slug"),
        as_of,
        read.page(),
        category=read.text("category", max_length=63),
        country=country.upper() if country else None,
        kind=read.choice("kind", ("city", "organization")),
        role=read.text("role", max_length=63),
        q=read.text("q", max_length=200),
        names=names.on(as_of),
    )
    return represent_page_bytes(
        read.request,
        found.body(),
        found.next_cursor,
        headers={**names.headers(), "Vary": _VARY_ACCEPT},
    )


@router.get(
    "/memberships",
    operation_id="list_memberships",
    summary="Membership history",
    response_model=Page[MembershipRead],
    responses=problems(400, 404),
)
async def list_memberships(
    request: Request,
    service: Service,
    slug: SlugPath,
    page: PageDep,
    names: NameChoiceDep,
    member_id: Annotated[uuid.UUID | None, Query(description="Only this member's.")] = None,
) -> Response:
    """Every membership of the network, ended ones too, in the order they were recorded;
    members named in the language of `lang` (else `Accept-Language`)."""
    items, next_cursor = await service.list_page(slug, page, member_id=member_id, names=names)
    return represent_page(
        request, Page(items=items, next_cursor=next_cursor), headers=names.headers()
    )


@router.post(
    "/memberships",
    operation_id="create_membership",
    summary="Add a membership",
    status_code=201,
    response_model=MembershipRead,
    responses=problems(*WRITE_STATUSES, 404, 409),
)
async def create_membership(
    request: Request, service: Service, slug: SlugPath, body: MembershipCreate
) -> Response:
    """Record that a member belongs to the network in a category from `start_date`.
    409 if it overlaps another membership of the same member."""
    membership = await service.create(slug, body)
    return created(request, membership, location=f"/v1/networks/{slug}/memberships/{membership.id}")


@router.get(
    "/memberships/{membership_id}",
    operation_id="get_membership",
    summary="Get a membership",
    response_model=MembershipRead,
    responses=problems(404),
)
async def get_membership(
    request: Request,
    service: Service,
    slug: SlugPath,
    membership_id: MembershipId,
    names: NameChoiceDep,
) -> Response:
    """One membership by id; its member named in the language of `lang` (else
    `Accept-Language`)."""
    membership = await service.get(slug, membership_id, names=names)
    return represent(request, membership, headers=names.headers())


@router.patch(
    "/memberships/{membership_id}",
    operation_id="update_membership",
    summary="Change or end a membership",
    response_model=MembershipRead,
    responses=problems(*WRITE_STATUSES, 404, 409, 412),
)
async def update_membership(
    request: Request,
    service: Service,
    slug: SlugPath,
    membership_id: MembershipId,
    body: MembershipUpdate,
    if_match: IfMatch = None,
) -> Response:
    """Correct a membership or end it (`end_date`). 409 if a tenure of the member would be
    left outside its memberships."""
    return represent(request, await service.update(slug, membership_id, body, if_match=if_match))


@router.delete(
    "/memberships/{membership_id}",
    operation_id="delete_membership",
    summary="Delete a membership",
    status_code=204,
    response_class=Response,
    responses=problems(*WRITE_STATUSES, 404, 409, 412),
)
async def delete_membership(
    service: Service, slug: SlugPath, membership_id: MembershipId, if_match: IfMatch = None
) -> Response:
    """Remove a membership recorded in error (to end one, set its `end_date`)."""
    await service.delete(slug, membership_id, if_match=if_match)
    return no_content()
