"""Trends from the hits: the projects rising fastest over the previous period, and the new ones
(wheelstats.trends' rule; the dashboard answers the same from its rollups)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from ibis import _

from wheelstats.period import Period
from wheelstats.stats.tables import Tables, download_rows
from wheelstats.trends import KEPT, NEW_DAYS, RISING_FLOOR, previous_period


@dataclass(frozen=True, slots=True)
class Rising:
    project: str
    downloads: int  # in the period
    previous: int  # in the period of as many days before it
    growth: float  # (downloads - previous) / previous


@dataclass(frozen=True, slots=True)
class NewProject:
    project: str
    first_day: str  # YYYY-MM-DD, its first download
    downloads: int  # from its first day to the day asked about


def rising(tables: Tables, period: Period, n: int = KEPT, floor: int = RISING_FLOOR) -> list[Rising]:
    """The `n` projects whose downloads grew most over the previous period, among those with `floor` there."""
    before = previous_period(period)
    rows = download_rows(tables, before.start_ts, period.end_ts).filter(_.project.notnull())
    per_project = rows.group_by("project").agg(
        downloads=_.count(where=_.ts >= period.start_ts), previous=_.count(where=_.ts < period.start_ts),
    ).filter(_.previous >= floor)
    ranked = per_project.mutate(growth=(_.downloads - _.previous) / _.previous)
    top = ranked.order_by([_.growth.desc(), _.project]).limit(n).to_pyarrow().to_pylist()
    return [Rising(r["project"], int(r["downloads"]), int(r["previous"]), float(r["growth"])) for r in top]


def new_projects(tables: Tables, end: date, n: int = KEPT, days: int = NEW_DAYS) -> list[NewProject]:
    """The `n` most downloaded projects first downloaded in the `days` days ending `end`."""
    since = datetime.combine(end - timedelta(days=days - 1), time())
    rows = download_rows(tables, None, datetime.combine(end + timedelta(days=1), time())).filter(_.project.notnull())
    per_project = rows.group_by("project").agg(first=_.ts.min(), downloads=_.count()).filter(_.first >= since)
    top = per_project.order_by([_.downloads.desc(), _.project]).limit(n).to_pyarrow().to_pylist()
    return [NewProject(r["project"], r["first"].date().isoformat(), int(r["downloads"])) for r in top]
