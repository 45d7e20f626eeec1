"""Dates as history gives them: ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``.

A :class:`PartialDate` keeps the precision its source stated and knows the days it
may stand for. Periods are half-open, ``[start, end)``, and cover only the days that
are *certainly* inside them: a partial start counts from the last day of its year or
month, a partial end stops at the first day of its year or month. ``None`` as a start
means "since before the records", as an end "ongoing".

This module is the one definition of that arithmetic; the database mirrors it in the
``certain_period`` SQL function (see the migrations), and a test holds the two equal.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import PlainSerializer, WithJsonSchema
from pydantic.functional_validators import BeforeValidator
from sqlalchemy import String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

Precision = Literal["year", "month", "day"]

PATTERN = r"^\d{4}(-\d{2}(-\d{2})?)?$"
"""The shape of a stored date (the tables' CHECK constraints)."""

# The dates the service accepts, as the contract states them: years 0001 to 9999,
# months 01 to 12, and only the days the calendar has (29 February in leap years only).
_YEAR = "(?:[0-9]{3}[1-9]|[0-9]{2}[1-9]0|[0-9][1-9]00|[1-9]000)"
_LEAP_YEAR = "(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)"
_MONTH_DAY = (
    "(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])"
    "|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)"
    "|02-(?:0[1-9]|1[0-9]|2[0-8]))"
)
CALENDAR_PATTERN = f"^(?:{_YEAR}(?:-(?:0[1-9]|1[0-2])|-{_MONTH_DAY})?|{_LEAP_YEAR}-02-29)$"
"""Every text :meth:`PartialDate.parse` accepts, and nothing else."""
# ASCII digits only, and the whole text: "２０２３" or "2023\n" are not dates.
_PARSE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?", re.ASCII)


@dataclass(frozen=True, slots=True)
class PartialDate:
    """A calendar date known to the year, the month or the day."""

    year: int
    month: int | None = None
    day: int | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.year <= 9999:
            raise ValueError("year must be between 0001 and 9999")
        if self.month is None and self.day is not None:
            raise ValueError("a day needs a month")
        if self.month is not None and not 1 <= self.month <= 12:
            raise ValueError(f"month {self.month:02d} does not exist")
        if self.day is not None:
            assert self.month is not None
            last = calendar.monthrange(self.year, self.month)[1]
            if not 1 <= self.day <= last:
                raise ValueError(
                    f"day {self.day:02d} does not exist in {self.year:04d}-{self.month:02d}"
                )

    @classmethod
    def parse(cls, text: str) -> PartialDate:
        """Read ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``; :class:`ValueError` otherwise."""
        match = _PARSE.fullmatch(text)
        if match is None:
            raise ValueError("must be YYYY, YYYY-MM or YYYY-MM-DD")
        year, month, day = match.groups()
        return cls(int(year), int(month) if month else None, int(day) if day else None)

    @classmethod
    def from_date(cls, value: date) -> PartialDate:
        return cls(value.year, value.month, value.day)

    @property
    def precision(self) -> Precision:
        if self.day is not None:
            return "day"
        return "month" if self.month is not None else "year"

    @property
    def is_exact(self) -> bool:
        return self.day is not None

    def first_day(self) -> date:
        """The earliest day this date may stand for."""
        return date(self.year, self.month or 1, self.day or 1)

    def last_day(self) -> date:
        """The latest day this date may stand for."""
        if self.day is not None:
            assert self.month is not None
            return date(self.year, self.month, self.day)
        if self.month is not None:
            return date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])
        return date(self.year, 12, 31)

    def __str__(self) -> str:
        text = f"{self.year:04d}"
        if self.month is not None:
            text += f"-{self.month:02d}"
        if self.day is not None:
            text += f"-{self.day:02d}"
        return text


@dataclass(frozen=True, slots=True)
class CertainPeriod:
    """The days certainly inside a period: ``[lower, upper)``, ``None`` for unbounded."""

    lower: date | None
    upper: date | None

    @classmethod
    def of(cls, start: PartialDate | None, end: PartialDate | None) -> CertainPeriod:
        return cls(
            start.last_day() if start is not None else None,
            end.first_day() if end is not None else None,
        )

    @property
    def is_empty(self) -> bool:
        return self.lower is not None and self.upper is not None and self.lower >= self.upper

    def contains(self, day: date) -> bool:
        if self.is_empty:
            return False
        return (self.lower is None or self.lower <= day) and (
            self.upper is None or day < self.upper
        )

    def overlaps(self, other: CertainPeriod) -> bool:
        if self.is_empty or other.is_empty:
            return False
        starts_before_other_ends = (
            self.lower is None or other.upper is None or self.lower < other.upper
        )
        other_starts_before_end = (
            other.lower is None or self.upper is None or other.lower < self.upper
        )
        return starts_before_other_ends and other_starts_before_end


def validate_period(start: PartialDate | None, end: PartialDate | None) -> str | None:
    """Why ``start``/``end`` is not a valid period, or ``None`` when it is."""
    if start is None or end is None:
        return None
    if CertainPeriod.of(start, end).is_empty:
        return (
            f"end_date {end} must be after start_date {start}: the period must hold at least "
            "one day for certain (a partial start counts from its last day, a partial end "
            "stops at its first day)"
        )
    return None


def _coerce(value: Any) -> PartialDate:
    if isinstance(value, PartialDate):
        return value
    if isinstance(value, date):
        return PartialDate.from_date(value)
    if isinstance(value, str):
        return PartialDate.parse(value)
    raise ValueError("must be a string YYYY, YYYY-MM or YYYY-MM-DD")


HistoricalDate = Annotated[
    PartialDate,
    BeforeValidator(_coerce),
    PlainSerializer(str, return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": CALENDAR_PATTERN,
            "description": "A date to the year, month or day: YYYY, YYYY-MM or YYYY-MM-DD.",
            "examples": ["2013-11-05", "2013-11", "1987"],
        }
    ),
]
"""A :class:`PartialDate` in a Pydantic model: parsed from and written as its text."""


class PartialDateType(TypeDecorator[PartialDate]):
    """A :class:`PartialDate` stored as its text, which sorts chronologically."""

    impl = String(10)
    cache_ok = True

    def process_bind_param(self, value: PartialDate | None, dialect: Dialect) -> str | None:
        return None if value is None else str(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> PartialDate | None:
        return None if value is None else PartialDate.parse(value)


def describe_period(start: PartialDate | None, end: PartialDate | None) -> str:
    """A period in words: 'from 2013 until 2016-12', 'from before the records onwards'."""
    since = f"from {start}" if start is not None else "from before the records"
    return f"{since} until {end}" if end is not None else f"{since} onwards"


def day_in_words(day: date, starts: Iterable[tuple[str, PartialDate | None]]) -> str:
    """A day a rule used, beside the partial start it was counted from, as given:
    '2025-06-30 (the last day of the start_date "2025-06": a start given as a month
    counts from its last day)'. ``starts`` are the candidate starts, each with what
    names it ("the start_date", "Busan's start_date"), the request's own first."""
    for label, start in starts:
        if start is not None and not start.is_exact and start.last_day() == day:
            return (
                f'{day.isoformat()} (the last day of {label} "{start}": a start given as a '
                f"{start.precision} counts from its last day)"
            )
    return day.isoformat()


def overlap_in_words(start: PartialDate | None, other_start: PartialDate | None, other: str) -> str:
    """Where a period from ``start`` first shares a day with ``other``'s, a period from
    ``other_start`` it overlaps: 'from 2016-11-30 (the last day of the start_date
    "2016-11": ...)', or 'from before the records'."""
    lowers = [given.last_day() for given in (start, other_start) if given is not None]
    if not lowers:
        return "from before the records"
    starts = [("the start_date", start), (f"{other}'s start_date", other_start)]
    return f"from {day_in_words(max(lowers), starts)}"
