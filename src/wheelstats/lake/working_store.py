"""A store in memory that holds a lake's small tables: the store's importers write into it, and what they
add is exported into the lake (export.export_from), so a lake is imported into by the same code as a store.

It holds every table a lake holds whole (agents, files, builds, sources, settings, the account...), so new
agents and files are numbered after the lake's, and sources the lake holds keep their marks; the lake's
hits stay in the lake.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from wheelstats import store
from wheelstats.lake import ledger
from wheelstats.lake.layout import SNAPSHOT_TABLES, Lake
from wheelstats.lake.reading import parquet_files

IN_MEMORY = ":memory:"


def number_sources_after(con: duckdb.DuckDBPyConnection, last: int) -> None:
    """Make the store's next new source number `last` + 1 (its sequence, moved on)."""
    con.execute(f"SELECT max(nextval('source_ids')) FROM range({int(last)})").fetchall()


@contextmanager
def working_store(lake: Lake, path: str | Path = IN_MEMORY) -> Iterator[duckdb.DuckDBPyConnection]:
    """A new store in memory (or at `path`) holding the lake's small tables (none if the lake is new)."""
    con = store.connect(path)
    try:
        if lake.exists():
            state = ledger.read_state(lake)
            for table in SNAPSHOT_TABLES:
                files = state.table_files(table)
                if files:
                    con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM {parquet_files(lake, files)}")
            # New sources are numbered after the lake's, as they would be in the store it came from.
            number_sources_after(con, con.execute("SELECT coalesce(max(source_id), 0) FROM sources").fetchall()[0][0])
        yield con
    finally:
        con.close()
