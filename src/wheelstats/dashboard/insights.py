"""The dashboard's stories, as JSON-ready dicts: spikes and their causes, trends, a project's versions over time.

Spikes are found in the rollups (wheelstats.rollups.spikes, with the toggles);
each one's cause, aftermath and Python effect come from the raw hits of its days
through the report's own functions (wheelstats.stats.explained), so the
dashboard and the report tell the same story. Causes look at every download,
whatever the toggles: a spike the toggles leave standing is explained as a whole.
"""

from __future__ import annotations

from datetime import timedelta

import duckdb

from wheelstats.dashboard.params import ALL_TIME, Selection
from wheelstats.period import Period
from wheelstats.rollups import adoption, queries, spikes as rolled_spikes, trends as rolled_trends
from wheelstats.trends import KEPT, NEW_DAYS, RISING_FLOOR, previous_period

TRENDS_WINDOW_DAYS = 30  # with period=all, rising compares the store's last 30 days with the 30 before
SPIKES_SHOWN = 10  # the largest spikes (by excess) of a period are explained and shown, in date order


def spikes(con: duckdb.DuckDBPyConnection, selection: Selection, gap: timedelta, most: int = SPIKES_SHOWN) -> list[dict]:
    """The selection's `most` largest spikes (by downloads above normal), in date order, each with its days,
    packages, cause, aftermath and Python effect (as report.json)."""
    found = rolled_spikes.spikes(con, selection.period, selection.filters)
    if not found:
        return []
    largest = {id(spike) for spike in sorted(found, key=lambda s: (-s.excess, s.start))[:most]}
    found = [spike for spike in found if id(spike) in largest]
    from wheelstats import stats  # Ibis, loaded when there is a spike to explain

    tables = stats.tables_on(con)
    stories = stats.explain_spikes(tables, selection.period, found, gap=gap)
    names = stats.display_names(tables, sorted(set().union(*(story.named_projects() for story in stories))))
    return [story.as_json(names, gap) for story in stories]


def marks(spikes: list[dict], project: str) -> list[dict]:
    """The spikes `project` took part in (behind them, or required by their cause), and what pulled it in."""
    result = []
    for spike in spikes:
        cause = spike["cause"]
        behind = {p["project"]: p for p in spike["projects"]}
        required = project in cause["dependencies_in_spike"]
        if project not in behind and not required and cause["project"] != project:
            continue
        pulled_by = cause["project"] if cause["kind"] == "project" and cause["project"] != project else None
        result.append({
            "start": spike["start"], "end": spike["end"], "peak_date": spike["peak_date"],
            "downloads": behind[project]["downloads"] if project in behind else None,
            "caused": cause["project"] == project,
            "pulled_in_by": pulled_by,
            "pulled_in_by_name": cause["name"] if pulled_by else None,
            "as_dependency": required,
            "cause_kind": cause["kind"],
        })
    return result


def trends_window(selection: Selection, span: queries.DataSpan | None) -> Period:
    """The period trends are about: the selection's, or the store's last 30 days for all time."""
    if selection.period_text == ALL_TIME and span is not None:
        return Period(max(span.first, span.last - timedelta(days=TRENDS_WINDOW_DAYS - 1)), span.last)
    return selection.period


def trends(con: duckdb.DuckDBPyConnection, selection: Selection, n: int = KEPT, floor: int = RISING_FLOOR) -> dict:
    """Rising projects (against the period before) and new ones (first downloaded in the last 90 days)."""
    window = trends_window(selection, queries.data_span(con))
    before = previous_period(window)
    return {
        "window": {"start": window.start.isoformat(), "end": window.end.isoformat()},
        "previous": {"start": before.start.isoformat(), "end": before.end.isoformat()},
        "floor": floor,
        "new_days": NEW_DAYS,
        "rising": rolled_trends.rising(con, window, selection.filters, n, floor),
        "new": rolled_trends.new_projects(con, window.end, selection.filters, n),
    }


def versions(con: duckdb.DuckDBPyConnection, selection: Selection, project: str) -> dict:
    """The project's versions over time (weeks up to 92 days, else months) and its stable against
    pre-release downloads."""
    period = selection.period
    granularity = "week" if period.days <= 92 else "month"
    return {
        "granularity": granularity,
        "over_time": adoption.versions_over_time(con, period, selection.filters, project, granularity),
        "releases": adoption.stable_and_prerelease(con, period, selection.filters, project),
    }
