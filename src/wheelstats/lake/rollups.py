"""The dashboard's rollups of a lake: made from its hits by a job of their own, and read as a store's.

The rollups are the store's tables, made by the store's own definitions
(rollups.refresh.build_rollups) from every download the lake holds, with DuckDB,
in a store in memory that holds the lake's small tables (time saved reads its
files and builds). One job stages them all, each held whole, with `rollup_basis`:
how many ledger entries they were made from. They stay current until another
job commits. `wheelstats dashboard --lake` makes them when they are not, then
serves a store file whose tables are views of the lake (`reader_store`).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from wheelstats.lake import ledger
from wheelstats.lake.layout import HITS, ROLLUP_BASIS, ROLLUP_TABLES, Lake
from wheelstats.lake.reading import parquet_files, table_views
from wheelstats.lake.working_store import working_store
from wheelstats.parsing.escapes import sql_literal
from wheelstats.rollups.refresh import HITS_VIEW_DOWNLOADS_SQL, HITS_VIEW_NAMES, build_rollups

ROLLED_UP = tuple(table for table in ROLLUP_TABLES if table != ROLLUP_BASIS)


def _basis(lake: Lake, state: ledger.LedgerState) -> int | None:
    files = state.table_files(ROLLUP_BASIS)
    if not files:
        return None
    return duckdb.sql(f"SELECT entries FROM {parquet_files(lake, files)}").fetchall()[0][0]


def rollups_current(lake: Lake, state: ledger.LedgerState | None = None) -> bool:
    """The lake's rollups count every hit it holds: no job has committed since the one that made them; and
    they are every table this version makes (rollups made by an earlier version are made again)."""
    state = state or ledger.read_state(lake)
    basis = _basis(lake, state)
    return basis is not None and basis + 1 == state.entries and all(state.table_files(table) for table in ROLLED_UP)


def roll_up(lake: Lake) -> int | None:
    """Make the lake's rollups from all its hits, in one committed job, unless they are current (None).
    Returns how many downloads they count."""
    with ledger.job(lake) as job:
        state = ledger.committed_state(lake)
        if rollups_current(lake, state):
            job.abandon()
            return None
        with working_store(lake) as con:
            # A lake's hits name their client by its text (the store's client number, or the address kept raw).
            con.execute("ALTER TABLE rollup_client_rows ALTER client TYPE VARCHAR")
            hits = table_views(lake, state, (HITS,))[HITS]
            downloads = build_rollups(con, HITS_VIEW_DOWNLOADS_SQL.format(hits=f"({hits})"), HITS_VIEW_NAMES)
            for table in ROLLED_UP:
                target = job.staged(table) / f"{job.file_prefix()}.parquet"
                con.execute(f"COPY (SELECT * FROM {table}) TO {sql_literal(str(target))} (FORMAT parquet)").fetchall()
            basis = job.staged(ROLLUP_BASIS) / f"{job.file_prefix()}.parquet"
            con.execute(f"COPY (SELECT {int(state.entries)}::BIGINT AS entries) TO {sql_literal(str(basis))} "
                        "(FORMAT parquet)").fetchall()
        return downloads


def reader_store(lake: Lake, folder: Path) -> Path:
    """A store file in `folder` for the dashboard's reader to open, read-only, as it opens a store: the lake's
    small tables copied in, its hits and rollups as views of the lake's files (and hit_downloads of its hits)."""
    path = folder / "lake.duckdb"
    with working_store(lake, path) as con:
        state = ledger.read_state(lake)
        for table, sql in table_views(lake, state, (HITS, *ROLLED_UP)).items():
            con.execute(f"DROP VIEW {table}" if table == HITS else f"DROP TABLE {table}")
            con.execute(f"CREATE VIEW {table} AS {sql}")
        # What figures by country read where a rollup keeps no country, and this hour's figures
        # (store.schema.HIT_DOWNLOADS_VIEW), here from the lake's hits.
        con.execute("CREATE OR REPLACE VIEW hit_downloads AS SELECT ts, day, project, filename, client, "
                    "country, agent_id FROM hits WHERE kind = 'download'")
    return path
