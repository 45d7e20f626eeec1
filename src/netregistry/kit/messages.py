"""What the service says when it refuses, in words a secretariat officer can follow.

Pydantic explains a value that fails a pattern with the pattern itself ("String should
match pattern '^[a-z0-9]+([-_][a-z0-9]+)*$'") and prefixes the message of a validator's
``ValueError`` with "Value error, ". Every writer that shows a validation error (the
problem handler, the CSV member-list import, ``netregistry import``) turns it into
words here, keyed by the error's type and, for a pattern, by the pattern: the rule in
words and an example, made from the value given where one can be. The error's ``type``
and location stay as pydantic gives them, for machines.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from netregistry.kit.languages import TAG_PATTERN, tag_problem
from netregistry.kit.types import (
    CATEGORY_SLUG_PATTERN,
    CURSOR_PATTERN,
    DAY_PATTERN,
    IDENTIFIER_PATTERN,
    ISO3166_2_PATTERN,
    LOOKUP_PATTERN,
    POSITION_PATTERN,
    ROLE_SLUG_PATTERN,
    SLUG_PATTERN,
    UNLOCODE_PATTERN,
    WEBHOOK_URL_PATTERN,
    WIKIDATA_PATTERN,
    shown,
)

_PREFIXES = ("Value error, ", "Assertion failed, ")


def officer_message(error: Mapping[str, Any]) -> str:
    """The message of one pydantic error (an item of ``ValidationError.errors()``)."""
    context = error.get("ctx") or {}
    if error.get("type") == "string_pattern_mismatch":
        words = PATTERN_WORDS.get(str(context.get("pattern", "")), _unknown_pattern)
        return words(error.get("input"))
    cause = context.get("error")
    if error.get("type") in ("value_error", "assertion_error") and isinstance(cause, Exception):
        return str(cause)
    message = str(error.get("msg", ""))
    for prefix in _PREFIXES:
        message = message.removeprefix(prefix)
    return message


def _words_of(value: Any, *, underscores: bool) -> list[str]:
    """``value`` folded to the lowercase ASCII words a slug is made of ("Membre à part
    entière": membre, a, part, entiere); underscores kept inside words where allowed."""
    if not isinstance(value, str) or len(value) > 200:
        return []
    decomposed = unicodedata.normalize("NFKD", value)
    folded = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    if not underscores:
        return [word for word in re.split(r"[^a-z0-9]+", folded) if word]
    parts = (re.sub("_+", "_", part).strip("_") for part in re.split(r"[^a-z0-9_]+", folded))
    return [part for part in parts if part]


def _slug_words(*, underscores: bool, example: str) -> Callable[[Any], str]:
    allowed = re.compile(r"[a-z0-9_-]+" if underscores else r"[a-z0-9-]+")
    separators = "a hyphen or underscore" if underscores else "a hyphen"
    characters = (
        "lowercase letters, digits, hyphens or underscores"
        if underscores
        else "lowercase letters, digits and hyphens"
    )

    def words(value: Any) -> str:
        suggested = "-".join(_words_of(value, underscores=underscores))
        if not suggested or len(suggested) > 63:
            suggested = example
        if isinstance(value, str) and allowed.fullmatch(value):
            # The right characters in the wrong places: "-full", "full--member".
            rule = f"{separators} goes only between letters or digits"
        else:
            rule = f"use {characters}"
        return f"{rule}, e.g. {suggested} (got {shown(value)})"

    return words


def _wikidata_words(value: Any) -> str:
    digits = (
        re.fullmatch(r"\s*[Qq]?\s*0*([1-9][0-9]{0,15})\s*", value, re.ASCII)
        if isinstance(value, str)
        else None
    )
    example = f"Q{digits.group(1)}" if digits else "Q8684"
    return f"must be a Wikidata item id: Q and its number, e.g. {example} (got {shown(value)})"


def _day_words(value: Any) -> str:
    return f'must be a day written YYYY-MM-DD, such as "2013-11-05" (got {shown(value)})'


def _unknown_pattern(value: Any) -> str:
    return f"is not written in the form this field takes (got {shown(value)})"


PATTERN_WORDS: dict[str, Callable[[Any], str]] = {
    SLUG_PATTERN: _slug_words(underscores=False, example="citynet"),
    ROLE_SLUG_PATTERN: _slug_words(underscores=True, example="full-member"),
    CATEGORY_SLUG_PATTERN: _slug_words(underscores=True, example="full-member"),
    WIKIDATA_PATTERN: _wikidata_words,
    ISO3166_2_PATTERN: lambda value: (
        "must be an ISO 3166-2 code in capitals: the country code, a hyphen and up to "
        f"three letters or digits, e.g. KR-11 (got {shown(value)})"
    ),
    UNLOCODE_PATTERN: lambda value: (
        "must be a UN/LOCODE: the country code and three letters or digits 2-9, without "
        f"the space, e.g. KRSEL (got {shown(value)})"
    ),
    IDENTIFIER_PATTERN: lambda value: (
        "must be a wikidata id (Q8684), a geonames id (1835848), an ISO 3166-2 code "
        f"(KR-11) or a UN/LOCODE (KRSEL), in capitals (got {shown(value)})"
    ),
    TAG_PATTERN: tag_problem,
    DAY_PATTERN: _day_words,
    WEBHOOK_URL_PATTERN: lambda value: (
        "use an https URL without spaces, user name or #fragment, e.g. "
        "https://partner.example.org/hook"
    ),
    LOOKUP_PATTERN: lambda value: "must not contain the NUL character (U+0000)",
    CURSOR_PATTERN: lambda value: (
        "is not a cursor of this list: pass the next_cursor of the previous page as it "
        "came, or start again without one"
    ),
    POSITION_PATTERN: lambda value: (
        f"must be a position in the change feed, a whole number such as 0 (got {shown(value)})"
    ),
}
"""The words for a value that fails each pattern the request shapes declare."""


# --- words for the rules' messages -------------------------------------------------------


def count_of(count: int, noun: str, plural: str | None = None) -> str:
    """``count`` and ``noun`` as one says them: "1 holder", "2 holders", "0 tenures"."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"


def with_article(phrase: str) -> str:
    """``phrase`` after "a" or "an": "a full", "an associate", "an organization"."""
    return f"{'an' if phrase[:1].lower() in 'aeiou' else 'a'} {phrase}"


def in_words(items: Sequence[str], conjunction: str = "and") -> str:
    """``items`` as a list in a sentence: "guest", "guest and observer", "a, b and c"."""
    if len(items) <= 2:
        return f" {conjunction} ".join(items)
    return f"{', '.join(items[:-1])} {conjunction} {items[-1]}"
