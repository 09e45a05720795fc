"""Logs into the lake on Apache Spark: the store's own ingest, run on the executors, one task per log.

Each task ingests its log into a store in memory (ingest.ingest_paths: the same
formats, rules, agents, account and checkpoints as the embedded store), seeded
with the lake's sources so that a grown log goes on from its mark, writes its
hits as the lake holds them (agents by their text) into one Parquet file in the
job's staging folder, and hands back its small rows (agents, files, the account,
its source) as one Arrow record per table. The driver numbers the new agents
after the lake's and writes their ids beside the tasks' hits; a second task per
log gives its hits their agents' ids and writes them by day into the job's
staging folder (DuckDB on the executors: the hits never pass through Spark's
rows, which cost ten times as much CPU a hit); the small tables are merged in a
store in memory and staged by export.export_into; the job commits as every lake
job does (ledger.py).

Every client is hashed with the lake's key (LAKE/_lake.key, made once), so a
client is one client across tasks and jobs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import duckdb
import pyarrow as pa

from wheelstats import store
from wheelstats.ingest import ingest_paths
from wheelstats.lake import ledger
from wheelstats.lake.export import HITS_TEMPLATE, export_into
from wheelstats.lake.layout import HITS, Lake, LakeError
from wheelstats.lake.working_store import number_sources_after, working_store
from wheelstats.parsing.escapes import sql_literal
from wheelstats.parsing.formats import AUTO_FORMAT
from wheelstats.store import privacy
from wheelstats.store.settings import IP_MODE, KEY_FINGERPRINT, remember

KEY_FILE = "_lake.key"
# The staging folder the first tasks write their hits into (agents by their text), read by the second; not a
# table: the job's staging folder, with it, is removed whether the job commits or not.
TASK_HITS = "task-hits"
AGENT_IDS = "agent-ids.parquet"  # in it: the agents' ids the driver gave, for the tasks that write the hits by day
# The small tables a task hands back, each as one record (an Arrow IPC stream of its rows).
RECORD_TABLES = ("agents", "files", "sources", "ignored", "rejected", "reject_samples")
TASK_HITS_SQL = HITS_TEMPLATE.replace("{agent}", "a.agent AS agent").replace(
    "LEFT JOIN lake_marks m USING (source_id)\nWHERE m.source_id IS NULL OR h.line_no > m.lines\n", "")


@dataclass(frozen=True, slots=True)
class TaskSettings:
    """What every task needs: how to read the logs, how to store clients, and the lake's sources."""

    log_format: str
    escape: str
    client_from: str
    fields: tuple[str, ...]
    ip_mode: str
    key: bytes | None
    sources: bytes        # the lake's sources rows, as an Arrow IPC stream
    hits_folder: str      # where each task writes its hits, one Parquet file (<source_id>.parquet) per task


@dataclass(frozen=True, slots=True)
class LakeIngest:
    logs: int
    lines: int
    hits: int
    ignored: int
    rejected: int

    def describe(self, lake: Lake) -> str:
        return (f"lines read = hits + ignored + rejected: {self.lines:,} = {self.hits:,} + {self.ignored:,} + "
                f"{self.rejected:,}, from {self.logs:,} log{'s' if self.logs != 1 else ''} into the lake {lake.root}")


def lake_key(lake: Lake, ip_mode: str) -> bytes | None:
    """The lake's key for hashing clients (made on first use), or None when clients are not hashed."""
    if ip_mode != "hash":
        return None
    path = lake.root / KEY_FILE
    return privacy.read_key(path) or privacy.create_key(path)


def _check_clients(lake: Lake, merged: duckdb.DuckDBPyConnection, ip_mode: str, key: bytes | None) -> None:
    """The lake's clients and these would be counted together: the same IP mode, the same key."""
    stored_mode = remember(merged, IP_MODE, ip_mode)
    if stored_mode != ip_mode:
        raise LakeError(f"The lake's clients were stored with --ip {stored_mode}; ingest with --ip {stored_mode}.")
    if key is not None and remember(merged, KEY_FINGERPRINT, privacy.fingerprint(key)) != privacy.fingerprint(key):
        raise LakeError(f"The lake's clients were hashed with another key than {str(lake.root / KEY_FILE)!r} "
                        "(its store's, if it was exported): copy that store's key file there to ingest more.")


def ingest_on_spark(
    spark, lake: Lake, paths: list[str], *, log_format: str = AUTO_FORMAT, escape: str = "auto",
    client_from: str = "remote-addr", fields: tuple[str, ...] = (), ip_mode: str = "hash",
) -> LakeIngest:
    """Ingest `paths` into `lake` on `spark`, in one committed job."""
    paths = [str(Path(path).resolve()) for path in paths]
    with ledger.job(lake) as job, working_store(lake) as merged:
        key = lake_key(lake, ip_mode)
        _check_clients(lake, merged, ip_mode, key)
        lines_before = dict(merged.execute("SELECT source_id, lines FROM sources").fetchall())
        first_new = max(lines_before, default=0) + 1
        task_hits = job.staged(TASK_HITS)
        settings = TaskSettings(log_format, escape, client_from, fields, ip_mode, key,
                                _arrow_bytes(merged.sql("SELECT * FROM sources").to_arrow_table()), str(task_hits))
        tasks = spark.createDataFrame([(path, first_new + n) for n, path in enumerate(paths)],
                                      "path string, source_id int").repartition(len(paths))
        account = Counter()
        for table, record in tasks.mapInArrow(partial(_ingest_tasks, settings), RECORD_SCHEMA).collect():
            rows = pa.ipc.open_stream(record).read_all()
            _merge(merged, table, rows)
            if table in ("ignored", "rejected"):
                account[table] += sum(rows.column("lines").to_pylist())
        agent_ids = task_hits / AGENT_IDS
        merged.execute(f"COPY (SELECT agent, agent_id FROM agents) TO {sql_literal(str(agent_ids))} (FORMAT parquet)")
        writing = DayWriting(str(task_hits), str(agent_ids), str(job.staged(HITS)), job.file_prefix())
        hit_count = sum(row["hits"] for row in tasks.mapInArrow(partial(_write_by_day, writing),
                                                                 "hits long").collect())
        exported = export_into(merged, lake, job)
        if not hit_count and not exported.tables and not job.sources:
            job.abandon()
        lines_after = dict(merged.execute("SELECT source_id, lines FROM sources").fetchall())
        lines = sum(after - lines_before.get(source_id, 0) for source_id, after in lines_after.items())
        return LakeIngest(len(paths), lines, hit_count, account["ignored"], account["rejected"])


@dataclass(frozen=True, slots=True)
class DayWriting:
    """What the second tasks need: the first tasks' hits, the agents' ids, and where the hits go by day."""

    task_hits: str     # <source_id>.parquet per log, agents by their text
    agent_ids: str     # a Parquet file of agent -> agent_id, numbered by the driver
    hits_folder: str   # the job's staged hits, a folder per day
    file_prefix: str


def _write_by_day(writing: DayWriting, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """On an executor: a task's hits with their agents' ids, written by day as the lake holds them (DuckDB,
    on one core: the hits never pass through Spark's rows); the number written."""
    for batch in batches:
        for task in batch.to_pylist():
            source_id = task["source_id"]
            con = duckdb.connect()
            try:
                con.execute("SET threads = 1")
                written = con.execute(f"""
                    COPY (SELECT * RENAME (agent AS agent_id) FROM (
                            SELECT h.* REPLACE (i.agent_id AS agent)
                            FROM read_parquet({sql_literal(str(Path(writing.task_hits) / f"{source_id}.parquet"))}) h
                            LEFT JOIN read_parquet({sql_literal(writing.agent_ids)}) i USING (agent)))
                    TO {sql_literal(writing.hits_folder)} (FORMAT parquet, PARTITION_BY (date),
                        FILENAME_PATTERN '{writing.file_prefix}-{source_id}-{{i}}', OVERWRITE_OR_IGNORE)""").fetchall()
            finally:
                con.close()
            yield pa.RecordBatch.from_pydict({"hits": [written[0][0]]}, schema=pa.schema([("hits", pa.int64())]))


# What a task hands back: one record (an Arrow IPC stream of its rows) per small table.
RECORD_SCHEMA = "record_table string, record binary"
RECORD_ARROW_SCHEMA = pa.schema([pa.field("record_table", pa.string()), pa.field("record", pa.binary())])


def _merge(con: duckdb.DuckDBPyConnection, table: str, rows: pa.Table) -> None:
    """A task's rows of `table` into the merged store: new agents numbered after its own, new files,
    its sources' rows as they are now, its account rows added."""
    con.register("task_rows", rows)
    if table == "agents":
        con.execute("""INSERT INTO agents BY NAME
            SELECT (SELECT coalesce(max(agent_id), 0) FROM agents) + row_number() OVER (ORDER BY agent) AS agent_id,
                   * EXCLUDE (agent_id)
            FROM task_rows WHERE agent NOT IN (SELECT agent FROM agents)""")
    elif table == "files":
        con.execute("INSERT INTO files BY NAME SELECT * FROM task_rows "
                    "WHERE filename NOT IN (SELECT filename FROM files)")
    else:
        if table == "sources":
            con.execute("DELETE FROM sources WHERE source_id IN (SELECT source_id FROM task_rows)")
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM task_rows")
    con.unregister("task_rows")


def _ingest_tasks(settings: TaskSettings, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """On an executor: each task's log into a store in memory, its hits into Parquet, its small tables back."""
    for batch in batches:
        for task in batch.to_pylist():
            yield _ingest_one(settings, task["path"], task["source_id"])


def _ingest_one(settings: TaskSettings, path: str, source_id: int) -> pa.RecordBatch:
    con = store.connect(":memory:")
    try:
        con.execute("SET threads = 1")  # a task is one core: Spark runs as many tasks as it has cores
        con.register("held_sources", pa.ipc.open_stream(settings.sources).read_all())
        con.execute("INSERT INTO sources BY NAME SELECT * FROM held_sources")
        # A new source takes the number the driver gave this task.
        number_sources_after(con, source_id - 1)
        ingest_paths(con, [path], log_format=settings.log_format, escape=settings.escape,
                     client_from=settings.client_from, fields=settings.fields, ip_mode=settings.ip_mode,
                     key=settings.key)
        # Named by the source: a task Spark runs again writes the same file again.
        target = Path(settings.hits_folder) / f"{source_id}.parquet"
        con.execute(f"COPY ({TASK_HITS_SQL}) TO {sql_literal(str(target))} (FORMAT parquet)").fetchall()
        touched = [row[0] for row in con.execute(
            """SELECT s.source_id FROM sources s LEFT JOIN held_sources h USING (source_id)
               WHERE h.source_id IS NULL OR s.lines <> h.lines OR s."offset" <> h."offset" """).fetchall()]
        return _records(con, touched)
    finally:
        con.close()


def _arrow_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def _records(con: duckdb.DuckDBPyConnection, touched: list[int]) -> pa.RecordBatch:
    """The task's small tables, one record each (its sources and their account only: the lake has the rest)."""
    ids = ", ".join(map(str, touched)) or "NULL"
    records = []
    for table in RECORD_TABLES:
        where = "" if table in ("agents", "files") else f"WHERE source_id IN ({ids})"
        records.append(_arrow_bytes(con.sql(f"SELECT * FROM {table} {where}").to_arrow_table()))
    return pa.RecordBatch.from_arrays(
        [pa.array(RECORD_TABLES, pa.string()), pa.array(records, pa.binary())], schema=RECORD_ARROW_SCHEMA)
