"""The rows hits point to, added as new ones turn up: agents and files, each parsed once; and
the hits' own dictionaries (projects, filenames, paths, referrers, raw client addresses).

Ingest (from access logs) and the piwheels import both add them here, so an
agent or a file is stored the same way whichever way it came in. Hits given
with the old wide columns (names and text, as `hits` shows them) go into the
narrow `hit_rows` through `add_wide_hits`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields

import duckdb
import numpy as np
import pyarrow as pa

from wheelstats import arrays
from wheelstats.store.privacy import stored_client_number_sql
from wheelstats.store.schema import client_text_sql, implied_path_sql, to_the_second_sql

from wheelstats.parsing.agents import AGENT_COLUMNS, Agent
from wheelstats.parsing.filenames import DistFile, parse_filename

FILE_COLUMNS = ("filename", "project", "version", "package_type", "python_tag", "abi_tag", "platform_tag", "valid")
_BOOLEAN_AGENT_COLUMNS = {f.name for f in fields(Agent) if "bool" in str(f.type)}


@dataclass(frozen=True, slots=True)
class AgentRow:
    """A parsed agent, and how an access log writes it (the key ingest joins on), if that is known."""

    agent: Agent
    logged_agent: str | None = None


def add_agents(con: duckdb.DuckDBPyConnection, rows: Iterable[AgentRow]) -> int:
    """Add agents rows, numbered after the highest id in agent-string order (so the same input
    always gives the same ids); how many were added. The agents must be new to the store."""
    rows = sorted(rows, key=lambda row: row.agent.agent)
    if not rows:
        return 0
    first = con.execute("SELECT coalesce(max(agent_id), 0) + 1 FROM agents").fetchall()[0][0]
    columns = {
        "agent_id": arrays.numbers(np.arange(first, first + len(rows), dtype=np.int32), pa.int32()),
        "logged_agent": arrays.from_python([row.logged_agent for row in rows], pa.string()),
    }
    for name in AGENT_COLUMNS:
        kind = pa.bool_() if name in _BOOLEAN_AGENT_COLUMNS else pa.string()
        columns[name] = arrays.from_python([getattr(row.agent, name) for row in rows], kind)
    _insert("agents", pa.table(columns), con)
    return len(rows)


def parsed_files(filenames: Iterable[str]) -> pa.Table:
    """The `files` columns parsed from each filename (project, version, tags, valid)."""
    parsed: list[DistFile] = [parse_filename(name) for name in filenames]
    columns = {name: arrays.from_python([getattr(f, name) for f in parsed], pa.string()) for name in FILE_COLUMNS[:-1]}
    columns["valid"] = arrays.from_python([f.valid for f in parsed], pa.bool_())
    return pa.table(columns)


def add_files(con: duckdb.DuckDBPyConnection, filenames: Iterable[str]) -> int:
    """Add files rows for filenames the store does not hold yet, parsed from the names; how many."""
    rows = parsed_files(filenames)
    if rows.num_rows:
        _insert("files", rows, con)
    return rows.num_rows


def _insert(table_name: str, rows: pa.Table, con: duckdb.DuckDBPyConnection) -> None:
    con.register("new_dimension_rows", rows)
    con.execute(f"INSERT INTO {table_name} BY NAME SELECT * FROM new_dimension_rows")
    # Not in a finally: in a transaction an error aborted, unregistering would raise and hide that error.
    con.unregister("new_dimension_rows")


@dataclass(frozen=True, slots=True)
class HitDictionary:
    """A table of distinct values the hits point to by id (hit_projects, hit_files, ...)."""

    table: str
    id_column: str
    value_column: str


PROJECTS = HitDictionary("hit_projects", "project_id", "project")
FILES = HitDictionary("hit_files", "file_id", "filename")
PATHS = HitDictionary("hit_paths", "path_id", "path")
REFERRERS = HitDictionary("hit_referrers", "referrer_id", "referrer")
HIT_DICTIONARIES = (PROJECTS, FILES, PATHS, REFERRERS)
WIDE_COLUMNS = ("ts", "kind", "project", "filename", "path", "client", "agent_id", "bytes", "referrer", "source_id",
                "line_no")


class KnownIds:
    """One dictionary's ids by value, as far as this process has seen them: each value is
    looked up (or added) in the store once."""

    def __init__(self, dictionary: HitDictionary):
        self.dictionary = dictionary
        self.ids: dict[str, int] = {}

    def learn(self, con: duckdb.DuckDBPyConnection, values: list[str]) -> None:
        """Find the ids of values not known yet (distinct), adding the values the store does not hold yet."""
        self.ids.update(_ids_of(con, self.dictionary, values))

    def forget_unsaved(self) -> None:
        """After a rollback: ids learnt in it may not be in the store."""
        self.ids.clear()


def _ids_of(con: duckdb.DuckDBPyConnection, dictionary: HitDictionary, values: list[str]) -> dict[str, int]:
    table, id_column, value_column = dictionary.table, dictionary.id_column, dictionary.value_column
    con.register("wanted_values", pa.table({"value": arrays.from_python(values, pa.string())}))
    add_to_dictionary(con, dictionary, "SELECT value FROM wanted_values")
    found = dict(con.execute(
        f"SELECT {value_column}, {id_column} FROM {table} WHERE {value_column} IN (SELECT value FROM wanted_values)"
    ).fetchall())
    con.unregister("wanted_values")
    return found


def client_ids(con: duckdb.DuckDBPyConnection, numbers: np.ndarray, addresses: list[str] | None) -> np.ndarray:
    """The hit_clients id of each client number (uint64), adding the numbers the store does not hold yet
    (with their addresses, under --ip raw), numbered after the highest id in number order.

    One join finds the held ones (built on the few wanted numbers, not on the store's clients), and the
    new rows are one insert: the store's clients grow with every run, a block's new ones do not."""
    distinct, first, inverse = np.unique(numbers, return_index=True, return_inverse=True)
    con.register("wanted_clients", pa.table({"client": arrays.numbers(distinct, pa.uint64())}))
    held = con.execute(
        "SELECT w.client, h.client_id FROM wanted_clients w JOIN hit_clients h USING (client)"
    ).fetchnumpy()
    con.unregister("wanted_clients")
    ids = np.full(len(distinct), -1, dtype=np.int32)
    ids[np.searchsorted(distinct, held["client"])] = held["client_id"]
    new = np.flatnonzero(ids < 0)
    if len(new):
        after = con.execute("SELECT coalesce(max(client_id), 0) FROM hit_clients").fetchall()[0][0]
        ids[new] = np.arange(after + 1, after + 1 + len(new), dtype=np.int32)
        new_addresses = [addresses[i] for i in first[new].tolist()] if addresses is not None else [None] * len(new)
        _insert("hit_clients", pa.table({
            "client_id": arrays.numbers(ids[new], pa.int32()), "client": arrays.numbers(distinct[new], pa.uint64()),
            "address": arrays.from_python(new_addresses, pa.string()),
        }), con)
    return ids[inverse]


def add_to_dictionary(
    con: duckdb.DuckDBPyConnection, dictionary: HitDictionary, select_sql: str, params: list | None = None
) -> None:
    """Give the values `select_sql` yields (its one column; NULLs aside) ids in `dictionary`, if new."""
    con.execute(f"""INSERT INTO {dictionary.table} ({dictionary.id_column}, {dictionary.value_column})
        SELECT (SELECT coalesce(max({dictionary.id_column}), 0) FROM {dictionary.table})
               + row_number() OVER (ORDER BY value), value
        FROM (SELECT DISTINCT value FROM ({select_sql}) t(value) WHERE value IS NOT NULL
              EXCEPT SELECT {dictionary.value_column} FROM {dictionary.table})""", params or [])


def add_wide_hits(
    con: duckdb.DuckDBPyConnection, select_sql: str, params: list | None = None, *, ip_mode: str | None = None
) -> int:
    """Store hits given by `select_sql` with the old wide columns (WIDE_COLUMNS, any of them; the
    client as the old table kept it: the keyed hash in hex, or the address) and, if it has one, a
    `country` column (parsing/countries' codes); how many.

    Names, paths and referrers join their dictionaries; a path is kept only where it is not the
    one its kind, project and file make. `ip_mode` says how the clients were stored (None: judge
    each by its form, see privacy.stored_client_number_sql).
    """
    con.execute(f"CREATE OR REPLACE TEMP TABLE wide_hits_in AS {select_sql}", params or [])
    present = {name for (name,) in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE table_name = 'wide_hits_in' AND NOT internal "
        "AND database_name = 'temp'"
    ).fetchall()}
    column = {name: (name if name in present else "NULL") for name in WIDE_COLUMNS}
    # A country (parsing/countries) only where the hits come with one (hit_rows has it since version 8).
    country = ", country" if "country" in present else ""
    con.execute(f"""CREATE OR REPLACE TEMP TABLE wide_hits_typed AS
        SELECT {to_the_second_sql(column['ts'])} AS ts, {column['kind']}::VARCHAR::hit_kind AS kind,
               {column['project']}::VARCHAR AS project, {column['filename']}::VARCHAR AS filename,
               {column['path']}::VARCHAR AS path, {column['client']}::VARCHAR AS client,
               {column['agent_id']}::INTEGER AS agent_id, {column['bytes']}::BIGINT AS bytes,
               {column['referrer']}::VARCHAR AS referrer, {column['source_id']}::INTEGER AS source_id,
               {column['line_no']}::BIGINT AS line_no{country},
               {stored_client_number_sql(column['client'] + '::VARCHAR', ip_mode)} AS client_number,
               path IS DISTINCT FROM ({implied_path_sql('kind', 'project', 'filename')}) AS own_path
        FROM wide_hits_in""")
    for dictionary, where in ((PROJECTS, ""), (FILES, ""), (REFERRERS, ""), (PATHS, "WHERE own_path")):
        add_to_dictionary(con, dictionary, f"SELECT {dictionary.value_column} FROM wide_hits_typed {where}")
    con.execute(f"""INSERT INTO hit_clients
        SELECT (SELECT coalesce(max(client_id), 0) FROM hit_clients) + row_number() OVER (ORDER BY client_number),
               client_number, CASE WHEN client <> {client_text_sql('client_number')} THEN client END
        FROM (SELECT DISTINCT ON (client_number) client_number, client FROM wide_hits_typed
              WHERE client_number IS NOT NULL ORDER BY client_number)
        WHERE client_number NOT IN (SELECT client FROM hit_clients)""")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE wide_hits_narrowed AS
        SELECT w.ts, w.kind, p.project_id, f.file_id, CASE WHEN w.own_path THEN pa.path_id END AS path_id,
               c.client_id, w.agent_id, w.bytes, r.referrer_id, w.source_id, w.line_no{country}
        FROM wide_hits_typed w
        LEFT JOIN hit_clients c ON c.client = w.client_number
        LEFT JOIN hit_projects p ON p.project = w.project
        LEFT JOIN hit_files f ON f.filename = w.filename
        LEFT JOIN hit_paths pa ON pa.path = w.path
        LEFT JOIN hit_referrers r ON r.referrer = w.referrer""")
    if _has_file_sizes(con):
        count = add_hit_rows(con, "wide_hits_narrowed")
    else:  # the version 6 migration, before hit_files.size (version 12)
        count = con.execute("INSERT INTO hit_rows BY NAME SELECT * FROM wide_hits_narrowed").fetchall()[0][0]
    for table in ("wide_hits_narrowed", "wide_hits_typed", "wide_hits_in"):
        con.execute(f"DROP TABLE {table}")
    return count


def add_hit_rows(con: duckdb.DuckDBPyConnection, rows: str) -> int:
    """Insert `rows` (a relation's name: hit_rows' columns, a download's bytes as the difference from its file's
    size, store.schema version 12: file_sizes, set_file_sizes) into hit_rows, in their order; how many."""
    return con.execute(f"INSERT INTO hit_rows BY NAME SELECT * FROM {rows}").fetchall()[0][0]


def file_sizes(con: duckdb.DuckDBPyConnection, file_ids: list[int]) -> dict[int, int | None]:
    """The size of each of these files (None: it has none yet)."""
    return dict(con.execute("SELECT file_id, size FROM hit_files WHERE file_id IN (SELECT unnest(?::INTEGER[]))",
                            [file_ids]).fetchall())


def set_file_sizes(con: duckdb.DuckDBPyConnection, sizes: dict[int, int]) -> None:
    """Give files that have no size yet these sizes (by file id): the bytes their downloads send most often."""
    if sizes:
        con.register("new_file_sizes", pa.table({"file_id": arrays.from_python(list(sizes), pa.int32()),
                                                 "size": arrays.from_python(list(sizes.values()), pa.int64())}))
        con.execute("""UPDATE hit_files SET size = n.size FROM new_file_sizes n
            WHERE hit_files.file_id = n.file_id AND hit_files.size IS NULL""")
        con.unregister("new_file_sizes")


def _has_file_sizes(con: duckdb.DuckDBPyConnection) -> bool:
    return bool(con.execute(
        "SELECT count(*) FROM duckdb_columns() WHERE table_name = 'hit_files' AND column_name = 'size' "
        "AND database_name = current_database()").fetchall()[0][0])
