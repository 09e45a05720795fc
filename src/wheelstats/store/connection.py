"""Opening the store: one DuckDB file, created and migrated on first use, shared between processes.

Only a store is ever changed. Before DuckDB opens a file it is checked: a folder,
a file that is not DuckDB's, or one that lacks blocks its header counts (a store
cut short by a full disk or a bad copy) is refused, and so is a DuckDB database
that is not a wheelstats store or is one from a newer wheelstats; such a file is
left byte for byte as it was. A missing file (or an empty DuckDB database) is
made a store only by a command that writes; a read says to ingest first.

Times are stored as naive TIMESTAMP values in UTC. Every connection sets the
session time zone to UTC so that date functions agree with that convention.
"""

from __future__ import annotations

import os
import struct
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from wheelstats.store.errors import (
    NewerStore,
    NoStore,
    NotAStore,
    StoreDamaged,
    StoreError,
    StoreInUse,
    StoreIsAFolder,
    from_duckdb,
)
from wheelstats.store.schema import SCHEMA_VERSION, migrate

DEFAULT_DB = "wheelstats.duckdb"
LOCK_WAIT_SECONDS = 10.0
LOCK_POLL_SECONDS = 0.1

# DuckDB's file layout: a 4 KiB main header ("DUCK" at byte 8), then two 4 KiB
# database headers (the one with the higher iteration is current), then blocks.
HEADER_BYTES = 3 * 4096
MAGIC_AT, MAGIC = 8, b"DUCK"
DATABASE_HEADERS = (4096, 8192)
# In a database header: checksum, iteration, meta block, free list, block count, then block size.
ITERATION_AT, BLOCK_COUNT_AT = 8, 32
# The tables whose presence (with meta's schema_version) makes a DuckDB database a wheelstats store
# (its hits in `hits` before schema version 6, in `hit_rows` since).
STORE_TABLES = frozenset({"meta", "sources"})
HITS_TABLES = frozenset({"hits", "hit_rows"})


def default_db_path() -> Path:
    return Path(os.environ.get("WHEELSTATS_DB", DEFAULT_DB))


def wal_path(path: Path) -> Path:
    return path.with_name(path.name + ".wal")


def check_file(path: Path, wait_seconds: float = LOCK_WAIT_SECONDS) -> bool:
    """Whether a file is at `path`; refuses what cannot be a store before DuckDB opens (and perhaps writes) it.

    A doubt is settled under DuckDB's lock: another process may be making the
    store at this moment (an empty file, for an instant), and a store's last
    blocks may be free ones, which DuckDB's header counts but the file need not
    hold; only missing blocks beyond the free ones make a store cut short.
    """
    if not path.exists():
        return False
    problem = _problem(path)
    if problem is None:
        return True
    if isinstance(problem, StoreIsAFolder):
        raise problem
    try:
        con = _open_waiting_for_lock(path, True, wait_seconds)
    except StoreInUse:
        raise
    except StoreError:
        raise problem from None
    try:
        free_blocks = con.execute(
            "SELECT free_blocks FROM pragma_database_size() WHERE database_name = current_database()"
        ).fetchone()[0]
        problem = _problem(path, free_blocks=free_blocks)
    except duckdb.Error:
        pass  # DuckDB cannot say: the first finding stands
    finally:
        con.close()
    if problem is not None:
        raise problem
    return True


@dataclass(frozen=True, slots=True)
class BlockCount:
    """How many blocks of what size DuckDB's current database header counts."""

    blocks: int
    block_size: int

    @property
    def file_size(self) -> int:
        return HEADER_BYTES + self.blocks * self.block_size


def _problem(path: Path, *, free_blocks: int = 0) -> StoreError | None:
    """Why the file at `path` cannot be a store, judged from its size and first bytes; None if it may be one.

    Up to `free_blocks` blocks may be missing at its end.
    """
    if path.is_dir():
        return StoreIsAFolder(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as file:
            head = file.read(HEADER_BYTES)
    except OSError as error:
        return StoreError(f"Cannot read the store {str(path)!r}: {error.strerror}.")
    if size == 0:
        return NotAStore(path, "an empty file", "Delete it to make a new store there, or pass another --db.")
    if head[MAGIC_AT:MAGIC_AT + len(MAGIC)] != MAGIC:
        return NotAStore(path, "not a DuckDB file")
    if len(head) < HEADER_BYTES:
        return StoreDamaged(path, f"cut short: {size:,} bytes, less than DuckDB's headers")
    counted = _block_count(head)
    if counted is not None and size < counted.file_size:
        missing = -(-(counted.file_size - size) // counted.block_size)
        if missing > free_blocks:
            return StoreDamaged(path, f"cut short: {size:,} of its {counted.file_size:,} bytes")
    return None


def _block_count(head: bytes) -> BlockCount | None:
    """The blocks the current database header counts, or None if the header is unfamiliar."""
    current = max(DATABASE_HEADERS, key=lambda at: struct.unpack_from("<Q", head, at + ITERATION_AT)[0])
    blocks, block_size = struct.unpack_from("<QQ", head, current + BLOCK_COUNT_AT)
    if not (4096 <= block_size <= 1 << 30 and block_size & (block_size - 1) == 0 and blocks < 1 << 40):
        return None
    return BlockCount(blocks, block_size)


def _open_waiting_for_lock(path: Path, read_only: bool, wait_seconds: float) -> duckdb.DuckDBPyConnection:
    """duckdb.connect, waiting while another process holds the file's lock (a writer's batch)."""
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as error:
            explained = from_duckdb(error, path)
            if explained is not None:
                raise explained from None
            if "lock" not in str(error).lower():
                raise StoreError(f"Cannot open the store {str(path)!r}: {error}") from None
            if time.monotonic() >= deadline:
                raise StoreInUse(path) from None
            time.sleep(LOCK_POLL_SECONDS)
        except duckdb.Error as error:
            raise from_duckdb(error, path) or NotAStore(path, str(error).splitlines()[0]) from None


def stored_version(con: duckdb.DuckDBPyConnection, path: Path) -> int | None:
    """The schema version of the wheelstats store open on `con`; None for an empty DuckDB database.

    Raises NotAStore for a DuckDB database that holds anything else. Reads only.
    """
    tables = {name for (name,) in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'main'"
    ).fetchall()}
    if not tables:
        views, sequences = con.execute(
            "SELECT (SELECT count(*) FROM duckdb_views() WHERE database_name = current_database() AND NOT internal),"
            " (SELECT count(*) FROM duckdb_sequences() WHERE database_name = current_database())"
        ).fetchone()
        if views or sequences:
            raise NotAStore(path, "a DuckDB database of something else", "Pass the store's path with --db.")
        return None
    if not (STORE_TABLES <= tables and tables & HITS_TABLES):
        raise NotAStore(
            path, f"a DuckDB database of something else, with {len(tables)} other table{'s' * (len(tables) != 1)}",
            "It is left as it is. Pass the store's path with --db.",
        )
    rows = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()
    if not rows or not str(rows[0][0]).isdigit():
        raise NotAStore(path, "its meta table has no schema version", "Pass the store's path with --db.")
    return int(rows[0][0])


IN_MEMORY = ":memory:"


def _make_store_file(path: Path) -> None:
    """Put a new store at `path` whole (every migration applied), unless a file is already there.

    DuckDB makes a new file by truncating whatever is at the path: a second
    process making the same store an instant later would cut the first one's
    headers away. So the store is made under a name of its own and linked into
    place, which fails rather than replaces if another process was first; and
    a reader finds either no store or a whole one, never an empty database.
    """
    made = path.with_name(f".{path.name}.{os.getpid()}.new")
    try:
        con = duckdb.connect(str(made))
        try:
            migrate(con)
        finally:
            con.close()
        os.link(made, path)
    except (OSError, duckdb.Error):
        pass  # another process was first (theirs is opened), or no link here: DuckDB makes the file as it opens it
    finally:
        made.unlink(missing_ok=True)
        wal_path(made).unlink(missing_ok=True)


def _open_checked(path: Path, read_only: bool, wait_seconds: float) -> tuple[duckdb.DuckDBPyConnection, int]:
    """A connection to the store at `path` (or to a new or empty file) and its schema version (0: none yet)."""
    exists = check_file(path, wait_seconds)
    if not exists:
        if read_only:
            raise NoStore(path)
        if not path.parent.is_dir():
            raise StoreError(
                f"Cannot make the store {str(path)!r}: the folder {str(path.parent)!r} does not exist. "
                "Create it, or pass another --db."
            )
        if str(path) != IN_MEMORY:  # DuckDB's name for a database in memory, not a file to make
            _make_store_file(path)
    elif not read_only and wal_path(path.resolve()).exists():
        # Opening for writing would replay the WAL into the file: make sure the file is ours first.
        _open_checked(path, True, wait_seconds)[0].close()
    con = _open_waiting_for_lock(path, read_only, wait_seconds)
    try:
        version = stored_version(con, path)
        if version is None and read_only:
            raise NoStore(path, "an empty DuckDB database")
        if version is not None and version > SCHEMA_VERSION:
            raise NewerStore(version, SCHEMA_VERSION)
    except duckdb.Error as error:
        con.close()
        raise from_duckdb(error, path) or StoreError(f"Cannot read the store {str(path)!r}: {error}") from None
    except BaseException:  # a refusal, or an interrupt: let go of the file
        con.close()
        raise
    return con, version or 0


def connect(
    path: str | Path | None = None, *, read_only: bool = False, wait_seconds: float = LOCK_WAIT_SECONDS
) -> duckdb.DuckDBPyConnection:
    """Open the store at `path`: with read_only, an existing store; otherwise creating and migrating it.

    DuckDB lets one process write a file at a time; while another holds it (the
    server's feeder writing a batch, say), wait up to `wait_seconds` for it.
    An existing store of an earlier schema version is migrated first, even to read it.
    """
    path = Path(path) if path is not None else default_db_path()
    con, version = _open_checked(path, read_only, wait_seconds)
    try:
        con.execute("SET TimeZone = 'UTC'")
        if version < SCHEMA_VERSION:
            if read_only:  # migrate once, then read
                con.close()
                connect(path, wait_seconds=wait_seconds).close()
                return connect(path, read_only=True, wait_seconds=wait_seconds)
            migrate(con)  # a step interrupted is rolled back as the connection closes
    except duckdb.Error as error:
        con.close()
        raise from_duckdb(error, path) or error from None
    except BaseException:
        con.close()
        raise
    return con


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection):
    con.execute("BEGIN")
    try:
        yield con
    except BaseException:
        try:
            con.execute("ROLLBACK")
        except duckdb.ConnectionException:
            # Closed already, which rolled it back: a signal came between BEGIN and the `with` taking this over,
            # and the garbage collector closes it now, after the command stopped.
            pass
        raise
    con.execute("COMMIT")


@contextmanager
def all_threads(con: duckdb.DuckDBPyConnection):
    """Let DuckDB use every core meanwhile (on a connection set to fewer: an ingest's, while it writes blocks)."""
    [(threads,)] = con.execute("SELECT current_setting('threads')").fetchall()
    con.execute("RESET threads")
    try:
        yield con
    finally:
        try:
            con.execute(f"SET threads = {int(threads)}")
        except duckdb.ConnectionException:
            pass  # closed already, as in `transaction`: a signal came before the `with` took this over
