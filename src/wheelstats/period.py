"""Reporting periods: a quarter, a month, a year or an explicit date range.

A period covers whole days, from `start` to `end` inclusive. Queries use the
half-open timestamp interval [`start_ts`, `end_ts`), which ends at midnight
after `end`, so that no time of day on the last day is lost.

A period a user gives lies within the years FIRST_YEAR to LAST_YEAR: no access
log predates 1970, and a period reaching year 9999 would overflow `end_ts`.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

_QUARTER = re.compile(r"(\d{4})-?[Qq]([1-4])")
_MONTH = re.compile(r"(\d{4})-(\d{2})")
_YEAR = re.compile(r"(\d{4})")
_RANGE = re.compile(r"(\d{4}-\d{2}-\d{2})\s*\.\.\s*(\d{4}-\d{2}-\d{2})")

MONTH_NAMES = tuple(calendar.month_name)
FIRST_YEAR, LAST_YEAR = 1970, 9998


class InvalidPeriod(ValueError):
    """A period string that is not a quarter, month, year or date range."""

    def __init__(self, text: str, reason: str = "") -> None:
        detail = f" ({reason})" if reason else ""
        super().__init__(
            f"Invalid period: {text!r}{detail}. Use a quarter (2020-Q1), a month "
            "(2020-03), a year (2020) or a range (2020-01-01..2020-03-31)."
        )
        self.text = text


@dataclass(frozen=True, slots=True)
class Period:
    """Whole days from `start` to `end`, both included."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise InvalidPeriod(f"{self.start}..{self.end}", "the end is before the start")

    @property
    def start_ts(self) -> datetime:
        """The first instant in the period."""
        return datetime.combine(self.start, time())

    @property
    def end_ts(self) -> datetime:
        """The first instant after the period (exclusive bound)."""
        return datetime.combine(self.end + timedelta(days=1), time())

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def months(self) -> list[str]:
        """The months the period touches, as YYYY-MM, in order."""
        months = []
        year, month = self.start.year, self.start.month
        while (year, month) <= (self.end.year, self.end.month):
            months.append(f"{year:04d}-{month:02d}")
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return months

    def whole_months(self) -> bool:
        """Whether the period starts on a 1st and ends on a month's last day."""
        return self.start.day == 1 and self.end == _month_end(self.end.year, self.end.month)

    def describe(self) -> str:
        """Words for the period, e.g. "January — March 2020" or "5 — 9 March 2020"."""
        start, end = self.start, self.end
        if self.whole_months():
            if (start.year, start.month) == (end.year, end.month):
                return f"{MONTH_NAMES[start.month]} {start.year}"
            if start.year == end.year:
                if start.month == 1 and end.month == 12:
                    return str(start.year)
                return f"{MONTH_NAMES[start.month]} — {MONTH_NAMES[end.month]} {end.year}"
            return f"{MONTH_NAMES[start.month]} {start.year} — {MONTH_NAMES[end.month]} {end.year}"
        if start == end:
            return format_day(start, with_year=True)
        return f"{format_day(start, with_year=start.year != end.year)} — {format_day(end, with_year=True)}"

    def __str__(self) -> str:
        return f"{self.start.isoformat()}..{self.end.isoformat()}"


def format_day(day: date, *, with_year: bool = False) -> str:
    """A day as words, e.g. "5 March" or "5 March 2020"."""
    text = f"{day.day} {MONTH_NAMES[day.month]}"
    return f"{text} {day.year}" if with_year else text


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def month_of(day: date) -> Period:
    """The calendar month `day` falls in, whole."""
    return Period(day.replace(day=1), _month_end(day.year, day.month))


def _parse_date(text: str, whole: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidPeriod(whole, f"{text!r} is not a calendar date") from None


def _check_years(first: int, last: int, text: str) -> None:
    if first < FIRST_YEAR or last > LAST_YEAR:
        raise InvalidPeriod(text, f"periods lie within the years {FIRST_YEAR} to {LAST_YEAR}")


def within_years(period: Period, text: str) -> Period:
    """`period`, if it lies within FIRST_YEAR..LAST_YEAR; else InvalidPeriod quoting `text`."""
    _check_years(period.start.year, period.end.year, text)
    return period


def parse_period(text: str) -> Period:
    """Parse "2020-Q1", "2020-03", "2020" or "2020-01-01..2020-03-31" (years 1970 to 9998)."""
    cleaned = text.strip()
    if match := _QUARTER.fullmatch(cleaned):
        year, quarter = int(match[1]), int(match[2])
        _check_years(year, year, text)
        first = 3 * (quarter - 1) + 1
        return Period(date(year, first, 1), _month_end(year, first + 2))
    if match := _RANGE.fullmatch(cleaned):
        start, end = _parse_date(match[1], text), _parse_date(match[2], text)
        if end < start:
            raise InvalidPeriod(text, "the end is before the start")
        return within_years(Period(start, end), text)
    if match := _MONTH.fullmatch(cleaned):
        year, month = int(match[1]), int(match[2])
        if not 1 <= month <= 12:
            raise InvalidPeriod(text, f"there is no month {month}")
        _check_years(year, year, text)
        return Period(date(year, month, 1), _month_end(year, month))
    if match := _YEAR.fullmatch(cleaned):
        year = int(match[1])
        _check_years(year, year, text)
        return Period(date(year, 1, 1), date(year, 12, 31))
    raise InvalidPeriod(text)
