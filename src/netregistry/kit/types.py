"""Field types shared by the request and response shapes."""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import date, datetime
from typing import Annotated, Any

import pycountry
from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    HttpUrl,
    StringConstraints,
    TypeAdapter,
    WithJsonSchema,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

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

CATEGORY_SLUG_PATTERN = ROLE_SLUG_PATTERN
CategorySlug = Annotated[
    str,
    StringConstraints(pattern=CATEGORY_SLUG_PATTERN, min_length=1, max_length=63),
    Field(examples=["full"]),
]
"""A membership category's slug: the rule of a role's (``full``, ``president_city``)."""

DAY_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
"""A day as a query parameter takes it: ``YYYY-MM-DD``."""

LOOKUP_PATTERN = r"^[^\x00]*$"
"""A text a path or query parameter looks up or filters by: anything but NUL, which no
stored text holds (PostgreSQL's text cannot)."""

CURSOR_PATTERN = r"^[A-Za-z0-9_-]*$"
"""A list's cursor: unpadded base64url, as ``CursorCodec.encode`` writes it."""

POSITION_PATTERN = r"^[0-9]+$"
# A webhook target: an http(s) URL without spaces, user name or fragment (its host is
# checked against the addresses it resolves to, which no pattern can say).
WEBHOOK_URL_PATTERN = r"^https?://[^\s#/?@]+([/?][^\s#]*)?$"
"""A position in the change feed: a non-negative integer."""

# --- text -------------------------------------------------------------------------------
#
# Every text a client sends is stored as Unicode NFC, so that a name typed decomposed
# ("Ło\u0301dz\u0301", as macOS and some web forms send it) is the same stored text as the name
# typed composed ("Łódź"): equal names are then equal in every comparison, in Python and
# in SQL. Besides, a text may not hold what displays as nothing or as something else:
# control characters (a line break inside a name, a bell), the bidirectional controls of
# Unicode (UAX #9's Bidi_Control: overrides, embeddings, isolates and marks, which
# reorder what a reader sees), tag characters (U+E0000-U+E007F, invisible copies of
# ASCII), and a name must have at least one visible character. Long texts (notes,
# descriptions) may hold tabs and line breaks.

BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
"""Unicode's Bidi_Control characters (UAX #9)."""
_TAGS = range(0xE0000, 0xE0080)
_LINE_BREAKS = frozenset("\t\n\r")

# The same rules as JSON Schema patterns, for the contract: no control character and no
# bidirectional control (tag characters lie beyond what a JSON Schema pattern can name),
# and for a name one character that is neither white space nor one of those. The service
# refuses more than the pattern (a name of invisible characters only, tag characters).
_CONTROLS = r"\x00-\x1f\x7f-\x9f"
_CONTROLS_BUT_LINE_BREAKS = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
_BIDI = r"\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_SPACES = r"\x20\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
SINGLE_LINE_PATTERN = (
    f"^[^{_CONTROLS}{_BIDI}]*[^{_CONTROLS}{_BIDI}{_SPACES}][^{_CONTROLS}{_BIDI}]*$"
)
MULTI_LINE_PATTERN = f"^[^{_CONTROLS_BUT_LINE_BREAKS}{_BIDI}]*$"


def _describe(character: str) -> str:
    code = f"U+{ord(character):04X}"
    name = unicodedata.name(character, "")
    if character in "\n\r":
        name = "a line break"
    elif character == "\t":
        name = "a tab"
    return f"{code} ({name})" if name else code


_FORBIDDEN = {
    False: re.compile(f"[{_CONTROLS}{_BIDI}\U000e0000-\U000e007f]"),
    True: re.compile(f"[{_CONTROLS_BUT_LINE_BREAKS}{_BIDI}\U000e0000-\U000e007f]"),
}


def _text_problem(text: str, *, line_breaks: bool) -> PydanticCustomError | None:
    """Why ``text`` cannot be stored, or ``None``."""
    if found := _FORBIDDEN[line_breaks].search(text):
        character = found.group()
        where = f"character {found.start() + 1}"
        if character in "\n\r":
            return PydanticCustomError(
                "text_control_character",
                "must be one line: remove the line break at {where}",
                {"where": where},
            )
        if character in BIDI_CONTROLS:
            error_type, kind = "text_bidi_control", "invisible direction control"
        elif ord(character) in _TAGS:
            error_type, kind = "text_tag_character", "invisible tag character"
        else:
            error_type, kind = "text_control_character", "control character"
        return PydanticCustomError(
            error_type,
            "contains the {kind} {character} at {where}: remove it",
            {"kind": kind, "character": _describe(character), "where": where},
        )
    if text and not any(unicodedata.category(character)[0] in "LNPS" for character in text):
        return PydanticCustomError(
            "text_not_visible",
            "has no visible character (only spaces or invisible characters such as "
            "U+200D ZERO WIDTH JOINER): write it in letters or digits",
        )
    return None


def _clean(line_breaks: bool) -> BeforeValidator:
    """NFC, then the characters refused (before white space is stripped, so that what
    the contract's pattern refuses is refused however it is placed)."""

    def clean(value: Any) -> Any:
        if not isinstance(value, str):
            return value  # refused as such by the str schema
        if not unicodedata.is_normalized("NFC", value):
            value = unicodedata.normalize("NFC", value)
        if problem := _text_problem(value, line_breaks=line_breaks):
            raise problem
        return value

    return BeforeValidator(clean)


_ONE_LINE = _clean(line_breaks=False)
_ONE_LINE_SCHEMA = Field(json_schema_extra={"pattern": SINGLE_LINE_PATTERN})
_MULTI_LINE = _clean(line_breaks=True)
_MULTI_LINE_SCHEMA = Field(json_schema_extra={"pattern": MULTI_LINE_PATTERN})

# NFC and the characters are checked first (the validator), then the length of the text
# as stored. Constraints come before validators in the list, so that the schema keeps them.
Name = Annotated[str, StringConstraints(min_length=1, max_length=200), _ONE_LINE, _ONE_LINE_SCHEMA]
"""A name, a title, a person: one line of visible text, up to 200 characters."""
ShortText = Annotated[
    str, StringConstraints(min_length=1, max_length=500), _ONE_LINE, _ONE_LINE_SCHEMA
]
"""One line of visible text up to 500 characters (an official name)."""
Acronym = Annotated[
    str, StringConstraints(min_length=1, max_length=50), _ONE_LINE, _ONE_LINE_SCHEMA
]
"""One line of visible text up to 50 characters."""
Label = Annotated[str, StringConstraints(min_length=1, max_length=100), _ONE_LINE, _ONE_LINE_SCHEMA]
"""One line of visible text up to 100 characters (a kind, a type)."""
LongText = Annotated[str, StringConstraints(max_length=20_000), _MULTI_LINE, _MULTI_LINE_SCHEMA]
"""Free text up to 20,000 characters: tabs and line breaks allowed (a note, a description)."""

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


# --- country codes ----------------------------------------------------------------------
#
# The codes ISO 3166-1 assigns, as the pinned pycountry ships them (from Debian's
# iso-codes, which follows ISO's changes), and XK: the user-assigned code of Kosovo,
# which Wikidata, the European Union and most registries use. A code is written in
# capitals or in small letters (KR or kr) and stored in capitals.

USER_ASSIGNED_COUNTRIES = {"XK": "Kosovo"}
"""User-assigned codes (ISO 3166-1 leaves XA-XZ to users) the registry accepts."""

COUNTRY_NAMES: dict[str, str] = {
    **{country.alpha_2: country.name for country in pycountry.countries},
    **USER_ASSIGNED_COUNTRIES,
}
COUNTRY_CODES: tuple[str, ...] = tuple(sorted(COUNTRY_NAMES))
"""Every accepted country code, in capitals."""
COUNTRY_CODE_INPUTS: tuple[str, ...] = COUNTRY_CODES + tuple(code.lower() for code in COUNTRY_CODES)
"""Every accepted spelling of a country code: in capitals, then in small letters."""
_ACCEPTED = frozenset(COUNTRY_CODE_INPUTS)

# Codes that are not countries but are often taken for one: what to write instead.
_RESERVED = {
    "UK": "GB",  # reserved at the United Kingdom's request; its code is GB
    "EL": "GR",  # the European Union's abbreviation for Greece
}
# Codes ISO 3166-1 has withdrawn (and not given again): the country's name and the year.
_WITHDRAWN: dict[str, tuple[str, str]] = {}
for _country in sorted(pycountry.historic_countries, key=lambda country: country.withdrawal_date):
    if _country.alpha_2 not in COUNTRY_NAMES:
        _WITHDRAWN[_country.alpha_2] = (_country.name, _country.withdrawal_date[:4])


def _country_problem(value: str) -> PydanticCustomError:
    given = value if len(value) <= 20 else value[:20] + "…"
    code = value.strip()
    if not code.isascii():
        odd = next(character for character in code if not character.isascii())
        return PydanticCustomError(
            "value_error",
            '"{given}" is not a country code: a code is two letters A to Z, and it contains '
            "{character}",
            {"given": given, "character": _describe(odd)},
        )
    upper = code.upper()
    if upper in _RESERVED:
        suggested = _RESERVED[upper]
        return PydanticCustomError(
            "value_error",
            '"{given}" is not an ISO 3166-1 country code: did you mean {code} ({name})?',
            {"given": given, "code": suggested, "name": COUNTRY_NAMES[suggested]},
        )
    if upper in _WITHDRAWN:
        name, year = _WITHDRAWN[upper]
        return PydanticCustomError(
            "value_error",
            '"{given}" ({name}) was withdrawn from ISO 3166-1 in {year}: use the code of the '
            "country the place is in today",
            {"given": given, "name": name, "year": year},
        )
    if upper in COUNTRY_NAMES:
        return PydanticCustomError(
            "value_error",
            'write the country code as "{code}": two capital letters (or two small letters), '
            "nothing else",
            {"code": upper},
        )
    return PydanticCustomError(
        "value_error",
        '"{given}" is not a country code: use an ISO 3166-1 alpha-2 code such as KR, FR or '
        "BR (XK for Kosovo)",
        {"given": given},
    )


def _check_country(value: Any) -> Any:
    if isinstance(value, str) and value not in _ACCEPTED:
        raise _country_problem(value)
    return value  # a value that is no string is refused as such by the str schema


class _CountryCodeSchema:
    """The validation and JSON Schema of :data:`CountryCode`. The schema is one
    definition, ``CountryCode``, that every field and query parameter taking a code
    refers to: the list of codes is long, and the contract lists it once."""

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_before_validator_function(
            _check_country,
            core_schema.no_info_after_validator_function(str.upper, core_schema.str_schema()),
            ref="CountryCode",
        )

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        reference = handler(schema)
        definition = handler.resolve_ref_schema(reference)
        definition.clear()
        definition.update(
            {
                "type": "string",
                "enum": list(COUNTRY_CODE_INPUTS),
                "description": (
                    "An ISO 3166-1 alpha-2 country code, or XK for Kosovo; in capitals or in "
                    "small letters (stored and returned in capitals)."
                ),
                "examples": ["KR"],
            }
        )
        return reference


CountryCode = Annotated[str, _CountryCodeSchema()]
"""A country: an ISO 3166-1 alpha-2 code (pycountry's list) or XK, returned in capitals."""


WIKIDATA_PATTERN = r"^Q[1-9][0-9]*$"
WikidataId = Annotated[
    str, StringConstraints(pattern=WIKIDATA_PATTERN, max_length=20), Field(examples=["Q8684"])
]

ISO3166_2_PATTERN = r"^[A-Z]{2}-[A-Z0-9]{1,3}$"
Iso3166_2Code = Annotated[
    str,
    StringConstraints(pattern=ISO3166_2_PATTERN, max_length=6),
    Field(
        description=(
            "ISO 3166-2 code of the subdivision the city is (Seoul: KR-11), in capitals, "
            "beginning with the city's country code."
        ),
        examples=["KR-11"],
    ),
]
UNLOCODE_PATTERN = r"^[A-Z]{2}[A-Z2-9]{3}$"
UnLocode = Annotated[
    str,
    StringConstraints(pattern=UNLOCODE_PATTERN, max_length=5),
    Field(
        description=(
            "UN/LOCODE of the city, five characters without the space (KR SEL is KRSEL), "
            "beginning with the city's country code."
        ),
        examples=["KRSEL"],
    ),
]

# Any of them, or a wikidata or geonames id: each scheme's identifiers have a shape of
# their own, so the lookup tells the scheme from the identifier.
IDENTIFIER_PATTERN = (
    r"^(Q[1-9][0-9]{0,18}|[1-9][0-9]{0,9}|[A-Z]{2}-[A-Z0-9]{1,3}|[A-Z]{2}[A-Z2-9]{3})$"
)

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


_DAY = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


def _iso_day_only(value: Any) -> Any:
    # Pydantic would also read 1699920000 (or "1699920000") as seconds since 1970.
    if isinstance(value, date) or (isinstance(value, str) and _DAY.fullmatch(value)):
        return value
    raise PydanticCustomError(
        "date_type",
        'must be a day written YYYY-MM-DD, such as "2013-11-05" (got {got})',
        {"got": shown(value)},
    )


Day = Annotated[date, BeforeValidator(_iso_day_only), Field(examples=["2013-11-05"])]
"""A full day, ``YYYY-MM-DD`` as text; never a number of seconds."""


def _number_only(value: Any) -> Any:
    # Pydantic would read true as 1 and "12" as 12: a number is a JSON number.
    if isinstance(value, bool | str):
        raise PydanticCustomError(
            "number_type",
            "must be a number written without quotes, such as 12 (got {got})",
            {"got": shown(value)},
        )
    return value


NUMBER_ONLY = BeforeValidator(_number_only)
"""Refuses booleans and text where a number is due: ``Annotated[int, Field(ge=0),
NUMBER_ONLY]`` (constraints first, so that the schema keeps them)."""


def shown(value: Any) -> str:
    """``value`` as JSON would spell it, cut short."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = type(value).__name__
    return text if len(text) <= 40 else text[:40] + "…"
