"""Dates as history gives them: parsing, certain periods, and the SQL mirror of both."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi import FastAPI
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import text

from netregistry.kit.dates import CertainPeriod, HistoricalDate, PartialDate, validate_period


def pd(value: str) -> PartialDate:
    return PartialDate.parse(value)


def period(start: str | None, end: str | None) -> CertainPeriod:
    return CertainPeriod.of(
        pd(start) if start is not None else None, pd(end) if end is not None else None
    )


@pytest.mark.parametrize(
    ("text_", "parts", "precision"),
    [
        ("2013", (2013, None, None), "year"),
        ("2013-11", (2013, 11, None), "month"),
        ("2013-11-05", (2013, 11, 5), "day"),
        ("0001", (1, None, None), "year"),
        ("9999-12-31", (9999, 12, 31), "day"),
    ],
)
def test_parse_keeps_the_stated_precision_and_prints_back_unchanged(
    text_: str, parts: tuple[int, int | None, int | None], precision: str
) -> None:
    parsed = PartialDate.parse(text_)
    assert (parsed.year, parsed.month, parsed.day) == parts
    assert parsed.precision == precision
    assert parsed.is_exact == (precision == "day")
    assert str(parsed) == text_


@pytest.mark.parametrize(
    "text_",
    [
        "0000",
        "2023-13",
        "2023-00",
        "2023-02-30",
        "2023-04-31",
        "2023-2-1",
        "2023-02-1",
        "23",
        "",
        "2023-01-01T00:00",
        " 2023",
        "2023-01-01 ",
        "２０２３",
        "2023\n",
        "2023-11\n",
    ],
)
def test_parse_rejects_what_is_not_a_real_year_month_or_day(text_: str) -> None:
    with pytest.raises(ValueError, match=r"\S"):
        PartialDate.parse(text_)


@pytest.mark.parametrize(
    ("month", "last"),
    [
        ("2024-02", date(2024, 2, 29)),
        ("2023-02", date(2023, 2, 28)),
        ("1900-02", date(1900, 2, 28)),
        ("2000-02", date(2000, 2, 29)),
        ("2023-01", date(2023, 1, 31)),
        ("2023-04", date(2023, 4, 30)),
        ("2023-12", date(2023, 12, 31)),
    ],
)
def test_a_month_stands_for_its_first_to_its_last_day_with_leap_years(
    month: str, last: date
) -> None:
    assert pd(month).first_day() == last.replace(day=1)
    assert pd(month).last_day() == last


def test_february_29th_exists_only_in_leap_years() -> None:
    assert pd("2024-02-29").last_day() == date(2024, 2, 29)
    assert pd("2000-02-29").first_day() == date(2000, 2, 29)
    for not_leap in ("2023-02-29", "1900-02-29", "2100-02-29"):
        with pytest.raises(ValueError, match="does not exist"):
            pd(not_leap)


def test_a_year_stands_for_january_1st_to_december_31st() -> None:
    assert pd("2016").first_day() == date(2016, 1, 1)
    assert pd("2016").last_day() == date(2016, 12, 31)


def test_a_full_day_is_exact() -> None:
    day = pd("2013-11-05")
    assert day.first_day() == day.last_day() == date(2013, 11, 5)


def test_partial_start_counts_from_its_last_day_and_partial_end_stops_at_its_first_day() -> None:
    assert period("2013", "2016-12") == CertainPeriod(date(2013, 12, 31), date(2016, 12, 1))
    assert period("2013-11", "2014") == CertainPeriod(date(2013, 11, 30), date(2014, 1, 1))
    assert period("2013-11-05", "2013-11-06") == CertainPeriod(date(2013, 11, 5), date(2013, 11, 6))


def test_null_bounds_are_unbounded() -> None:
    since_ever = period(None, "2013")
    ongoing = period("2013", None)
    assert since_ever == CertainPeriod(None, date(2013, 1, 1))
    assert ongoing == CertainPeriod(date(2013, 12, 31), None)
    assert since_ever.contains(date(1, 1, 1))
    assert not since_ever.contains(date(2013, 1, 1))
    assert ongoing.contains(date(9999, 12, 31))
    assert not ongoing.contains(date(2013, 12, 30))
    assert period(None, None).contains(date(2000, 1, 1))


def test_a_period_is_half_open() -> None:
    handed = period("2011-01-01", "2013-11-05")
    assert handed.contains(date(2013, 11, 4))
    assert not handed.contains(date(2013, 11, 5))
    assert handed.contains(date(2011, 1, 1))


def test_partial_days_are_not_certain_days() -> None:
    """ "From November 2013" does not claim 5 November; "until 2016-12" not 15 December."""
    assert not period("2013-11", None).contains(date(2013, 11, 5))
    assert period("2013-11", None).contains(date(2013, 11, 30))
    assert not period(None, "2016-12").contains(date(2016, 12, 15))
    assert period(None, "2016-12").contains(date(2016, 11, 30))


def test_a_year_end_does_not_meet_the_same_year_as_start() -> None:
    until_2016 = period(None, "2016")
    from_2016 = period("2016", None)
    assert until_2016 == CertainPeriod(None, date(2016, 1, 1))
    assert from_2016 == CertainPeriod(date(2016, 12, 31), None)
    assert not until_2016.overlaps(from_2016)
    assert not from_2016.overlaps(until_2016)


def test_rio_until_2016_12_and_paris_from_2016_12_do_not_overlap() -> None:
    rio = period("2011", "2016-12")
    paris = period("2016-12", None)
    assert not rio.overlaps(paris)
    assert not paris.overlaps(rio)
    for day in (date(2016, 12, 1), date(2016, 12, 15), date(2016, 12, 30)):
        assert not rio.contains(day)
        assert not paris.contains(day)


def test_periods_sharing_a_certain_day_overlap() -> None:
    assert period("2010", "2015").overlaps(period("2014-06-01", None))
    assert period(None, None).overlaps(period("2013", "2014-06"))
    assert period(None, "2014-01-02").overlaps(period("2014-01-01", None))
    assert not period(None, "2014-01-01").overlaps(period("2014-01-01", None))


def test_an_empty_period_contains_and_overlaps_nothing() -> None:
    empty = period("2013", "2013-11")
    assert empty.is_empty
    assert not empty.contains(date(2013, 12, 31))
    assert not empty.overlaps(period(None, None))
    assert not period(None, None).overlaps(empty)


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2014-01-01", "2013-01-01"),
        ("2013-11-05", "2013-11-05"),
        ("2014", "2013"),
        ("2013", "2013"),
        ("2013", "2013-11"),
        ("2013-11", "2013-11-30"),
        ("2016-12", "2016-12"),
    ],
)
def test_validate_period_rejects_a_period_without_a_certain_day(start: str, end: str) -> None:
    problem = validate_period(pd(start), pd(end))
    assert problem is not None
    assert f"end_date {end} must be after start_date {start}" in problem


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (None, None),
        ("2013", None),
        (None, "2013"),
        ("2013-11-05", "2013-11-06"),
        ("2013", "2014-01"),
        ("2013-11", "2013-12"),
        ("2016-12", "2017"),
    ],
)
def test_validate_period_accepts_a_period_with_at_least_one_certain_day(
    start: str | None, end: str | None
) -> None:
    assert (
        validate_period(
            pd(start) if start is not None else None, pd(end) if end is not None else None
        )
        is None
    )


def test_historical_date_in_a_schema_reads_text_and_writes_it_back_unchanged() -> None:
    adapter: TypeAdapter[PartialDate] = TypeAdapter(HistoricalDate)
    for value in ("2013", "2013-11", "2013-11-05"):
        assert adapter.dump_json(adapter.validate_python(value)).decode() == f'"{value}"'
    assert adapter.validate_python(date(2013, 11, 5)) == pd("2013-11-05")
    for bad in ("2013-13", "2013/11", 2013, "2023-02-30"):
        with pytest.raises(ValidationError):
            adapter.validate_python(bad)


# Pairs whose certain period Python and PostgreSQL must compute alike.
PAIRS: list[tuple[str | None, str | None]] = [
    (None, None),
    ("2013", None),
    (None, "2013"),
    ("2013-11", None),
    (None, "2013-11"),
    ("2013-11-05", None),
    (None, "2013-11-05"),
    ("2013", "2014"),
    ("2013", "2013-11"),
    ("2013", "2014-01"),
    ("2013-11", "2013-12"),
    ("2013-11-05", "2013-11-06"),
    ("2013-11-05", "2013-11-05"),
    ("2016", "2016-12"),
    ("2011", "2016-12"),
    ("2016-12", None),
    ("2016-12", "2016-12"),
    ("2024-02", None),
    ("2023-02", None),
    ("1900-02", None),
    ("2000-02", None),
    ("2100-02", "2100-03"),
    (None, "2024-02"),
    ("2024-02", "2024-03"),
    ("2024-02-29", "2024-03-01"),
    ("2023-01", None),
    ("2023-04", None),
    ("2023-06", "2023-07"),
    ("2023-09", None),
    ("2023-12", "2024"),
    ("2012-12-31", "2013"),
    ("0001", None),
    (None, "0001-01-01"),
    ("9999-12", None),
    ("9999-12-30", "9999-12-31"),
]


async def test_python_arithmetic_and_the_certain_period_sql_function_agree(app: FastAPI) -> None:
    statement = text(
        "SELECT lower(p), upper(p), isempty(p) "
        "FROM (SELECT certain_period(CAST(:s AS text), CAST(:e AS text)) AS p) AS q"
    )
    async with app.state.engine.connect() as connection:
        for start, end in PAIRS:
            lower, upper, empty = (
                await connection.execute(statement, {"s": start, "e": end})
            ).one()
            expected = period(start, end)
            assert empty == expected.is_empty, (start, end)
            if not expected.is_empty:
                assert (lower, upper) == (expected.lower, expected.upper), (start, end)


async def test_the_sql_bounds_of_partial_dates_match_python(app: FastAPI) -> None:
    statement = text(
        "SELECT partial_date_first_day(CAST(:d AS text)), partial_date_last_day(CAST(:d AS text))"
    )
    async with app.state.engine.connect() as connection:
        for value in ("2013", "2024-02", "2023-02", "1900-02", "2000-02", "2023-12", "2013-11-05"):
            first, last = (await connection.execute(statement, {"d": value})).one()
            assert (first, last) == (pd(value).first_day(), pd(value).last_day()), value
