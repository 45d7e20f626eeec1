"""Reconciliation: a batch of queries (a name, and a type, a country, a kind or a
Wikidata id as properties) answered with scored candidates, in one statement.

Scoring is :func:`netregistry.registry.candidates.score`, the CSV sync's: names folded and
compared by trigram similarity as search compares them, the country asked for a
quarter of the score, the Wikidata id asked certain. ``match`` is true for a candidate
only when it is the one certain candidate of its query.
"""

from __future__ import annotations

import html
import json
import uuid
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from netregistry.errors import FieldError, NotFound, ValidationFailed
from netregistry.kit.messages import officer_message
from netregistry.members.repository import MemberRepository
from netregistry.reconcile.schemas import (
    MAX_LIMIT,
    MAX_QUERIES,
    PROPERTIES,
    TYPES,
    Candidate,
    CandidateType,
    Query,
    QueryResult,
)
from netregistry.registry import candidates as scoring


def read_queries(text: str) -> dict[str, Query]:
    """The ``queries`` parameter (a JSON object of queries by key), checked: at most
    :data:`MAX_QUERIES`, each as the protocol's query schema shapes it."""
    try:
        document = json.loads(text)
    except ValueError as error:
        raise ValidationFailed(
            f'queries is not JSON: {error}. Send queries={{"q0": {{"query": "Seoul"}}}}.',
            [FieldError(location=["body", "queries"], message=str(error), type="json_invalid")],
        ) from error
    if not isinstance(document, dict) or not document:
        raise ValidationFailed(
            'queries must be a JSON object of queries by key, such as {"q0": {"query": "Seoul"}}.',
            [FieldError(location=["body", "queries"], message="not an object", type="object")],
        )
    if len(document) > MAX_QUERIES:
        raise ValidationFailed(
            f"A batch holds at most {MAX_QUERIES} queries; got {len(document)}. "
            "Lower OpenRefine's batch size.",
            [FieldError(location=["body", "queries"], message="too many", type="too_long")],
        )
    queries: dict[str, Query] = {}
    errors: list[FieldError] = []
    for key, value in document.items():
        try:
            queries[key] = Query.model_validate(value)
        except ValidationError as error:
            errors += [
                FieldError(
                    # Union branches ("str", "list[str]") are no place the client wrote.
                    location=[
                        "body",
                        "queries",
                        key[:50],
                        *(part for part in item["loc"] if "[" not in str(part)),
                    ],
                    message=officer_message(item),
                    type=item["type"],
                )
                for item in error.errors()
            ]
    if errors:
        listed = "; ".join(
            f"{'.'.join(str(part) for part in e.location[2:])}: {e.message}" for e in errors[:10]
        )
        raise ValidationFailed(f"Some queries are invalid: {listed}"[:2000], errors)
    return queries


def _wanted(query: Query) -> scoring.Wanted:
    return scoring.Wanted(
        name=query.text(),
        country=query.property_value("country"),
        kind=query.kind(),
        wikidata=query.property_value("wikidata"),
    )


async def reconcile(session: AsyncSession, queries: dict[str, Query]) -> dict[str, QueryResult]:
    """Each query's candidates, best first, at most its ``limit``."""
    keys = list(queries)
    limit = max((queries[key].limit or scoring.CANDIDATE_LIMIT for key in keys), default=1)
    found = await scoring.find_candidates(
        session, [_wanted(queries[key]) for key in keys], limit=min(limit, MAX_LIMIT)
    )
    results: dict[str, QueryResult] = {}
    for key, candidates in zip(keys, found, strict=True):
        certain = scoring.certain_match(candidates)
        results[key] = QueryResult(
            result=[
                Candidate(
                    id=str(candidate.member_id),
                    name=candidate.name,
                    description=_description(candidate),
                    score=candidate.score,
                    match=certain is not None and candidate.member_id == certain.member_id,
                    type=[CandidateType(id=candidate.kind, name=TYPES[candidate.kind])],
                )
                for candidate in candidates[: queries[key].limit or scoring.CANDIDATE_LIMIT]
            ]
        )
    return results


def _description(candidate: scoring.Candidate) -> str:
    where = f" in {candidate.country_code}" if candidate.country_code else ""
    wikidata = f", {candidate.wikidata}" if candidate.wikidata else ""
    return f"{TYPES[candidate.kind]}{where}{wikidata}"


def suggest(prefix: str, choices: dict[str, str]) -> list[dict[str, str]]:
    """The choices whose id or name starts with ``prefix`` (case ignored)."""
    wanted = prefix.strip().casefold()
    return [
        {"id": key, "name": name}
        for key, name in choices.items()
        if key.casefold().startswith(wanted) or name.casefold().startswith(wanted)
    ]


def suggest_types(prefix: str) -> list[dict[str, str]]:
    return suggest(prefix, TYPES)


def suggest_properties(prefix: str) -> list[dict[str, str]]:
    return suggest(prefix, PROPERTIES)


async def preview(session: AsyncSession, member_id: uuid.UUID) -> str:
    """A member as a small HTML page, for OpenRefine's preview pane."""
    member = await MemberRepository(session).get(member_id)
    if member is None:
        raise NotFound(f"No city or organization with id {member_id}.")
    facts: list[tuple[str, Any]] = [
        ("Kind", TYPES[member.kind]),
        ("Country", member.country_code),
        ("Also called", ", ".join(member.alt_names) or None),
        ("Subdivision", member.subdivision),
        ("Wikidata", member.wikidata),
    ]
    rows = "".join(
        f"<tr><th>{html.escape(label)}</th><td>{html.escape(str(value))}</td></tr>"
        for label, value in facts
        if value
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(member.name)}</title></head>"
        f'<body style="font-family:sans-serif;margin:0.5em"><strong>{html.escape(member.name)}'
        f"</strong><table>{rows}</table></body></html>"
    )
