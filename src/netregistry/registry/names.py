"""Names: when two names are the same name, and which name a reader sees.

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

Below the folding: a member's or network's language-tagged names, stored in order
(:func:`replace_names`, :func:`add_names`), read back in one statement per batch, and
the display name chosen by language and day (:func:`display_name`). The candidates a
name may mean, scored, are :mod:`netregistry.registry.candidates`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Date,
    Select,
    Text,
    Uuid,
    any_,
    bindparam,
    delete,
    func,
    insert,
    select,
)
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
    """The names of each of ``network_ids``, in their order, as :class:`NameRead` dicts,
    in one statement."""
    return await _names_by_owner(session, Name.network_id, network_ids)


async def names_of_members(
    session: AsyncSession, member_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[dict[str, Any]]]:
    """The names of each of ``member_ids``, in their order, as :class:`NameRead` dicts,
    in one statement."""
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
