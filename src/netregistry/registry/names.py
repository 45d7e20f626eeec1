"""Name folding: when two names are the same name.

Two names are the same when their folded keys are equal. The key is defined once, by
the database function ``public.fold_name`` (migration 0009):

1. Unicode NFC: a name typed decomposed (``"Sa\\u0303o"``, as macOS and some web forms
   send it) is the name typed composed (``"São"``); Hangul jamo compose into syllables.
2. Accents removed and letters spelt out by the ``unaccent`` dictionary (named, so the
   result is fixed): ``Ł`` is ``L``, ``Å`` is ``A``, ``İ`` and ``ı`` are ``I`` and ``i``,
   ``ß`` is ``ss``, ``Æ`` is ``AE``, full-width ``Ｏｓａｋａ`` is ``Osaka``.
3. Lower case (after step 2, so ``İ`` gives ``i``, never ``i`` with a combining dot).
   Beyond what ``unaccent`` makes ASCII, case follows the database's ``LC_CTYPE``.
4. Runs of white space (every Unicode ``White_Space`` character, whatever the locale)
   become one space, and the ends are trimmed.

So ``Łódź`` and ``Lodz`` fold to ``lodz``, ``Straße`` and ``STRASSE`` to ``strasse``,
``"Kuala  Lumpur"`` to ``kuala lumpur``. Everything that compares names uses this one
function: the stored search text behind name search (``member_search_text``), the search
key, the CSV import's match of a row's city in the registry, and its check that a file
does not name one city twice, which asks the database for the keys
(:func:`fold_names`) instead of folding in Python, so that the two cannot disagree.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Date,
    Float,
    Select,
    Text,
    Uuid,
    any_,
    bindparam,
    case,
    delete,
    func,
    insert,
    or_,
    select,
    true,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, aliased

from netregistry.kit.languages import NameChoice
from netregistry.models import Member, Name


def fold_name(name: ColumnElement[str] | InstrumentedAttribute[str]) -> ColumnElement[str]:
    """``name`` folded (an SQL expression): the key under which names are compared."""
    return func.public.fold_name(name, type_=Text)


_GIVEN = (
    func.unnest(bindparam("names", type_=ARRAY(Text)))
    .table_valued("name", with_ordinality="position")
    .render_derived()
)
# The keys of a batch in the batch's order, in one statement: ``names`` travel as one
# array, never a parameter apiece.
_FOLD_NAMES = select(fold_name(_GIVEN.c.name)).select_from(_GIVEN).order_by(_GIVEN.c.position)


async def fold_names(session: AsyncSession, names: Sequence[str]) -> list[str]:
    """The folded key of each of ``names``, in order, as the database computes it."""
    if not names:
        return []
    parameters: dict[str, Any] = {"names": list(names)}
    return list(await session.scalars(_FOLD_NAMES, parameters))


def search_key(q: ColumnElement[str]) -> ColumnElement[str]:
    """`q` (a placeholder) folded as the search text is (:func:`fold_name`).

    An expression, not a subquery: PostgreSQL then gives it to the trigram index as the
    value searched for (a subquery's value is unknown when planning: a sequential scan).
    """
    return fold_name(q)


def name_matches(q: ColumnElement[str], member: type[Member] = Member) -> ColumnElement[bool]:
    """A condition: the member's name or an alternative name resembles ``q``.

    The trigram index answers ``<%``, with the threshold every connection sets
    (:data:`netregistry.db.SEARCH_THRESHOLD`).
    """
    return search_key(q).op("<%")(member.search_text)


def matching_ids(q: ColumnElement[str]) -> Select[uuid.UUID]:
    """The ids of the members whose names resemble ``q``: a bitmap scan of the trigram
    index, whatever order the outer statement reads members in."""
    matched = aliased(Member, name="matched")
    return select(matched.id).where(name_matches(q, matched))


def display_name(
    owner: ColumnElement[Any] | InstrumentedAttribute[Any],
    fallback: ColumnElement[Any] | InstrumentedAttribute[Any],
) -> ColumnElement[str]:
    """The name a reader sees (``public.display_name``, migration 0013), with
    placeholders for the :class:`~netregistry.kit.languages.NameChoice`'s parameters
    (``name_langs``, ``name_day``, ``today``): the best name in force on ``name_day`` in
    the first of ``name_langs`` that has one (an exact tag before a more specific one),
    else a former name in force that day, else ``fallback`` (the default ``name``)."""
    return func.public.display_name(
        owner,
        fallback,
        bindparam("name_langs", type_=ARRAY(Text)),
        bindparam("name_day", type_=Date),
        bindparam("today", type_=Date),
        type_=Text,
    )


async def names_of(
    session: AsyncSession,
    *,
    member_id: uuid.UUID | None = None,
    network_id: uuid.UUID | None = None,
) -> list[dict[str, Any]]:
    """The names of one member or network, in their order, as :class:`NameRead` dicts."""
    owner = Name.member_id == member_id if member_id is not None else Name.network_id == network_id
    rows = await session.execute(
        select(Name.text, Name.lang, Name.kind, Name.start_date, Name.end_date)
        .where(owner)
        .order_by(Name.position)
    )
    return [
        {"text": t, "lang": lang, "kind": kind, "start_date": start, "end_date": end}
        for t, lang, kind, start, end in rows
    ]


async def replace_names(
    session: AsyncSession,
    names: Sequence[dict[str, Any]],
    *,
    member_id: uuid.UUID | None = None,
    network_id: uuid.UUID | None = None,
) -> None:
    """Make ``names`` (dicts of :class:`NameWrite`'s fields) the owner's names, in this
    order: two statements. A member's ``alt_names`` follow (migration 0013's triggers)."""
    owner = Name.member_id == member_id if member_id is not None else Name.network_id == network_id
    await session.execute(delete(Name).where(owner))
    if names:
        await session.execute(
            insert(Name),
            [
                {
                    "id": uuid.uuid4(),
                    "member_id": member_id,
                    "network_id": network_id,
                    "position": position,
                    **name,
                }
                for position, name in enumerate(names, start=1)
            ],
        )


async def add_names(
    session: AsyncSession, names: dict[uuid.UUID, Sequence[dict[str, Any]]]
) -> None:
    """Give members that have no names yet their ``names`` (per member id, dicts of
    :class:`NameWrite`'s fields, in order), in one statement: the statement-level
    trigger of migration 0013 then rewrites each member's ``alt_names`` once."""
    rows = [
        {"id": uuid.uuid4(), "member_id": member_id, "position": position, **name}
        for member_id, given in names.items()
        for position, name in enumerate(given, start=1)
    ]
    if rows:
        await session.execute(insert(Name), rows)


async def _names_by_owner(
    session: AsyncSession, owner: InstrumentedAttribute[Any], ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[dict[str, Any]]]:
    found: dict[uuid.UUID, list[dict[str, Any]]] = {owner_id: [] for owner_id in ids}
    if not ids:
        return found
    rows = await session.execute(
        select(owner, Name.text, Name.lang, Name.kind, Name.start_date, Name.end_date)
        .where(owner == any_(bindparam("ids", list(ids), ARRAY(Uuid))))
        .order_by(owner, Name.position)
    )
    for owner_id, t, lang, kind, start, end in rows:
        found[cast(uuid.UUID, owner_id)].append(
            {"text": t, "lang": lang, "kind": kind, "start_date": start, "end_date": end}
        )
    return found


async def names_of_networks(
    session: AsyncSession, network_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[dict[str, Any]]]:
    """The names of each of ``network_ids`` (as :func:`names_of`), in one statement."""
    return await _names_by_owner(session, Name.network_id, network_ids)


async def names_of_members(
    session: AsyncSession, member_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[dict[str, Any]]]:
    """The names of each of ``member_ids`` (as :func:`names_of`), in one statement."""
    return await _names_by_owner(session, Name.member_id, member_ids)


async def display_names(
    session: AsyncSession, owners: Sequence[tuple[uuid.UUID, str]], choice: NameChoice
) -> dict[uuid.UUID, str]:
    """The name a reader of ``choice`` sees for each ``(id, default name)``, in one
    statement (:func:`display_name`); the default names when the choice is plain."""
    if choice.plain or not owners:
        return dict(owners)
    given = (
        func.unnest(
            bindparam("owner_ids", [owner for owner, _ in owners], ARRAY(Uuid)),
            bindparam("owner_names", [name for _, name in owners], ARRAY(Text)),
        )
        .table_valued("owner_id", "owner_name")
        .render_derived()
    )
    rows = await session.execute(
        select(given.c.owner_id, display_name(given.c.owner_id, given.c.owner_name)),
        choice.parameters(),
    )
    return {row[0]: row[1] for row in rows}


# --- Candidates: the members a name (in a country, of a kind) may mean, scored ------------
#
# What reconciliation (``/v1/reconcile``) and the CSV member-list sync ask when a name
# does not match exactly. Names are compared as search compares them: folded
# (:func:`fold_name`), found by the trigram index (:func:`name_matches`), ranked by
# trigram similarity. Kept apart from search so that language-tagged names can replace
# ``name`` and ``alt_names`` here in one place.

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
