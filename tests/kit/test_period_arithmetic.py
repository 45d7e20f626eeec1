"""The arithmetic of partial dates and certain periods at its edges: each bound checked
from both sides, so that moving one by a day (or swapping a comparison) fails a test."""

from __future__ import annotations

from datetime import date

import pytest

from netregistry.kit.dates import CertainPeriod, PartialDate


def period(lower: date | None, upper: date | None) -> CertainPeriod:
    return CertainPeriod(lower, upper)


NEW_YEAR = date(2014, 1, 1)


def test_a_period_ending_the_day_another_starts_does_not_overlap_it_either_way_round() -> None:
    until = period(None, NEW_YEAR)
    since = period(NEW_YEAR, None)
    assert not since.overlaps(until)
    assert not until.overlaps(since)
    bounded_until = period(date(2013, 1, 1), NEW_YEAR)
    bounded_since = period(NEW_YEAR, date(2015, 1, 1))
    assert not bounded_since.overlaps(bounded_until)
    assert not bounded_until.overlaps(bounded_since)


def test_periods_sharing_exactly_one_day_overlap_either_way_round() -> None:
    until = period(None, date(2014, 1, 2))
    since = period(NEW_YEAR, None)
    assert since.overlaps(until)
    assert until.overlaps(since)
    assert period(NEW_YEAR, date(2014, 1, 2)).overlaps(period(date(2013, 1, 1), date(2014, 1, 2)))
    assert period(date(2013, 1, 1), date(2014, 1, 2)).overlaps(period(NEW_YEAR, date(2014, 1, 2)))


def test_an_unbounded_period_overlaps_any_non_empty_one_either_way_round() -> None:
    ever = period(None, None)
    for other in (
        period(None, NEW_YEAR),
        period(NEW_YEAR, None),
        period(NEW_YEAR, date(2015, 1, 1)),
    ):
        assert ever.overlaps(other)
        assert other.overlaps(ever)


def test_a_one_day_period_holds_its_day_and_no_other() -> None:
    one_day = period(NEW_YEAR, date(2014, 1, 2))
    assert not one_day.is_empty
    assert one_day.contains(NEW_YEAR)
    assert not one_day.contains(date(2013, 12, 31))
    assert not one_day.contains(date(2014, 1, 2))


def test_a_period_ending_where_it_starts_is_empty_and_holds_nothing() -> None:
    empty = period(NEW_YEAR, NEW_YEAR)
    assert empty.is_empty
    assert not empty.contains(NEW_YEAR)
    assert not empty.overlaps(period(None, None))
    assert not period(None, None).overlaps(empty)
    assert not period(None, NEW_YEAR).is_empty
    assert not period(NEW_YEAR, None).is_empty


@pytest.mark.parametrize("year", [1, 9999])
def test_the_first_and_last_years_of_the_calendar_are_dates(year: int) -> None:
    assert PartialDate(year).first_day() == date(year, 1, 1)
    assert PartialDate(year).last_day() == date(year, 12, 31)


@pytest.mark.parametrize("year", [0, 10000, -1])
def test_a_partial_date_built_directly_refuses_a_year_outside_0001_to_9999(year: int) -> None:
    with pytest.raises(ValueError, match=r"^year must be between 0001 and 9999$"):
        PartialDate(year)


@pytest.mark.parametrize(("month", "last"), [(1, 31), (12, 31)])
def test_january_and_december_are_months(month: int, last: int) -> None:
    assert PartialDate(2013, month).first_day() == date(2013, month, 1)
    assert PartialDate(2013, month).last_day() == date(2013, month, last)


@pytest.mark.parametrize("month", [0, 13])
def test_a_month_outside_1_to_12_is_refused_by_number(month: int) -> None:
    with pytest.raises(ValueError, match=rf"^month {month:02d} does not exist$"):
        PartialDate(2013, month)


def test_the_first_and_last_day_of_a_month_are_days_and_the_next_is_not() -> None:
    assert PartialDate(2013, 4, 1).first_day() == date(2013, 4, 1)
    assert PartialDate(2013, 4, 30).last_day() == date(2013, 4, 30)
    with pytest.raises(ValueError, match=r"^day 31 does not exist in 2013-04$"):
        PartialDate(2013, 4, 31)
    with pytest.raises(ValueError, match=r"^day 00 does not exist in 2013-04$"):
        PartialDate(2013, 4, 0)


def test_a_day_without_a_month_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^a day needs a month$"):
        PartialDate(2013, None, 5)


def test_parse_and_str_are_inverse_with_zero_padding() -> None:
    for text in ("0005", "0005-01", "0005-01-09", "2013-11-05"):
        assert str(PartialDate.parse(text)) == text
    assert PartialDate.parse("0005-01-09") == PartialDate(5, 1, 9)
    assert PartialDate.parse("0005-01") == PartialDate(5, 1)
    assert PartialDate.parse("0005") == PartialDate(5)
    with pytest.raises(ValueError, match=r"^must be YYYY, YYYY-MM or YYYY-MM-DD$"):
        PartialDate.parse("2013-1")


def test_from_date_keeps_the_day() -> None:
    assert PartialDate.from_date(date(2013, 11, 5)) == PartialDate(2013, 11, 5)


def test_the_precision_of_each_form() -> None:
    assert [PartialDate(2013).precision, PartialDate(2013, 11).precision] == ["year", "month"]
    assert PartialDate(2013, 11, 5).precision == "day"
    assert [PartialDate(2013, 11).is_exact, PartialDate(2013, 11, 5).is_exact] == [False, True]


def test_a_certain_period_of_partial_bounds_starts_at_the_last_day_and_ends_at_the_first() -> None:
    assert CertainPeriod.of(PartialDate(2013, 2), PartialDate(2016, 12)) == CertainPeriod(
        date(2013, 2, 28), date(2016, 12, 1)
    )
    assert CertainPeriod.of(None, None) == CertainPeriod(None, None)
