"""The records of an export, defined once.

Each record type is a list of fields: its name, the SQL expression that produces it,
its type for the Frictionless data package (CSV), and its JSON Schema. The export
queries, the CSV headers, ``datapackage.json`` and the published JSON Schema are all
generated from these lists, so they cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from netregistry.kit.dates import PATTERN as DATE_PATTERN
from netregistry.kit.types import CATEGORY_SLUG_PATTERN, ROLE_SLUG_PATTERN, SLUG_PATTERN
from netregistry.models.name import NAME_KINDS

SCHEMA_VERSION = "1"

FrictionlessType = Literal[
    "string", "integer", "number", "boolean", "datetime", "date", "array", "object"
]


@dataclass(frozen=True)
class ExportField:
    name: str
    sql: str
    type: FrictionlessType
    description: str
    nullable: bool = True
    pattern: str | None = None
    enum: tuple[str, ...] | None = None
    # The JSON Schema of an array or object value, where its type alone does not say it
    # (an array of names, an object of counts); an array is of strings without one.
    shape: dict[str, Any] | None = None

    def json_schema(self) -> dict[str, Any]:
        base: dict[str, Any]
        if self.shape is not None:
            base = self.shape
        elif self.type == "array":
            base = {"type": "array", "items": {"type": "string"}}
        elif self.type == "datetime":
            base = {"type": "string", "format": "date-time"}
        elif self.type == "date":
            base = {"type": "string", "format": "date"}
        else:
            base = {"type": self.type}
        if self.pattern:
            base["pattern"] = self.pattern
        if self.enum:
            base["enum"] = list(self.enum)
        schema: dict[str, Any] = {"anyOf": [base, {"type": "null"}]} if self.nullable else base
        return {**schema, "description": self.description}

    def frictionless(self) -> dict[str, Any]:
        field: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "description": self.description,
        }
        if self.type == "datetime":
            field["format"] = "any"
        constraints: dict[str, Any] = {}
        if not self.nullable:
            constraints["required"] = True
        if self.pattern:
            constraints["pattern"] = self.pattern.strip("^$")
        if self.enum:
            constraints["enum"] = list(self.enum)
        if constraints:
            field["constraints"] = constraints
        return field


def _timestamps(alias: str) -> list[ExportField]:
    return [
        ExportField(
            "created_at",
            f"to_json({alias}.created_at) #>> '{{}}'",
            "datetime",
            "When the record was created (RFC 3339, UTC).",
            nullable=False,
        ),
        ExportField(
            "updated_at",
            f"to_json({alias}.updated_at) #>> '{{}}'",
            "datetime",
            "When the record last changed (RFC 3339, UTC).",
            nullable=False,
        ),
    ]


def _array(expression: str) -> str:
    # JSON arrays in JSON; in CSV a JSON array text, which Frictionless reads as `array`.
    return f"array_to_json({expression})"


HISTORICAL = "A date to the year, month or day: YYYY, YYYY-MM or YYYY-MM-DD."

_OPTIONAL_DATE = {"anyOf": [{"type": "string", "pattern": DATE_PATTERN}, {"type": "null"}]}
_OPTIONAL_TEXT = {"anyOf": [{"type": "string"}, {"type": "null"}]}


def _objects(properties: dict[str, Any]) -> dict[str, Any]:
    """An array of objects with exactly these ``properties``, every one present."""
    return {
        "type": "array",
        "items": {
            "type": "object",
            "additionalProperties": False,
            "required": list(properties),
            "properties": properties,
        },
    }


def _json_list(table: str, owner: str, properties: dict[str, Any]) -> str:
    """The owner's rows of ``table`` as a JSON array of objects of ``properties``, in
    their order (``position``); ``[]`` when it has none."""
    pairs = ", ".join(f"'{name}', x.{name}" for name in properties)
    # Built from constant names only.
    return (
        f"(SELECT coalesce(json_agg(json_build_object({pairs}) ORDER BY x.position), "  # noqa: S608
        f"'[]'::json) FROM {table} x WHERE x.{owner})"
    )


_NAME_PROPERTIES: dict[str, Any] = {
    "text": {"type": "string"},
    "lang": {"type": "string", "description": "BCP 47 language tag."},
    "kind": {"enum": list(NAME_KINDS)},
    "start_date": _OPTIONAL_DATE,
    "end_date": _OPTIONAL_DATE,
}
_LABEL_PROPERTIES: dict[str, Any] = {
    "category": {"type": "string", "pattern": CATEGORY_SLUG_PATTERN},
    "lang": {"type": "string", "description": "BCP 47 language tag."},
    "label": {"type": "string"},
    "description": _OPTIONAL_TEXT,
}
NAMES_DESCRIPTION = (
    "Every name, in its order: text, BCP 47 language, kind, and the period it was used."
)


def _names(owner: str) -> ExportField:
    return ExportField(
        "names",
        _json_list("names", owner, _NAME_PROPERTIES),
        "array",
        NAMES_DESCRIPTION,
        False,
        shape=_objects(_NAME_PROPERTIES),
    )


NETWORK = [
    ExportField("slug", "n.slug", "string", "The network's identifier.", False, SLUG_PATTERN),
    ExportField("name", "n.name", "string", "Its usual name.", False),
    ExportField("acronym", "n.acronym", "string", "Its acronym."),
    ExportField("official_name", "n.official_name", "string", "Its official name."),
    ExportField(
        "founded_on", "n.founded_on", "string", f"Founded. {HISTORICAL}", True, DATE_PATTERN
    ),
    ExportField("scope", "n.scope", "string", "Where it works, in words."),
    ExportField("website", "n.website", "string", "Its website."),
    ExportField("description", "n.description", "string", "What it is."),
    ExportField("membership_criteria", "n.membership_criteria", "string", "Who may join."),
    ExportField(
        "membership_categories",
        _array("n.membership_categories"),
        "array",
        "The categories its memberships use.",
        False,
    ),
    _names("network_id = n.id"),
    ExportField(
        "category_labels",
        _json_list("category_labels", "network_id = n.id", _LABEL_PROPERTIES),
        "array",
        "Each category's label and description per language.",
        False,
        shape=_objects(_LABEL_PROPERTIES),
    ),
    *_timestamps("n"),
]

MEMBER = [
    ExportField("id", "m.id::text", "string", "The member's id (UUID).", False),
    ExportField(
        "kind", "m.kind", "string", "city or organization.", False, None, ("city", "organization")
    ),
    ExportField("name", "m.name", "string", "Its name.", False),
    ExportField(
        "alt_names", _array("m.alt_names"), "array", "The texts of its names, each once.", False
    ),
    _names("member_id = m.id"),
    ExportField(
        "country_code", "m.country_code", "string", "ISO 3166-1 alpha-2.", True, "^[A-Z]{2}$"
    ),
    ExportField("subdivision", "m.subdivision", "string", "Region or province (cities)."),
    ExportField("population", "m.population", "integer", "Inhabitants (cities)."),
    ExportField("latitude", "m.latitude", "number", "WGS 84 latitude (cities)."),
    ExportField("longitude", "m.longitude", "number", "WGS 84 longitude (cities)."),
    ExportField("geonames", "m.geonames", "integer", "GeoNames id (cities)."),
    ExportField("org_type", "m.org_type", "string", "Kind of body (organizations)."),
    ExportField("website", "m.website", "string", "Website (organizations)."),
    ExportField("wikidata", "m.wikidata", "string", "Wikidata item.", True, r"^Q[1-9][0-9]*$"),
    ExportField(
        "iso3166_2",
        "m.iso3166_2",
        "string",
        "ISO 3166-2 code (cities that are subdivisions).",
        True,
        r"^[A-Z]{2}-[A-Z0-9]{1,3}$",
    ),
    ExportField(
        "unlocode", "m.unlocode", "string", "UN/LOCODE (cities).", True, r"^[A-Z]{2}[A-Z2-9]{3}$"
    ),
    *_timestamps("m"),
]

_MEMBER_SUMMARY = [
    ExportField("member_id", "ms.member_id::text", "string", "The member's id.", False),
    ExportField(
        "member_kind",
        "m.kind",
        "string",
        "city or organization.",
        False,
        None,
        ("city", "organization"),
    ),
    ExportField("member_name", "m.name", "string", "The member's name.", False),
    ExportField("member_country_code", "m.country_code", "string", "The member's country."),
]

# A membership or a tenure (both exported under the alias ms): its period, its source.
_PERIOD = [
    ExportField(
        "start_date", "ms.start_date", "string", f"First day. {HISTORICAL}", True, DATE_PATTERN
    ),
    ExportField(
        "end_date",
        "ms.end_date",
        "string",
        f"Day it stopped (exclusive). {HISTORICAL}",
        True,
        DATE_PATTERN,
    ),
]
_SOURCED = [
    ExportField("source_url", "ms.source_url", "string", "Where the fact comes from."),
    ExportField("note", "ms.note", "string", "Notes on the source."),
]

MEMBERSHIP = [
    ExportField("id", "ms.id::text", "string", "The membership's id.", False),
    ExportField("network", "n.slug", "string", "The network's slug.", False, SLUG_PATTERN),
    *_MEMBER_SUMMARY,
    ExportField("category", "ms.category", "string", "Membership category.", False),
    *_PERIOD,
    *_SOURCED,
    *_timestamps("ms"),
]

ROLE = [
    ExportField("network", "n.slug", "string", "The network's slug.", False, SLUG_PATTERN),
    ExportField("slug", "r.slug", "string", "The role's slug.", False, ROLE_SLUG_PATTERN),
    ExportField("name", "r.name", "string", "The role's name.", False),
    ExportField("max_holders", "r.max_holders", "integer", "Most holders at once; null: any."),
    ExportField(
        "requires_membership", "r.requires_membership", "boolean", "Holders must be members.", False
    ),
    ExportField(
        "eligible_categories",
        _array("r.eligible_categories"),
        "array",
        "Categories whose members may hold it; null: any.",
    ),
    *_timestamps("r"),
]

TENURE = [
    ExportField("id", "ms.id::text", "string", "The tenure's id.", False),
    ExportField("network", "n.slug", "string", "The network's slug.", False, SLUG_PATTERN),
    ExportField("role", "r.slug", "string", "The role's slug.", False, ROLE_SLUG_PATTERN),
    *_MEMBER_SUMMARY,
    *_PERIOD,
    ExportField("representative", "ms.representative", "string", "Who acted, e.g. the mayor."),
    *_SOURCED,
    *_timestamps("ms"),
]

DECLARATION = [
    ExportField("id", "d.id::text", "string", "The declaration's id.", False),
    ExportField("network", "n.slug", "string", "The network's slug.", False, SLUG_PATTERN),
    ExportField(
        "date", "d.date", "string", f"When it was stated. {HISTORICAL}", False, DATE_PATTERN
    ),
    ExportField(
        "by_category",
        "d.by_category",
        "object",
        "Members per category, as declared.",
        False,
        shape={
            "type": "object",
            "propertyNames": {"pattern": CATEGORY_SLUG_PATTERN},
            "additionalProperties": {"type": "integer", "minimum": 0},
        },
    ),
    ExportField("total", "d.total", "integer", "Members in all, as declared."),
    ExportField("countries", "d.countries", "integer", "Countries, as declared."),
    ExportField("source", "d.source", "string", "The source in words."),
    ExportField("source_url", "d.source_url", "string", "Where the source can be read."),
    ExportField("note", "d.note", "string", "Notes."),
    *_timestamps("d"),
]

RecordType = Literal["network", "member", "membership", "role", "tenure", "declaration"]

# In the order an import needs them; documents list them as SPEC names them.
RECORDS: dict[RecordType, list[ExportField]] = {
    "network": NETWORK,
    "member": MEMBER,
    "role": ROLE,
    "membership": MEMBERSHIP,
    "tenure": TENURE,
    "declaration": DECLARATION,
}
PLURAL: dict[RecordType, str] = {
    "network": "networks",
    "member": "members",
    "membership": "memberships",
    "role": "roles",
    "tenure": "tenures",
    "declaration": "declarations",
}
DOCUMENT_ORDER: list[RecordType] = [
    "network",
    "member",
    "membership",
    "role",
    "tenure",
    "declaration",
]


def record_schema(record: RecordType) -> dict[str, Any]:
    fields = RECORDS[record]
    return {
        "type": "object",
        "additionalProperties": False,
        "required": [field.name for field in fields],
        "properties": {field.name: field.json_schema() for field in fields},
    }


def _header_properties() -> dict[str, Any]:
    return {
        "schema_version": {"const": SCHEMA_VERSION, "description": "This schema's version."},
        "generated_at": {"type": "string", "format": "date-time", "description": "When made."},
        "as_of": {
            "anyOf": [{"type": "string", "format": "date"}, {"type": "null"}],
            "description": "The day of a snapshot; null: the full history.",
        },
        "network": {
            "anyOf": [{"type": "string", "pattern": SLUG_PATTERN}, {"type": "null"}],
            "description": "The network exported; null: the whole registry.",
        },
    }


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a `format=json` export (published as openapi/export.schema.json)."""
    definitions = {record: record_schema(record) for record in DOCUMENT_ORDER}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "urn:netregistry:export:" + SCHEMA_VERSION,
        "title": "netregistry export",
        "description": (
            "A netregistry export (format=json). format=ndjson carries the same records, one "
            "per line with a `type` field, after a header line of type `export`."
        ),
        "type": "object",
        "additionalProperties": False,
        "required": [*_header_properties(), *(PLURAL[r] for r in DOCUMENT_ORDER)],
        "properties": {
            **_header_properties(),
            **{
                PLURAL[record]: {"type": "array", "items": {"$ref": f"#/$defs/{record}"}}
                for record in DOCUMENT_ORDER
            },
        },
        "$defs": definitions,
    }


# The CSV files' one departure from the text as stored (exports/service.py applies it).
CSV_FORMULA_NOTE = (
    "A text cell that would begin with =, +, -, @, a tab or a carriage return begins with a "
    "single quote before it (OWASP's rule against CSV formula injection), so that a "
    "spreadsheet shows it as text and runs nothing; remove that one quote to get the text "
    "as stored. Numbers, dates and the JSON and NDJSON exports are never changed."
)


def datapackage(name: str, *, as_of: str | None, generated_at: str) -> dict[str, Any]:
    """The Frictionless descriptor of a `format=csv` export."""
    return {
        "profile": "tabular-data-package",
        "name": name,
        "title": "netregistry export",
        "created": generated_at,
        "description": (
            f"Registry state on {as_of}." if as_of else "The full history of the registry."
        )
        + " "
        + CSV_FORMULA_NOTE,
        "netregistry": {"schema_version": SCHEMA_VERSION, "as_of": as_of},
        "resources": [
            {
                "name": PLURAL[record],
                "path": f"{PLURAL[record]}.csv",
                "profile": "tabular-data-resource",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "dialect": {"delimiter": ",", "doubleQuote": True, "header": True},
                "schema": {
                    "fields": [field.frictionless() for field in RECORDS[record]],
                    "missingValues": [""],
                    **(
                        {"primaryKey": ["id"]}
                        if record in ("member", "membership", "tenure", "declaration")
                        else {}
                    ),
                },
            }
            for record in DOCUMENT_ORDER
        ],
    }
