"""Language tags (BCP 47) as `langcodes` reads them: validation, the normal spelling,
the fallback chain a reader's language goes through, and ``Accept-Language``.

A tag is valid when ``langcodes.tag_is_valid`` says so (registered subtags of the IANA
registry, as the pinned `langcodes` holds it), and is stored in its standard form
(``ZH-hans`` is ``zh-Hans``, ``i-klingon`` is ``tlh``). A reader's tag falls back by
dropping subtags from the end, with the script a region implies in between:
``zh-Hant-TW`` → ``zh-Hant`` → ``zh``; ``zh-TW`` → ``zh-Hant`` → ``zh``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Annotated, Any

import langcodes
import regex
from langcodes.tag_parser import LanguageTagError
from pydantic import BeforeValidator, Field
from pydantic_core import PydanticCustomError

MAX_TAG_LENGTH = 35
# The form of a tag (the database checks the same, migration 0013); validity is langcodes'.
TAG_PATTERN = r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$"
_TAG = re.compile(TAG_PATTERN)
# At most this many languages of an Accept-Language header are tried.
MAX_ACCEPTED = 6


def standard_tag(value: str) -> str | None:
    """``value`` in its standard form when it is a valid BCP 47 tag, else None."""
    if len(value) > MAX_TAG_LENGTH or not _TAG.fullmatch(value):
        return None
    try:
        if not langcodes.tag_is_valid(value):
            return None
        return str(langcodes.standardize_tag(value))
    except (LanguageTagError, ValueError):
        return None


def tag_problem(value: str) -> str:
    """Why ``value`` is not a language tag, for a secretariat officer."""
    return (
        f"use a BCP 47 language tag: a language code, optionally with script and region, "
        f"e.g. ko, ja, zh-Hans, fr or pt-BR (got {value!r})"
    )


def _check_tag(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    tag = standard_tag(value)
    if tag is None:
        raise PydanticCustomError("language_tag", "{problem}", {"problem": tag_problem(value)})
    return tag


LanguageTag = Annotated[
    str,
    BeforeValidator(_check_tag),
    Field(
        min_length=2,
        max_length=MAX_TAG_LENGTH,
        examples=["ko"],
        description="A BCP 47 language tag (ko, ja, zh-Hans, fr, pt-BR; und: not known).",
        # The form, for the contract (the validator checks it, and langcodes the rest).
        json_schema_extra={"pattern": TAG_PATTERN},
    ),
]


def fallback_chain(tag: str) -> list[str]:
    """The tags a reader of ``tag`` accepts, best first (``tag`` standard)."""
    chain: list[str] = []

    def add(candidate: str) -> None:
        parts = candidate.split("-")
        while parts:
            joined = "-".join(parts)
            if joined not in chain and joined != "und":
                chain.append(joined)
            parts.pop()

    language = langcodes.Language.get(tag)
    if language.territory and not language.script:
        # zh-TW reads zh-Hant first: the script its region writes, when it is not the
        # language's usual one.
        script = language.maximize().script
        usual = langcodes.Language.get(str(language.language)).maximize().script
        if script and script != usual:
            add(tag)
            chain.remove(str(language.language))
            add(f"{language.language}-{script}")
            return chain
    add(tag)
    return chain


def chain_of(tags: list[str]) -> list[str]:
    """The fallback chains of ``tags`` (in preference order) joined, each tag once."""
    joined: list[str] = []
    for tag in tags:
        joined += [t for t in fallback_chain(tag) if t not in joined]
    return joined


def accepted_languages(header: str | None) -> list[str]:
    """The valid tags of an ``Accept-Language`` header, by weight (RFC 9110 12.5.4).

    ``*``, invalid tags and weights of 0 are left out; a header that is no list of
    tags is none.
    """
    if not header:
        return []
    weighted: list[tuple[float, int, str]] = []
    for index, item in enumerate(header.split(",")[:32]):
        tag, _, parameters = item.strip().partition(";")
        weight = 1.0
        parameters = parameters.strip()
        if parameters:
            name, _, value = parameters.partition("=")
            if name.strip().lower() != "q":
                continue
            try:
                weight = float(value.strip())
            except ValueError:
                continue
        standard = standard_tag(tag.strip())
        if standard is None or weight <= 0 or standard == "und":
            continue
        weighted.append((-weight, index, standard))
    tags: list[str] = []
    for _, _, tag in sorted(weighted):
        if tag not in tags:
            tags.append(tag)
    return tags[:MAX_ACCEPTED]


@dataclass(frozen=True, slots=True)
class NameChoice:
    """Which names a read shows: the languages asked for (their fallback chain, best
    first) and the day the names are read for (a read's ``as_of``).

    ``plain`` when nothing was asked: no language, and today. Every name shown is then
    the default ``name``, read as stored, with no look-up of names.
    """

    langs: tuple[str, ...] = ()
    day: date | None = None
    today: date | None = None
    asked: str | None = None

    @property
    def plain(self) -> bool:
        return not self.langs and (self.day is None or self.day == self.today)

    def on(self, day: date | None) -> NameChoice:
        """This choice for the names in force on ``day`` (None: today)."""
        return replace(self, day=day)

    def parameters(self) -> dict[str, Any]:
        today = self.today or datetime.now(UTC).date()
        return {"name_langs": list(self.langs), "name_day": self.day or today, "today": today}

    def headers(self) -> dict[str, str]:
        """``Content-Language`` (the language asked for, when one was) and ``Vary``."""
        headers = {"Vary": "Accept-Language"}
        if self.asked is not None:
            headers["Content-Language"] = self.asked
        return headers


def name_choice(lang: str | None, accept_language: str | None) -> NameChoice:
    """The choice of a read with ``lang`` (standard, or None) and the request's
    ``Accept-Language`` header, which counts only when ``lang`` is absent."""
    tags = [lang] if lang is not None else accepted_languages(accept_language)
    today = datetime.now(UTC).date()
    return NameChoice(tuple(chain_of(tags)), today, today, tags[0] if tags else None)


# --- Scripts: which names a page marks with a language of their own ------------------
#
# A page in Korean shows 서울 in its own language, but "Kuala Lumpur" (a member with no
# Korean name) is another language: a screen reader must not read it with a Korean
# voice, so the name carries its own ``lang``. Scripts are told by the Unicode Script
# property (the `regex` library); a language's script is the one langcodes' likely
# subtags give it (ko → Kore, ja → Jpan, zh-TW → Hant). The writing systems that mix
# scripts are the scripts they are written with.
_SCRIPTS_OF_WRITING = {
    "Kore": ("Hang", "Hani"),
    "Jpan": ("Hira", "Kana", "Hani"),
    "Hans": ("Hani",),
    "Hant": ("Hani",),
    "Hrkt": ("Hira", "Kana"),
}


@functools.cache
def _script_pattern(tag: str) -> regex.Pattern[str] | None:
    """A text written only in the script of ``tag``'s language (marks, digits and
    punctuation, which every script shares, allowed); None: no known script."""
    script = langcodes.Language.get(tag).maximize().script
    if script is None or script == "Zyyy":
        return None
    scripts = _SCRIPTS_OF_WRITING.get(script, (script,))
    try:
        return regex.compile(
            "[" + "".join(rf"\p{{sc={code}}}" for code in (*scripts, "Zyyy", "Zinh")) + "]*"
        )
    except regex.error:  # a script Unicode does not encode
        return None


def _language(tag: str) -> str:
    return tag.split("-", 1)[0].lower()


def own_lang(text: str, tags: Sequence[str], page: str) -> str | None:
    """The ``lang`` attribute a name ``text`` carries on a page in ``page``, the name
    being stored under ``tags`` (none, or ``und``: its language is not known). None
    when the page's ``lang`` holds: one of the tags is the page's language, or none is
    known and the text is in the page's script. Else the first known tag, or ``""``
    (unknown, as HTML says it) for a text of no known language in another script."""
    known = [tag for tag in tags if tag != "und"]
    if any(_language(tag) == _language(page) for tag in known):
        return None
    if known:
        return known[0]
    pattern = _script_pattern(page)
    if pattern is None or pattern.fullmatch(text):
        return None
    return ""
