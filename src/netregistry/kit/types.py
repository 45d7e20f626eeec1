"""Field types shared by the request and response shapes."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

import pycountry
from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    HttpUrl,
    StringConstraints,
    TypeAdapter,
    WithJsonSchema,
)

# The slug patterns, written once: the request and response shapes, the networks table's
# CHECK constraint (models/network.py) and the export schema (exports/records.py) use them.
SLUG_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"

Slug = Annotated[str, StringConstraints(pattern=SLUG_PATTERN, min_length=1, max_length=63)]

ROLE_SLUG_PATTERN = r"^[a-z0-9]+([-_][a-z0-9]+)*$"
RoleSlug = Annotated[
    str,
    StringConstraints(pattern=ROLE_SLUG_PATTERN, min_length=1, max_length=63),
    Field(examples=["secretariat_host"]),
]
"""A role's slug: like a network's, and underscores too (``secretariat_host``)."""
Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=500)]
LongText = Annotated[str, StringConstraints(max_length=20_000)]

_http_url = TypeAdapter(HttpUrl)


def _check_http_url(value: str) -> str:
    _http_url.validate_python(value)
    return value


WebUrl = Annotated[
    str,
    StringConstraints(max_length=2000),
    AfterValidator(_check_http_url),
    WithJsonSchema(
        {
            "type": "string",
            "format": "uri",
            "pattern": "^[Hh][Tt][Tt][Pp][Ss]?://",
            "maxLength": 2000,
            "description": "An absolute http or https URL.",
            "examples": ["https://citynet-ap.org"],
        }
    ),
]
"""An http(s) URL, kept exactly as given."""


def _check_country(value: str) -> str:
    code = value.upper()
    if pycountry.countries.get(alpha_2=code) is None:
        raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 country code")
    return code


CountryCode = Annotated[
    str,
    StringConstraints(min_length=2, max_length=2),
    AfterValidator(_check_country),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": "^[A-Za-z]{2}$",
            "description": "ISO 3166-1 alpha-2 country code (case-insensitive on input).",
            "examples": ["KR"],
        }
    ),
]
"""An ISO 3166-1 alpha-2 code, checked against pycountry and returned upper-case."""

WIKIDATA_PATTERN = r"^Q[1-9][0-9]*$"
WikidataId = Annotated[
    str, StringConstraints(pattern=WIKIDATA_PATTERN, max_length=20), Field(examples=["Q8684"])
]

# A calendar day, then optionally a time: what ISO 8601 / RFC 3339 timestamps look like.
_TIMESTAMP_START = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


def _iso_timestamp_only(value: Any) -> Any:
    # Pydantic would also read a number ("0.5") as seconds since 1970: refuse it, so the
    # field means exactly what its documented format says.
    if isinstance(value, str) and not _TIMESTAMP_START.match(value):
        raise ValueError("must be an ISO 8601 date-time such as 2014-01-01T00:00:00Z")
    return value


Timestamp = Annotated[
    datetime, BeforeValidator(_iso_timestamp_only), Field(examples=["2014-01-01T00:00:00Z"])
]
"""An ISO 8601 date-time (a bare date means its midnight); never a number of seconds."""
