from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import ConfigDict, Field, model_validator

from netregistry.kit.dates import HistoricalDate
from netregistry.kit.schemas import ReadSchema, UpdateSchema, WriteSchema
from netregistry.kit.types import CategorySlug, CountryCode, LongText, Name, WebUrl, WikidataId
from netregistry.registry.shapes import END, START, MemberSummary, check_period

EXAMPLE: dict[str, Any] = {
    "member_id": "6f1c8f5e-8a7b-4c1e-9a53-3f4f2c9b7d10",
    "category": "full",
    "start_date": "2013",
    "end_date": None,
    "source_url": "https://english.seoul.go.kr/seoul-metropolitan-government-named-new-chair-city-of-citynet/",
    "note": "Named as a member city in the 2013 article.",
}


class MembershipCreate(WriteSchema):
    """A member joins a network in a category."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE]})

    member_id: uuid.UUID = Field(description="A city or organization id.")
    category: CategorySlug = Field(description="One of the network's membership_categories.")
    start_date: HistoricalDate | None = Field(default=None, description=START)
    end_date: HistoricalDate | None = Field(default=None, description=END)
    source_url: WebUrl | None = Field(default=None, description="Where the fact comes from.")
    note: LongText | None = None

    @model_validator(mode="after")
    def _valid_period(self) -> MembershipCreate:
        check_period(self.start_date, self.end_date)
        return self


class MembershipUpdate(UpdateSchema):
    """Corrections to a membership; ending it is setting `end_date`."""

    required = ("category",)

    model_config = ConfigDict(json_schema_extra={"examples": [{"end_date": "2016-12"}]})

    category: CategorySlug | None = None
    start_date: HistoricalDate | None = Field(default=None, description=START)
    end_date: HistoricalDate | None = Field(default=None, description=END)
    source_url: WebUrl | None = None
    note: LongText | None = None


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


IMPORT_ROW_EXAMPLE: dict[str, Any] = {
    "row": 2,
    "name": "Seoul",
    "action": "create_membership",
    "matched_by": "wikidata",
    "member_id": "6f1c8f5e-8a7b-4c1e-9a53-3f4f2c9b7d10",
    "membership_id": "0b7e7c9a-3d0c-4a55-9f3e-5b8f5c1d2e40",
}


class MembershipImportRow(WriteSchema):
    """One row of a member list, as a secretariat keeps it in a spreadsheet."""

    name: Name = Field(description="The city's name.", examples=["Seoul"])
    country_code: CountryCode
    category: str = Field(
        max_length=63,
        description="One of the network's membership_categories (case-insensitive).",
        examples=["full"],
    )
    start_date: HistoricalDate | None = Field(default=None, description=START)
    wikidata: WikidataId | None = Field(
        default=None, description="The city's Wikidata id: the surest way to match it."
    )


class MembershipImportRowResult(ReadSchema):
    """What the import did (or, in a dry run, would do) with one row of the file."""

    row: int = Field(
        description="The row's number in the file, the header being row 1.", examples=[2]
    )
    name: str = Field(description="The name as the file gives it.", examples=["Seoul"])
    action: Literal["create_city_and_membership", "create_membership"] = Field(
        description="`create_membership` for a city already in the registry, "
        "`create_city_and_membership` for one the import adds.",
        examples=["create_membership"],
    )
    matched_by: Literal["wikidata", "name", "alt_name"] | None = Field(
        description="How the row was matched to a city in the registry: by wikidata id, by "
        "name or by an alternative name in the same country (case and accents ignored); "
        "null for a new city.",
        examples=["wikidata"],
    )
    member_id: uuid.UUID | None = Field(
        description="The city's id; null in a dry run for a city the import would add."
    )
    membership_id: uuid.UUID | None = Field(
        description="The new membership's id; null in a dry run."
    )


class MembershipImportReport(ReadSchema):
    """The outcome of importing a member list: every row applied, or (dry run) the plan."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "network": "citynet",
                    "dry_run": False,
                    "rows": [IMPORT_ROW_EXAMPLE],
                    "created_cities": 0,
                    "matched_cities": 1,
                    "created_memberships": 1,
                }
            ]
        }
    )

    network: str = Field(description="The network's slug.", examples=["citynet"])
    dry_run: bool = Field(description="True when nothing was written.")
    rows: list[MembershipImportRowResult] = Field(
        description="One entry per row of the file with data, in file order."
    )
    created_cities: int = Field(description="Cities added to the registry.", examples=[0])
    matched_cities: int = Field(
        description="Rows matched to a city already in the registry.", examples=[1]
    )
    created_memberships: int = Field(description="Memberships added.", examples=[1])


# The member list as GeoJSON (RFC 7946), as the contract states it.
MEMBER_FEATURES_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": (
        "A page of the member list as an RFC 7946 FeatureCollection: one Feature per "
        "membership, the member's point (longitude, latitude) or null; `next_cursor` as "
        "in the JSON page."
    ),
    "required": ["type", "features", "next_cursor"],
    "properties": {
        "type": {"const": "FeatureCollection"},
        "next_cursor": {"type": ["string", "null"]},
        "features": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["type", "id", "geometry", "properties"],
                "properties": {
                    "type": {"const": "Feature"},
                    "id": {"type": "string", "format": "uuid"},
                    "geometry": {
                        "anyOf": [
                            {"type": "null"},
                            {
                                "type": "object",
                                "required": ["type", "coordinates"],
                                "properties": {
                                    "type": {"const": "Point"},
                                    "coordinates": {
                                        "type": "array",
                                        "items": {"type": "number"},
                                        "minItems": 2,
                                        "maxItems": 2,
                                    },
                                },
                            },
                        ]
                    },
                    "properties": {
                        "type": "object",
                        "required": ["name", "kind", "country_code", "category", "roles"],
                        "properties": {
                            "name": {"type": "string"},
                            "kind": {"enum": ["city", "organization"]},
                            "country_code": {"type": ["string", "null"]},
                            "category": {"type": "string"},
                            "roles": {"type": "array"},
                            "membership_id": {"type": "string", "format": "uuid"},
                            "start_date": {"type": ["string", "null"]},
                            "end_date": {"type": ["string", "null"]},
                        },
                    },
                },
            },
        },
    },
}
