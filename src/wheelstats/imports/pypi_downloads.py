"""PyPI's own download records (`file_downloads`, as BigQuery exports them to Parquet) into the store.

Each record is a download: timestamp, country_code, url, project,
file{filename, project, version, type} and details{installer, python,
implementation, distro, system, cpu, ...}, linehaul's parse of the user agent
(no agent string, no address). Each distinct `details` becomes an agents row
(parsing.agents.agent_from_details), each file a files row, each record a
download hit; clients are unknown (no address was kept). A file is one
source, recognised by a fingerprint of its size, head and footer: importing it
again adds nothing. All of one file is imported in one transaction.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import duckdb

from wheelstats.parsing.agents import agent_from_details
from wheelstats.parsing.classify import canonical_sql
from wheelstats.parsing.escapes import sql_literal
from wheelstats.rollups import refresh_rollups
from wheelstats.store import dimensions, transaction

LOG_FORMAT = "pypi-file-downloads"
FINGERPRINTED_BYTES = 1 << 16   # of the head and of the footer (Parquet's metadata is at the end)
REQUIRED = ("timestamp", "project", "file", "details")
OPTIONAL = ("country_code",)


class RecordsError(ValueError):
    """Files that are not PyPI download records, said with what is wrong."""


@dataclass(frozen=True, slots=True)
class RecordsImport:
    files: int            # Parquet files read
    already: int          # of those, imported before (nothing added)
    downloads: int        # download hits added
    agents: int           # distinct details new to the store

    def describe(self) -> str:
        again = f" ({self.already:,} imported before, unchanged)" if self.already else ""
        files = f"{self.files:,} file{'s' if self.files != 1 else ''}"
        return (f"Imported {self.downloads:,} downloads from {files} of PyPI download records"
                f"{again}; {self.agents:,} new agents.")


def record_files(path: Path) -> list[Path]:
    """The Parquet files at `path` (a file, or a folder of them, searched through)."""
    if path.is_dir():
        files = sorted(path.rglob("*.parquet"))
        if not files:
            raise RecordsError(f"{str(path)!r} holds no .parquet files. Give a Parquet export of file_downloads.")
        return files
    if not path.is_file():
        raise RecordsError(f"{str(path)!r} does not exist. Give a Parquet file or a folder of them.")
    return [path]


def fingerprint(path: Path) -> str:
    size = path.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    with path.open("rb") as file:
        digest.update(file.read(FINGERPRINTED_BYTES))
        file.seek(max(size - FINGERPRINTED_BYTES, 0))
        digest.update(file.read())
    return digest.hexdigest()


def import_records(con: duckdb.DuckDBPyConnection, path: str | Path) -> RecordsImport:
    """Import every Parquet file of PyPI download records at `path`; those imported before add nothing."""
    files = record_files(Path(path))
    downloads = agents = already = 0
    for file in files:
        added = _import_file(con, file)
        if added is None:
            already += 1
        else:
            downloads, agents = downloads + added[0], agents + added[1]
    if downloads:
        refresh_rollups(con)
    return RecordsImport(len(files), already, downloads, agents)


def _import_file(con: duckdb.DuckDBPyConnection, file: Path) -> tuple[int, int] | None:
    """(downloads, new agents) from one file, or None if the store holds it already."""
    print_ = fingerprint(file)
    if con.execute("SELECT 1 FROM sources WHERE log_format = ? AND head_hash = ?", [LOG_FORMAT, print_]).fetchall():
        return None
    quoted = sql_literal(str(file))
    try:
        columns = {name for (name,) in con.execute(
            f"SELECT name FROM parquet_schema({quoted}) WHERE name IN {REQUIRED + OPTIONAL!r}").fetchall()}
    except duckdb.Error as error:
        raise RecordsError(f"{str(file)!r} is not a Parquet file DuckDB can read: {error}") from None
    missing = [name for name in REQUIRED if name not in columns]
    if missing:
        raise RecordsError(f"{str(file)!r} is not PyPI download records: it has no {', '.join(missing)} "
                           f"(file_downloads has {', '.join(REQUIRED)}, ...).")
    # PyPI's country_code is the country wheelstats keeps (parsing/countries' codes); an export without it: unknown.
    country = "country_code::VARCHAR" if "country_code" in columns else "NULL::VARCHAR"
    with transaction(con):
        source_id = con.execute(
            "INSERT INTO sources (name, head_hash, head_len, log_format) VALUES (?, ?, ?, ?) RETURNING source_id",
            [str(file.resolve()), print_, file.stat().st_size, LOG_FORMAT],
        ).fetchall()[0][0]
        con.execute(f"""CREATE OR REPLACE TEMP TABLE records AS
            SELECT timestamp::TIMESTAMP AS ts, {canonical_sql('coalesce(project, file.project)')} AS project,
                   file.filename AS filename, url, to_json(details)::VARCHAR AS agent_text, details,
                   row_number() OVER () AS line_no, {country} AS country
            FROM read_parquet({quoted})""")
        new_agents = con.execute(
            "SELECT DISTINCT agent_text, details FROM records WHERE agent_text NOT IN (SELECT agent FROM agents)"
        ).fetchall()
        dimensions.add_agents(con, (dimensions.AgentRow(agent_from_details(text, details))
                                    for text, details in new_agents))
        dimensions.add_files(con, (name for (name,) in con.execute(
            "SELECT DISTINCT filename FROM records WHERE filename IS NOT NULL "
            "AND filename NOT IN (SELECT filename FROM files)").fetchall()))
        downloads = dimensions.add_wide_hits(con, f"""
            SELECT r.ts, 'download' AS kind, r.project, r.filename,
                   coalesce(r.url, '/simple/' || r.project || '/' || r.filename) AS path,
                   a.agent_id, {source_id} AS source_id, r.line_no, r.country
            FROM records r LEFT JOIN agents a ON a.agent = r.agent_text""")
        con.execute("UPDATE sources SET lines = ?, \"offset\" = head_len, updated_at = current_timestamp "
                    "WHERE source_id = ?", [downloads, source_id])
        con.execute("DROP TABLE records")
    return downloads, len(new_agents)
