"""Trends from the rollups: the projects rising fastest, and the new ones (wheelstats.trends' rule).

Both count downloads (never distinct clients) with the CI and mirror toggles.
The report's Ibis functions (wheelstats.stats.trends) answer the same from the
hits; the tests compare the two.
"""

from __future__ import annotations

from datetime import date, timedelta

import duckdb

from wheelstats.period import Period
from wheelstats.rollups.filters import Filters, conditions, spanning, table_of
from wheelstats.trends import KEPT, NEW_DAYS, RISING_FLOOR, previous_period


def _per_project(filters: Filters, period: Period) -> tuple[str, tuple]:
    rows, params = spanning(filters.counting_downloads(), period, "rollup_project_months",
                            "rollup_project_days", "project")
    return f"(SELECT project, sum(downloads) AS downloads FROM {rows} GROUP BY project)", params


def rising(con: duckdb.DuckDBPyConnection, period: Period, filters: Filters, n: int = KEPT,
           floor: int = RISING_FLOOR) -> list[dict]:
    """The `n` projects whose downloads grew most from the previous period to `period`:
    [{project, downloads, previous, growth}], growth as a fraction (1.5: +150%)."""
    now, now_params = _per_project(filters, period)
    before, before_params = _per_project(filters, previous_period(period))
    rows = con.execute(
        f"""SELECT b.project, coalesce(n.downloads, 0) AS downloads, b.downloads AS previous,
                   (coalesce(n.downloads, 0) - b.downloads) / b.downloads AS growth
            FROM {before} AS b LEFT JOIN {now} AS n ON n.project = b.project
            WHERE b.downloads >= ? ORDER BY growth DESC, b.project LIMIT ?""",
        [*before_params, *now_params, floor, n],
    ).fetchall()
    return [{"project": project, "downloads": int(downloads), "previous": int(previous), "growth": float(growth)}
            for project, downloads, previous, growth in rows]


def new_projects(con: duckdb.DuckDBPyConnection, end: date, filters: Filters, n: int = KEPT,
                 days: int = NEW_DAYS) -> list[dict]:
    """The `n` most downloaded projects whose first download (up to `end`) was in the `days` days ending
    `end`: [{project, first_day, downloads}] (downloads from the first day to `end`)."""
    since = end - timedelta(days=days - 1)
    toggles = conditions(filters.counting_downloads())
    rows = con.execute(
        f"""WITH candidates AS (
                SELECT project FROM {table_of(filters, 'rollup_project_months')} WHERE {toggles.sql} AND month <= ?
                GROUP BY project HAVING min(month) >= ?
            ), firsts AS (
                SELECT project, min(day) AS first_day, sum(downloads) AS downloads
                FROM {table_of(filters, 'rollup_projects')}
                WHERE project IN (SELECT project FROM candidates) AND {toggles.sql} AND day <= ?
                GROUP BY project
            )
            SELECT project, first_day, downloads FROM firsts WHERE first_day >= ?
            ORDER BY downloads DESC, project LIMIT ?""",
        [*toggles.params, end, since.replace(day=1), *toggles.params, end, since, n],
    ).fetchall()
    return [{"project": project, "first_day": first.isoformat(), "downloads": int(downloads)}
            for project, first, downloads in rows]
