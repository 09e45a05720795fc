"""The dashboard's stories, as JSON-ready dicts: spikes and their causes, trends, a project's versions over time.

Spikes are found in the rollups (wheelstats.rollups.spikes, with the toggles);
each one's cause, aftermath and Python effect come from the raw hits of its days
through the report's own functions (wheelstats.stats.explained), so the
dashboard and the report tell the same story. Causes look at every download,
whatever the toggles: a spike the toggles leave standing is explained as a whole.

Explaining a spike reads its days' hits (about a second for the seed's spike at
18 million downloads), so each explanation is kept in the process with what it
was read from (the downloads of its window, as the rollups count them, and how
many files and recorded requirements the store holds) and used again while those
are unchanged: new hits of later days do not make a past spike's story be told again.
"""

from __future__ import annotations

import collections
import threading
from dataclasses import dataclass
from datetime import date, timedelta

import duckdb

from wheelstats.dashboard.params import ALL_TIME, Selection
from wheelstats.period import Period
from wheelstats.rollups import adoption, queries, spikes as rolled_spikes, trends as rolled_trends
from wheelstats.spikes import BASELINE_DAYS, Spike
from wheelstats.trends import KEPT, NEW_DAYS, RISING_FLOOR, previous_period

TRENDS_WINDOW_DAYS = 30  # with period=all, rising compares the store's last 30 days with the 30 before
SPIKES_SHOWN = 10  # the largest spikes (by excess) of a period are explained and shown, in date order


EXPLANATIONS_KEPT = 256
AFTER_DAYS = 14  # wheelstats.stats.aftermath reads up to two weeks after a spike


@dataclass(frozen=True, slots=True)
class Evidence:
    """What a spike's explanation was read from: its window's downloads, the files and the requirements."""

    downloads: int
    files: int
    requirements: int


_explained: collections.OrderedDict[tuple, tuple[Evidence, dict]] = collections.OrderedDict()
_explained_lock = threading.Lock()


def _evidence(con: duckdb.DuckDBPyConnection, spike: Spike, period: Period) -> Evidence:
    """The downloads of the days a spike's story reads (the four weeks before it to two weeks after it)."""
    first = date.fromisoformat(spike.start) - timedelta(days=BASELINE_DAYS)
    last = min(date.fromisoformat(spike.end) + timedelta(days=AFTER_DAYS), period.end)
    downloads = con.execute("SELECT coalesce(sum(downloads), 0) FROM rollup_totals WHERE day >= ? AND day <= ?",
                            [first, last]).fetchall()[0][0]
    files = con.execute("SELECT count(*) FROM files").fetchall()[0][0]
    has = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'file_requirements'"
                      ).fetchall()[0][0]
    requirements = con.execute("SELECT count(*) FROM file_requirements").fetchall()[0][0] if has else 0
    return Evidence(int(downloads), int(files), int(requirements))


def _store_of(con: duckdb.DuckDBPyConnection) -> str:
    return str(con.execute("SELECT file FROM pragma_database_list WHERE name = current_database()").fetchall()[0][0])


def spikes(con: duckdb.DuckDBPyConnection, selection: Selection, gap: timedelta, most: int = SPIKES_SHOWN) -> list[dict]:
    """The selection's `most` largest spikes (by downloads above normal), in date order, each with its days,
    packages, cause, aftermath and Python effect (as report.json)."""
    found = rolled_spikes.spikes(con, selection.period, selection.filters)
    largest = {id(spike) for spike in sorted(found, key=lambda s: (-s.excess, s.start))[:most]}
    store = _store_of(con) if found else ""
    result = []
    for spike in (spike for spike in found if id(spike) in largest):
        key = (store, spike.start, spike.end, spike.excess, tuple((r.project, r.rise) for r in spike.projects),
               selection.period.end, gap)
        evidence = _evidence(con, spike, selection.period)
        with _explained_lock:
            kept = _explained.get(key)
        if kept is None or kept[0] != evidence:
            kept = (evidence, _explain(con, spike, selection.period, gap))
            with _explained_lock:
                _explained[key] = kept
                _explained.move_to_end(key)
                while len(_explained) > EXPLANATIONS_KEPT:
                    _explained.popitem(last=False)
        result.append(kept[1])
    return result


def _explain(con: duckdb.DuckDBPyConnection, spike: Spike, period: Period, gap: timedelta) -> dict:
    from wheelstats import stats  # Ibis, loaded when there is a spike to explain

    tables = stats.tables_on(con)
    story = stats.explain_spikes(tables, period, [spike], gap=gap)[0]
    return story.as_json(stats.display_names(tables, sorted(story.named_projects())), gap)


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
