from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from netregistry.auth.dependencies import authorize_write, service_for
from netregistry.errors import UnsupportedMediaType
from netregistry.imports.member_list import MAX_ROWS, ImportQueue, MembershipImporter
from netregistry.kit import idempotency
from netregistry.kit.deps import AsOfDep, PageDep
from netregistry.kit.direct import COUNTRY, COUNTRY_PATTERN, DirectRead, direct_read
from netregistry.kit.http import (
    WRITE_STATUSES,
    IfMatch,
    created,
    no_content,
    problem_doc,
    problems,
    represent,
    represent_page,
    represent_page_bytes,
)
from netregistry.kit.pagination import Page
from netregistry.memberships.schemas import (
    MemberListRow,
    MembershipCreate,
    MembershipImportReport,
    MembershipRead,
    MembershipUpdate,
)
from netregistry.memberships.service import MembershipService
from netregistry.registry.paths import SlugPath

router = APIRouter(
    prefix="/v1/networks/{slug}",
    tags=["memberships"],
    dependencies=[Depends(authorize_write)],
)

MembershipId = Annotated[uuid.UUID, Path(description="The membership's id.")]


Service = Annotated[MembershipService, service_for(MembershipService)]
Importer = Annotated[MembershipImporter, service_for(MembershipImporter)]

CSV_EXAMPLE = (
    "name,country_code,category,start_date,wikidata\r\n"
    "Seoul,KR,full,1987,Q8684\r\n"
    "Yokohama,JP,full,1987-09,Q38283\r\n"
    "Surabaya,ID,associate,,\r\n"
)
CSV_BODY = f"""A member list as CSV, UTF-8 (a byte order mark is fine), comma separated, one
member per row. The header row names the columns, in any order and case:
`name`, `country_code` (ISO 3166-1 alpha-2), `category` (one of the network's
`membership_categories`), and optionally `start_date` (`YYYY`, `YYYY-MM` or
`YYYY-MM-DD`; empty: since before the records) and `wikidata` (the city's Q-id).
Each row's city is the one with that wikidata id, else the one of that name (or
alternative name) in that country, case and accents ignored; a city not found is
created. At most {MAX_ROWS} rows."""


_MEMBER_LIST_QUERY = ("as_of", "limit", "cursor", "category", "country", "kind", "role", "q")


@router.get(
    "/members",
    operation_id="list_network_members",
    summary="Members on a date",
    response_model=Page[MemberListRow],
    responses=problems(400, 404),
)
async def list_network_members(
    request: Request,
    service: Service,
    slug: SlugPath,
    as_of: AsOfDep,
    page: PageDep,
    category: Annotated[str | None, Query(max_length=63, examples=["full"])] = None,
    country: Annotated[str | None, Query(pattern=COUNTRY_PATTERN, examples=["KR"])] = None,
    kind: Annotated[Literal["city", "organization"] | None, Query()] = None,
    role: Annotated[
        str | None, Query(max_length=63, description="Only holders of this role that day.")
    ] = None,
    q: Annotated[
        str | None, Query(min_length=1, max_length=200, description="Name search.")
    ] = None,
) -> Response:
    """The memberships in force on `as_of` (default today), by member name, with the roles
    each member holds that day."""
    found = await service.members_on(
        slug,
        as_of,
        page,
        category=category,
        country=country.upper() if country else None,
        kind=kind,
        role=role,
        q=q,
    )
    return represent_page_bytes(request, found.body(), found.next_cursor)


@direct_read("/v1/networks/{slug}/members", query=_MEMBER_LIST_QUERY)
async def list_network_members_directly(read: DirectRead) -> Response:
    """:func:`list_network_members`, without the framework (kit/direct.py)."""
    country = read.text("country", max_length=2, pattern=COUNTRY)
    found = await MembershipService(read.session, None).members_on(
        read.path("slug"),
        read.as_of(),
        read.page(),
        category=read.text("category", max_length=63),
        country=country.upper() if country else None,
        kind=read.choice("kind", ("city", "organization")),
        role=read.text("role", max_length=63),
        q=read.text("q", max_length=200),
    )
    return represent_page_bytes(read.request, found.body(), found.next_cursor)


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
    member_id: Annotated[uuid.UUID | None, Query(description="Only this member's.")] = None,
) -> Response:
    """Every membership of the network, ended ones too, in the order they were recorded."""
    items, next_cursor = await service.list_page(slug, page, member_id=member_id)
    return represent_page(request, Page(items=items, next_cursor=next_cursor))


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


@router.post(
    "/memberships:import",
    operation_id="import_memberships",
    summary="Import a member list (CSV)",
    status_code=201,
    response_model=MembershipImportReport,
    responses={
        200: {
            "model": MembershipImportReport,
            "description": "Dry run: what the import would do. Nothing was written.",
        },
        **problems(*WRITE_STATUSES, 404, 409),
        413: problem_doc(f"The body exceeds the size limit, or the file has over {MAX_ROWS} rows."),
        415: problem_doc("The request body is not CSV (Content-Type: text/csv; UTF-8)."),
        409: problem_doc(
            "A row breaks a registry rule (such as overlapping a membership); `errors` names "
            "each row and column. Nothing was written."
        ),
        422: problem_doc(
            'Rows are invalid; `errors` names each by `["body", "row", <row, the header '
            "being 1>, <column>]` (the first 50; `total_errors` counts them all). "
            "Nothing was written."
        ),
        503: {
            **problems(503)[503],
            "description": (
                "The database is unavailable, or the most imports a process runs at once "
                "(NETREGISTRY_MAX_CONCURRENT_IMPORTS) are running and this one waited its "
                "turn too long or found the queue full. Nothing was written; retry after "
                "`Retry-After` seconds."
            ),
        },
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": CSV_BODY,
            "content": {"text/csv": {"schema": {"type": "string"}, "example": CSV_EXAMPLE}},
        }
    },
)
async def import_memberships(
    request: Request,
    importer: Importer,
    slug: SlugPath,
    dry_run: Annotated[
        bool, Query(description="Check the file and report what would change; write nothing.")
    ] = False,
) -> Response:
    """Add the members a CSV file lists, creating missing cities: every row, or none."""
    _require_utf8(request.headers.get("content-type", ""))
    body = await request.body()
    queue: ImportQueue = request.app.state.import_queue
    if idempotency.HEADER not in request.headers:
        # The key lookup's read-only transaction holds a pooled connection: give it back
        # while the import waits its turn, so that waiting imports hold none. (With an
        # Idempotency-Key the transaction holds the key's claim, which must stay.)
        await importer.session.rollback()
    async with queue.turn():
        report = await importer.run(slug, body, dry_run=dry_run)
    return represent(request, report, status_code=200 if dry_run else 201)


def _require_utf8(content_type: str) -> None:
    for parameter in content_type.split(";")[1:]:
        name, _, value = parameter.partition("=")
        charset = value.strip().strip('"').lower()
        if name.strip().lower() == "charset" and charset not in ("utf-8", "utf8", "us-ascii"):
            raise UnsupportedMediaType(
                f"A member list is UTF-8 text; got charset {charset[:40]!r}. "
                "Save the spreadsheet as CSV UTF-8."
            )


@router.get(
    "/memberships/{membership_id}",
    operation_id="get_membership",
    summary="Get a membership",
    response_model=MembershipRead,
    responses=problems(404),
)
async def get_membership(
    request: Request, service: Service, slug: SlugPath, membership_id: MembershipId
) -> Response:
    """One membership by id."""
    return represent(request, await service.get(slug, membership_id))


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
