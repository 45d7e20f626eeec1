"""The reconciliation service's routes, ``/v1/reconcile``: the manifest, queries (GET
or a form-encoded POST, as OpenRefine sends them), type and property suggest, and a
preview. All of them read; none needs a key."""

from __future__ import annotations

import uuid
from typing import Annotated
from urllib.parse import parse_qs

from fastapi import APIRouter, Query, Request, Response

from netregistry.errors import FieldError, ValidationFailed
from netregistry.kit.deps import SessionDep
from netregistry.kit.http import problems, represent
from netregistry.kit.types import LOOKUP_PATTERN
from netregistry.reconcile import service
from netregistry.reconcile.schemas import (
    MAX_QUERIES,
    TYPES,
    CandidateType,
    Manifest,
    Preview,
    ResultBatch,
    ServiceView,
    Suggest,
    Suggestion,
    Suggestions,
    SuggestService,
)

PATH = "/v1/reconcile"
router = APIRouter(prefix=PATH, tags=["reconciliation"])

QUERIES = (
    'A JSON object of queries by key, each `{"query": <name>, "type": "city" | '
    '"organization", "limit": <1-25>, "properties": [{"pid": "country" | "kind" | '
    f'"wikidata", "v": <value>}}]}}`; at most {MAX_QUERIES} queries. Without it, the '
    "service manifest."
)
MAX_QUERIES_TEXT = 200_000
# In a URL a batch is smaller: the request head is bounded (NETREGISTRY_MAX_HEADER_BYTES).
MAX_QUERIES_URL = 4_000


def _manifest(request: Request) -> Manifest:
    base = str(request.base_url).rstrip("/")
    return Manifest(
        versions=["0.2"],
        name="netregistry: cities and organizations in networks",
        identifierSpace=f"{base}/v1/members/",
        schemaSpace=f"{base}{PATH}/types/",
        documentation=f"{base}/docs",
        view=ServiceView(url=f"{base}{PATH}/preview?id={{{{id}}}}"),
        defaultTypes=[CandidateType(id=key, name=name) for key, name in TYPES.items()],
        suggest=Suggest(
            type=SuggestService(service_url=base, service_path=f"{PATH}/suggest/type"),
            property=SuggestService(service_url=base, service_path=f"{PATH}/suggest/property"),
        ),
        preview=Preview(url=f"{base}{PATH}/preview?id={{{{id}}}}", width=400, height=160),
    )


async def _answer(request: Request, session: SessionDep, queries: str | None) -> Response:
    if queries is None:
        return represent(request, _manifest(request))
    batch = service.read_queries(queries)
    return represent(request, ResultBatch(await service.reconcile(session, batch)))


@router.get(
    "",
    operation_id="reconcile",
    summary="Reconcile names (manifest, or a batch of queries)",
    response_model=Manifest | ResultBatch,
    responses=problems(422),
)
async def reconcile_get(
    request: Request,
    session: SessionDep,
    queries: Annotated[
        str | None, Query(max_length=MAX_QUERIES_URL, pattern=LOOKUP_PATTERN, description=QUERIES)
    ] = None,
) -> Response:
    """The service manifest; with `queries`, each query's scored candidates."""
    return await _answer(request, session, queries)


@router.post(
    "",
    operation_id="reconcile_batch",
    summary="Reconcile a batch of names (form-encoded, as OpenRefine sends it)",
    response_model=ResultBatch | Manifest,
    responses=problems(413, 415, 422),
    openapi_extra={
        "requestBody": {
            "required": False,
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "queries": {
                                "type": "string",
                                "maxLength": MAX_QUERIES_TEXT,
                                "description": QUERIES,
                            }
                        },
                    }
                }
            },
        }
    },
)
async def reconcile_post(request: Request, session: SessionDep) -> Response:
    """Each query's scored candidates; a body without `queries`, the manifest."""
    body = (await request.body()).decode("utf-8", errors="strict")
    form = parse_qs(body, keep_blank_values=True, strict_parsing=False)
    unknown = sorted(set(form) - {"queries"})
    if unknown or len(form.get("queries", [])) > 1:
        name = unknown[0] if unknown else "queries"
        raise ValidationFailed(
            f"The form takes one field, queries; got {name!r}"
            + (" twice" if not unknown else "")
            + ".",
            [FieldError(location=["body", name[:50]], message="not taken", type="extra_forbidden")],
        )
    queries = form["queries"][0] if "queries" in form else None
    if queries is not None and len(queries) > MAX_QUERIES_TEXT:
        raise ValidationFailed(
            f"queries is longer than {MAX_QUERIES_TEXT} characters.",
            [FieldError(location=["body", "queries"], message="too long", type="too_long")],
        )
    return await _answer(request, session, queries)


Prefix = Annotated[
    str,
    Query(max_length=200, pattern=LOOKUP_PATTERN, description="What the user has typed so far."),
]


@router.get(
    "/suggest/type",
    operation_id="reconcile_suggest_type",
    summary="Suggest types",
    response_model=Suggestions,
    responses=problems(422),
)
async def suggest_type(request: Request, prefix: Prefix = "") -> Response:
    """The types (city, organization) whose id or name starts with `prefix`."""
    found = [Suggestion(**item) for item in service.suggest_types(prefix)]
    return represent(request, Suggestions(result=found))


@router.get(
    "/suggest/property",
    operation_id="reconcile_suggest_property",
    summary="Suggest properties",
    response_model=Suggestions,
    responses=problems(422),
)
async def suggest_property(request: Request, prefix: Prefix = "") -> Response:
    """The properties (country, kind, wikidata) whose id or name starts with `prefix`."""
    found = [Suggestion(**item) for item in service.suggest_properties(prefix)]
    return represent(request, Suggestions(result=found))


@router.get(
    "/preview",
    operation_id="reconcile_preview",
    summary="Preview a member (HTML)",
    response_class=Response,
    responses={
        200: {"content": {"text/html": {"schema": {"type": "string"}}}, "description": "HTML."},
        **problems(404, 422),
    },
)
async def preview(
    session: SessionDep,
    id: Annotated[uuid.UUID, Query(description="A member's id, as a candidate gives it.")],
) -> Response:
    """A member as a small HTML page, for OpenRefine's preview pane."""
    return Response(await service.preview(session, id), media_type="text/html; charset=utf-8")
