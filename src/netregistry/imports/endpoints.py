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
from netregistry.kit.dates import CALENDAR_PATTERN, PartialDate
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
    "name,country_code,category,start_date,wikidata,lang\r\n"
    "Seoul,KR,full,1987,Q8684,en\r\n"
    "Yokohama,JP,full,1987-09,Q38283,en\r\n"
    "Surabaya,ID,associate,,,\r\n"
)
CSV_BODY = f"""A member list as CSV, UTF-8 (a byte order mark is fine), comma separated, one
member per row. The header row names the columns, in any order and case:
`name`, `country_code` (ISO 3166-1 alpha-2), `category` (one of the network's
`membership_categories`), and optionally `kind` (`city`, the default, or
`organization`), `wikidata` (the member's Q-id), `start_date` and `end_date` (`YYYY`,
`YYYY-MM` or `YYYY-MM-DD`), `source_url`, `note`, `lang` (the BCP 47 language of the
name) and `new` (`x` or `yes`: a member to add although similar names exist).
Each row's member is the one with that wikidata id, else the one of that name (or
alternative name) in that country, case and accents ignored. A name like no member's
adds one; a name that resembles some but matches none is ambiguous (the report lists
the candidates) unless marked `new`. A member with a membership in force in another
category changes category on `start_date`; empty cells leave the registry's values as
they are. At most {MAX_ROWS} rows."""


@router.post(
    "/memberships:import",
    operation_id="import_memberships",
    summary="Sync the member list with a spreadsheet (CSV)",
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
            "query parameter is: `dry_run` or `create_unmatched` not true or false, "
            "`end_missing` not a date or before a missing membership's start, or one the "
            "import does not take (`dryrun` is refused, naming `dry_run`, never taken for a "
            "real import). A real run with an ambiguous row (a name that matches no member "
            "exactly but resembles some) is refused naming the row and its candidates. "
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
    create_unmatched: Annotated[
        bool,
        Query(
            description="Add a member for every row whose name matches none exactly, as if "
            "each were marked `new`: the candidates are then only reported."
        ),
    ] = False,
    end_missing: Annotated[
        str | None,
        Query(
            pattern=CALENDAR_PATTERN,
            description="End, on this date (`YYYY`, `YYYY-MM` or `YYYY-MM-DD`, exclusive), "
            "the memberships in force of members the file does not list. Without it they "
            "are listed in `missing` and kept.",
            examples=["2026-12-31"],
        ),
    ] = None,
) -> Response:
    """Keep the network's member list in step with a CSV file: every change, or none."""
    body = await request.body()
    queue: ImportQueue = request.app.state.import_queue
    if idempotency.HEADER not in request.headers:
        # The key lookup's read-only transaction holds a pooled connection: give it back
        # while the import waits its turn, so that waiting imports hold none. (With an
        # Idempotency-Key the transaction holds the key's claim, which must stay.)
        await importer.session.rollback()
    async with queue.turn():
        report = await importer.run(
            slug,
            body,
            dry_run=dry_run,
            create_unmatched=create_unmatched,
            end_missing=PartialDate.parse(end_missing) if end_missing else None,
        )
    return represent(request, report, status_code=200 if dry_run else 201)
