"""The rows hits point to, added as new ones turn up: agents and files, each parsed once.

Ingest (from access logs) and the piwheels import both add them here, so an
agent or a file is stored the same way whichever way it came in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields

import duckdb
import pyarrow as pa

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
        "agent_id": pa.array(range(first, first + len(rows)), pa.int32()),
        "logged_agent": pa.array([row.logged_agent for row in rows], pa.string()),
    }
    for name in AGENT_COLUMNS:
        kind = pa.bool_() if name in _BOOLEAN_AGENT_COLUMNS else pa.string()
        columns[name] = pa.array([getattr(row.agent, name) for row in rows], kind)
    _insert("agents", pa.table(columns), con)
    return len(rows)


def parsed_files(filenames: Iterable[str]) -> pa.Table:
    """The `files` columns parsed from each filename (project, version, tags, valid)."""
    parsed: list[DistFile] = [parse_filename(name) for name in filenames]
    columns = {name: pa.array([getattr(f, name) for f in parsed], pa.string()) for name in FILE_COLUMNS[:-1]}
    columns["valid"] = pa.array([f.valid for f in parsed], pa.bool_())
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
