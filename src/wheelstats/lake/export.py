"""A store into the lake: the hits the lake does not hold yet, and every other table whole where it changed.

What the lake holds of each source is its mark in the ledger (name, head hash,
lines). A source the lake lacks brings all its hits; a log that grew since
brings the hits after its mark (line_no > lines); the rest brings nothing, so
an export run again adds nothing, and a deployment that grows moves over
without reading its logs again. A source that the store forgot, or that is no
longer the one the lake holds, stops the export: the lake would keep hits the
store no longer counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from wheelstats import store
from wheelstats.lake import ledger
from wheelstats.lake.layout import HITS, SNAPSHOT_TABLES, Lake, LakeError
from wheelstats.lake.reading import parquet_files
from wheelstats.parsing.escapes import sql_literal
from wheelstats.store.settings import read_settings

# A hit as the lake holds it: PyPI's `file_downloads` names where they overlap (see layout.py). {agent} is the
# agent's column: its id (agent_id) in the lake; its text (agent), where ids are given later (spark_ingest).
HITS_TEMPLATE = """
SELECT h.ts AS timestamp, h.ts::DATE AS date, h.country AS country_code, h.kind::VARCHAR AS kind, h.project,
       h.path AS url,
       CASE WHEN h.filename IS NOT NULL THEN
           {'filename': h.filename, 'project': f.project, 'version': f.version, 'type': f.package_type} END AS file,
       CASE WHEN a.agent_id IS NOT NULL THEN {
           'installer': {'name': a.installer_name, 'version': a.installer_version,
                         'subcommand': a.installer_subcommand},
           'python': a.python_full,
           'implementation': {'name': a.implementation_name, 'version': a.implementation_version},
           'distro': {'name': a.distro_name, 'version': a.distro_version, 'id': a.distro_id,
                      'libc': {'lib': a.libc_lib, 'version': a.libc_version}},
           'system': {'name': a.os_name, 'release': a.os_release},
           'cpu': a.cpu, 'openssl_version': a.openssl_version, 'setuptools_version': a.setuptools_version,
           'rustc_version': a.rustc_version, 'ci': a.ci} END AS details,
       h.client, {agent}, h.bytes, h.referrer, h.source_id, h.line_no
FROM hits h
LEFT JOIN agents a USING (agent_id)
LEFT JOIN files f USING (filename)
LEFT JOIN lake_marks m USING (source_id)
WHERE m.source_id IS NULL OR h.line_no > m.lines
"""
HITS_SQL = HITS_TEMPLATE.replace("{agent}", "h.agent_id")


# Every source the store's hits come from; a hit's source missing from `sources` (written by hand, or by a
# test) is marked by its last line.
SOURCES_SQL = """
SELECT source_id, name, head_hash, lines FROM sources
UNION ALL
SELECT source_id, '', '', coalesce(max(line_no), 0) FROM hit_rows
WHERE source_id NOT IN (SELECT source_id FROM sources) GROUP BY source_id
"""


@dataclass(frozen=True, slots=True)
class ExportSummary:
    hits: int                 # hits added to the lake
    days: int                 # days they fall on
    sources: int              # sources new to the lake or grown
    tables: tuple[str, ...]   # the other tables rewritten (those that changed)

    def describe(self, lake: Lake) -> str:
        if not self.hits and not self.tables:
            return f"The lake {lake.root} already holds everything in the store; nothing was added."
        rewritten = f"; rewrote {', '.join(self.tables)}" if self.tables else ""
        sources = f"{self.sources:,} source{'s' if self.sources != 1 else ''}"
        return (f"Exported {self.hits:,} hits on {self.days:,} days from {sources} "
                f"into the lake {lake.root}{rewritten}.")


def export_store(db_path: str | Path, lake: Lake) -> ExportSummary:
    """Add to `lake` what the store at `db_path` holds and the lake does not, in one committed job."""
    con = store.connect(db_path, read_only=True)
    try:
        return export_from(con, lake)
    finally:
        con.close()


def export_from(con: duckdb.DuckDBPyConnection, lake: Lake) -> ExportSummary:
    """Add to `lake` what the store open on `con` holds and the lake does not, in one committed job."""
    with ledger.job(lake) as job:
        exported = export_into(con, lake, job)
        if not exported.hits and not exported.tables and not job.sources:
            job.abandon()
        return exported


def export_into(con: duckdb.DuckDBPyConnection, lake: Lake, job: ledger.Job) -> ExportSummary:
    """Stage, in `job`, the store's hits the lake does not hold, the tables that changed, and the sources' marks."""
    state = ledger.read_state(lake)
    sources = _current_sources(con, state)
    _check_settings(con, lake, state)
    marks = pa.table({"source_id": pa.array(list(state.sources), pa.int32()),
                      "lines": pa.array([mark.lines for mark in state.sources.values()], pa.int64())})
    con.register("lake_marks", marks)
    hits, days = con.execute(f"SELECT count(*), count(DISTINCT date) FROM ({HITS_SQL})").fetchall()[0]
    if hits:
        con.execute(f"""COPY ({HITS_SQL}) TO {sql_literal(str(job.staged(HITS)))}
            (FORMAT parquet, PARTITION_BY (date), FILENAME_PATTERN '{job.file_prefix()}-{{i}}',
             OVERWRITE_OR_IGNORE)""").fetchall()
    con.unregister("lake_marks")
    tables = tuple(table for table in SNAPSHOT_TABLES if _changed(con, state, table))
    for table in tables:
        target = job.staged(table) / f"{job.file_prefix()}-{_fingerprint(con, table)}.parquet"
        con.execute(f"COPY (SELECT * FROM {table}) TO {sql_literal(str(target))} (FORMAT parquet)").fetchall()
    job.sources = {source_id: mark for source_id, mark in sources.items() if state.sources.get(source_id) != mark}
    return ExportSummary(hits, days, len(job.sources), tables)


def _current_sources(con: duckdb.DuckDBPyConnection, state: ledger.LedgerState) -> dict[int, ledger.SourceMark]:
    """The store's sources, checked against the lake's marks."""
    sources = {source_id: ledger.SourceMark(name, head_hash, lines) for source_id, name, head_hash, lines
               in con.execute(SOURCES_SQL).fetchall()}
    for source_id, mark in state.sources.items():
        now = sources.get(source_id)
        if now is None or now.head_hash != mark.head_hash or now.lines < mark.lines:
            raise LakeError(
                f"The lake holds {mark.lines:,} lines of {mark.name!r} (source {source_id}), which the store no "
                "longer holds (forgotten or replaced since the last export). Export into a new lake.")
    return sources


def _check_settings(con: duckdb.DuckDBPyConnection, lake: Lake, state: ledger.LedgerState) -> None:
    """A lake holds one store's clients: the same IP mode and key, or it could not count them together."""
    files = state.table_files("settings")
    if not files:
        return
    held = dict(con.execute(f"SELECT name, value FROM {parquet_files(lake, files)}").fetchall())
    settings = read_settings(con)
    for name, value in (("ip_mode", settings.ip_mode), ("ip_key_fingerprint", settings.key_fingerprint)):
        if held.get(name) not in (None, value):
            raise LakeError(f"The lake's clients were stored with another {name} ({held[name]}) than this store's "
                            f"({value}): they could not be counted together. Export into a new lake.")


def _fingerprint(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """A fingerprint of a table's rows (in any order), for telling whether it changed."""
    count, total = con.execute(f"SELECT count(*), coalesce(sum(hash(t)), 0) FROM {table} t").fetchall()[0]
    return f"{count:x}{int(total) % 2**64:016x}"


def _changed(con: duckdb.DuckDBPyConnection, state: ledger.LedgerState, table: str) -> bool:
    files = state.table_files(table)
    return not files or not files[0].endswith(f"-{_fingerprint(con, table)}.parquet")


