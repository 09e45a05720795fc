"""The lake's tables as the store's, on an in-memory DuckDB connection.

Each table becomes a view named as the store's, over the Parquet files the
ledger lists, so the store's own queries (the summary, the report's Ibis
queries, the settings) run on a lake unchanged.
"""

from __future__ import annotations

import duckdb

from wheelstats.lake import ledger
from wheelstats.lake.layout import HITS, SNAPSHOT_TABLES, Lake
from wheelstats.parsing.escapes import sql_literal

# The store's hits from the lake's (layout.py): the same columns, names and types, in SQL that DuckDB and
# Spark both read, and `day`, the partition each hit is filed under (its UTC day), which a query over a window
# of time bounds too (stats.tables.hits_between), so that the engine reads that window's files alone.
STORE_HITS_SQL = """
SELECT timestamp AS ts, kind, project, file.filename AS filename, url AS path, client, agent_id, bytes, referrer,
       source_id, line_no, {country_code} AS country, date AS day
FROM {files}
"""
# The hits' columns that a layout version added (layout.LAKE_VERSIONS), read as null where no file has them yet.
ADDED_HIT_COLUMNS = {"country_code": "CAST(NULL AS STRING)"}


def lake_hits_sql(files: str, columns: list[str]) -> str:
    """The store's hits from `files` (SQL naming the lake's hits, whose columns are `columns`): a column added
    since some were written is null in those (the reader unites the files by name), and in all of them if none
    has it yet."""
    present = {column: column if column in columns else null for column, null in ADDED_HIT_COLUMNS.items()}
    return STORE_HITS_SQL.format(files=files, **present)
NO_HITS_SQL = """
SELECT CAST(NULL AS TIMESTAMP) AS ts, CAST(NULL AS STRING) AS kind, CAST(NULL AS STRING) AS project,
       CAST(NULL AS STRING) AS filename, CAST(NULL AS STRING) AS path, CAST(NULL AS STRING) AS client,
       CAST(NULL AS INTEGER) AS agent_id, CAST(NULL AS BIGINT) AS bytes, CAST(NULL AS STRING) AS referrer,
       CAST(NULL AS INTEGER) AS source_id, CAST(NULL AS BIGINT) AS line_no, CAST(NULL AS STRING) AS country,
       CAST(NULL AS DATE) AS day
WHERE false
"""


def open_lake(lake: Lake) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection (in UTC) with the lake's committed tables as views named as the store's."""
    state = ledger.committed_state(lake)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for table, sql in table_views(lake, state, (HITS, *SNAPSHOT_TABLES)).items():
        con.execute(f"CREATE VIEW {table} AS {sql}")
    return con


def table_views(lake: Lake, state: ledger.LedgerState, tables: tuple[str, ...]) -> dict[str, str]:
    """The SQL that reads each of `tables` as the store's, for those the lake holds (hits always)."""
    views = {}
    for table in tables:
        files = state.table_files(table)
        if table == HITS:
            if files:
                read = parquet_files(lake, files, same_columns=_same_columns(lake, files))
                views[table] = lake_hits_sql(read, duckdb.sql(f"SELECT * FROM {read} LIMIT 0").columns)
            else:
                views[table] = NO_HITS_SQL
        elif files:
            views[table] = f"SELECT * FROM {parquet_files(lake, files)}"
    return views


def parquet_files(lake: Lake, files: tuple[str, ...], same_columns: bool = False) -> str:
    """A read_parquet of `files` (relative to the lake), with their Hive partitions as columns. Their columns are
    united by name, unless `same_columns` says every file has the same: then each query reads the schema of one
    file, not of every file (0.2 s a query over a thousand files)."""
    united = "" if same_columns else ", union_by_name = true"
    return f"read_parquet({_paths(lake, files)}, hive_partitioning = true{united})"


def _same_columns(lake: Lake, files: tuple[str, ...]) -> bool:
    """Whether every one of `files` has the same columns, of the same types (their schemas read once)."""
    [(schemas,)] = duckdb.sql(f"""SELECT count(DISTINCT columns) FROM (
        SELECT list((name, type, logical_type::VARCHAR) ORDER BY name) AS columns
        FROM parquet_schema({_paths(lake, files)}) GROUP BY file_name)""").fetchall()
    return schemas == 1


def _paths(lake: Lake, files: tuple[str, ...]) -> str:
    return "[" + ", ".join(sql_literal(str(lake.root / name)) for name in files) + "]"
