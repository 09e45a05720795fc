"""Rollups of downloads, kept current from a watermark as hits arrive.

The dashboard, the JSON API and the badges answer from these tables instead of
scanning every hit. Each refresh rolls up the hits appended since the last one
(hits are append-only: a DuckDB rowid above the watermark is a new row) and
merges them into the rollups day by day, so a day's rows stay one row per key
however often it is refreshed. If hits were ever removed (the count of rows up
to the watermark changed), the rollups are rebuilt from scratch.

Tables (created by store migration 2; migration 8 added the country, 9 took it out of the daily
project and file rollups, 14 added rollup_project_days, 15 rollup_facets):
    rollup_totals          day x python x cpu x distro x os x installer x ci x bot -> downloads
    rollup_projects        day x project x facets x ci x bot -> downloads (sorted by project)
    rollup_project_days    day x project x ci x bot -> downloads (sorted by day: windows of days across projects)
    rollup_project_months  month x project x ci x bot -> downloads
    rollup_files           day x project x filename x ci x bot -> downloads (sorted by project)
    rollup_file_months     month x project x filename x ci x bot -> downloads
    rollup_hours           hour x ci x bot -> downloads
    rollup_clients         distinct day x client (hashed) x project x facets x ci x bot x country: a view of
                           rollup_client_rows, which keeps the facets, ci and bot as one number (rollup_facets,
                           each combination once; version 15)
    rollup_client_sets     the clients of each day, and of each month by facet, country and project, as bitmaps
                           (rollups.client_sets: exact distinct clients of any period, fast)
    rollup_client_day_counts  day x counting CI x counting bots -> distinct clients (from the sets)
    rollup_saved           day x ci x bot x time-saved method -> seconds, joules
    rollup_country_*       twins of totals, project and file months, and hours, keyed by country too

The country is the hit's code (parsing/countries: alpha-2, XL local, ZZ unplaced), or
NULL for hits whose country was never looked up, so that every page can be filtered
by country. Only the tables that stay small keyed by it keep it: the twins, and the
clients (a client is in one country). For one country's figures, or figures by country,
rollups.filters.table_of picks the twin of a table that keeps none, and for the daily
project and file rollups (ten times their rows and more by country, most of the cost of
countries at ingest) the period's hits as those rollups' rows (country_rows_sql).

rollup_saved prices each day's file downloads with every registered method; it is
recomputed in full when the catalogue (files' tags and builds' durations) changes,
e.g. after `wheelstats import builds`, which a checksum in rollup_state detects.

Long periods read the monthly tables for their whole months and the daily ones
for the days at either end. A full build writes each table sorted (by project
where pages filter by project) so that DuckDB's zone maps skip most row groups;
later refreshes append the merged days at the end. A table sorted by its time
stays so as days go by; one sorted otherwise (by project, by country) keeps the
first day merged into it since it was last in order (rollup_order), and once the
rows from that day on pass an eighth of it, a refresh writes it in order again
(compaction: one table a refresh, the one most out of order, so that no refresh
holds the store for long).

A facet is "unknown" when the agent is. `bot` marks crawlers (agents.is_bot) and
mirroring tools (MIRROR_INSTALLERS); `ci` is the agent's CI flag.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from wheelstats import store
from wheelstats.interrupts import queries_interrupted_as_keyboard_interrupt
from wheelstats.rollups import client_sets
from wheelstats.facets import UNKNOWN, bot_sql
from wheelstats.store.schema import FACET_COLUMNS

STATE_KEY = "hits"

_FACETS_SQL = f"""
    coalesce(a.python_version, '{UNKNOWN}') AS python,
    coalesce(a.cpu, '{UNKNOWN}') AS cpu,
    coalesce(a.distro_name, '{UNKNOWN}') AS distro,
    coalesce(a.os_name, '{UNKNOWN}') AS os,
    coalesce(a.installer_name, '{UNKNOWN}') AS installer,
    coalesce(a.ci, false) AS ci,
    {bot_sql('a')} AS bot
"""

# A download's facets as one number (rollup_facets) with its CI and bot flags, from its agent's (the temporary table
# rollup_agent_facets, _number_facets); a download without an agent row has those of none, the row of agent_id NULL.
# The rollups keyed by the facets group by the number and read the facets' names once grouped (_grouped).
_FACET_ID_SQL = "coalesce(af.facet_id, none.facet_id) AS facet_id, coalesce(af.ci, none.ci) AS ci, " \
    "coalesce(af.bot, none.bot) AS bot"
_AGENT_FACETS_JOIN = """CROSS JOIN (FROM rollup_agent_facets WHERE agent_id IS NULL) none
    LEFT JOIN rollup_agent_facets af ON af.agent_id = h.agent_id"""
# The downloads among the store's hits {rows} selects, as the rollups read them (rollup_new): a project and a file by
# their ids, whose names the rollups join once grouped (_grouped, from rollup_project_names and rollup_file_names).
STORE_DOWNLOADS_SQL = f"""
    SELECT h.ts::TIMESTAMP AS ts, h.ts::DATE AS day, h.project_id, h.file_id, h.client_id AS client, h.country,
        {_FACET_ID_SQL}
    FROM hit_rows h {_AGENT_FACETS_JOIN}
    WHERE {{rows}} AND h.kind = 'download'
"""
STORE_NAMES = {
    "project": "SELECT project_id, project FROM hit_projects WHERE project_id IN (SELECT project_id FROM rollup_new)",
    "filename": "SELECT file_id, filename FROM hit_files WHERE file_id IN (SELECT file_id FROM rollup_new)",
}
# The same downloads from {hits}, hits in the store's `hits` view's columns (a lake's: lake.reading), which name their
# project and file: each name is its own id.
HITS_VIEW_DOWNLOADS_SQL = f"""
    SELECT h.ts, h.ts::DATE AS day, h.project AS project_id, h.filename AS file_id, h.client, h.country,
        {_FACET_ID_SQL}
    FROM {{hits}} h {_AGENT_FACETS_JOIN}
    WHERE h.kind = 'download'
"""
HITS_VIEW_NAMES = {
    "project": "SELECT DISTINCT project_id, project_id AS project FROM rollup_new",
    "filename": "SELECT DISTINCT file_id, file_id AS filename FROM rollup_new",
}
# A rollup's name columns, and the id columns of rollup_new they are grouped by, then joined from these temporary
# tables (made from STORE_NAMES or HITS_VIEW_NAMES).
_NAMED_BY_ID = {"project": ("project_id", "rollup_project_names"), "filename": ("file_id", "rollup_file_names")}

MONTH = "date_trunc('month', ts)::DATE AS month"
# A rollup sorted otherwise than by its time is written in order again once the rows of the days merged into
# it since it was last in order pass 1/COMPACT_FRACTION of it, and it is big enough for its row groups' zone
# maps to matter.
COMPACT_FRACTION = 8
MIN_ROWS_TO_COMPACT = 4 * store.ROW_GROUP_ROWS
RUN_ROWS = 1 << 20  # a first build writes a rollup sorted by day a run of days of about this many downloads at a time


@dataclass(frozen=True, slots=True)
class Rollup:
    """How one rollup table is built from the new download rows (the temporary table rollup_new)."""

    table: str
    keys: str  # the key columns, as SQL over rollup_new
    time_column: str  # day, month or hour: which of the table's rows a refresh touches
    counted: bool  # True: downloads per key; False: the distinct keys alone (clients seen)
    order: str  # the sort order a full build writes, so that pages' filters skip row groups (the column
    # filtered on alone: sorting by more, such as a project's files and days, costs as much as the grouping)
    rows: str = "true"  # which rows of rollup_new it rolls up (SQL)

    @property
    def sorted_by_time(self) -> bool:
        """Whether its order starts with its time, so that new days appended at the end keep it."""
        return self.order.split(",")[0] == self.time_column


ROLLUPS = (
    Rollup("rollup_totals", f"day, {FACET_COLUMNS}", "day", counted=True, order="day"),
    Rollup("rollup_projects", f"day, project, {FACET_COLUMNS}", "day", counted=True,
           order="project", rows="project IS NOT NULL"),
    Rollup("rollup_project_days", "day, project, ci, bot", "day", counted=True, order="day",
           rows="project IS NOT NULL"),
    Rollup("rollup_project_months", f"{MONTH}, project, ci, bot", "month", counted=True,
           order="month, project", rows="project IS NOT NULL"),
    Rollup("rollup_files", "day, project, filename, ci, bot", "day", counted=True,
           order="project", rows="filename IS NOT NULL"),
    Rollup("rollup_file_months", f"{MONTH}, project, filename, ci, bot", "month", counted=True,
           order="month, project, filename", rows="filename IS NOT NULL"),
    Rollup("rollup_hours", "date_trunc('hour', ts) AS hour, ci, bot", "hour", counted=True, order="hour"),
    # The view rollup_clients shows its rows with their facets (store.schema, version 15).
    Rollup("rollup_client_rows", "day, client, project, facet_id, country", "day",
           counted=False, order="day", rows="client IS NOT NULL"),
    # The twins keyed by country (store.schema.COUNTRY_TWINS), read only for one country's figures.
    Rollup("rollup_country_totals", f"day, {FACET_COLUMNS}, country", "day", counted=True,
           order="country, day"),
    Rollup("rollup_country_project_months", f"{MONTH}, project, ci, bot, country", "month", counted=True,
           order="country, month", rows="project IS NOT NULL"),
    Rollup("rollup_country_file_months", f"{MONTH}, project, filename, ci, bot, country", "month", counted=True,
           order="country, month", rows="filename IS NOT NULL"),
    Rollup("rollup_country_hours", "date_trunc('hour', ts) AS hour, ci, bot, country", "hour", counted=True,
           order="hour"),
)
# The rows of a table whose time falls on a day with new downloads (rollup_days), by time column.
_TOUCHED = {
    "day": "day IN (SELECT day FROM rollup_days)",
    "month": "month IN (SELECT DISTINCT date_trunc('month', day)::DATE FROM rollup_days)",
    "hour": "hour::DATE IN (SELECT day FROM rollup_days)",
}
ROLLUP_TABLES = (*(rollup.table for rollup in ROLLUPS), "rollup_facets", client_sets.TABLE, client_sets.DAY_COUNTS)
# The rollups that keep no country and have no twin keyed by it (store.schema.ROLLUPS_WITHOUT_COUNTRY):
# a figure by country reads the hits in their place (country_rows_sql).
READ_FROM_HITS_BY_COUNTRY = ("rollup_projects", "rollup_project_days", "rollup_files")


def country_rows_sql(table: str) -> str:
    """SQL for the downloads among the hits (the view hit_downloads) as rows of the rollup `table` (one of
    READ_FROM_HITS_BY_COUNTRY) with their country too, one row per download (downloads = 1): what a figure of
    one country, or by country, reads in place of `table`. A condition on the day reaches the hits' scan."""
    rollup = next(rollup for rollup in ROLLUPS if rollup.table == table)
    downloads = f"SELECT d.*, {_FACETS_SQL} FROM hit_downloads d LEFT JOIN agents a ON a.agent_id = d.agent_id"
    return f"SELECT {rollup.keys}, country, 1::BIGINT AS downloads FROM ({downloads}) WHERE {rollup.rows}"


@dataclass(frozen=True, slots=True)
class RefreshReport:
    new_hits: int          # hits rows rolled up by this refresh (downloads or not)
    new_downloads: int
    days: int              # days whose rollups were merged
    rebuilt: bool          # the rollups were rebuilt from scratch
    seconds: float


@dataclass(frozen=True, slots=True)
class RollupState:
    rolled_rows: int       # hits rows covered by the rollups
    hits_rows: int         # hits rows in the store
    saved_catalogue: str | None  # the catalogue checksum rollup_saved was computed with
    catalogue: str         # the catalogue checksum now

    @property
    def current(self) -> bool:
        return self.rolled_rows == self.hits_rows and (self.saved_catalogue == self.catalogue or not self.rolled_rows)


def catalogue_checksum(con: duckdb.DuckDBPyConnection) -> str:
    """Changes when a file's tags or build, or a build's duration, change: time saved depends on them."""
    files = con.execute("SELECT count(*), coalesce(sum(hash(filename, platform_tag, abi_tag, build_id)), 0) FROM files").fetchone()
    builds = con.execute("SELECT count(*), coalesce(sum(hash(build_id, duration_s)), 0) FROM builds").fetchone()
    return f"{files[0]}:{files[1]}:{builds[0]}:{builds[1]}"


def rollup_state(con: duckdb.DuckDBPyConnection) -> RollupState:
    row = con.execute("SELECT hits_rows, catalogue FROM rollup_state WHERE name = ?", [STATE_KEY]).fetchone()
    total = con.execute("SELECT count(*) FROM hit_rows").fetchone()[0]
    return RollupState(row[0] if row else 0, total, row[1] if row else None, catalogue_checksum(con))


def _refresh_saved(con: duckdb.DuckDBPyConnection, every_day: bool) -> None:
    """Recompute rollup_saved for the days in rollup_days (or every day), for every method."""
    from wheelstats.rollups.saved import per_download_sql
    from wheelstats.timesaved import METHODS

    days = "true" if every_day else "day IN (SELECT day FROM rollup_days)"
    con.execute(f"DELETE FROM rollup_saved WHERE {days}")
    for method in METHODS:
        con.execute(
            f"""INSERT INTO rollup_saved
            WITH {per_download_sql(method)}
            SELECT r.day, r.ci, r.bot, ? AS method, sum(r.downloads * p.saved), sum(r.downloads * p.joules)
            FROM rollup_files r JOIN per_download p ON p.filename = r.filename
            WHERE {days} GROUP BY ALL ORDER BY r.day""",
            [method],
        )


def _roll_up_new(con: duckdb.DuckDBPyConnection, first_build: bool) -> None:
    """Merge the new downloads (rollup_new) into every rollup, and their clients into the client sets."""
    if first_build:
        runs = _day_runs(con)
        for rollup in ROLLUPS:
            _build(con, rollup, runs)
    else:
        for rollup in ROLLUPS:
            _merge(con, rollup)
    client_sets.add_new_clients(con)


def _day_runs(con: duckdb.DuckDBPyConnection) -> list[tuple[date, date]]:
    """The new downloads' days in runs (first and last day) of at most RUN_ROWS downloads (or one day)."""
    runs: list[tuple[date, date]] = []
    rows = 0
    for day, downloads in con.execute("SELECT day, count(*) FROM rollup_new GROUP BY day ORDER BY day").fetchall():
        if runs and rows + downloads <= RUN_ROWS:
            runs[-1], rows = (runs[-1][0], day), rows + downloads
        else:
            runs.append((day, day))
            rows = downloads
    return runs


def _build(con: duckdb.DuckDBPyConnection, rollup: Rollup, runs: list[tuple[date, date]]) -> None:
    """A first build of `rollup` (nothing to merge with), written in its order. One sorted by day is written a run
    of days at a time (`runs`), each sorted: the same order, without grouping and sorting all its rows at once
    (rollup_client_rows has about as many rows as downloads)."""
    in_runs = rollup.sorted_by_time and rollup.time_column == "day"
    for first, last in runs if in_runs else [(None, None)]:
        rows = _grouped(rollup, f"day BETWEEN DATE '{first}' AND DATE '{last}'" if in_runs else "true")
        con.execute(f"INSERT INTO {rollup.table} BY NAME SELECT * FROM ({rows}) ORDER BY {rollup.order}")


def _merge(con: duckdb.DuckDBPyConnection, rollup: Rollup) -> None:
    table, fresh, touched = rollup.table, _grouped(rollup), _TOUCHED[rollup.time_column]
    held_and_fresh = f"SELECT * FROM {table} WHERE {touched} UNION ALL BY NAME {fresh}"
    merged = (f"SELECT * EXCLUDE (downloads), sum(downloads)::BIGINT AS downloads FROM ({held_and_fresh}) GROUP BY ALL"
              if rollup.counted else f"SELECT DISTINCT * FROM ({held_and_fresh})")
    con.execute(f"CREATE OR REPLACE TEMP TABLE rollup_merged AS {merged}")
    con.execute(f"DELETE FROM {table} WHERE {touched}")
    con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM rollup_merged ORDER BY {rollup.order}")
    con.execute("DROP TABLE rollup_merged")


def _grouped(rollup: Rollup, where: str = "true") -> str:
    """SQL for the new downloads (rollup_new) `where` says as rows of `rollup`: its keys, and their downloads if it
    counts them. It groups by numbers (a project's and a file's id, the facets' number: facet_id) and joins their
    names to the rows once grouped: fewer rows, and no text to hash while grouping."""
    keys, rows, joins = rollup.keys.replace(FACET_COLUMNS, "facet_id"), rollup.rows, []
    if keys != rollup.keys:
        joins.append(("facet_id", "rollup_facets"))
    for name, (id_column, names) in _NAMED_BY_ID.items():
        named = re.compile(rf"\b{name}\b")
        if named.search(keys):
            keys, rows = named.sub(id_column, keys), named.sub(id_column, rows)
            joins.append((id_column, names))
    grouped = (f"SELECT {keys}{', count(*) AS downloads' if rollup.counted else ''} FROM rollup_new "
               f"WHERE {rows} AND {where} GROUP BY ALL")
    if not joins:
        return grouped
    ids = ", ".join(id_column for id_column, _ in joins)
    joined = " ".join(f"LEFT JOIN {names} USING ({id_column})" for id_column, names in joins)
    return f"SELECT * EXCLUDE ({ids}) FROM ({grouped}) g {joined}"


def _keep_in_order(con: duckdb.DuckDBPyConnection) -> None:
    """After a refresh's merges: note, for each rollup not sorted by its time, the first day merged into it since
    it was last in order (its rows from that day on are at its end, out of order); of those whose such rows
    pass 1/COMPACT_FRACTION of a big enough table, write the one with the largest share in order again (one a
    refresh, so that no refresh holds the store for long)."""
    first_new = con.execute("SELECT min(day) FROM rollup_days").fetchone()[0]
    noted = dict(con.execute("SELECT rollup, touched_since FROM rollup_order").fetchall())
    shares: dict[Rollup, float] = {}
    for rollup in ROLLUPS:
        if rollup.sorted_by_time:
            continue
        since = min(noted.get(rollup.table, first_new), first_new)
        con.execute("INSERT OR REPLACE INTO rollup_order VALUES (?, ?)", [rollup.table, since])
        rows = con.execute(f"SELECT count(*) FROM {rollup.table}").fetchone()[0]
        if rows >= MIN_ROWS_TO_COMPACT:
            out_of_order = con.execute(f"""SELECT count(*) FROM {rollup.table}
                WHERE {rollup.time_column} >= date_trunc('{rollup.time_column}', ?::DATE)""", [since]).fetchone()[0]
            if out_of_order * COMPACT_FRACTION > rows:
                shares[rollup] = out_of_order / rows
    if shares:
        rollup = max(shares, key=shares.get)
        con.execute(f"CREATE OR REPLACE TEMP TABLE rollup_copy AS SELECT * FROM {rollup.table}")
        con.execute(f"DELETE FROM {rollup.table}")
        con.execute(f"INSERT INTO {rollup.table} SELECT * FROM rollup_copy ORDER BY {rollup.order}")
        con.execute("DROP TABLE rollup_copy")
        con.execute("DELETE FROM rollup_order WHERE rollup = ?", [rollup.table])


def refresh_rollups(con: duckdb.DuckDBPyConnection) -> RefreshReport:
    """Roll up the hits appended since the last refresh, in one transaction.

    Call it on a connection with no open transaction. Cheap when nothing is new.
    Ctrl-C at any moment rolls the transaction back and raises KeyboardInterrupt.
    """
    with queries_interrupted_as_keyboard_interrupt():
        return _refresh_rollups(con)


def _refresh_rollups(con: duckdb.DuckDBPyConnection) -> RefreshReport:
    started = time.perf_counter()
    with store.transaction(con):
        row = con.execute(
            "SELECT hits_rowid, hits_rows, catalogue FROM rollup_state WHERE name = ?", [STATE_KEY]
        ).fetchone()
        watermark, rolled, saved_catalogue = row if row else (-1, 0, None)
        rebuilt = False
        if rolled and con.execute("SELECT count(*) FROM hit_rows WHERE rowid <= ?", [watermark]).fetchone()[0] != rolled:
            for table in (*ROLLUP_TABLES, "rollup_saved"):
                con.execute(f"DELETE FROM {table}")
            watermark, rolled, rebuilt = -1, 0, True
        client_sets.write_missing_day_counts(con)
        client_sets.fold_months(con)
        new_max, new_rows = con.execute(
            "SELECT max(rowid), count(*) FROM hit_rows WHERE rowid > ?", [watermark]
        ).fetchone()
        if not new_rows:
            if rolled and catalogue_checksum(con) != saved_catalogue:  # builds imported since: re-price
                _refresh_saved(con, every_day=True)
                con.execute("UPDATE rollup_state SET catalogue = ?, refreshed_at = current_timestamp::TIMESTAMP "
                            "WHERE name = ?", [catalogue_checksum(con), STATE_KEY])
            return RefreshReport(0, 0, 0, rebuilt, time.perf_counter() - started)
        downloads, days = _new_downloads(con, STORE_DOWNLOADS_SQL.format(
            rows=f"h.rowid > {int(watermark)} AND h.rowid <= {int(new_max)}"), STORE_NAMES)
        if downloads:
            _roll_up_new(con, first_build=rolled == 0)
            if rolled:
                _keep_in_order(con)
            else:
                con.execute("DELETE FROM rollup_order")  # a first build writes every rollup in order
        catalogue = catalogue_checksum(con)
        if catalogue != saved_catalogue:
            _refresh_saved(con, every_day=True)
        elif downloads:
            _refresh_saved(con, every_day=False)
        con.execute(
            "INSERT OR REPLACE INTO rollup_state VALUES (?, ?, ?, current_timestamp::TIMESTAMP, ?)",
            [STATE_KEY, new_max, rolled + new_rows, catalogue],
        )
        _drop_new_downloads(con)
    return RefreshReport(new_rows, downloads, days, rebuilt, time.perf_counter() - started)


def build_rollups(con: duckdb.DuckDBPyConnection, downloads_sql: str, names: dict[str, str]) -> int:
    """Fill the (empty) rollup tables on `con` whole from the downloads `downloads_sql` selects, in the columns
    of STORE_DOWNLOADS_SQL, their projects' and files' names from `names` (as STORE_NAMES: a lake's hits,
    HITS_VIEW_DOWNLOADS_SQL and HITS_VIEW_NAMES, lake.rollups). Returns how many downloads were rolled up."""
    downloads, _days = _new_downloads(con, downloads_sql, names)
    if downloads:
        _roll_up_new(con, first_build=True)
    _refresh_saved(con, every_day=True)
    _drop_new_downloads(con)
    return downloads


def _new_downloads(con: duckdb.DuckDBPyConnection, downloads_sql: str, names: dict[str, str]) -> tuple[int, int]:
    """The downloads to roll up (rollup_new), the names of their projects and files (`names`: name column -> SQL of
    its ids and names, as STORE_NAMES) and their days (rollup_days): how many downloads and days."""
    _number_facets(con)
    con.execute(f"CREATE OR REPLACE TEMP TABLE rollup_new AS {downloads_sql}")
    for name, sql in names.items():
        con.execute(f"CREATE OR REPLACE TEMP TABLE {_NAMED_BY_ID[name][1]} AS {sql}")
    con.execute("CREATE OR REPLACE TEMP TABLE rollup_days AS SELECT DISTINCT ts::DATE AS day FROM rollup_new")
    downloads = con.execute("SELECT count(*) FROM rollup_new").fetchone()[0]
    days = con.execute("SELECT count(*) FROM rollup_days").fetchone()[0]
    return downloads, days


def _number_facets(con: duckdb.DuckDBPyConnection) -> None:
    """Each agent's facets as their number in rollup_facets (the temporary table rollup_agent_facets, and a row
    for agent_id NULL: no agent), numbering the combinations it does not hold yet. From the agents table (small),
    not from the downloads."""
    con.execute(f"""CREATE OR REPLACE TEMP TABLE rollup_agent_facet_values AS
        SELECT a.agent_id, {_FACETS_SQL} FROM (FROM agents UNION ALL BY NAME SELECT NULL::INTEGER AS agent_id) a""")
    con.execute(f"""INSERT INTO rollup_facets
        SELECT (SELECT coalesce(max(facet_id), 0) FROM rollup_facets)
               + row_number() OVER (ORDER BY {FACET_COLUMNS}), *
        FROM (SELECT {FACET_COLUMNS} FROM rollup_agent_facet_values
              EXCEPT SELECT {FACET_COLUMNS} FROM rollup_facets)""")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE rollup_agent_facets AS SELECT v.agent_id, f.facet_id, f.ci, f.bot
        FROM rollup_agent_facet_values v JOIN rollup_facets f USING ({FACET_COLUMNS})""")
    con.execute("DROP TABLE rollup_agent_facet_values")


def _drop_new_downloads(con: duckdb.DuckDBPyConnection) -> None:
    for table in ("rollup_new", "rollup_days", "rollup_agent_facets", *(names for _, names in _NAMED_BY_ID.values())):
        con.execute(f"DROP TABLE {table}")


class RefreshFailed(RuntimeError):
    """The rollups of a store could not be brought up to date (busy, not a store, or damaged)."""

    def __init__(self, path: Path, reason: str) -> None:
        first_line = reason.strip().splitlines()[0] if reason.strip() else "unknown reason"
        super().__init__(f"The live figures of {str(path)!r} could not be brought up to date: {first_line}")


def refresh_store(db_path: str | Path) -> RefreshReport:
    """Open the store at `db_path` for writing, bring its rollups up to date, and close it.

    What `wheelstats dashboard` and `serve` do once at start, so that their
    read-only reader finds current rollups even after a writer that did not
    keep them (an older version, or a crash between a commit and its refresh).
    Ctrl-C at any moment leaves the store as it was and raises KeyboardInterrupt.
    """
    path = Path(db_path)
    with queries_interrupted_as_keyboard_interrupt():  # opening the store runs queries too
        try:
            con = store.connect(path)
        except store.StoreError as error:
            raise RefreshFailed(path, str(error)) from None
        try:
            return refresh_rollups(con)
        except duckdb.Error as error:
            raise RefreshFailed(path, str(error)) from None
        finally:
            con.close()
