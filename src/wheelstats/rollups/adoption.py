"""A project's versions over time (version adoption), and its stable against its pre-release downloads.

From rollup_files (per day and file; one country's: rollups.filters.table_of) and the files'
versions; downloads, never distinct clients, with the CI and mirror toggles. A version is a pre-release
when packaging says so (PEP 440: a, b, rc or dev); a version PEP 440 cannot
read, or a downloaded file the catalogue has no version for, is "unknown".
"""

from __future__ import annotations

import duckdb
from packaging.version import InvalidVersion, Version

from wheelstats.facets import UNKNOWN
from wheelstats.period import Period
from wheelstats.rollups.filters import Filters, conditions, spanning, table_of

VERSIONS_SHOWN = 8  # the most downloaded versions are drawn each on its own; the rest as "other"
OTHER = "other"
STABLE, PRERELEASE = "stable", "pre-release"
BUCKETS = {"day": "{time}", "week": "date_trunc('week', {time})::DATE", "month": "date_trunc('month', {time})::DATE"}


def release_kind(version: str | None) -> str:
    """"stable", "pre-release", or "unknown" (no version, or not a PEP 440 one)."""
    if version is None or version == UNKNOWN:
        return UNKNOWN
    try:
        return PRERELEASE if Version(version).is_prerelease else STABLE
    except InvalidVersion:
        return UNKNOWN


def versions_over_time(con: duckdb.DuckDBPyConnection, period: Period, filters: Filters, project: str,
                       granularity: str) -> list[dict]:
    """[{date, version, downloads}] per day, week (from Monday) or month: the VERSIONS_SHOWN most
    downloaded versions of the period, the others together as "other"."""
    toggles = filters.counting_downloads()
    bucket = BUCKETS[granularity]
    if granularity == "month":
        rows, params = spanning(toggles, period, "rollup_file_months", "rollup_files",
                                f"{bucket} AS bucket, filename", "project = ?", (project,))
    else:
        where = conditions(toggles, period, project=project)
        rows = (f"(SELECT {bucket.format(time='day')} AS bucket, filename, downloads "
                f"FROM {table_of(toggles, 'rollup_files')} WHERE {where.sql})")
        params = where.params
    found = con.execute(
        f"""SELECT r.bucket, coalesce(f.version, '{UNKNOWN}') AS version, sum(r.downloads) AS downloads
            FROM {rows} AS r LEFT JOIN files f ON f.filename = r.filename GROUP BY ALL""",
        list(params),
    ).fetchall()
    totals: dict[str, int] = {}
    for _bucket, version, downloads in found:
        totals[version] = totals.get(version, 0) + int(downloads)
    shown = set(sorted(totals, key=lambda v: (-totals[v], v))[:VERSIONS_SHOWN])
    series: dict[tuple[str, str], int] = {}
    for bucket_day, version, downloads in found:
        key = (bucket_day.isoformat(), version if version in shown else OTHER)
        series[key] = series.get(key, 0) + int(downloads)
    return [{"date": day, "version": version, "downloads": downloads}
            for (day, version), downloads in sorted(series.items())]


def stable_and_prerelease(con: duckdb.DuckDBPyConnection, period: Period, filters: Filters, project: str) -> dict:
    """Downloads of the project's stable, pre-release and unknown versions in the period, with the
    pre-releases' share of the downloads whose version is known: {stable, pre-release, unknown, prerelease_share}."""
    rows, params = spanning(filters.counting_downloads(), period, "rollup_file_months",
                            "rollup_files", "filename", "project = ?", (project,))
    found = con.execute(
        f"""SELECT f.version, sum(r.downloads) FROM {rows} AS r LEFT JOIN files f ON f.filename = r.filename
            GROUP BY ALL""",
        list(params),
    ).fetchall()
    counts = {STABLE: 0, PRERELEASE: 0, UNKNOWN: 0}
    for version, downloads in found:
        counts[release_kind(version)] += int(downloads)
    known = counts[STABLE] + counts[PRERELEASE]
    return {**counts, "prerelease_share": counts[PRERELEASE] / known if known else None}
