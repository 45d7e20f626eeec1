"""The shapes every noun shares: a member as embedded wherever one appears (as a
response model and as the JSON PostgreSQL writes for it), and the period fields of
memberships and tenures.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal, Protocol, TypeVar

from pydantic import AfterValidator, Field, model_validator
from pydantic_core import PydanticCustomError
from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute

from netregistry.kit.dates import HistoricalDate, PartialDate, validate_period
from netregistry.kit.languages import LanguageTag, NameChoice
from netregistry.kit.pagination import json_array, json_object, json_value
from netregistry.kit.schemas import ReadSchema, WriteSchema
from netregistry.kit.types import Name as NameText
from netregistry.models import Member, Membership, Name
from netregistry.registry.names import display_name, display_names

START = "The first day it holds, to the year, month or day; null: since before the records."
END = "The day it stopped holding (exclusive); null: ongoing."


def check_period(start: PartialDate | None, end: PartialDate | None) -> None:
    """A schema's period ends after it starts (an error of type ``period_order``)."""
    if problem := validate_period(start, end):
        raise PydanticCustomError("period_order", "{problem}", {"problem": problem})


NameKind = Literal["official", "common", "short", "acronym", "former"]
NAME_START = "The first day the name was in use, to the year, month or day; null: always."
NAME_END = "The day it stopped being used (exclusive); null: still in use."
MAX_NAMES = 100


class NameWrite(WriteSchema):
    """One name as the world writes it: its text, language and kind, and when it was used."""

    text: NameText = Field(examples=["서울특별시"])
    lang: LanguageTag = "und"
    kind: NameKind = Field(
        default="common",
        description="official, common, short, acronym, or former (a name no longer used).",
    )
    start_date: HistoricalDate | None = Field(default=None, description=NAME_START)
    end_date: HistoricalDate | None = Field(default=None, description=NAME_END)

    @model_validator(mode="after")
    def _valid_period(self) -> NameWrite:
        check_period(self.start_date, self.end_date)
        return self


def _names_once(names: list[NameWrite]) -> list[NameWrite]:
    seen: set[tuple[str, str, str]] = set()
    for name in names:
        key = (name.text, name.lang, name.kind)
        if key in seen:
            raise PydanticCustomError(
                "duplicate_name",
                "name each name once: {text} ({lang}, {kind}) is given more than once",
                {"text": repr(name.text), "lang": name.lang, "kind": name.kind},
            )
        seen.add(key)
    return names


Names = Annotated[
    list[NameWrite],
    Field(
        max_length=MAX_NAMES,
        description="Every name in every language, with its kind and period. Replaces "
        "the names there were; `alt_names` follows.",
    ),
    AfterValidator(_names_once),
]


class NameRead(ReadSchema):
    """One name of a member or network."""

    text: str = Field(examples=["서울특별시"])
    lang: str = Field(examples=["ko"])
    kind: NameKind
    start_date: HistoricalDate | None = Field(description=NAME_START)
    end_date: HistoricalDate | None = Field(description=NAME_END)


def names_json(
    owner: ColumnElement[Any] | QueryableAttribute[Any], *, network: bool = False
) -> Any:
    """The owner's names as a JSON array of :class:`NameRead` (text), in their order."""
    column = Name.network_id if network else Name.member_id
    document = json_object(
        {
            "text": json_value(Name.text),
            "lang": json_value(Name.lang),
            "kind": json_value(Name.kind),
            "start_date": json_value(Name.start_date),
            "end_date": json_value(Name.end_date),
        }
    )
    return (
        select(json_array(document, Name.position))
        .where(column == owner)
        .correlate_except(Name)
        .scalar_subquery()
    )


class MemberSummary(ReadSchema):
    """A member as embedded wherever one appears."""

    id: uuid.UUID
    kind: Literal["city", "organization"]
    name: str = Field(examples=["Seoul"])
    country_code: str | None = Field(examples=["KR"])


def member_summary(member: type[Member] = Member, *, named: bool = False) -> ColumnElement[str]:
    """A :class:`MemberSummary` as JSON text (see ``kit/pagination.py``); ``named``:
    with the name a reader chose (:func:`~netregistry.registry.names.display_name`)."""
    name: Any = display_name(member.id, member.name) if named else member.name
    return _summary(member.id, member.kind, name, member.country_code)


def membership_member_summary(
    membership: type[Membership] = Membership, *, named: bool = False
) -> ColumnElement[str]:
    """The :class:`MemberSummary` of a membership's member, as :func:`member_summary`
    writes it, from the member's facts the membership carries (migrations 0008, 0012)."""
    name: Any = (
        display_name(membership.member_id, membership.member_name)
        if named
        else membership.member_name
    )
    return _summary(membership.member_id, membership.member_kind, name, membership.member_country)


def _summary(
    id: QueryableAttribute[uuid.UUID],
    kind: QueryableAttribute[Any],
    name: QueryableAttribute[Any] | ColumnElement[Any],
    country_code: QueryableAttribute[str | None],
) -> ColumnElement[str]:
    return json_object(
        {
            "id": json_value(id),
            "kind": json_value(kind),
            "name": json_value(name),
            "country_code": json_value(country_code),
        }
    )


class _HasMember(Protocol):
    member: MemberSummary

    def model_copy(self, *, update: dict[str, Any] | None = None, deep: bool = False) -> Any: ...


ReadT = TypeVar("ReadT", bound=_HasMember)


async def with_member_names(
    session: AsyncSession, reads: list[ReadT], choice: NameChoice | None
) -> list[ReadT]:
    """``reads`` (memberships, tenures) with their member named as ``choice`` picks
    (:func:`~netregistry.registry.names.display_names`, one statement for them all)."""
    if choice is None or choice.plain or not reads:
        return reads
    owners = list({read.member.id: read.member.name for read in reads}.items())
    shown = await display_names(session, owners, choice)
    return [
        read.model_copy(
            update={"member": read.member.model_copy(update={"name": shown[read.member.id]})}
        )
        for read in reads
    ]
