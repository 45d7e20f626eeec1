from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import ConfigDict, Field, model_validator

from netregistry.kit.dates import HistoricalDate
from netregistry.kit.languages import LanguageTag
from netregistry.kit.schemas import ReadSchema, UpdateSchema, WriteSchema
from netregistry.kit.types import (
    CategorySlug,
    CountryCode,
    LongText,
    Name,
    WebUrl,
    WikidataId,
)
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
    "action": "change_category",
    "matched_by": "wikidata",
    "member_id": "6f1c8f5e-8a7b-4c1e-9a53-3f4f2c9b7d10",
    "membership_id": "0b7e7c9a-3d0c-4a55-9f3e-5b8f5c1d2e40",
    "ended_membership_id": "5d1e4a7c-2b9f-4e61-8c3a-7f0b9d2e6a11",
    "changes": ["category"],
    "candidates": [],
    "lang": "en",
    "message": "row 2, 'Seoul': associate from 2013 (full until then)",
}
AMBIGUOUS_ROW_EXAMPLE: dict[str, Any] = {
    "row": 12,
    "name": "Kuala Lumpr",
    "action": "ambiguous",
    "matched_by": None,
    "member_id": None,
    "membership_id": None,
    "ended_membership_id": None,
    "changes": [],
    "candidates": [
        {
            "member_id": "3a9d6c2e-1f4b-4d7a-9e8c-2b5f7a1d3c90",
            "kind": "city",
            "name": "Kuala Lumpur",
            "country_code": "MY",
            "score": 81,
        }
    ],
    "lang": None,
    "message": "row 12, 'Kuala Lumpr': did you mean Kuala Lumpur (MY), 81?",
}

ImportAction = Literal[
    "create_city_and_membership",
    "create_organization_and_membership",
    "create_membership",
    "change_category",
    "update_membership",
    "unchanged",
    "ambiguous",
]


class MembershipImportRow(WriteSchema):
    """One row of a member list, as a secretariat keeps it in a spreadsheet."""

    name: Name = Field(description="The member's name.", examples=["Seoul"])
    country_code: CountryCode
    category: str = Field(
        max_length=63,
        description="One of the network's membership_categories (case-insensitive).",
        examples=["full"],
    )
    kind: Literal["city", "organization"] = Field(
        default="city", description="A city (the default) or an organization."
    )
    start_date: HistoricalDate | None = Field(default=None, description=START)
    end_date: HistoricalDate | None = Field(default=None, description=END)
    source_url: WebUrl | None = None
    note: LongText | None = None
    wikidata: WikidataId | None = Field(
        default=None, description="The member's Wikidata id: the surest way to match it."
    )
    lang: LanguageTag | None = Field(
        default=None, description="The language of the name (BCP 47), as the file says."
    )
    new: bool = Field(
        default=False, description="The row is a member to add although similar names exist."
    )

    @model_validator(mode="after")
    def _valid_period(self) -> MembershipImportRow:
        check_period(self.start_date, self.end_date)
        return self


class ImportCandidate(ReadSchema):
    """A member of the registry a row's name may mean, scored 0 to 100 as
    `/v1/reconcile` scores it."""

    member_id: uuid.UUID
    kind: Literal["city", "organization"]
    name: str = Field(examples=["Kuala Lumpur"])
    country_code: str | None = Field(examples=["MY"])
    score: int = Field(ge=0, le=100, examples=[81])


class MembershipImportRowResult(ReadSchema):
    """What the import did (or, in a dry run, would do) with one row of the file."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [IMPORT_ROW_EXAMPLE, AMBIGUOUS_ROW_EXAMPLE]}
    )

    row: int = Field(
        description="The row's number in the file, the header being row 1.", examples=[2]
    )
    name: str = Field(description="The name as the file gives it.", examples=["Seoul"])
    action: ImportAction = Field(
        description="`create_membership` for a member already in the registry without a "
        "membership in force (or one that rejoins); `create_city_and_membership` and "
        "`create_organization_and_membership` for a member the import adds; "
        "`change_category` ends the membership in force on `start_date` (an end is "
        "exclusive; `ended_membership_id`) and opens one in the new category from that "
        "date; "
        "`update_membership` corrects the membership's dates, source or note (`changes`); "
        "`unchanged` when the registry already says what the row says; `ambiguous` for a "
        "name that matches no member exactly but resembles some (`candidates`): nothing "
        "is written for it, and a real run with such a row is refused.",
        examples=["change_category"],
    )
    matched_by: Literal["wikidata", "name", "alt_name"] | None = Field(
        description="How the row was matched to a member in the registry: by wikidata id, "
        "by name or by an alternative name in the same country (case and accents "
        "ignored); null for a new or ambiguous one.",
        examples=["wikidata"],
    )
    member_id: uuid.UUID | None = Field(
        description="The member's id; null in a dry run for a member the import would "
        "add, and for an ambiguous row."
    )
    membership_id: uuid.UUID | None = Field(
        description="The membership the row is about (created, changed or unchanged); "
        "null in a dry run for one the import would create."
    )
    ended_membership_id: uuid.UUID | None = Field(
        default=None, description="For `change_category`: the membership it ends."
    )
    changes: list[str] = Field(
        default_factory=list,
        description="The fields of the membership the row changes.",
        examples=[["category"]],
    )
    candidates: list[ImportCandidate] = Field(
        default_factory=list,
        description="For a name that does not match exactly: the members it may mean, best first.",
    )
    lang: str | None = Field(
        default=None, description="The row's `lang`, in standard form (BCP 47)."
    )
    message: str = Field(description="What happens to the row, in words.")


class MissingMember(ReadSchema):
    """A membership in force in the registry whose member the file does not list."""

    membership_id: uuid.UUID
    member: MemberSummary
    category: str = Field(examples=["full"])
    start_date: HistoricalDate | None
    action: Literal["keep", "end"] = Field(
        description="`end` when the import was asked to end missing members "
        "(`end_missing`), `keep` otherwise."
    )
    end_date: HistoricalDate | None = Field(
        description="The end the import gives it (`end_missing`); null when kept."
    )


class ImportSummary(ReadSchema):
    """How many rows and memberships each part of the plan holds."""

    created: int = Field(description="Memberships opened (category changes included).")
    changed: int = Field(description="Rows whose membership changes (a category or fields).")
    unchanged: int = Field(description="Rows the registry already agrees with.")
    ended: int = Field(description="Memberships ended: by category changes and `end_missing`.")
    ambiguous: int = Field(description="Rows whose name matches no member exactly.")
    missing: int = Field(description="Memberships in force whose member the file omits.")


class MembershipImportReport(ReadSchema):
    """The outcome of importing a member list: the plan, and (not a dry run) applied."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "network": "citynet",
                    "dry_run": True,
                    "changed_nothing": False,
                    "message": "1 row changes a membership; 1 row is ambiguous.",
                    "summary": {
                        "created": 1,
                        "changed": 1,
                        "unchanged": 0,
                        "ended": 1,
                        "ambiguous": 1,
                        "missing": 0,
                    },
                    "rows": [IMPORT_ROW_EXAMPLE, AMBIGUOUS_ROW_EXAMPLE],
                    "missing": [],
                    "created_cities": 0,
                    "matched_cities": 1,
                    "created_memberships": 1,
                }
            ]
        }
    )

    network: str = Field(description="The network's slug.", examples=["citynet"])
    dry_run: bool = Field(description="True when nothing was written.")
    changed_nothing: bool = Field(
        description="True when the registry already says what the file says: nothing "
        "is (or would be) written."
    )
    message: str = Field(description="The plan in one sentence.")
    summary: ImportSummary
    rows: list[MembershipImportRowResult] = Field(
        description="One entry per row of the file with data, in file order."
    )
    missing: list[MissingMember] = Field(
        description="Memberships in force of members the file does not list."
    )
    created_cities: int = Field(
        description="Members (cities and organizations) added to the registry.", examples=[0]
    )
    matched_cities: int = Field(
        description="Rows matched to a member already in the registry.", examples=[1]
    )
    created_memberships: int = Field(description="Memberships opened.", examples=[1])


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
