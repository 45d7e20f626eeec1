from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import ConfigDict, Field, model_validator

from netregistry.kit.dates import HistoricalDate, PartialDate, validate_period
from netregistry.kit.schemas import ReadSchema, WriteSchema
from netregistry.kit.types import LongText, Slug, WebUrl
from netregistry.members.schemas import MemberSummary

START = "The first day it holds, to the year, month or day; null: since before the records."
END = "The day it stopped holding (exclusive); null: ongoing."

EXAMPLE: dict[str, Any] = {
    "member_id": "6f1c8f5e-8a7b-4c1e-9a53-3f4f2c9b7d10",
    "category": "full",
    "start_date": "2013",
    "end_date": None,
    "source_url": "https://english.seoul.go.kr/seoul-metropolitan-government-named-new-chair-city-of-citynet/",
    "note": "Named as a member city in the 2013 article.",
}


def check_period(start: PartialDate | None, end: PartialDate | None) -> None:
    if problem := validate_period(start, end):
        raise ValueError(problem)


class MembershipCreate(WriteSchema):
    """A member joins a network in a category."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE]})

    member_id: uuid.UUID = Field(description="A city or organization id.")
    category: Slug = Field(description="One of the network's membership_categories.")
    start_date: HistoricalDate | None = Field(default=None, description=START)
    end_date: HistoricalDate | None = Field(default=None, description=END)
    source_url: WebUrl | None = Field(default=None, description="Where the fact comes from.")
    note: LongText | None = None

    @model_validator(mode="after")
    def _valid_period(self) -> MembershipCreate:
        check_period(self.start_date, self.end_date)
        return self


class MembershipUpdate(WriteSchema):
    """Corrections to a membership; ending it is setting `end_date`."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"end_date": "2016-12"}]})

    category: Slug | None = None
    start_date: HistoricalDate | None = Field(default=None, description=START)
    end_date: HistoricalDate | None = Field(default=None, description=END)
    source_url: WebUrl | None = None
    note: LongText | None = None

    @model_validator(mode="after")
    def _category_not_cleared(self) -> MembershipUpdate:
        if "category" in self.model_fields_set and self.category is None:
            raise ValueError("category cannot be null")
        return self


class MembershipRead(ReadSchema):
    """A member's membership of a network over a period."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"network": "citynet", **EXAMPLE}]})

    id: uuid.UUID
    network: str = Field(
        validation_alias="network_slug", description="The network's slug.", examples=["citynet"]
    )
    member_id: uuid.UUID
    member: MemberSummary
    category: str
    start_date: HistoricalDate | None = Field(description=START)
    end_date: HistoricalDate | None = Field(description=END)
    source_url: str | None
    note: str | None
    created_at: datetime
    updated_at: datetime


class HeldRole(ReadSchema):
    """A role a member holds on the date asked about."""

    role: str = Field(examples=["chair"])
    tenure_id: uuid.UUID
    start_date: HistoricalDate | None
    end_date: HistoricalDate | None


class MemberListRow(ReadSchema):
    """One membership in force on the date asked about."""

    membership_id: uuid.UUID
    member: MemberSummary
    category: str = Field(examples=["full"])
    start_date: HistoricalDate | None
    end_date: HistoricalDate | None
    roles: list[HeldRole]
