"""The shapes every noun shares: a member as embedded wherever one appears (as a
response model and as the JSON PostgreSQL writes for it), and the period fields of
memberships and tenures.
"""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import Field
from sqlalchemy import ColumnElement

from netregistry.kit.dates import PartialDate, validate_period
from netregistry.kit.pagination import json_object, json_value
from netregistry.kit.schemas import ReadSchema
from netregistry.models import Member

START = "The first day it holds, to the year, month or day; null: since before the records."
END = "The day it stopped holding (exclusive); null: ongoing."


def check_period(start: PartialDate | None, end: PartialDate | None) -> None:
    """A schema's period ends after it starts (a ``ValueError`` for pydantic)."""
    if problem := validate_period(start, end):
        raise ValueError(problem)


class MemberSummary(ReadSchema):
    """A member as embedded wherever one appears."""

    id: uuid.UUID
    kind: Literal["city", "organization"]
    name: str = Field(examples=["Seoul"])
    country_code: str | None = Field(examples=["KR"])


def member_summary(member: type[Member] = Member) -> ColumnElement[str]:
    """A :class:`MemberSummary` as JSON text (see ``kit/pagination.py``)."""
    return json_object(
        {
            "id": json_value(member.id),
            "kind": json_value(member.kind),
            "name": json_value(member.name),
            "country_code": json_value(member.country_code),
        }
    )
