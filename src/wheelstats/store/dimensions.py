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
    """A parsed agent, and how an access log writes it (the key ingest joins on: agent_spellings), if known."""

    agent: Agent
    logged_agent: str | None = None


def add_agents(con: duckdb.DuckDBPyConnection, rows: Iterable[AgentRow]) -> int:
    """Add agents rows for agents the store does not hold, numbered after the highest id in
    agent-string order (so the same input always gives the same ids), and each row's logged
    spelling (an agent already held gets the new spelling only); how many agents were added."""
    rows = list(rows)
    if not rows:
        return 0
    known = _agent_ids(con, {row.agent.agent for row in rows})
    new = sorted({row.agent.agent: row.agent for row in rows if row.agent.agent not in known}.values(),
                 key=lambda agent: agent.agent)
    if new:
        first = con.execute("SELECT coalesce(max(agent_id), 0) + 1 FROM agents").fetchall()[0][0]
        spelled = {row.agent.agent: row.logged_agent for row in reversed(rows)}  # the first spelling of each
        columns = {
            "agent_id": pa.array(range(first, first + len(new)), pa.int32()),
            "logged_agent": pa.array([spelled[agent.agent] for agent in new], pa.string()),
        }
        for name in AGENT_COLUMNS:
            kind = pa.bool_() if name in _BOOLEAN_AGENT_COLUMNS else pa.string()
            columns[name] = pa.array([getattr(agent, name) for agent in new], kind)
        _insert("agents", pa.table(columns), con)
        known.update({agent.agent: agent_id for agent_id, agent in enumerate(new, start=first)})
    spellings = {row.logged_agent: known[row.agent.agent] for row in rows if row.logged_agent is not None}
    if spellings:
        _insert("agent_spellings", pa.table({
            "logged_agent": pa.array(list(spellings), pa.string()),
            "agent_id": pa.array(list(spellings.values()), pa.int32()),
        }), con, on_conflict="ON CONFLICT DO NOTHING")
    return len(new)


def _agent_ids(con: duckdb.DuckDBPyConnection, agents: set[str]) -> dict[str, int]:
    """agent string -> agent_id, for those of `agents` the store holds."""
    con.register("wanted_agents", pa.table({"agent": pa.array(sorted(agents), pa.string())}))
    found = dict(con.execute("SELECT agent, agent_id FROM agents JOIN wanted_agents USING (agent)").fetchall())
    con.unregister("wanted_agents")
    return found


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


def _insert(table_name: str, rows: pa.Table, con: duckdb.DuckDBPyConnection, on_conflict: str = "") -> None:
    con.register("new_dimension_rows", rows)
    con.execute(f"INSERT INTO {table_name} BY NAME SELECT * FROM new_dimension_rows {on_conflict}")
    # Not in a finally: in a transaction an error aborted, unregistering would raise and hide that error.
    con.unregister("new_dimension_rows")
