"""The dashboard's build figures, straight from the builds table: one row per build, small enough to
need no rollup. Builds count by their start (built_at, UTC) inside the period; CI and bot toggles
are about downloads and do not apply.

    total time   the durations of every build, succeeded or failed (failures take time too)
    by day       builds started each day, and how many of them failed
    failures     by reason (timeout, memory, cpu, error; "unknown" for imported ones)
    slowest      the longest successful builds

and the platforms wheelstats' builder ran on, which choose the default time-saved
method (as the report's Ibis query of the same name does).
"""

from __future__ import annotations

import duckdb

from wheelstats.period import Period

SLOWEST = 10


def _in(period: Period) -> tuple[str, list]:
    return "built_at >= ? AND built_at < ?", [period.start_ts, period.end_ts]


def build_figures(con: duckdb.DuckDBPyConnection, period: Period, slowest: int = SLOWEST) -> dict:
    """Builds started in the period: counts, total time, by day, failures by reason, the slowest."""
    where, params = _in(period)
    count, succeeded, total_s, succeeded_s = con.execute(
        f"""SELECT count(*), count(*) FILTER (WHERE status), coalesce(sum(duration_s), 0),
                   coalesce(sum(duration_s) FILTER (WHERE status), 0)
            FROM builds WHERE {where}""", params).fetchone()
    by_day = con.execute(
        f"""SELECT built_at::DATE AS day, count(*), count(*) FILTER (WHERE NOT coalesce(status, false)),
                   coalesce(sum(duration_s), 0)
            FROM builds WHERE {where} GROUP BY day ORDER BY day""", params).fetchall()
    reasons = con.execute(
        f"""SELECT coalesce(reason, 'unknown') AS why, count(*) FROM builds
            WHERE {where} AND NOT coalesce(status, false) GROUP BY why ORDER BY count(*) DESC, why""",
        params).fetchall()
    longest = con.execute(
        f"""SELECT build_id, project, version, abi_tag, built_at, duration_s FROM builds
            WHERE {where} AND status AND duration_s IS NOT NULL
            ORDER BY duration_s DESC, build_id LIMIT ?""", [*params, slowest]).fetchall()
    return {
        "builds": count,
        "succeeded": succeeded,
        "failed": count - succeeded,
        "total_seconds": total_s,
        "succeeded_seconds": succeeded_s,
        "by_day": [{"date": day.isoformat(), "builds": n, "failed": failed, "seconds": seconds}
                   for day, n, failed, seconds in by_day],
        "failures": [{"reason": why, "builds": n} for why, n in reasons],
        "slowest": [{"build_id": build_id, "project": project, "version": version, "abi_tag": abi,
                     "built_at": built_at.isoformat(timespec="seconds"), "duration_s": duration}
                    for build_id, project, version, abi, built_at, duration in longest],
    }


def builder_platforms(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The platforms wheelstats' builder ran on for the store's builds, sorted (imported builds do not say)."""
    return [platform for (platform,) in con.execute(
        "SELECT DISTINCT platform_tag FROM builds WHERE platform_tag IS NOT NULL ORDER BY platform_tag").fetchall()]
