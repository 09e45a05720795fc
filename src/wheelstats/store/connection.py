"""Opening the store: one DuckDB file, created and migrated on first use, shared between processes.

Times are stored as naive TIMESTAMP values in UTC. Every connection sets the
session time zone to UTC so that date functions agree with that convention.
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from pathlib import Path

import duckdb

from wheelstats.store.schema import SCHEMA_VERSION, StoreError, migrate, newer_store_error, schema_version

DEFAULT_DB = "wheelstats.duckdb"
LOCK_WAIT_SECONDS = 10.0
LOCK_POLL_SECONDS = 0.1


def default_db_path() -> Path:
    return Path(os.environ.get("WHEELSTATS_DB", DEFAULT_DB))


def _open_waiting_for_lock(path: Path, read_only: bool, wait_seconds: float) -> duckdb.DuckDBPyConnection:
    """duckdb.connect, waiting while another process holds the file's lock (a writer's batch)."""
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as error:
            if "not a valid DuckDB database" in str(error):
                raise StoreError(
                    f"{str(path)!r} is not a wheelstats store (not a DuckDB file). Pass the store's path with --db."
                ) from None
            if "lock" not in str(error).lower():
                raise StoreError(f"Cannot open the store {str(path)!r}: {error}") from None
            if time.monotonic() >= deadline:
                raise StoreError(
                    f"The store {str(path)!r} is in use by another process. Wait for it to finish, or stop it."
                ) from None
            time.sleep(LOCK_POLL_SECONDS)
        except duckdb.Error as error:
            raise StoreError(f"{str(path)!r} is not a wheelstats store: {error}") from None


def connect(
    path: str | Path | None = None, *, read_only: bool = False, wait_seconds: float = LOCK_WAIT_SECONDS
) -> duckdb.DuckDBPyConnection:
    """Open (creating and migrating if needed) the store at `path`.

    DuckDB lets one process write a file at a time; while another holds it (the
    server's feeder writing a batch, say), wait up to `wait_seconds` for it.
    """
    path = Path(path) if path is not None else default_db_path()
    if read_only and not path.exists():
        raise StoreError(f"No store at {str(path)!r}. Run `wheelstats ingest` first, or pass --db.")
    con = _open_waiting_for_lock(path, read_only, wait_seconds)
    con.execute("SET TimeZone = 'UTC'")
    version = schema_version(con)
    if version > SCHEMA_VERSION:
        con.close()
        raise newer_store_error(version)
    if version < SCHEMA_VERSION:
        if read_only:  # migrate once, then read
            con.close()
            connect(path).close()
            return connect(path, read_only=True)
        migrate(con)
    return con


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection):
    con.execute("BEGIN")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
