"""Candidates: the members a name (in a country, of a kind) may mean, scored.

What reconciliation (``/v1/reconcile``) and the CSV member-list sync ask when a name does
not match exactly. Names are compared as search compares them: folded
(:func:`~netregistry.registry.names.fold_name`), found by the trigram index
(:func:`~netregistry.registry.names.name_matches`'s ``<%``), ranked by trigram
similarity, a member's default name and every other name alike.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Float, Select, Text, bindparam, case, func, or_, select, true
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from netregistry.models import Member
from netregistry.registry.names import fold_name, search_key

CANDIDATE_LIMIT = 5
"""Candidates per name, at most."""

NAME_WEIGHT = 0.75
"""The share of the score the name holds when a country is asked; the country holds the
rest (see :func:`score`)."""


@dataclass(frozen=True, slots=True)
class Wanted:
    """A name to find: in ``country`` and of ``kind`` when given; ``wikidata``, when
    given, is certain."""

    name: str
    country: str | None = None
    kind: str | None = None
    wikidata: str | None = None


@dataclass(frozen=True, slots=True)
class Candidate:
    """A member a name may mean, and how well it agrees (``score`` 0 to 100)."""

    member_id: uuid.UUID
    name: str
    kind: str
    country_code: str | None
    wikidata: str | None
    score: int
    certain: bool

    def in_words(self) -> str:
        """``Kuala Lumpur (MY), 81``."""
        where = f" ({self.country_code})" if self.country_code else ""
        return f"{self.name}{where}, {self.score}"


def score(
    similarity: float,
    *,
    exact: bool,
    country_asked: bool,
    same_country: bool,
    wikidata_asked: bool,
    same_wikidata: bool,
) -> tuple[int, bool]:
    """A candidate's score (0 to 100) and whether it is certain.

    The same Wikidata id is certain: 100. A member carrying another Wikidata id than
    the one asked scores at most half. Otherwise the name's similarity (1 for the same
    folded name) makes the score, and when a country is asked it holds a quarter of it:
    ``100 × (0.75 × similarity + 0.25 × same country)``. Certain: the same folded name
    in the country asked (or, none asked, anywhere).
    """
    if wikidata_asked and same_wikidata:
        return 100, True
    value = similarity
    if country_asked:
        value = NAME_WEIGHT * similarity + (1 - NAME_WEIGHT) * same_country
    if wikidata_asked:
        value /= 2
    points = max(0, min(100, round(100 * value)))
    certain = exact and (same_country or not country_asked) and not wikidata_asked
    if certain:
        points = 100
    elif points == 100:
        points = 99  # only what is certain scores 100
    return points, certain


def _candidates_statement(limit: int) -> Select[Any]:
    wanted = (
        func.unnest(
            bindparam("names", type_=ARRAY(Text)),
            bindparam("countries", type_=ARRAY(Text)),
            bindparam("kinds", type_=ARRAY(Text)),
            bindparam("wikidata", type_=ARRAY(Text)),
        )
        .table_valued("name", "country", "kind", "wikidata", with_ordinality="position")
        .render_derived(name="wanted")
    )
    key = search_key(wanted.c.name)
    each = (
        func.unnest(
            func.array_prepend(sql_cast(Member.name, Text), sql_cast(Member.alt_names, ARRAY(Text)))
        )
        .table_valued("text")
        .render_derived(name="each_name")
    )
    folded = fold_name(each.c.text)
    similarity = (
        func.similarity(key, folded, type_=Float) + func.word_similarity(key, folded, type_=Float)
    ) / 2
    names_of = (
        select(
            func.max(similarity).label("similarity"),
            func.bool_or(folded == key).label("exact"),
        )
        .select_from(each)
        .correlate_except(each)
        .lateral("names_of")
    )
    same_country = func.coalesce(Member.country_code == wanted.c.country, False)
    ranked = (
        select(
            Member.id,
            Member.name,
            Member.kind,
            Member.country_code,
            Member.wikidata,
            names_of.c.similarity,
            names_of.c.exact,
            same_country.label("same_country"),
        )
        .select_from(Member)
        .join(names_of, true())
        .where(
            or_(key.op("<%")(Member.search_text), Member.wikidata == wanted.c.wikidata),
            or_(wanted.c.kind.is_(None), Member.kind == wanted.c.kind),
        )
        .order_by(
            (Member.wikidata == wanted.c.wikidata).is_(True).desc(),
            names_of.c.exact.desc(),
            (names_of.c.similarity + case((same_country, 1), else_=0)).desc(),
            Member.name,
            Member.id,
        )
        .limit(limit)
        .correlate(wanted)
        .lateral("ranked")
    )
    return (
        select(
            wanted.c.position,
            wanted.c.country.label("asked_country"),
            wanted.c.wikidata.label("asked_wikidata"),
            ranked,
        )
        .select_from(wanted)
        .join(ranked, true())
        .order_by(wanted.c.position)
    )


async def find_candidates(
    session: AsyncSession, wanted: Sequence[Wanted], *, limit: int = CANDIDATE_LIMIT
) -> list[list[Candidate]]:
    """For each of ``wanted``, in order, the members it may mean, best first, scored by
    :func:`score`: one statement for the whole batch (the names travel as arrays)."""
    if not wanted:
        return []
    parameters: dict[str, Any] = {
        "names": [item.name for item in wanted],
        "countries": [item.country for item in wanted],
        "kinds": [item.kind for item in wanted],
        "wikidata": [item.wikidata for item in wanted],
    }
    found: list[list[Candidate]] = [[] for _ in wanted]
    for row in await session.execute(_candidates_statement(limit), parameters):
        points, certain = score(
            float(row.similarity or 0),
            exact=bool(row.exact),
            country_asked=row.asked_country is not None,
            same_country=bool(row.same_country),
            wikidata_asked=row.asked_wikidata is not None,
            same_wikidata=row.asked_wikidata is not None and row.wikidata == row.asked_wikidata,
        )
        found[int(row.position) - 1].append(
            Candidate(
                member_id=row.id,
                name=row.name,
                kind=row.kind,
                country_code=row.country_code,
                wikidata=row.wikidata,
                score=points,
                certain=certain,
            )
        )
    for candidates in found:
        candidates.sort(key=lambda candidate: (-candidate.score, candidate.name))
    return found


def certain_match(candidates: Sequence[Candidate]) -> Candidate | None:
    """The one certain candidate, if exactly one is (two certain namesakes: neither)."""
    certain = [candidate for candidate in candidates if candidate.certain]
    return certain[0] if len(certain) == 1 else None
