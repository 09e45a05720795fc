"""Hits written straight into a store, with the columns `hits` shows (project and file names, the client as text)."""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import pyarrow as pa

from wheelstats.store import dimensions


def add_hits(con: duckdb.DuckDBPyConnection, columns: Sequence[str], rows: Sequence[Sequence]) -> int:
    """Store `rows` (values for `columns`, which are some of dimensions.WIDE_COLUMNS); how many."""
    table = pa.table({name: pa.array([row[i] for row in rows]) for i, name in enumerate(columns)})
    con.register("rows_to_add", table)
    try:
        return dimensions.add_wide_hits(con, "SELECT * FROM rows_to_add")
    finally:
        con.unregister("rows_to_add")
