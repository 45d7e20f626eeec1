from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import ConfigDict, Field, JsonValue, model_validator

from netregistry.kit.dates import HistoricalDate
from netregistry.kit.schemas import ReadSchema, WriteSchema
from netregistry.kit.types import (
    CATEGORY_SLUG_PATTERN,
    NUMBER_ONLY,
    LongText,
    ShortText,
    WebUrl,
)

Count = Annotated[int, Field(ge=0, le=10_000_000), NUMBER_ONLY]

CITYNET_2013: dict[str, Any] = {
    "date": "2013",
    "by_category": {"full": 85, "associate": 46},
    "total": None,
    "countries": None,
    "source": (
        "Seoul Metropolitan Government, International Relations News 4624, 'Seoul "
        "Metropolitan Government Named New Chair City of CITYNET' (2013)"
    ),
    "source_url": None,
    "note": "85 local governments as full members and 46 institutions and organizations.",
}

_DESCRIPTIONS = {
    "date": (
        "When the network stated these figures, to the year, month or day. A declaration is "
        "in force from the first day of its date until the next one's."
    ),
    "by_category": "Members per category as declared; categories of the network only.",
    "total": "Members in all, as declared (not the sum of by_category unless it says so).",
    "countries": "Countries the members are in, as declared.",
    "source": "The source in words: publisher, title, date.",
    "source_url": "Where the source can be read.",
}


# "At least one figure and a source", as the contract states it.
_FIGURES_AND_SOURCE: list[JsonValue] = [
    {
        "anyOf": [
            {"required": ["total"], "properties": {"total": {"type": "integer"}}},
            {"required": ["countries"], "properties": {"countries": {"type": "integer"}}},
            {
                "required": ["by_category"],
                "properties": {"by_category": {"type": "object", "minProperties": 1}},
            },
        ]
    },
    {
        "anyOf": [
            {"required": ["source"], "properties": {"source": {"type": "string"}}},
            {"required": ["source_url"], "properties": {"source_url": {"type": "string"}}},
        ]
    },
]


class DeclarationCreate(WriteSchema):
    """Figures a network states about itself: at least one figure and a source."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [CITYNET_2013], "allOf": _FIGURES_AND_SOURCE}
    )

    date: HistoricalDate = Field(description=_DESCRIPTIONS["date"])
    # Keys are checked against the network's categories (unknown_category), in words.
    by_category: dict[str, Count] = Field(
        default_factory=dict,
        max_length=20,
        description=_DESCRIPTIONS["by_category"],
        json_schema_extra={"propertyNames": {"pattern": CATEGORY_SLUG_PATTERN}},
    )
    total: Count | None = Field(default=None, description=_DESCRIPTIONS["total"])
    countries: Count | None = Field(default=None, description=_DESCRIPTIONS["countries"])
    source: ShortText | None = Field(default=None, description=_DESCRIPTIONS["source"])
    source_url: WebUrl | None = Field(default=None, description=_DESCRIPTIONS["source_url"])
    note: LongText | None = None

    @model_validator(mode="after")
    def _figures_and_source(self) -> DeclarationCreate:
        if not self.by_category and self.total is None and self.countries is None:
            raise ValueError("give at least one figure: by_category, total or countries")
        if self.source is None and self.source_url is None:
            raise ValueError("name the source: source (in words), source_url, or both")
        return self


class DeclarationRead(ReadSchema):
    """Figures a network stated about itself on a date."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"id": "0b7e7c9a-3d0c-4a55-9f3e-5b8f5c1d2e40", **CITYNET_2013}]
        }
    )

    id: uuid.UUID
    network: str = Field(examples=["citynet"])
    date: HistoricalDate = Field(description=_DESCRIPTIONS["date"])
    by_category: dict[str, int] = Field(description=_DESCRIPTIONS["by_category"])
    total: int | None = Field(description=_DESCRIPTIONS["total"])
    countries: int | None = Field(description=_DESCRIPTIONS["countries"])
    source: str | None = Field(description=_DESCRIPTIONS["source"])
    source_url: str | None = Field(description=_DESCRIPTIONS["source_url"])
    note: str | None
    created_at: datetime
    updated_at: datetime
