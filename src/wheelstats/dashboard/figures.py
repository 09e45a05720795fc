"""The figures of each dashboard page, as JSON-ready dicts: the pages and the API serve the same dicts."""

from __future__ import annotations

from datetime import date, datetime

import duckdb

from wheelstats.dashboard import insights
from wheelstats.dashboard.params import Selection
from wheelstats.period import Period
from wheelstats.rollups import queries
from wheelstats.rollups.builds import build_figures
from wheelstats.rollups.filters import split_months
from wheelstats.facets import DIMENSIONS
from wheelstats.spikes import DEFAULT_GAP
from wheelstats.timesaved import DEFAULT_METHOD, SECONDS_PER_YEAR

TOP_PROJECTS = 10


def period_options(span: queries.DataSpan | None) -> dict[str, list[str]]:
    """The quarters and years that hold downloads, newest first, for the period picker."""
    if span is None:
        return {"quarters": [], "years": []}
    first, last = span.first, span.last
    quarters, years = [], []
    for year in range(last.year, first.year - 1, -1):
        years.append(str(year))
        for quarter in range(4, 0, -1):
            q_start = date(year, 3 * quarter - 2, 1)
            q_end_month = 3 * quarter
            if q_start <= last and (year, q_end_month) >= (first.year, first.month):
                quarters.append(f"{year}-Q{quarter}")
    return {"quarters": quarters, "years": years}


def selection_fields(selection: Selection) -> dict:
    """What every answer says it covers: the period, the toggles and what is counted."""
    period = selection.period
    return {
        "period": {"name": selection.period_text, "start": period.start.isoformat(), "end": period.end.isoformat(),
                   "label": period.describe()},
        "filters": {"exclude_ci": selection.filters.exclude_ci, "exclude_bots": selection.filters.exclude_bots,
                    "unique": selection.filters.unique, "country": selection.filters.country,
                    "label": selection.filters.describe()},
        "counting": "clients" if selection.filters.unique else "downloads",
    }


def _saved(saved: queries.Saved) -> dict:
    return {"seconds": saved.seconds, "years": saved.seconds / SECONDS_PER_YEAR, "energy_kwh": saved.energy_kwh}


def _saved_from_months(con, selection: Selection, months: list[dict], method: str) -> tuple[queries.Saved, queries.Saved]:
    """Time saved in the period and up to its end (all time, as the report counts it), from
    the months already computed when the period is whole months; a query otherwise."""
    period = selection.period
    everything = queries.Saved(sum(m["time_saved_seconds"] for m in months), sum(m["energy_kwh"] for m in months))
    if split_months(period).edges:
        return queries.time_saved(con, period, selection.filters, method), everything
    inside = [m for m in months if m["month"] in set(period.months())]
    return queries.Saved(sum(m["time_saved_seconds"] for m in inside), sum(m["energy_kwh"] for m in inside)), everything


def home(con: duckdb.DuckDBPyConnection, now: datetime, selection: Selection, method: str = DEFAULT_METHOD) -> dict:
    period, filters = selection.period, selection.filters
    span = queries.data_span(con)
    head = queries.headline(con, now, filters)
    granularity = "day"
    # Distinct clients do not add up over months: counting them over all history is the
    # slowest question there is, so in that mode the months are the period's own.
    months = queries.by_month(con, period.end, filters, method, since=period.start if filters.unique else None)
    in_period, to_end = _saved_from_months(con, selection, months, method)
    period_total = queries.total(con, period, filters)
    if filters.unique:
        to_end = queries.time_saved(con, Period(date(1, 1, 1), period.end), filters, method)
    return {
        **selection_fields(selection),
        "as_of": now.isoformat(timespec="seconds"),
        "store_span": {"first": span.first.isoformat(), "last": span.last.isoformat()} if span else None,
        "options": period_options(span),
        "downloads": _downloads(period_total, head),
        "time_saved": {
            "method": method,
            "period": _saved(in_period),
            "all_time": _saved(to_end),  # up to the period's end, as in the report
        },
        "catalogue": queries.catalogue_counts(con, period, filters),
        "by_day": queries.series(con, period, filters, granularity),
        "by_month": months,
        "top": queries.top_projects(con, period, filters, TOP_PROJECTS),
        "shares": {dimension: queries.shares(con, period, filters, dimension, whole=period_total) for dimension in DIMENSIONS},
        "countries": queries.countries(con, period, filters, whole=period_total),
        "python_by_month": queries.python_by_month(con, period, filters),
        "builds": build_figures(con, period),
        "spikes": insights.spikes(con, selection, DEFAULT_GAP),
        "trends": insights.trends(con, selection),
    }


def _downloads(period_total: int, head) -> dict:
    """Downloads in the period, and the clock-relative headline figures."""
    return {
        "period": period_total,
        "all_time": head.all_time, "last_30_days": head.last_30_days,
        "today": head.today, "this_hour": head.this_hour,
    }


def project(con: duckdb.DuckDBPyConnection, now: datetime, selection: Selection, name: str,
            method: str = DEFAULT_METHOD) -> dict:
    period, filters = selection.period, selection.filters
    spikes = insights.marks(insights.spikes(con, selection, DEFAULT_GAP), name)  # read every project's hits
    with queries.hits_of_project_in_country(con, filters, name):
        head = queries.headline(con, now, filters, name)
        granularity = "day" if period.days <= 92 else "month"
        files = queries.project_files(con, period, filters, name)
        project_total = queries.total(con, period, filters, name)
        return {
            **selection_fields(selection),
            "project": name,
            "as_of": now.isoformat(timespec="seconds"),
            "options": period_options(queries.data_span(con)),
            "downloads": _downloads(project_total, head),
            "time_saved": {
                "method": method,
                "period": _saved(queries.time_saved(con, period, filters, method, name)),
                "all_time": _saved(queries.time_saved(con, None, filters, method, name)),
            },
            "granularity": granularity,
            "series": queries.series(con, period, filters, granularity, (name,)),
            "versions": queries.versions_of(files),
            "shares": {dimension: queries.shares(con, period, filters, dimension, name, whole=project_total)
                       for dimension in DIMENSIONS},
            "countries": queries.countries(con, period, filters, name, whole=project_total),
            "files": files,
            "spikes": spikes,
            "versions_over_time": insights.versions(con, selection, name),
        }


def compare(con: duckdb.DuckDBPyConnection, now: datetime, selection: Selection, names: tuple[str, ...],
            granularity: str) -> dict:
    period, filters = selection.period, selection.filters
    return {
        **selection_fields(selection),
        "as_of": now.isoformat(timespec="seconds"),
        "projects": list(names),
        "granularity": granularity,
        "totals": {name: queries.total(con, period, filters, name) for name in names},
        "series": queries.series(con, period, filters, granularity, names),
    }
