"""The shapes every noun shares: a member as embedded wherever one appears (as a
response model and as the JSON PostgreSQL writes for it), and the period fields of
memberships and tenures.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import Field
from pydantic_core import PydanticCustomError
from sqlalchemy import ColumnElement
from sqlalchemy.orm import QueryableAttribute

from netregistry.kit.dates import PartialDate, validate_period
from netregistry.kit.pagination import json_object, json_value
from netregistry.kit.schemas import ReadSchema
from netregistry.models import Member, Membership

START = "The first day it holds, to the year, month or day; null: since before the records."
END = "The day it stopped holding (exclusive); null: ongoing."


def check_period(start: PartialDate | None, end: PartialDate | None) -> None:
    """A schema's period ends after it starts (an error of type ``period_order``)."""
    if problem := validate_period(start, end):
        raise PydanticCustomError("period_order", "{problem}", {"problem": problem})


class MemberSummary(ReadSchema):
    """A member as embedded wherever one appears."""

    id: uuid.UUID
    kind: Literal["city", "organization"]
    name: str = Field(examples=["Seoul"])
    country_code: str | None = Field(examples=["KR"])


def member_summary(member: type[Member] = Member) -> ColumnElement[str]:
    """A :class:`MemberSummary` as JSON text (see ``kit/pagination.py``)."""
    return _summary(member.id, member.kind, member.name, member.country_code)


def membership_member_summary(membership: type[Membership] = Membership) -> ColumnElement[str]:
    """The :class:`MemberSummary` of a membership's member, as :func:`member_summary`
    writes it, from the member's facts the membership carries (migrations 0008, 0012)."""
    return _summary(
        membership.member_id,
        membership.member_kind,
        membership.member_name,
        membership.member_country,
    )


def _summary(
    id: QueryableAttribute[uuid.UUID],
    kind: QueryableAttribute[Any],
    name: QueryableAttribute[Any],
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
