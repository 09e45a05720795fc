"""The live figures, from the rollup tables (wheelstats.rollups), fast enough for a web page.

Every figure the dashboard, its API, the badges and the index's own pages show
is one function here. The report's query functions (wheelstats.stats) scan the
raw hits with Ibis; these answer the same questions from the rollups in plain
DuckDB SQL (an Ibis expression costs ~8 ms to build and compile, too much for a
200 ms page running a dozen queries). Time saved uses the SQL rendering of the
named methods (wheelstats.rollups.saved). Two figures read the raw hits, for
one project or one hour, where the rollups do not keep what they show: this
hour's downloads of a project or of distinct clients, and a project's clients
by agent product. So do the figures of one country (or by country) that need a
project-day or a file-day, whose daily rollups keep no country: which table a
figure reads is rollups.filters.table_of's choice, made there alone. The tests
check every figure here against the report's functions on the same store.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import duckdb

from wheelstats.facets import DIMENSIONS, UNKNOWN, bot_sql, country_name, version_sort_key
from wheelstats.period import Period
from wheelstats.rollups import client_sets
from wheelstats.rollups.filters import Filters, Where, conditions, measure, source, spanning, table_of
from wheelstats.rollups.saved import per_download_sql
from wheelstats.timesaved import DEFAULT_METHOD, joules_to_kwh

# Share dimension (facets.DIMENSIONS) -> rollup column.
FACET_COLUMNS = {"os": "os", "distro": "distro", "arch": "cpu", "python": "python", "installer": "installer"}
assert set(FACET_COLUMNS) == set(DIMENSIONS)
GRANULARITIES = {"day": "day", "week": "week", "month": "month"}
RECENT_WINDOWS = {"day": 1, "week": 7, "month": 30}  # whole UTC days ending today
UNKNOWN_CATEGORY = "null"  # pypistats.org's name for downloads whose value is not known
# pypistats.org's category series: each category as SQL over a rollup's facet columns.
CATEGORY_SQL = {
    "python_major": f"CASE WHEN python = '{UNKNOWN}' THEN '{UNKNOWN_CATEGORY}' ELSE split_part(python, '.', 1) END",
    "python_minor": f"CASE WHEN python = '{UNKNOWN}' THEN '{UNKNOWN_CATEGORY}' ELSE python END",
    "system": (f"CASE WHEN os = '{UNKNOWN}' THEN '{UNKNOWN_CATEGORY}' "
               "WHEN os IN ('Linux', 'Darwin', 'Windows') THEN os ELSE 'other' END"),
    "architecture": f"CASE WHEN cpu = '{UNKNOWN}' THEN '{UNKNOWN_CATEGORY}' ELSE cpu END",
    "installer": f"CASE WHEN installer = '{UNKNOWN}' THEN '{UNKNOWN_CATEGORY}' ELSE installer END",
    # alpha-2, XL (local) or ZZ (no registry places it); null: never looked up (stored before schema 8)
    "country": f"coalesce(country, '{UNKNOWN_CATEGORY}')",
}
CATEGORY_SERIES = tuple(CATEGORY_SQL)


@dataclass(frozen=True, slots=True)
class Headline:
    all_time: int
    last_30_days: int
    today: int
    this_hour: int


@dataclass(frozen=True, slots=True)
class Saved:
    seconds: float
    energy_kwh: float


@dataclass(frozen=True, slots=True)
class DataSpan:
    """The first and last day with a rolled-up download."""

    first: date
    last: date


@dataclass(frozen=True, slots=True)
class DayDownloads:
    day: date
    downloads: int


@dataclass(frozen=True, slots=True)
class ProjectTotals:
    last_30_days: int  # today and the 29 days before, by the clock
    all_time: int


@dataclass(frozen=True, slots=True)
class ClientDownloads:
    client: str  # the installer, else the agent's product, else "unknown"
    downloads: int


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params=()) -> list[dict]:
    cursor = con.execute(sql, list(params))
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def _value(con: duckdb.DuckDBPyConnection, sql: str, params=()) -> int:
    return int(con.execute(sql, list(params)).fetchone()[0] or 0)


def _count(con, filters: Filters, table: str, where: Where) -> int:
    return _value(con, f"SELECT {measure(filters)} FROM {source(filters, table)} WHERE {where.sql}", where.params)


# All history, as a period: the client sets clip it to the days they hold.
ALL_DAYS = Period(date(1, 1, 1), date(9999, 12, 31))


def _set_counts(con, filters: Filters, dimension: str, periods: list[Period],
                project: str | None = None) -> list[dict[str | None, int]] | None:
    """Distinct clients of each period by `dimension`, from the client sets (rollups.client_sets); None when
    not counting clients, or when the sets cannot answer (one project's, one country's...): rollup_clients does."""
    if not filters.unique or project is not None:
        return None
    return client_sets.count(con, filters, dimension, periods)


def _set_totals(con, filters: Filters, periods: list[Period], project: str | None = None) -> list[int] | None:
    counts = _set_counts(con, filters, client_sets.TOTAL, periods, project)
    return None if counts is None else [sum(by_value.values()) for by_value in counts]


def _set_counts_by(con, filters: Filters, dimension: str, period: Period | None,
                   unit: str) -> dict[date, dict[str | None, int]] | None:
    """Distinct clients by `dimension` in each day, week or month of the period, from the client sets, by the
    bucket's first day; None as _set_counts."""
    return client_sets.count_by(con, filters, dimension, period, unit) if filters.unique else None


def data_span(con: duckdb.DuckDBPyConnection) -> DataSpan | None:
    """The first and last day with a rolled-up download, or None."""
    first, last = con.execute("SELECT min(day), max(day) FROM rollup_totals").fetchone()
    return DataSpan(first, last) if first is not None else None


# A project's downloads from one country are taken into a temporary table (hits_of_project_in_country) up to
# this many (a few hundred MB at most); more are read by each figure, as they are without a country.
MOST_HITS_TAKEN = 2_000_000


@contextmanager
def hits_of_project_in_country(con: duckdb.DuckDBPyConnection, filters: Filters, project: str,
                               most: int = MOST_HITS_TAKEN) -> Iterator[None]:
    """Inside, on `con`, the downloads among the hits (the view hit_downloads) are `project`'s from the filters'
    country alone, when they name one: a page of a project's figures in one country reads its hits in a dozen
    figures (the daily rollups keep no country), and scans them once instead of once a figure. A temporary
    table of that name stands in for the view (DuckDB finds temporary tables first), dropped on leaving; not
    made when the monthly rollup by country counts more than `most` such downloads (memory stays bounded).
    Only that project's figures may be asked inside: the site's (its spikes) are asked before."""
    taken = filters.country is not None and _value(
        con, "SELECT sum(downloads) FROM rollup_country_project_months WHERE country = ? AND project = ?",
        (filters.country, project)) <= most
    if not taken:
        yield
        return
    con.execute("CREATE TEMP TABLE hit_downloads AS SELECT * FROM main.hit_downloads WHERE project = ? AND country = ?",
                [project, filters.country])
    try:
        yield
    finally:
        con.execute("DROP TABLE temp.hit_downloads")


def total(con, period: Period | None, filters: Filters, project: str | None = None) -> int:
    """Downloads (or distinct clients) in the period, of one project or all."""
    sets = _set_totals(con, filters, [period or ALL_DAYS], project)
    if sets is not None:
        return sets[0]
    table = "rollup_projects" if project is not None else "rollup_totals"
    return _count(con, filters, table, conditions(filters, period, project=project))


def headline(con, now: datetime, filters: Filters, project: str | None = None) -> Headline:
    """All time, the last 30 days (today included), today and this hour, by the clock."""
    today = now.date()
    table = "rollup_projects" if project is not None else "rollup_totals"
    since = (None, today - timedelta(days=29), today)
    counts = _set_totals(con, filters, [Period(start or ALL_DAYS.start, ALL_DAYS.end) for start in since], project)
    if counts is None:
        counts = [_count(con, filters, table, conditions(filters, project=project, since=start)) for start in since]
    all_time, last_30, today_count = counts
    hour = now.replace(minute=0, second=0, microsecond=0)
    if filters.unique or project is not None:
        # Hours are rolled up for all projects' downloads only: read the hour's downloads (and its day's: a lake
        # then reads that day's files alone).
        where = ["h.ts >= ?", "h.day >= ?"]
        params: list = [hour, hour.date()]
        if project is not None:
            where.append("h.project = ?")
            params.append(project)
        if filters.exclude_ci:
            where.append("NOT coalesce(a.ci, false)")
        if filters.exclude_bots:
            where.append(f"NOT {bot_sql('a')}")
        if filters.country is not None:
            where.append("h.country = ?")
            params.append(filters.country)
        counted = "count(DISTINCT h.client)" if filters.unique else "count(*)"
        this_hour = _value(
            con, f"SELECT {counted} FROM hit_downloads h LEFT JOIN agents a ON a.agent_id = h.agent_id "
                 f"WHERE {' AND '.join(where)}",
            params,
        )
    else:
        where = conditions(filters, since=None)
        this_hour = _value(con, f"SELECT sum(downloads) FROM {table_of(filters, 'rollup_hours')} WHERE hour >= ? "
                                f"AND {where.sql}", (hour, *where.params))
    return Headline(all_time, last_30, today_count, this_hour)


def recent(con, today: date, filters: Filters, project: str | None = None) -> dict[str, int]:
    """Downloads in the last day, week and month: whole UTC days ending `today`."""
    table = "rollup_projects" if project is not None else "rollup_totals"
    since = {name: today - timedelta(days=days - 1) for name, days in RECENT_WINDOWS.items()}
    sets = _set_totals(con, filters, [Period(start, ALL_DAYS.end) for start in since.values()], project)
    if sets is not None:
        return {f"last_{name}": clients for name, clients in zip(since, sets)}
    return {f"last_{name}": _count(con, filters, table, conditions(filters, project=project, since=start))
            for name, start in since.items()}


def series(
    con, period: Period | None, filters: Filters, granularity: str = "day",
    projects: tuple[str, ...] | None = None,
) -> list[dict]:
    """Downloads per day, week (starting Monday) or month: [{date, downloads}] or,
    with projects, [{date, project, downloads}]. Buckets without downloads are absent."""
    unit = GRANULARITIES[granularity]
    sets = _set_counts_by(con, filters, client_sets.TOTAL, period, unit) if projects is None else None
    if sets is not None:
        return [{"date": start.isoformat(), "downloads": clients[""]} for start, clients in sets.items() if clients]
    table = "rollup_projects" if projects is not None else "rollup_totals"
    where = conditions(filters, period, projects=projects)
    bucket = "day" if unit == "day" else f"date_trunc('{unit}', day)::DATE"
    keys = "bucket, project" if projects is not None else "bucket"
    rows = _rows(
        con,
        f"""SELECT {bucket} AS bucket{', project' if projects is not None else ''}, {measure(filters)} AS downloads
            FROM {source(filters, table)} WHERE {where.sql} GROUP BY {keys} ORDER BY {keys}""",
        where.params,
    )
    return [
        {"date": row["bucket"].isoformat(), **({"project": row["project"]} if projects is not None else {}),
         "downloads": int(row["downloads"])}
        for row in rows
    ]


def top_projects(con, period: Period | None, filters: Filters, n: int = 10) -> list[dict]:
    """The `n` most downloaded projects, or with distinct clients, those with the most (ties by name):
    [{project, downloads}]."""
    rows, params = spanning(filters, period, "rollup_project_months", "rollup_project_days", "project")
    limit = "" if filters.unique else f"LIMIT {int(n)}"  # clients: every project is a candidate
    by_downloads = con.execute(f"SELECT project, sum(downloads)::BIGINT AS downloads FROM {rows} GROUP BY project "
                               f"ORDER BY downloads DESC, project {limit}", list(params)).fetchall()
    top = _most_clients(con, period, filters, by_downloads, n) if filters.unique else by_downloads
    return [{"project": project, "downloads": count} for project, count in top]


def _most_clients(con, period: Period | None, filters: Filters, by_downloads: list[tuple[str, int]],
                  n: int) -> list[tuple[str, int]]:
    """The `n` projects with the most distinct clients, from `by_downloads` (most downloaded first). A project
    has no more clients than downloads: clients are counted for the most downloaded projects alone, twice as
    many each round, until the n-th count passes the downloads of the first project not counted."""
    where = conditions(filters, period)
    clients: dict[str, int] = {}
    while True:
        batch = [project for project, _ in by_downloads[len(clients):max(2 * len(clients), 2 * n)]]
        if batch:
            clients.update(dict.fromkeys(batch, 0))  # a project none of whose clients was kept counts none
            sets = client_sets.count(con, filters, "project", [period or ALL_DAYS], values=batch)
            clients.update(sets[0] if sets is not None else con.execute(
                f"""SELECT project, count(DISTINCT client) FROM rollup_clients
                    WHERE project IN ({", ".join("?" for _ in batch)}) AND {where.sql} GROUP BY project""",
                [*batch, *where.params]).fetchall())
        top = sorted(((project, count) for project, count in clients.items() if count),
                     key=lambda item: (-item[1], item[0]))[:n]
        if len(clients) >= len(by_downloads) or (len(top) == n and top[-1][1] > by_downloads[len(clients)][1]):
            return top


def _split(con, period: Period | None, filters: Filters, column: str, project: str | None,
           whole: int | None) -> list[dict]:
    """Downloads (or clients) by one rollup column (a facet, or the country), most first: [{value, downloads, share}]."""
    sets = _set_counts(con, filters, column, [period or ALL_DAYS], project)
    if sets is not None:
        rows = [{"value": value, "downloads": clients} for value, clients in sorted(
            sets[0].items(), key=lambda item: (-item[1], item[0] is None, item[0] or ""))]
    else:
        table = "rollup_projects" if project is not None else "rollup_totals"
        where = conditions(filters, period, project=project)
        rows = _rows(
            con,
            f"""SELECT {column} AS value, {measure(filters)} AS downloads FROM {source(filters, table, column == "country")}
                WHERE {where.sql} GROUP BY value ORDER BY downloads DESC, value NULLS LAST""",
            where.params,
        )
    # Distinct clients do not add up across values: the share is of all the period's clients.
    if filters.unique and whole is None:
        whole = total(con, period, filters, project)
    return _with_shares(rows, whole if filters.unique else None)


def _with_shares(rows: list[dict], whole: int | None) -> list[dict]:
    """[{value, downloads, share}] from rows of value and downloads; the share is of `whole`, or of their sum."""
    whole = sum(int(r["downloads"]) for r in rows) if whole is None else whole
    return [{"value": r["value"], "downloads": int(r["downloads"]),
             "share": int(r["downloads"]) / whole if whole else 0.0} for r in rows]


def shares(con, period: Period | None, filters: Filters, dimension: str, project: str | None = None,
           whole: int | None = None) -> list[dict]:
    """Downloads by one agent dimension, most first: [{name, downloads, share}] as stats.shares.
    (`whole`: the period's total when the caller has it, so unique-client shares need not count it again.)"""
    return [{"name": r["value"], "downloads": r["downloads"], "share": r["share"]}
            for r in _split(con, period, filters, FACET_COLUMNS[dimension], project, whole)]


def countries(con, period: Period | None, filters: Filters, project: str | None = None,
              whole: int | None = None) -> list[dict]:
    """Downloads by country, most first: [{country, name, downloads, share}]; `country` is the
    stored code (parsing/countries) or None for downloads whose country was never looked up.
    A project's downloads by country are read as its months by country for the period's whole
    months, and for the days at either end (rollup_projects keeps no country) from the hits."""
    if project is None or filters.unique:
        split = _split(con, period, filters, "country", project, whole)
    else:
        rows, params = spanning(filters, period, "rollup_project_months", "rollup_projects", "country",
                                "project = ?", (project,), by_country=True)
        split = _with_shares(_rows(con, f"""SELECT country AS value, sum(downloads) AS downloads FROM {rows}
            GROUP BY value ORDER BY downloads DESC, value NULLS LAST""", params), None)
    return [{"country": r["value"], "name": country_name(r["value"]), "downloads": r["downloads"], "share": r["share"]}
            for r in split]


def category_series(con, period: Period | None, filters: Filters, series: str, project: str | None = None) -> list[dict]:
    """Downloads per day and category of one of CATEGORY_SERIES (pypistats.org's):
    [{date, category, downloads}], ordered by category then date (pypistats' order)."""
    table = "rollup_projects" if project is not None else "rollup_totals"
    where = conditions(filters, period, project=project)
    rows = _rows(
        con,
        f"""SELECT day, {CATEGORY_SQL[series]} AS category, {measure(filters)} AS downloads
            FROM {source(filters, table, series == "country")} WHERE {where.sql} GROUP BY ALL ORDER BY category, day""",
        where.params,
    )
    return [{"date": r["day"].isoformat(), "category": r["category"], "downloads": int(r["downloads"])} for r in rows]


def downloads_by_day(con, period: Period, filters: Filters, project: str | None = None) -> tuple[DayDownloads, ...]:
    """Every day of the period, oldest first, with its downloads (days without any count 0)."""
    counted = {row["date"]: row["downloads"]
               for row in series(con, period, filters, "day", (project,) if project is not None else None)}
    days = (period.start + timedelta(days=offset) for offset in range(period.days))
    return tuple(DayDownloads(day, counted.get(day.isoformat(), 0)) for day in days)


def project_totals(con, today: date, filters: Filters = Filters()) -> dict[str, ProjectTotals]:
    """Every downloaded project's downloads in the last 30 days (today included) and all time."""
    recent = conditions(filters, since=today - timedelta(days=RECENT_WINDOWS["month"] - 1))
    last_30_days = dict(con.execute(
        f"SELECT project, sum(downloads) FROM {table_of(filters, 'rollup_projects')} WHERE {recent.sql} GROUP BY project",
        list(recent.params)).fetchall())
    months, params = spanning(filters, None, "rollup_project_months", "rollup_projects", "project")
    all_time = con.execute(f"SELECT project, sum(downloads) FROM {months} GROUP BY project", list(params)).fetchall()
    return {project: ProjectTotals(int(last_30_days.get(project, 0)), int(downloads)) for project, downloads in all_time}


def project_clients(con, project: str, n: int = 10) -> tuple[ClientDownloads, ...]:
    """The project's `n` most frequent clients by downloads, all time: the installer, else the
    agent's product (a browser, curl...). From the raw hits: the rollups keep installers only."""
    rows = con.execute(
        f"""SELECT coalesce(a.installer_name, a.product, '{UNKNOWN}') AS client, count(*) AS n
            FROM hits h LEFT JOIN agents a USING (agent_id) WHERE h.kind = 'download' AND h.project = ?
            GROUP BY 1 ORDER BY n DESC, client LIMIT ?""",
        [project, n],
    ).fetchall()
    return tuple(ClientDownloads(client, int(count)) for client, count in rows)


def python_by_month(con, period: Period | None, filters: Filters) -> list[dict]:
    """Each month's downloads by Python version, with the month's share: as stats.python_by_month."""
    sets = _set_counts_by(con, filters, "python", period, "month")
    if sets is not None:
        rows = [{"month": month.strftime("%Y-%m"), "python": python, "downloads": clients}
                for month, by_python in sets.items() for python, clients in by_python.items()]
    else:
        where = conditions(filters, period)
        rows = _rows(
            con,
            f"""SELECT strftime(day, '%Y-%m') AS month, python, {measure(filters)} AS downloads
                FROM {source(filters, 'rollup_totals')} WHERE {where.sql} GROUP BY ALL""",
            where.params,
        )
    totals: dict[str, int] = {}
    for row in rows:
        totals[row["month"]] = totals.get(row["month"], 0) + int(row["downloads"])
    result = [
        {"month": r["month"], "python": r["python"], "downloads": int(r["downloads"]),
         "share": int(r["downloads"]) / totals[r["month"]] if totals[r["month"]] else 0.0}
        for r in rows
    ]
    return sorted(result, key=lambda r: (r["month"], version_sort_key(r["python"])))


def _saved_rows(con, period: Period | None, filters: Filters, method: str, key_sql: str, project: str | None) -> list[dict]:
    """Seconds and joules saved per key (an SQL template over {time}), from the file rollups. A method's
    saving is (a function of the file) x downloads, so it is computed once per file with downloads = 1,
    and only the files that save anything are joined to the rollup's rows."""
    # Time saved counts downloads, never distinct clients: each download saved a build.
    where, params = ("project = ?", (project,)) if project is not None else ("true", ())
    rows, params = spanning(filters, period, "rollup_file_months", "rollup_files",
                            f"{key_sql} AS key, filename", where, params)
    file_filter = "WHERE f.project = ?" if project is not None else ""
    sql = f"""
        WITH {per_download_sql(method, file_filter)}
        SELECT r.key, sum(r.downloads * p.saved) AS seconds, sum(r.downloads * p.joules) AS joules
        FROM {rows} AS r JOIN per_download p ON p.filename = r.filename GROUP BY r.key ORDER BY r.key"""
    return _rows(con, sql, (*((project,) if project is not None else ()), *params))


def _saved_by(con, period: Period | None, filters: Filters, method: str, key_sql: str) -> list[dict]:
    """Seconds and joules saved per key (an SQL template over {time}) by all projects' downloads, from
    rollup_saved; one country's, from its files' downloads (rollup_saved keeps no country)."""
    if filters.country is not None:
        return _saved_rows(con, period, filters, method, key_sql, None)
    where = conditions(filters.counting_downloads(), period)
    return _rows(
        con,
        f"""SELECT {key_sql.format(time='day')} AS key, sum(seconds) AS seconds, sum(joules) AS joules FROM rollup_saved
            WHERE method = ? AND {where.sql} GROUP BY key ORDER BY key""",
        (method, *where.params),
    )


def time_saved(con, period: Period | None, filters: Filters, method: str = DEFAULT_METHOD, project: str | None = None) -> Saved:
    """Build time and energy the period's downloads saved, by the named method."""
    if project is None:
        rows = _saved_by(con, period, filters, method, "0")
    else:
        rows = _saved_rows(con, period, filters, method, "0", project)
    if not rows:
        return Saved(0.0, 0.0)
    return Saved(float(rows[0]["seconds"] or 0.0), joules_to_kwh(float(rows[0]["joules"] or 0.0)))


def by_month(con, end: date, filters: Filters, method: str = DEFAULT_METHOD, since: date | None = None) -> list[dict]:
    """Every month up to `end` (from `since`'s month, or all history): [{month, downloads,
    time_saved_seconds, energy_kwh}], as the report's by_month."""
    history = Period(since.replace(day=1) if since else date(1, 1, 1), end)
    saved = {
        r["key"]: (float(r["seconds"] or 0.0), joules_to_kwh(float(r["joules"] or 0.0)))
        for r in _saved_by(con, history, filters, method, "year({time}) * 100 + month({time})")
    }
    sets = _set_counts_by(con, filters, client_sets.TOTAL, history, "month")
    if sets is not None:
        rows = [{"key": month.year * 100 + month.month, "downloads": clients[""]}
                for month, clients in sets.items() if clients]
    else:
        where = conditions(filters, history)
        rows = _rows(
            con,
            f"""SELECT year(day) * 100 + month(day) AS key, {measure(filters)} AS downloads
                FROM {source(filters, 'rollup_totals')} WHERE {where.sql} GROUP BY key ORDER BY key""",
            where.params,
        )
    return [
        {"month": f"{r['key'] // 100:04d}-{r['key'] % 100:02d}", "downloads": int(r["downloads"]),
         "time_saved_seconds": saved.get(r["key"], (0.0, 0.0))[0], "energy_kwh": saved.get(r["key"], (0.0, 0.0))[1]}
        for r in rows
    ]


def catalogue_counts(con, period: Period | None, filters: Filters) -> dict[str, int]:
    """Projects downloaded in the period, and the projects and files the catalogue holds."""
    projects, params = spanning(filters, period, "rollup_project_months", "rollup_project_days", "project")
    counted = _value(con, f"SELECT count(DISTINCT project) FROM {projects}", params)
    known_projects, known_files = con.execute(
        "SELECT count(DISTINCT project), count(*) FROM files WHERE project IS NOT NULL"
    ).fetchone()
    return {"projects": counted, "catalogue_projects": int(known_projects), "catalogue_files": int(known_files)}


def project_exists(con, project: str) -> bool:
    """Whether the store knows the project: downloaded, catalogued (files) or listed (projects)."""
    return bool(con.execute(
        """SELECT EXISTS (SELECT 1 FROM files WHERE project = ?) OR EXISTS (SELECT 1 FROM projects WHERE project = ?)
            OR EXISTS (SELECT 1 FROM rollup_projects WHERE project = ?)""",
        [project, project, project],
    ).fetchone()[0])


def _file_counts(period: Period | None, filters: Filters, project: str) -> tuple[str, tuple]:
    """A subquery of the project's downloads by filename in the period, and its parameters."""
    rows, params = spanning(filters, period, "rollup_file_months", "rollup_files", "filename", "project = ?", (project,))
    return f"(SELECT filename, sum(downloads) AS downloads FROM {rows} GROUP BY filename)", params


def downloads_by_file(con, period: Period | None, filters: Filters, project: str) -> dict[str, int]:
    """The project's downloads by filename, of every file downloaded (catalogued or not)."""
    counts, params = _file_counts(period, filters, project)
    return {filename: int(downloads) for filename, downloads in con.execute(f"SELECT * FROM {counts}", list(params)).fetchall()}


def project_files(con, period: Period | None, filters: Filters, project: str) -> list[dict]:
    """Every catalogued file of the project: [{filename, version, platform_tag, downloads, build_duration_s}]."""
    counts, params = _file_counts(period, filters, project)
    result = _rows(
        con,
        f"""SELECT f.filename, f.version, f.platform_tag, coalesce(c.downloads, 0) AS downloads, b.duration_s
            FROM files f LEFT JOIN {counts} c ON c.filename = f.filename LEFT JOIN builds b ON b.build_id = f.build_id
            WHERE f.project = ? ORDER BY downloads DESC, f.filename""",
        (*params, project),
    )
    return [
        {"filename": r["filename"], "version": r["version"], "platform_tag": r["platform_tag"],
         "downloads": int(r["downloads"]), "build_duration_s": r["duration_s"]}
        for r in result
    ]


def versions_of(files: list[dict]) -> list[dict]:
    """Downloads by version from project_files' rows, most first: [{version, downloads}]."""
    by_version: dict[str, int] = {}
    for row in files:
        version = row["version"] or UNKNOWN
        by_version[version] = by_version.get(version, 0) + row["downloads"]
    ordered = sorted(by_version.items(), key=lambda item: (-item[1], item[0]))
    return [{"version": version, "downloads": downloads} for version, downloads in ordered if downloads]


def project_versions(con, period: Period | None, filters: Filters, project: str) -> list[dict]:
    """Downloads by version of the project, most first: [{version, downloads}]."""
    return versions_of(project_files(con, period, filters, project))
