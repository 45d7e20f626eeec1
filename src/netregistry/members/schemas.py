from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StringConstraints, model_validator

from netregistry.kit.schemas import ReadSchema, UpdateSchema, WriteSchema
from netregistry.kit.types import (
    IDENTIFIER_PATTERN,
    NUMBER_ONLY,
    CountryCode,
    Iso3166_2Code,
    Label,
    Name,
    UnLocode,
    WebUrl,
    WikidataId,
)
from netregistry.memberships.schemas import MembershipRead
from netregistry.registry.shapes import MemberSummary, NameRead, Names
from netregistry.tenures.schemas import TenureRead

AltNames = Annotated[
    list[Name],
    Field(
        max_length=50,
        description=(
            "Other names and spellings: the texts of `names`, each once. Written, a new "
            "text becomes a name of undetermined language (und, common) and a text left "
            "out loses its names; send `names` instead to give languages and kinds."
        ),
    ),
]


# The contract states it too: a body may hold one of the two keys, not both.
ONE_OF_NAMES: dict[str, Any] = {"not": {"required": ["names", "alt_names"]}}


def _names_or_alt_names(schema: Any) -> Any:
    if "names" in schema.model_fields_set and "alt_names" in schema.model_fields_set:
        raise ValueError("send names or alt_names, not both: alt_names are the texts of names")
    return schema


Latitude = Annotated[float, Field(ge=-90, le=90, examples=[37.5667]), NUMBER_ONLY]
Longitude = Annotated[float, Field(ge=-180, le=180, examples=[126.9783]), NUMBER_ONLY]
Population = Annotated[int, Field(ge=0, le=10_000_000_000, examples=[9_386_034]), NUMBER_ONLY]
GeonamesId = Annotated[int, Field(ge=1, le=2_147_483_647, examples=[1835848]), NUMBER_ONLY]
OrgType = Annotated[Label, Field(examples=["NGO"])]

SEOUL: dict[str, Any] = {
    "name": "Seoul",
    "alt_names": ["서울특별시", "ソウル", "首尔", "Séoul"],
    "country_code": "KR",
    "subdivision": None,
    "population": 9_386_034,
    "latitude": 37.5667,
    "longitude": 126.9783,
    "wikidata": "Q8684",
    "geonames": 1835848,
    "iso3166_2": "KR-11",
    "unlocode": "KRSEL",
}
SEOUL_NAMES: list[Any] = [
    {"text": "서울특별시", "lang": "ko", "kind": "official", "start_date": None, "end_date": None},
    {"text": "ソウル", "lang": "ja", "kind": "common", "start_date": None, "end_date": None},
    {"text": "首尔", "lang": "zh-Hans", "kind": "common", "start_date": None, "end_date": None},
    {"text": "Séoul", "lang": "fr", "kind": "common", "start_date": None, "end_date": None},
]
KOICA: dict[str, Any] = {
    "name": "Korea International Cooperation Agency",
    "alt_names": ["KOICA"],
    "country_code": "KR",
    "org_type": "government agency",
    "website": "https://www.koica.go.kr",
    "wikidata": "Q1783468",
}


class CityCreate(WriteSchema):
    """A new city (a local government)."""

    model_config = ConfigDict(json_schema_extra={"examples": [SEOUL], **ONE_OF_NAMES})

    name: Name
    alt_names: AltNames = Field(default_factory=list)
    names: Names | None = None
    country_code: CountryCode
    subdivision: Name | None = None
    population: Population | None = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    wikidata: WikidataId | None = None
    geonames: GeonamesId | None = None
    iso3166_2: Iso3166_2Code | None = None
    unlocode: UnLocode | None = None

    check_one_of_names = model_validator(mode="after")(_names_or_alt_names)


class CityUpdate(UpdateSchema):
    """Changes to a city: only the fields sent change; `null` clears an optional field."""

    required = ("name", "alt_names", "names", "country_code")

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"population": 9_400_000}], **ONE_OF_NAMES}
    )

    name: Name | None = None
    alt_names: AltNames | None = None
    names: Names | None = None
    country_code: CountryCode | None = None
    subdivision: Name | None = None
    population: Population | None = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    wikidata: WikidataId | None = None
    geonames: GeonamesId | None = None
    iso3166_2: Iso3166_2Code | None = None
    unlocode: UnLocode | None = None

    check_one_of_names = model_validator(mode="after")(_names_or_alt_names)


class CityRead(ReadSchema):
    """A city."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"kind": "city", **SEOUL, "names": SEOUL_NAMES}]}
    )

    id: uuid.UUID
    kind: Literal["city"]
    name: str
    alt_names: list[str]
    names: list[NameRead]
    country_code: str
    subdivision: str | None
    population: int | None
    latitude: float | None
    longitude: float | None
    wikidata: str | None
    geonames: int | None
    iso3166_2: str | None
    unlocode: str | None
    created_at: datetime
    updated_at: datetime


class OrganizationCreate(WriteSchema):
    """A new organization: an NGO, institute, agency or company."""

    model_config = ConfigDict(json_schema_extra={"examples": [KOICA], **ONE_OF_NAMES})

    name: Name
    alt_names: AltNames = Field(default_factory=list)
    names: Names | None = None
    country_code: CountryCode | None = Field(
        default=None, description="Null for international bodies."
    )
    org_type: OrgType | None = None
    website: WebUrl | None = None
    wikidata: WikidataId | None = None

    check_one_of_names = model_validator(mode="after")(_names_or_alt_names)


class OrganizationUpdate(UpdateSchema):
    """Changes to an organization: only the fields sent change."""

    required = ("name", "alt_names", "names")

    model_config = ConfigDict(json_schema_extra={"examples": [{"org_type": "NGO"}], **ONE_OF_NAMES})

    name: Name | None = None
    alt_names: AltNames | None = None
    names: Names | None = None
    country_code: CountryCode | None = None
    org_type: OrgType | None = None
    website: WebUrl | None = None
    wikidata: WikidataId | None = None

    check_one_of_names = model_validator(mode="after")(_names_or_alt_names)


class OrganizationRead(ReadSchema):
    """An organization."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"kind": "organization", **KOICA}]})

    id: uuid.UUID
    kind: Literal["organization"]
    name: str
    alt_names: list[str]
    names: list[NameRead]
    country_code: str | None
    org_type: str | None
    website: str | None
    wikidata: str | None
    created_at: datetime
    updated_at: datetime


class MemberHistory(ReadSchema):
    """One member's memberships and tenures across all networks."""

    member: MemberSummary
    memberships: list[MembershipRead]
    tenures: list[TenureRead]


# --- Lookup by identifier ---------------------------------------------------------------

# Each scheme's identifiers have a shape of their own, so an identifier says its scheme:
# Q8684 (wikidata), 1835848 (geonames), KR-11 (ISO 3166-2), KRSEL (UN/LOCODE).
MemberIdentifier = Annotated[
    str,
    StringConstraints(pattern=IDENTIFIER_PATTERN, max_length=20),
    Field(
        description=(
            "A wikidata id (Q8684), geonames id (1835848), ISO 3166-2 code (KR-11) or "
            "UN/LOCODE (KRSEL): its shape says which."
        ),
        examples=["Q8684"],
    ),
]
MAX_LOOKUP = 100
Scheme = Literal["wikidata", "geonames", "iso3166_2", "unlocode"]


class LookupRequest(WriteSchema):
    """Identifiers to look up, up to 100."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"ids": ["Q8684", "1835848", "KR-11", "KRSEL"]}]}
    )

    ids: list[MemberIdentifier] = Field(min_length=1, max_length=MAX_LOOKUP)


class IdentifierMatch(ReadSchema):
    """The member one identifier names."""

    identifier: str = Field(examples=["KR-11"])
    scheme: Scheme = Field(examples=["iso3166_2"])
    member: MemberSummary


class LookupResult(ReadSchema):
    """The members the identifiers name, in the order asked, and those that name none."""

    found: list[IdentifierMatch]
    unknown: list[str] = Field(
        description="The identifiers no member carries, in the order asked.",
        examples=[["Q1"]],
    )
