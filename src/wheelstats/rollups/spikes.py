"""Spikes from the rollups: the spike days and the projects behind them, in plain SQL (wheelstats.spikes' rule).

The days come from rollup_totals, the projects' rises from rollup_project_days, with
the dashboard's toggles (leaving out CI or mirrors and crawlers can make a spike
go away: it was theirs). They count downloads, never distinct clients. Each
spike's cause needs the raw hits of its days: wheelstats.stats.causes says it,
over the same connection (see `explained`).
"""

from __future__ import annotations

from datetime import date, timedelta

import duckdb

from wheelstats.period import Period
from wheelstats.rollups.filters import Filters, conditions, table_of
from wheelstats.spikes import (
    BASELINE_DAYS, MIN_BASELINE_DAYS, RISING_KEPT, SPIKE_FACTOR, ProjectRise, Spike, SpikeDay, build_spikes, runs_of,
)


def _toggles(filters: Filters) -> Filters:
    return filters.counting_downloads()


def spike_days(con: duckdb.DuckDBPyConnection, period: Period, filters: Filters) -> list[SpikeDay]:
    """Days of the period at least SPIKE_FACTOR times the mean of the BASELINE_DAYS days with downloads before."""
    where = conditions(_toggles(filters), Period(period.start - timedelta(days=BASELINE_DAYS), period.end))
    rows = con.execute(
        f"""WITH daily AS (
                SELECT day, sum(downloads) AS downloads FROM {table_of(filters, 'rollup_totals')} WHERE {where.sql}
                GROUP BY day
            ), with_baseline AS (
                SELECT day, downloads,
                       avg(downloads) OVER last_days AS baseline, count(downloads) OVER last_days AS baseline_days
                FROM daily WINDOW last_days AS (ORDER BY day ROWS BETWEEN {BASELINE_DAYS} PRECEDING AND 1 PRECEDING)
            )
            SELECT day, downloads, baseline FROM with_baseline
            WHERE day >= ? AND baseline_days >= {MIN_BASELINE_DAYS} AND downloads >= baseline * {SPIKE_FACTOR}
            ORDER BY day""",
        [*where.params, period.start],
    ).fetchall()
    return [SpikeDay(day, int(downloads), float(baseline)) for day, downloads, baseline in rows]


def rising_projects(con: duckdb.DuckDBPyConnection, windows: list[tuple[date, date]], filters: Filters,
                    n: int = RISING_KEPT) -> dict[tuple[date, date], list[ProjectRise]]:
    """For each window of days (first, last): the `n` projects whose downloads on first..last rose most over
    their mean of the BASELINE_DAYS before. One query for all the windows: by country the daily project rollup
    is the hits (filters.table_of), and one scan for all the windows costs a third of one scan a window."""
    rises: dict[tuple[date, date], list[ProjectRise]] = {window: [] for window in windows}
    if not windows:
        return rises
    toggles = conditions(_toggles(filters))
    in_windows = " OR ".join("(day >= ? AND day <= ?)" for _ in windows)
    rank = f"during * {BASELINE_DAYS} - before * (last - first + 1) DESC, project"
    rows = con.execute(
        f"""WITH windows(first, last) AS (VALUES {", ".join("(?::DATE, ?::DATE)" for _ in windows)}),
            project_days AS (SELECT day, project, downloads FROM {table_of(filters, 'rollup_project_days')}
                             WHERE {toggles.sql} AND ({in_windows})),
            per_window AS (
                SELECT w.first, w.last, d.project,
                       coalesce(sum(d.downloads) FILTER (WHERE d.day >= w.first), 0) AS during,
                       coalesce(sum(d.downloads) FILTER (WHERE d.day < w.first), 0) AS before
                FROM windows w JOIN project_days d ON d.day >= w.first - {BASELINE_DAYS} AND d.day <= w.last
                GROUP BY ALL)
            SELECT first, last, project, during, before FROM per_window
            QUALIFY row_number() OVER (PARTITION BY first ORDER BY {rank}) <= ?
            ORDER BY first, {rank}""",
        [*(day for window in windows for day in window), *toggles.params,
         *(day for first, last in windows for day in (first - timedelta(days=BASELINE_DAYS), last)), n],
    ).fetchall()
    for first, last, project, during, before in rows:
        rises[first, last].append(ProjectRise.of(project, int(during), int(before), (last - first).days + 1))
    return rises


def spikes(con: duckdb.DuckDBPyConnection, period: Period, filters: Filters = Filters()) -> list[Spike]:
    """The period's spikes with the projects behind each, as the report's stats.spikes finds them."""
    runs = runs_of(spike_days(con, period, filters))
    rises = rising_projects(con, [(run[0].day, run[-1].day) for run in runs], filters)
    return build_spikes(runs, lambda first, last: rises[first, last])
