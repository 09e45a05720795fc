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
    BASELINE_DAYS, MIN_BASELINE_DAYS, RISING_KEPT, SPIKE_FACTOR, ProjectRise, Spike, SpikeDay, build_spikes,
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


def rising_projects(con: duckdb.DuckDBPyConnection, first: date, last: date, filters: Filters,
                    n: int = RISING_KEPT) -> list[ProjectRise]:
    """The `n` projects whose downloads on first..last rose most over their mean of the BASELINE_DAYS before."""
    where = conditions(_toggles(filters), Period(first - timedelta(days=BASELINE_DAYS), last))
    days = (last - first).days + 1
    rows = con.execute(
        f"""SELECT project, during, before
            FROM (SELECT project, coalesce(sum(downloads) FILTER (WHERE day >= ?), 0) AS during,
                         coalesce(sum(downloads) FILTER (WHERE day < ?), 0) AS before
                  FROM {table_of(filters, 'rollup_project_days')} WHERE {where.sql} GROUP BY project)
            ORDER BY during * {BASELINE_DAYS} - before * {days} DESC, project LIMIT ?""",
        [first, first, *where.params, n],
    ).fetchall()
    return [ProjectRise.of(project, int(during), int(before), days) for project, during, before in rows]


def spikes(con: duckdb.DuckDBPyConnection, period: Period, filters: Filters = Filters()) -> list[Spike]:
    """The period's spikes with the projects behind each, as the report's stats.spikes finds them."""
    return build_spikes(spike_days(con, period, filters),
                        lambda first, last: rising_projects(con, first, last, filters))
