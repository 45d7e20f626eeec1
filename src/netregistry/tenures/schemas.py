from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from pydantic import ConfigDict, Field, model_validator

from netregistry.kit.dates import HistoricalDate
from netregistry.kit.schemas import ReadSchema, UpdateSchema, WriteSchema
from netregistry.kit.types import Day, LongText, Name, RoleSlug, WebUrl
from netregistry.registry.shapes import END, START, MemberSummary, check_period

EXAMPLE: dict[str, Any] = {
    "role": "chair",
    "member_id": "6f1c8f5e-8a7b-4c1e-9a53-3f4f2c9b7d10",
    "start_date": "2013-11",
    "end_date": None,
    "representative": "Park Won-soon, Mayor of Seoul",
    "source_url": "https://english.seoul.go.kr/seoul-metropolitan-government-named-new-chair-city-of-citynet/",
    "note": "Named chair city in November 2013, succeeding Yokohama.",
}


class TenureCreate(WriteSchema):
    """A member holds a role over a period."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE]})

    role: RoleSlug = Field(description="The role's slug.")
    member_id: uuid.UUID
    start_date: HistoricalDate | None = Field(default=None, description=START)
    end_date: HistoricalDate | None = Field(default=None, description=END)
    representative: Name | None = Field(default=None, description="Who acted, e.g. the mayor.")
    source_url: WebUrl | None = None
    note: LongText | None = None

    @model_validator(mode="after")
    def _valid_period(self) -> TenureCreate:
        check_period(self.start_date, self.end_date)
        return self


class TenureUpdate(UpdateSchema):
    """Corrections to a tenure; ending it is setting `end_date`."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"end_date": "2016-12"}]})

    start_date: HistoricalDate | None = Field(default=None, description=START)
    end_date: HistoricalDate | None = Field(default=None, description=END)
    representative: Name | None = None
    source_url: WebUrl | None = None
    note: LongText | None = None


class TenureRead(ReadSchema):
    """A member's tenure of a role."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"network": "citynet", **EXAMPLE}]})

    id: uuid.UUID
    network: str = Field(validation_alias="network_slug", examples=["citynet"])
    role: str = Field(validation_alias="role_slug", examples=["chair"])
    member_id: uuid.UUID
    member: MemberSummary
    start_date: HistoricalDate | None = Field(description=START)
    end_date: HistoricalDate | None = Field(description=END)
    representative: str | None
    source_url: str | None
    note: str | None
    created_at: dt.datetime
    updated_at: dt.datetime


class HolderRow(ReadSchema):
    """A holder of a role on the date asked about."""

    tenure_id: uuid.UUID = Field(validation_alias="id")
    member: MemberSummary
    start_date: HistoricalDate | None
    end_date: HistoricalDate | None
    representative: str | None


class HandoverRequest(WriteSchema):
    """Hand a single-holder role to another member on a day."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "member_id": "6f1c8f5e-8a7b-4c1e-9a53-3f4f2c9b7d10",
                    "date": "2013-11-05",
                    "representative": "Park Won-soon, Mayor of Seoul",
                }
            ]
        }
    )

    member_id: uuid.UUID = Field(description="The new holder.")
    date: Day = Field(description="The first day of the new holder (a full day).")
    representative: Name | None = None
    source_url: WebUrl | None = None
    note: LongText | None = None


class HandoverRead(ReadSchema):
    """The outcome of a handover."""

    ended: TenureRead | None = Field(description="The previous holder's tenure, now ended.")
    started: TenureRead = Field(description="The new holder's tenure.")
