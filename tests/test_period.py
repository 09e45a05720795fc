from datetime import date, datetime

import pytest
from hypothesis import given, strategies as st

from wheelstats.period import InvalidPeriod, Period, parse_period, within_years


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2020-Q1", date(2020, 1, 1), date(2020, 3, 31)),
        ("2020-q4", date(2020, 10, 1), date(2020, 12, 31)),
        ("2019Q2", date(2019, 4, 1), date(2019, 6, 30)),
        ("2020-02", date(2020, 2, 1), date(2020, 2, 29)),
        ("2019-02", date(2019, 2, 1), date(2019, 2, 28)),
        ("2020", date(2020, 1, 1), date(2020, 12, 31)),
        ("2020-01-01..2020-03-31", date(2020, 1, 1), date(2020, 3, 31)),
        (" 2020-03-04 .. 2020-03-04 ", date(2020, 3, 4), date(2020, 3, 4)),
    ],
)
def test_parse_period(text, start, end):
    assert parse_period(text) == Period(start, end)


def test_timestamps_are_half_open_and_cover_the_last_day():
    period = parse_period("2020-Q1")
    assert period.start_ts == datetime(2020, 1, 1)
    assert period.end_ts == datetime(2020, 4, 1)
    assert period.days == 91
    assert period.months() == ["2020-01", "2020-02", "2020-03"]


def test_months_across_a_year_end():
    assert parse_period("2019-12-15..2020-02-01").months() == ["2019-12", "2020-01", "2020-02"]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("2020-Q1", "January — March 2020"),
        ("2020-03", "March 2020"),
        ("2020", "2020"),
        ("2019-11..2020-02", None),
        ("2019-11-01..2020-02-29", "November 2019 — February 2020"),
        ("2020-03-04..2020-03-09", "4 March — 9 March 2020"),
        ("2020-03-04..2020-03-04", "4 March 2020"),
    ],
)
def test_describe(text, words):
    if words is None:
        with pytest.raises(InvalidPeriod):
            parse_period(text)
    else:
        assert parse_period(text).describe() == words


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("2020-Q5", ""),
        ("2020-13", " (there is no month 13)"),
        ("2020-02-30..2020-03-01", " ('2020-02-30' is not a calendar date)"),
        ("2020-03-01..2020-02-01", " (the end is before the start)"),
        ("last quarter", ""),
        ("", ""),
    ],
)
def test_bad_periods_are_quoted(text, reason):
    with pytest.raises(InvalidPeriod) as error:
        parse_period(text)
    assert str(error.value) == (
        f"Invalid period: {text!r}{reason}. Use a quarter (2020-Q1), a month (2020-03), "
        "a year (2020) or a range (2020-01-01..2020-03-31)."
    )


def test_period_is_frozen():
    period = parse_period("2020")
    with pytest.raises(AttributeError):
        period.start = date(2021, 1, 1)


@given(st.dates(min_value=date(1970, 1, 1), max_value=date(9998, 12, 31)), st.integers(0, 400))
def test_range_round_trips_through_str(start, length):
    end = min(date.fromordinal(start.toordinal() + length), date(9998, 12, 31))
    period = Period(start, end)
    assert parse_period(str(period)) == period
    assert period.days == length + 1 or end == date(9998, 12, 31)


@pytest.mark.parametrize("text", [
    "9999-Q4", "9999", "9999-12", "1969", "1969-Q4", "0000", "0001-01-01..2020-01-01",
    "2020-01-01..9999-12-31", "1969-12-31..1970-01-01",
])
def test_periods_outside_1970_to_9998_are_refused(text):
    with pytest.raises(InvalidPeriod) as error:
        parse_period(text)
    assert str(error.value) == (
        f"Invalid period: {text!r} (periods lie within the years 1970 to 9998). Use a quarter (2020-Q1), "
        "a month (2020-03), a year (2020) or a range (2020-01-01..2020-03-31)."
    )


@pytest.mark.parametrize("text", ["1970", "1970-01-01..1970-01-01", "9998-Q4", "9998-12-31..9998-12-31"])
def test_the_first_and_last_years_are_periods_whose_bounds_exist(text):
    period = parse_period(text)
    assert period.start_ts < period.end_ts  # no OverflowError at the far end


def test_within_years_checks_a_period_built_from_dates():
    assert within_years(Period(date(2020, 1, 1), date(2020, 1, 2)), "x") == Period(date(2020, 1, 1), date(2020, 1, 2))
    with pytest.raises(InvalidPeriod, match=r"^Invalid period: '0001-01-01..2020-01-01' \(periods lie within"):
        within_years(Period(date(1, 1, 1), date(2020, 1, 1)), "0001-01-01..2020-01-01")


@given(st.text(max_size=30))
def test_any_text_parses_or_raises_invalid_period(text):
    try:
        period = parse_period(text)
    except InvalidPeriod as error:
        assert repr(text) in str(error)
    else:
        assert period.start <= period.end
        assert period.start_ts < period.end_ts


@pytest.mark.parametrize(("text", "whole"), [("2020-Q1", True), ("2020-02", True), ("2020", True),
                                             ("2020-01-01..2020-02-28", False), ("2020-01-02..2020-02-29", False)])
def test_whole_months(text, whole):
    assert parse_period(text).whole_months() is whole
