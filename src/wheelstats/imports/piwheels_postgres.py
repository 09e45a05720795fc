"""Read a live piwheels PostgreSQL database as a dump, then import that dump.

Each table is streamed with `COPY (SELECT ...) TO STDOUT WITH (FORMAT csv,
HEADER)` into a file of a temporary folder (memory stays bounded by psycopg's
copy buffer), all from one read-only snapshot; the folder then goes through the
same `import_dump` as a maintainer's dump, so both routes give the same store.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import duckdb
import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from wheelstats.imports.piwheels import ImportSummary, import_dump
from wheelstats.imports.piwheels_dump import TABLES, DumpError


class PiwheelsDatabaseError(ValueError):
    """The piwheels database cannot be read."""


def describe_dsn(dsn: str) -> str:
    """The DSN without its password, for the sources row and messages."""
    try:
        parts = conninfo_to_dict(dsn)
    except psycopg.ProgrammingError as error:
        raise PiwheelsDatabaseError(f"Invalid PostgreSQL DSN {dsn!r}: {error}") from None
    user = f"{parts['user']}@" if parts.get("user") else ""
    port = f":{parts['port']}" if parts.get("port") else ""
    return f"postgresql://{user}{parts.get('host', '')}{port}/{parts.get('dbname', '')}"


def export_dump(dsn: str, folder: str | Path) -> list[str]:
    """Write the piwheels tables of the database at `dsn` into `folder`; return their names."""
    folder = Path(folder)
    written = []
    try:
        with psycopg.connect(dsn) as pg:
            pg.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            pg.read_only = True
            pg.execute("SET DateStyle = 'ISO, YMD'")
            pg.execute("SET IntervalStyle = 'postgres'")
            pg.execute("SET TimeZone = 'UTC'")
            for spec in TABLES.values():
                present = _table_columns(pg, spec.name)
                if not present:
                    continue
                missing = [c for c in spec.required if c not in present]
                if missing:
                    raise DumpError(
                        f"The table {spec.name} in {describe_dsn(dsn)} lacks the column"
                        f"{'s' if len(missing) > 1 else ''} {', '.join(missing)}: "
                        "is it a piwheels database?"
                    )
                columns = sql.SQL(", ").join(sql.Identifier(c) for c in spec.columns if c in present)
                query = sql.SQL("COPY (SELECT {} FROM {}) TO STDOUT WITH (FORMAT csv, HEADER)").format(
                    columns, sql.Identifier(spec.name)
                )
                with open(folder / f"{spec.name}.csv", "wb") as out, pg.cursor().copy(query) as copy:
                    for chunk in copy:
                        out.write(chunk)
                written.append(spec.name)
    except psycopg.Error as error:  # cannot connect, no permission, a broken connection...
        reason = " ".join(str(error).split()) or type(error).__name__
        raise PiwheelsDatabaseError(
            f"Cannot read the piwheels database {describe_dsn(dsn)}: {reason}"
        ) from None
    if not written:
        raise DumpError(f"No piwheels tables in {describe_dsn(dsn)}: is it a piwheels database?")
    return written


def _table_columns(pg: psycopg.Connection, table: str) -> set[str]:
    # pg_catalog, not information_schema: it lists the columns of tables the user may
    # not read too, so that a missing privilege is reported as such by the COPY.
    rows = pg.execute(
        "SELECT a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema() AND c.relname = %s AND a.attnum > 0 AND NOT a.attisdropped",
        [table],
    ).fetchall()
    return {row[0] for row in rows}


def import_postgres(
    con: duckdb.DuckDBPyConnection,
    dsn: str,
    *,
    ip_mode: str = "hash",
    key: bytes | None = None,
    work_dir: str | Path | None = None,
    countries: bool = True,
) -> ImportSummary:
    """Import a live piwheels database; the tables pass through a temporary folder."""
    name = f"piwheels-db:{describe_dsn(dsn)}"
    with tempfile.TemporaryDirectory(prefix="wheelstats-piwheels-", dir=work_dir) as folder:
        export_dump(dsn, folder)
        return import_dump(con, folder, ip_mode=ip_mode, key=key, source_name=name, countries=countries)
