"""The shapes of the Reconciliation Service API 0.2 (the W3C community group's
specification, https://reconciliation-api.github.io/specs/0.2/), as far as netregistry
serves it: the manifest, queries, and candidates."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    RootModel,
    StrictBool,
    StrictFloat,
    StrictInt,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from netregistry.kit.types import CountryCode, Name, WikidataId

MAX_QUERIES = 50
"""Queries in one batch, at most (OpenRefine sends 10 by default)."""
MAX_LIMIT = 25
"""Candidates per query, at most."""

TYPES = {"city": "City", "organization": "Organization"}
"""The types: a member's kind."""
PROPERTIES = {
    "country": "Country (ISO 3166-1 alpha-2 code)",
    "kind": "Kind (city or organization)",
    "wikidata": "Wikidata id",
}
"""The properties a query may give to refine a name."""

PropertyValue = str | StrictInt | StrictFloat | StrictBool | dict[str, Any]


class QueryProperty(BaseModel):
    """A property of the thing sought: ``pid`` one of :data:`PROPERTIES`."""

    model_config = ConfigDict(extra="forbid")

    pid: Literal["country", "kind", "wikidata"]
    v: PropertyValue | list[PropertyValue]

    def value(self) -> str | None:
        """The first value as text (an entity's id, when OpenRefine sends one)."""
        first: Any = self.v[0] if isinstance(self.v, list) and self.v else self.v
        if isinstance(first, dict):
            first = first.get("id")
        return str(first).strip() if first not in (None, "", []) else None


class Query(BaseModel):
    """One query of a batch: a name, optionally a type and properties."""

    model_config = ConfigDict(extra="forbid")

    query: Name = Field(description="The name sought.")
    type: str | list[str] | None = Field(
        default=None, description="city or organization (or a list of them)."
    )
    limit: int | None = Field(default=None, ge=1, le=MAX_LIMIT)
    properties: list[QueryProperty] = Field(default_factory=list, max_length=10)
    type_strict: Literal["any", "should", "all"] | None = None

    def text(self) -> str:
        return self.query

    def property_value(self, pid: str) -> str | None:
        for prop in self.properties:
            if prop.pid == pid and (value := prop.value()) is not None:
                return value.upper() if pid in ("country", "wikidata") else value
        return None

    def kind(self) -> str | None:
        """The one kind asked for (by type or by the ``kind`` property), or ``None``."""
        kinds = [self.type] if isinstance(self.type, str) else list(self.type or [])
        if (given := self.property_value("kind")) is not None:
            kinds.append(given.lower())
        distinct = set(kinds)
        return kinds[0] if len(distinct) == 1 else None

    @model_validator(mode="after")
    def _valid_properties(self) -> Query:
        """The types are the service's, the property values checked as the registry's own
        fields are."""
        types = [self.type] if isinstance(self.type, str) else list(self.type or [])
        if unknown := [kind for kind in types if kind not in TYPES]:
            raise ValueError(f"type must be city or organization, not {unknown[0][:40]!r}")
        checks = (("country", CountryCode), ("wikidata", WikidataId))
        for pid, field_type in checks:
            if (value := self.property_value(pid)) is not None:
                try:
                    TypeAdapter(field_type).validate_python(value)
                except ValidationError as error:
                    raise ValueError(f"{pid} {error.errors()[0]['msg']}") from None
        if (kind := self.property_value("kind")) is not None and kind.lower() not in TYPES:
            raise ValueError(f"kind must be city or organization, not {kind[:40]!r}")
        return self


class CandidateType(BaseModel):
    id: str = Field(examples=["city"])
    name: str = Field(examples=["City"])


class Candidate(BaseModel):
    """A member a query may mean."""

    id: str = Field(description="The member's id.")
    name: str = Field(examples=["Kuala Lumpur"])
    description: str = Field(examples=["City in MY"])
    score: int = Field(ge=0, le=100, description="0 to 100: how well the member agrees.")
    match: bool = Field(description="True only for the one certain candidate of a query.")
    type: list[CandidateType]


class QueryResult(BaseModel):
    result: list[Candidate]


class ResultBatch(RootModel[dict[str, QueryResult]]):
    """Each query's candidates, under the query's key."""


class ServiceView(BaseModel):
    url: str


class SuggestService(BaseModel):
    service_url: str
    service_path: str


class Suggest(BaseModel):
    type: SuggestService
    property: SuggestService


class Preview(BaseModel):
    url: str
    width: int
    height: int


class Manifest(BaseModel):
    """The service manifest: what OpenRefine reads when the service is added."""

    versions: list[str] = Field(examples=[["0.2"]])
    name: str
    identifierSpace: str
    schemaSpace: str
    documentation: str
    view: ServiceView
    defaultTypes: list[CandidateType]
    suggest: Suggest
    preview: Preview


class Suggestion(BaseModel):
    id: str
    name: str


class Suggestions(BaseModel):
    """Types or properties whose id or name starts with the prefix."""

    result: list[Suggestion]
