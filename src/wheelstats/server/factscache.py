"""What reading each file told us, kept on disk so that a restart does not hash the repository again.

A small SQLite file (beside the store by default) maps (path, size, mtime) to
the file's facts. The scan loads it once, adds what it computed and forgets
what is gone; a damaged or foreign cache is set aside and rebuilt.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("wheelstats.serve")


@dataclass(frozen=True, slots=True)
class FileFacts:
    """What reading a file's bytes tells: computed once per (path, size, mtime)."""

    sha256: str
    requires_python: str | None
    metadata_member: str | None  # the archive member holding core metadata, if served
    metadata_sha256: str | None


Key = tuple[str, int, int]  # (real path, size, mtime_ns)

SCHEMA = """
CREATE TABLE IF NOT EXISTS facts (
    path TEXT NOT NULL, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    sha256 TEXT NOT NULL, requires_python TEXT, metadata_member TEXT, metadata_sha256 TEXT,
    PRIMARY KEY (path, size, mtime_ns)
)
"""


class FactsCache:
    def __init__(self, path: str | Path):
        self.path = Path(path)

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path)
        con.execute(SCHEMA)
        return con

    def load(self) -> dict[Key, FileFacts]:
        if not self.path.exists():
            return {}
        try:
            con = self._connect()
            try:
                rows = con.execute("SELECT * FROM facts").fetchall()
            finally:
                con.close()
        except sqlite3.DatabaseError as error:
            log.warning("the file facts cache %s is unreadable (%s); starting a new one", self.path, error)
            self.path.replace(self.path.with_name(self.path.name + ".damaged"))
            return {}
        return {(path, size, mtime): FileFacts(*facts) for path, size, mtime, *facts in rows}

    def update(self, added: dict[Key, FileFacts], removed: list[Key]) -> None:
        if not added and not removed:
            return
        try:
            con = self._connect()
            try:
                with con:
                    con.executemany("DELETE FROM facts WHERE path = ? AND size = ? AND mtime_ns = ?", removed)
                    con.executemany(
                        "INSERT OR REPLACE INTO facts VALUES (?, ?, ?, ?, ?, ?, ?)",
                        [(*key, f.sha256, f.requires_python, f.metadata_member, f.metadata_sha256)
                         for key, f in added.items()],
                    )
            finally:
                con.close()
        except sqlite3.Error as error:  # a cache: serving goes on, the next start hashes again
            log.warning("cannot write the file facts cache %s: %s", self.path, error)
