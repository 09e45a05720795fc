"""Why a store cannot be used: one error type per kind, each a one-line message with the fix.

Every kind is a StoreError, so a command that reports StoreError reports them all.
`from_duckdb` turns the DuckDB errors that mean a damaged file or a full disk,
raised by any statement, into these.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import duckdb

RESTORE = "Restore it from a backup, or ingest the access logs again into a new store (--db)."


class StoreError(Exception):
    """The store file cannot be used as it is."""


class NoStore(StoreError):
    def __init__(self, path: str | os.PathLike, detail: str = "") -> None:
        where = f"No store at {str(path)!r}" + (f" ({detail})" if detail else "")
        super().__init__(f"{where}. Run `wheelstats ingest` first, or pass --db.")


class NotAStore(StoreError):
    """A file (or folder) that is not a wheelstats store: it is left exactly as it is."""

    def __init__(self, path: str | os.PathLike, what: str, fix: str = "Pass the store's path with --db.") -> None:
        super().__init__(f"{str(path)!r} is not a wheelstats store ({what}). {fix}")


class StoreIsAFolder(NotAStore):
    def __init__(self, path: str | os.PathLike) -> None:
        super().__init__(path, "it is a folder", "Pass the store's file with --db, e.g. stats.duckdb.")


class NewerStore(StoreError):
    def __init__(self, version: int, understood: int) -> None:
        super().__init__(
            f"The store has schema version {version}, newer than this wheelstats "
            f"understands ({understood}). Upgrade wheelstats."
        )


class StoreDamaged(StoreError):
    def __init__(self, path: str | os.PathLike, detail: str) -> None:
        super().__init__(f"The store {str(path)!r} is damaged ({detail}). {RESTORE}")
        self.detail = detail  # what is wrong, e.g. "cut short: 3,151,872 of its 6,303,744 bytes"


class StoreInUse(StoreError):
    def __init__(self, path: str | os.PathLike) -> None:
        super().__init__(
            f"The store {str(path)!r} is in use by another process. Wait for it to finish, or stop it."
        )


class StoreFull(StoreError):
    def __init__(self, path: str | os.PathLike) -> None:
        folder = Path(path).resolve().parent
        super().__init__(
            f"No space left on the disk of the store {str(path)!r} (in {str(folder)!r}): the last transaction "
            "was not committed. Free some space and run the command again."
        )


# What DuckDB says when a store file is shorter than its header, or a block fails its checksum.
DAMAGE_MARKS = ("Could not read enough bytes", "Corrupt database file", "checksum", "not a valid DuckDB database")
FULL_MARKS = ("No space left on device", os.strerror(errno.ENOSPC))


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def from_duckdb(error: duckdb.Error, path: str | os.PathLike) -> StoreError | None:
    """The StoreError a DuckDB error from the store at `path` means, or None if it means neither."""
    message = str(error)
    if any(mark in message for mark in FULL_MARKS):
        return StoreFull(path)
    if isinstance(error, (duckdb.IOException, duckdb.InternalException)) and any(
        mark in message for mark in DAMAGE_MARKS
    ):
        return StoreDamaged(path, _first_line(error))
    return None
