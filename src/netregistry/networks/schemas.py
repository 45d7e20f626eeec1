from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from netregistry.kit.dates import HistoricalDate
from netregistry.kit.languages import LanguageTag
from netregistry.kit.schemas import ReadSchema, UpdateSchema, WriteSchema
from netregistry.kit.types import Acronym, CategorySlug, LongText, Name, ShortText, Slug, WebUrl
from netregistry.registry.shapes import MemberSummary, NameRead, Names


def _unique(categories: list[str]) -> list[str]:
    if repeated := sorted({c for c in categories if categories.count(c) > 1}):
        listed = " and ".join(repeated)
        raise ValueError(
            f"name each category once: {listed} {'is' if len(repeated) == 1 else 'are'} "
            "given more than once"
        )
    return categories


Categories = Annotated[
    list[CategorySlug],
    Field(min_length=1, max_length=20, json_schema_extra={"uniqueItems": True}),
    AfterValidator(_unique),
]


class CategoryLabelWrite(WriteSchema):
    """A category's label and description in one language."""

    category: CategorySlug = Field(examples=["full"])
    lang: LanguageTag = "en"
    label: Name = Field(examples=["Full member"])
    description: LongText | None = Field(default=None, examples=["Local governments"])


class CategoryLabelRead(ReadSchema):
    """A category's label and description in one language."""

    category: str = Field(examples=["full"])
    lang: str = Field(examples=["en"])
    label: str = Field(examples=["Full member"])
    description: str | None = Field(examples=["Local governments"])


def _labels_once(labels: list[CategoryLabelWrite]) -> list[CategoryLabelWrite]:
    seen: set[tuple[str, str]] = set()
    for label in labels:
        if (label.category, label.lang) in seen:
            raise PydanticCustomError(
                "duplicate_label",
                "label each category once per language: {category} in {lang} is given more "
                "than once",
                {"category": label.category, "lang": label.lang},
            )
        seen.add((label.category, label.lang))
    return labels


CategoryLabels = Annotated[
    list[CategoryLabelWrite],
    Field(
        max_length=200,
        description="Each category's label and description per language; replaces those "
        "there were.",
    ),
    AfterValidator(_labels_once),
]


def unknown_categories(labels: list[CategoryLabelWrite], categories: list[str]) -> list[str]:
    """The categories ``labels`` name that are not in ``categories``."""
    return sorted({label.category for label in labels} - set(categories))


def _labels_of_own_categories(schema: Any) -> Any:
    labels = getattr(schema, "category_labels", None)
    categories = getattr(schema, "membership_categories", None)
    if labels and categories is not None and (unknown := unknown_categories(labels, categories)):
        raise PydanticCustomError(
            "unknown_category",
            "category_labels name {unknown}, not one of the membership_categories ({known})",
            {"unknown": ", ".join(unknown), "known": ", ".join(categories)},
        )
    return schema


CITYNET_EXAMPLE: dict[str, Any] = {
    "slug": "citynet",
    "name": "CITYNET",
    "acronym": "CITYNET",
    "official_name": (
        "Regional Network of Local Authorities for the Management of Human Settlements"
    ),
    "founded_on": "1987",
    "scope": "Asia-Pacific",
    "website": "https://citynet-ap.org",
    "description": "An association of local governments in the Asia-Pacific region.",
    "membership_criteria": None,
    "membership_categories": ["full", "associate"],
    "category_labels": [
        {
            "category": "full",
            "lang": "en",
            "label": "Full member",
            "description": "Local governments",
        },
        {
            "category": "associate",
            "lang": "en",
            "label": "Associate member",
            "description": "NGOs, institutes",
        },
    ],
}

_DESCRIPTIONS = {
    "slug": "The network's identifier in URLs: lowercase letters, digits, hyphens. Fixed.",
    "founded_on": "When the network was founded, to the year, month or day.",
    "scope": "Where it works, in words: 'Asia-Pacific', 'global'.",
    "membership_categories": "The categories its memberships may have.",
}


class NetworkCreate(WriteSchema):
    """A new network."""

    model_config = ConfigDict(json_schema_extra={"examples": [CITYNET_EXAMPLE]})

    slug: Slug = Field(description=_DESCRIPTIONS["slug"])
    name: Name
    acronym: Acronym | None = None
    official_name: ShortText | None = None
    founded_on: HistoricalDate | None = Field(default=None, description=_DESCRIPTIONS["founded_on"])
    scope: Name | None = Field(default=None, description=_DESCRIPTIONS["scope"])
    website: WebUrl | None = None
    description: LongText | None = None
    membership_criteria: LongText | None = None
    membership_categories: Categories = Field(
        default_factory=lambda: ["full", "associate"],
        description=_DESCRIPTIONS["membership_categories"],
    )
    category_labels: CategoryLabels = Field(default_factory=list)
    names: Names = Field(default_factory=list)

    check_labels = model_validator(mode="after")(_labels_of_own_categories)


class NetworkUpdate(UpdateSchema):
    """Changes to a network: only the fields sent are changed; `null` clears a field."""

    required = ("name", "membership_categories", "category_labels", "names")

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"scope": "Asia-Pacific", "founded_on": "1987"}]}
    )

    name: Name | None = None
    acronym: Acronym | None = None
    official_name: ShortText | None = None
    founded_on: HistoricalDate | None = Field(default=None, description=_DESCRIPTIONS["founded_on"])
    scope: Name | None = None
    website: WebUrl | None = None
    description: LongText | None = None
    membership_criteria: LongText | None = None
    membership_categories: Categories | None = None
    category_labels: CategoryLabels | None = None
    names: Names | None = None

    check_labels = model_validator(mode="after")(_labels_of_own_categories)


class NetworkRead(ReadSchema):
    """A city network."""

    model_config = ConfigDict(json_schema_extra={"examples": [CITYNET_EXAMPLE]})

    slug: str = Field(description=_DESCRIPTIONS["slug"])
    name: str
    acronym: str | None
    official_name: str | None
    founded_on: HistoricalDate | None = Field(description=_DESCRIPTIONS["founded_on"])
    scope: str | None
    website: str | None
    description: str | None
    membership_criteria: str | None
    membership_categories: list[str]
    category_labels: list[CategoryLabelRead]
    names: list[NameRead]
    created_at: datetime
    updated_at: datetime


class DeclaredFigures(ReadSchema):
    """The figures the network itself stated, in force on the day asked about: the
    latest declaration whose date began on or before it (see its declarations)."""

    date: HistoricalDate = Field(description="When the network stated them.")
    by_category: dict[str, int]
    total: int | None
    countries: int | None
    source: str | None
    source_url: str | None
    note: str | None


class NetworkStats(ReadSchema):
    """A network on one day, in numbers."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "network": "citynet",
                    "declared": {
                        "date": "2013",
                        "by_category": {"full": 85, "associate": 46},
                        "total": None,
                        "countries": None,
                        "source": "Seoul Metropolitan Government, International Relations "
                        "News 4624 (2013)",
                        "source_url": None,
                        "note": None,
                    },
                    "as_of": "2013-12-01",
                    "members_total": 131,
                    "by_category": {"full": 85, "associate": 46},
                    "by_kind": {"city": 85, "organization": 46},
                    "countries": 20,
                    "by_country": {"KR": 60, "JP": 12},
                    "role_holders": {"chair": [{"id": "…", "kind": "city", "name": "Seoul"}]},
                }
            ]
        }
    )

    network: str
    declared: DeclaredFigures | None = Field(
        description=(
            "What the network declared about itself, in force that day (null: nothing "
            "declared by then), beside the counted figures below."
        )
    )
    as_of: date
    members_total: int
    by_category: dict[str, int] = Field(description="Every category of the network, 0 included.")
    by_kind: dict[str, int]
    countries: int = Field(description="Distinct countries of the members.")
    by_country: dict[str, int] = Field(
        description="Members per country (organizations without one are not counted), "
        "the most first."
    )
    role_holders: dict[str, list[MemberSummary]] = Field(
        description="Every role of the network with its holders that day."
    )
