# No `from __future__ import annotations`: FastAPI reads the request and response types
# of the routes built in `_member_router` from their closures at definition time.
import uuid
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from netregistry.auth.dependencies import Actor, Admin, authorize_write, service_for
from netregistry.auth.principal import Principal
from netregistry.kit.deps import AsOfDep, NameChoiceDep, OptionalAsOfDep, PageDep, SessionDep
from netregistry.kit.direct import COUNTRY, WIKIDATA, DirectRead, direct_read
from netregistry.kit.http import (
    WRITE_STATUSES,
    IfMatch,
    created,
    no_content,
    problems,
    represent,
    represent_bytes,
    represent_page_bytes,
)
from netregistry.kit.messages import with_article
from netregistry.kit.pagination import Page
from netregistry.kit.schemas import ReadSchema, WriteSchema
from netregistry.kit.types import LOOKUP_PATTERN, WIKIDATA_PATTERN, CountryCode
from netregistry.members.schemas import (
    MAX_LOOKUP,
    CityCreate,
    CityRead,
    CityUpdate,
    LookupRequest,
    LookupResult,
    MemberHistory,
    MemberIdentifier,
    OrganizationCreate,
    OrganizationRead,
    OrganizationUpdate,
)
from netregistry.members.service import (
    MemberService,
    city_service,
    lookup_members,
    member_history,
    organization_service,
)

MemberId = Annotated[uuid.UUID, Path(description="The member's id.")]


def _member_router(
    *,
    path: str,
    tag: str,
    noun: str,
    plural: str,
    create_schema: type[WriteSchema],
    update_schema: type[WriteSchema],
    read_schema: type[ReadSchema],
    make_service: Callable[[AsyncSession, Principal | None], MemberService[Any]],
) -> APIRouter:
    """The CRUD routes of one kind of member (cities, organizations)."""
    router = APIRouter(prefix=path, tags=[tag], dependencies=[Depends(authorize_write)])
    a_noun = with_article(noun)  # "a city", "an organization"

    Service = Annotated[MemberService[Any], service_for(make_service)]

    @router.get(
        "",
        operation_id=f"list_{plural}",
        summary=f"List {plural}",
        response_model=Page[read_schema],  # type: ignore[valid-type]
        responses=problems(400, 404),
        description=(
            f"All {plural}, by name; or, with `q`, ranked by how well the name or an "
            "alternative name matches (case, accents and small typos forgiven)."
        ),
    )
    async def list_members(
        request: Request,
        service: Service,
        page: PageDep,
        as_of: AsOfDep,
        country: Annotated[CountryCode | None, Query(description="ISO country code.")] = None,
        q: Annotated[
            str | None,
            Query(min_length=1, max_length=200, pattern=LOOKUP_PATTERN, description="Name search."),
        ] = None,
        wikidata: Annotated[str | None, Query(pattern=WIKIDATA_PATTERN)] = None,
        network: Annotated[
            str | None,
            Query(
                max_length=63,
                pattern=LOOKUP_PATTERN,
                description="Only members of this network on `as_of`.",
            ),
        ] = None,
    ) -> Response:
        body, next_cursor = await service.list_page_bytes(
            page,
            country=country.upper() if country else None,
            wikidata=wikidata,
            network=network,
            as_of=as_of,
            q=q,
        )
        return represent_page_bytes(request, body, next_cursor)

    @direct_read(path, query=("as_of", "limit", "cursor", "country", "q", "wikidata", "network"))
    async def list_members_directly(read: DirectRead) -> Response:
        """``list_members``, without the framework (kit/direct.py)."""
        country = read.text("country", max_length=2, pattern=COUNTRY)
        body, next_cursor = await make_service(read.session, None).list_page_bytes(
            read.page(),
            country=country.upper() if country else None,
            wikidata=read.text("wikidata", max_length=20, pattern=WIKIDATA),
            network=read.text("network", max_length=63),
            as_of=read.as_of(),
            q=read.text("q", max_length=200),
        )
        return represent_page_bytes(read.request, body, next_cursor)

    @router.post(
        "",
        operation_id=f"create_{noun}",
        summary=f"Create {a_noun}",
        status_code=201,
        response_model=read_schema,
        responses=problems(*WRITE_STATUSES, 409),
        description=(
            f"Add {a_noun}. Any valid key may; 409 if its wikidata or geonames id is taken."
        ),
    )
    async def create_member(
        request: Request,
        service: Service,
        body: create_schema,  # type: ignore[valid-type]
    ) -> Response:
        member = await service.create(body)
        return created(request, member, location=f"{path}/{member.id}")

    @router.get(
        "/{member_id}",
        operation_id=f"get_{noun}",
        summary=f"Get {a_noun}",
        response_model=read_schema,
        responses=problems(404),
        description=f"One {noun} by id.",
    )
    async def get_member(request: Request, service: Service, member_id: MemberId) -> Response:
        return represent_bytes(request, await service.get_bytes(member_id))

    @direct_read(f"{path}/{{member_id}}")
    async def get_member_directly(read: DirectRead) -> Response:
        """``get_member``, without the framework (kit/direct.py)."""
        service = make_service(read.session, None)
        return represent_bytes(read.request, await service.get_bytes(read.path_uuid("member_id")))

    @router.patch(
        "/{member_id}",
        operation_id=f"update_{noun}",
        summary=f"Update {a_noun}",
        response_model=read_schema,
        responses=problems(*WRITE_STATUSES, 404, 409, 412),
        description=(
            "Change some fields; send `If-Match` to refuse a lost update. A scoped key may "
            f"change {a_noun} only when every network it has ever been in (a membership or "
            "tenure of any period) is in the key's scope; otherwise 403 names the others. "
            "An admin key may change any."
        ),
    )
    async def update_member(
        request: Request,
        service: Service,
        member_id: MemberId,
        body: update_schema,  # type: ignore[valid-type]
        if_match: IfMatch = None,
    ) -> Response:
        return represent(request, await service.update(member_id, body, if_match=if_match))

    @router.delete(
        "/{member_id}",
        operation_id=f"delete_{noun}",
        summary=f"Delete {a_noun}",
        status_code=204,
        response_class=Response,
        responses=problems(*WRITE_STATUSES, 404, 409, 412),
        description=f"Remove {a_noun} with no memberships or tenures (409 names them). Admin only.",
    )
    async def delete_member(
        service: Service, _admin: Admin, member_id: MemberId, if_match: IfMatch = None
    ) -> Response:
        await service.delete(member_id, if_match=if_match)
        return no_content()

    return router


cities_router = _member_router(
    path="/v1/cities",
    tag="cities",
    noun="city",
    plural="cities",
    create_schema=CityCreate,
    update_schema=CityUpdate,
    read_schema=CityRead,
    make_service=city_service,
)
organizations_router = _member_router(
    path="/v1/organizations",
    tag="organizations",
    noun="organization",
    plural="organizations",
    create_schema=OrganizationCreate,
    update_schema=OrganizationUpdate,
    read_schema=OrganizationRead,
    make_service=organization_service,
)


member_router = APIRouter(
    prefix="/v1/members", tags=["members"], dependencies=[Depends(authorize_write)]
)


@member_router.get(
    "/{member_id}/memberships",
    operation_id="get_member_history",
    summary="A member's networks",
    response_model=MemberHistory,
    responses=problems(404),
)
async def get_member_history(
    request: Request,
    session: SessionDep,
    actor: Actor,
    member_id: MemberId,
    as_of: OptionalAsOfDep,
    names: NameChoiceDep,
) -> Response:
    """Every membership and tenure of one city or organization, in every network:
    "which networks is Seoul in". With `as_of`, only those in force that day. The
    member's `name` is the one in force on `as_of` (default today) in the language asked
    for (`lang`, else `Accept-Language`)."""
    history = await member_history(session, actor, member_id, as_of=as_of, names=names)
    return represent(request, history, headers=names.headers())


# Lookups read, whatever their method: no key asked for the POST either.
lookup_router = APIRouter(prefix="/v1/members", tags=["members"])

_LOOKUP_DESCRIPTION = (
    "The cities and organizations that carry these identifiers, in one statement: a "
    "wikidata id (Q8684), a geonames id (1835848), an ISO 3166-2 code (KR-11) or a "
    "UN/LOCODE (KRSEL), up to 100. Each identifier asked once is answered once, in the "
    "order asked; those no member carries are listed in `unknown`. Members are named as "
    "`lang` (else `Accept-Language`) asks."
)


@lookup_router.get(
    "/lookup",
    operation_id="lookup_members",
    summary="Members by identifier",
    response_model=LookupResult,
    responses=problems(400),
    description=_LOOKUP_DESCRIPTION,
)
async def lookup_members_by_query(
    request: Request,
    session: SessionDep,
    names: NameChoiceDep,
    id: Annotated[
        list[MemberIdentifier],
        Query(min_length=1, max_length=MAX_LOOKUP, description="An identifier; repeat it."),
    ],
) -> Response:
    result = await lookup_members(session, id, names)
    return represent(request, result, headers=names.headers())


@lookup_router.post(
    "/lookup",
    operation_id="lookup_members_in_batch",
    summary="Members by identifier (a batch in the body)",
    response_model=LookupResult,
    responses=problems(400, 413, 415),
    description=_LOOKUP_DESCRIPTION + " The POST reads and changes nothing; it needs no key.",
)
async def lookup_members_by_body(
    request: Request, session: SessionDep, names: NameChoiceDep, body: LookupRequest
) -> Response:
    result = await lookup_members(session, body.ids, names)
    return represent(request, result, headers=names.headers())
