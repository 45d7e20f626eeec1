"""The CSV member-list import's route: ``POST /v1/networks/{slug}/memberships:import``.

It answers for memberships (and is listed under them in the contract), but its work
spans nouns (it finds or creates cities), so it lives with the importer, above them.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from netregistry.auth.dependencies import authorize_write, service_for
from netregistry.imports.member_list import MAX_ROWS, ImportQueue, MembershipImporter
from netregistry.kit import idempotency
from netregistry.kit.http import WRITE_STATUSES, problem_doc, problems, represent
from netregistry.memberships.schemas import MembershipImportReport
from netregistry.registry.paths import SlugPath

router = APIRouter(
    prefix="/v1/networks/{slug}",
    tags=["memberships"],
    dependencies=[Depends(authorize_write)],
)

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
            "being 1>, <column>]` (the first 50; `total_errors` counts them all). Or a "
            "query parameter is: `dry_run` not true or false, or one the import does not "
            "take (`dryrun` is refused, naming `dry_run`, never taken for a real import). "
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
