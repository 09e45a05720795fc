"""Download counts and time saved: totals, series by month and day, peaks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import ibis.expr.types as ir
from ibis import _

from wheelstats.period import Period
from wheelstats.stats.tables import Tables, download_rows, downloads_with_savings
from wheelstats.timesaved import DEFAULT_METHOD, get_method, joules_to_kwh


@dataclass(frozen=True, slots=True)
class MonthCount:
    month: str  # YYYY-MM
    downloads: int
    time_saved_seconds: float
    energy_kwh: float = 0.0


@dataclass(frozen=True, slots=True)
class DayCount:
    date: str  # YYYY-MM-DD
    downloads: int


@dataclass(frozen=True, slots=True)
class TimeSaved:
    seconds: float
    energy_kwh: float


def _scalar(expr: ir.Scalar):
    return expr.to_pyarrow().as_py()


def month_number(ts: ir.TimestampValue) -> ir.IntegerValue:
    """The month of a timestamp as an integer, 2020-03 -> 202003.

    Grouping on an integer is cheaper than on a truncated timestamp, and
    year()/month() exist on every Ibis backend.
    """
    return ts.year() * 100 + ts.month()


def month_key(number: int) -> str:
    """202003 -> "2020-03"."""
    return f"{number // 100:04d}-{number % 100:02d}"


def downloads_in_period(tables: Tables, period: Period) -> int:
    """Downloads with a timestamp inside the period."""
    return _scalar(download_rows(tables, period.start_ts, period.end_ts).count())


def downloads_all_time(tables: Tables, period: Period) -> int:
    """Every download up to the end of the period, since the store's first record."""
    return _scalar(download_rows(tables, None, period.end_ts).count())


def unique_clients(tables: Tables, period: Period) -> int:
    """Distinct clients (as stored: keyed hashes by default) that downloaded in the period."""
    return _scalar(download_rows(tables, period.start_ts, period.end_ts).client.nunique())


def downloads_by_month(
    tables: Tables, period: Period, method: str = DEFAULT_METHOD, *, since: datetime | None = None
) -> list[MonthCount]:
    """Downloads, time and energy saved per month, from `since` (default: all history) to the period end."""
    rows = downloads_with_savings(tables, get_method(method), since, period.end_ts)
    grouped = rows.group_by(month=month_number(rows.ts)).agg(
        downloads=_.count(), seconds=_.saved_s.sum(), joules=_.joules.sum()
    ).order_by("month")
    return [
        MonthCount(
            month_key(row["month"]), row["downloads"], float(row["seconds"] or 0.0),
            joules_to_kwh(float(row["joules"] or 0.0)),
        )
        for row in grouped.to_pyarrow().to_pylist()
    ]


def downloads_by_day(tables: Tables, period: Period) -> list[DayCount]:
    """Downloads per day in the period (days without downloads are absent)."""
    rows = download_rows(tables, period.start_ts, period.end_ts)
    grouped = rows.group_by(day=_.ts.date()).agg(downloads=_.count()).order_by("day")
    return [
        DayCount(row["day"].isoformat(), row["downloads"])
        for row in grouped.to_pyarrow().to_pylist()
    ]


def peak_month(tables: Tables, period: Period) -> MonthCount | None:
    """The month with the most downloads ever, up to the period end (earliest on ties)."""
    rows = download_rows(tables, None, period.end_ts)
    top = (
        rows.group_by(month=month_number(_.ts)).agg(downloads=_.count())
        .order_by([_.downloads.desc(), _.month]).limit(1)
    ).to_pyarrow().to_pylist()
    if not top:
        return None
    return MonthCount(month_key(top[0]["month"]), top[0]["downloads"], 0.0)


def peak_day(tables: Tables, period: Period) -> DayCount | None:
    """The day with the most downloads ever, up to the period end (earliest on ties)."""
    rows = download_rows(tables, None, period.end_ts)
    top = (
        rows.group_by(day=_.ts.date()).agg(downloads=_.count())
        .order_by([_.downloads.desc(), _.day]).limit(1)
    ).to_pyarrow().to_pylist()
    if not top:
        return None
    return DayCount(top[0]["day"].isoformat(), top[0]["downloads"])


def _time_saved(tables: Tables, start: datetime | None, end: datetime, method: str) -> TimeSaved:
    rows = downloads_with_savings(tables, get_method(method), start, end)
    result = rows.aggregate(seconds=_.saved_s.sum(), joules=_.joules.sum()).to_pyarrow().to_pylist()[0]
    return TimeSaved(float(result["seconds"] or 0.0), joules_to_kwh(float(result["joules"] or 0.0)))


def time_saved(tables: Tables, period: Period, method: str = DEFAULT_METHOD) -> TimeSaved:
    """Build time (and energy) the period's downloads saved, by the named method."""
    return _time_saved(tables, period.start_ts, period.end_ts, method)


def time_saved_all_time(tables: Tables, period: Period, method: str = DEFAULT_METHOD) -> TimeSaved:
    """Build time (and energy) saved by every download up to the period end."""
    return _time_saved(tables, None, period.end_ts, method)


def download_span(tables: Tables) -> tuple[date, date] | None:
    """The first and last day with a download in the whole store, or None if it has none."""
    row = download_rows(tables).aggregate(first=_.ts.min(), last=_.ts.max()).to_pyarrow().to_pylist()[0]
    if row["first"] is None:
        return None
    return row["first"].date(), row["last"].date()
