"""Binding the store's tables to Ibis, and the row sets every query starts from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import ibis
import ibis.expr.types as ir
from ibis import _
from ibis.common.exceptions import TableNotFound

from wheelstats import store
from wheelstats.stats.savings import saved_seconds, watts
from wheelstats.timesaved import TimeSavedMethod


REQUIREMENTS = "file_requirements"  # recorded by the builder (wheelstats.builder) where the store has it
EXACT = "decimal(38, 6)"  # savings summed exactly (to the microsecond): the same total in any order


class EmptyStore(ValueError):
    """The store holds no downloads at all."""

    def __init__(self, path: str) -> None:
        super().__init__(
            f"The store {path!r} holds no downloads. Run `wheelstats ingest LOGS` or "
            "`wheelstats import piwheels --dump DIR` first, or pass --db."
        )


@dataclass(frozen=True, slots=True)
class Tables:
    """The store's tables as Ibis table expressions, on any backend.

    `requirements` is each wheel's Requires-Dist, one row per requirement
    (filename, requirement, project, marker), where the store records them.
    """

    hits: ir.Table
    agents: ir.Table
    files: ir.Table
    builds: ir.Table
    requirements: ir.Table | None = None


def open_tables(db_path: str | Path) -> Tables:
    """Connect Ibis to the DuckDB store at `db_path`, read-only.

    The store's own checks run first (it exists, it is a wheelstats store, its
    schema is current), so a bad path fails with a StoreError that says why.
    """
    return tables_on(store.connect(db_path, read_only=True))  # connect also sets the session to UTC


def tables_on(con: duckdb.DuckDBPyConnection) -> Tables:
    """The store's tables over an open connection to it (one from store.connect: in UTC)."""
    con.execute("SET enable_progress_bar = false")
    return tables_of(ibis.duckdb.from_connection(con))


def tables_of(backend: ibis.BaseBackend) -> Tables:
    """The store's tables as `backend` names them (a store on DuckDB, a lake's views on DuckDB or Spark)."""
    return Tables(
        hits=backend.table("hits"),
        agents=backend.table("agents"),
        files=backend.table("files"),
        builds=backend.table("builds"),
        requirements=_table_if_any(backend, REQUIREMENTS),
    )


def _table_if_any(backend: ibis.BaseBackend, name: str) -> ir.Table | None:
    try:
        return backend.table(name)
    except TableNotFound:
        return None


def hits_between(tables: Tables, start: datetime | None = None, end: datetime | None = None) -> ir.Table:
    """Hits with `start <= ts < end` (either bound may be open; naive datetimes in UTC).

    A lake's hits carry `day`, the partition each is filed under (its UTC day): there the days are
    bounded too, so that the engine reads the window's partitions alone, not every file's footer.
    """
    hits = tables.hits
    by_day = "day" in hits.columns
    if start is not None:
        hits = hits.filter(_.ts >= start)
        if by_day:
            hits = hits.filter(_.day >= start.date())
    if end is not None:
        hits = hits.filter(_.ts < end)
        if by_day:
            hits = hits.filter(_.day <= (end - timedelta(microseconds=1)).date())
    return hits


def download_rows(
    tables: Tables, start: datetime | None = None, end: datetime | None = None
) -> ir.Table:
    """Download hits with `start <= ts < end` (either bound may be open)."""
    return hits_between(tables, start, end).filter(_.kind == "download")


def file_savings(tables: Tables, method: TimeSavedMethod) -> ir.Table:
    """Every catalogued file with what one download of it saves, by `method`.

    Columns: filename, saved_s (seconds of building), joules (saved_s x the
    platform's watts). The method runs over the small files x builds join.
    """
    files = tables.files.select("filename", "platform_tag", "abi_tag", "build_id")
    builds = tables.builds.select(build_key=_.build_id, duration_s=_.duration_s)
    joined = files.left_join(builds, files.build_id == builds.build_key)
    rows = joined.select("filename", "platform_tag", "abi_tag", "duration_s")
    rows = rows.mutate(saved_s=saved_seconds(method, rows))
    return rows.select(file_key=_.filename, saved_s=_.saved_s, joules=_.saved_s * watts(method, rows))


def downloads_with_savings(
    tables: Tables, method: TimeSavedMethod, start: datetime | None = None, end: datetime | None = None
) -> ir.Table:
    """Download hits with what each saved: columns ts, filename, saved_s, joules.

    Each download is joined to its file's saving (a small table, so the join is
    a cheap hash probe); a download of an uncatalogued file saved 0. Savings are
    exact decimals (to the microsecond, the microjoule), so their sums do not
    depend on the order an engine adds them in: every engine, every run, gives
    the same figures to the last digit.
    """
    downloads = download_rows(tables, start, end).select("ts", "filename")
    savings = file_savings(tables, method)
    joined = downloads.left_join(savings, downloads.filename == savings.file_key)
    return joined.select(
        "ts", "filename",
        saved_s=joined.saved_s.fill_null(0.0).cast(EXACT), joules=joined.joules.fill_null(0.0).cast(EXACT),
    )
