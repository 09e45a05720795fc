"""Short-lived store connections for the dashboard, with answers cached until the store changes.

The store is opened only while a question is answered, so `wheelstats ingest`
(or the index server's feeder) can write between requests: DuckDB lets one
process hold a file for writing. The connection is read-write so that rollups
left behind by a writer that does not refresh them (e.g. an import) are brought
up to date first. Answers are cached per question and per version of the file
(its size and modification time, and its WAL's): a change to the store, or
`ttl` seconds for figures that depend on the clock, invalidates them. While
another writer holds the store longer than a request can wait, the last answer
to the same question is served; with none, a 503 says to try again.
"""

from __future__ import annotations

import collections
import contextlib
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from wheelstats import store
from wheelstats.rollups import refresh_rollups, rollup_state

CACHE_ENTRIES = 2048
BUSY_WAIT_S = 1.0  # how long a request waits for another writer to let go of the store


class StoreBusy(RuntimeError):
    """The store is held by another writer for longer than a request can wait."""

    status = 503

    def __init__(self, path: Path, detail: str) -> None:
        super().__init__(
            f"The store {str(path)!r} is busy or unreadable ({detail}). Try again in a few seconds."
        )


def utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Reader:
    def __init__(
        self, db_path: str | Path, store_lock: threading.Lock | None = None, *,
        ttl: float = 10.0, cache: bool = True, clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.db_path = Path(db_path)
        self.store_lock = store_lock or threading.Lock()
        self.ttl = ttl
        self.cache_enabled = cache
        self.clock = clock
        self._cache: collections.OrderedDict[tuple, tuple[float, tuple, object]] = collections.OrderedDict()
        self._cache_lock = threading.Lock()
        self._local = threading.local()

    def _signature(self) -> tuple:
        parts = []
        for path in (self.db_path, self.db_path.with_name(self.db_path.name + ".wal")):
            try:
                stat = path.stat()
                parts.append((stat.st_size, stat.st_mtime_ns))
            except FileNotFoundError:
                parts.append(None)
        return tuple(parts)

    def _connect(self) -> duckdb.DuckDBPyConnection:
        if not self.db_path.exists():
            raise StoreBusy(self.db_path, "no such file: run `wheelstats ingest` first or pass --db")
        try:
            return store.connect(self.db_path, wait_seconds=BUSY_WAIT_S)
        except store.StoreError as error:
            raise StoreBusy(self.db_path, str(error)) from None

    @contextlib.contextmanager
    def session(self):
        """Answer every question inside on one connection, opened at the first cache miss
        and closed at the end (one open per request, not one per question)."""
        if getattr(self._local, "session", None) is not None:
            yield
            return
        self._local.session = state = {"con": None}
        try:
            yield
        finally:
            self._local.session = None
            if state["con"] is not None:
                try:
                    state["con"].close()
                finally:
                    self.store_lock.release()

    def _open_in(self, state: dict) -> duckdb.DuckDBPyConnection:
        if state["con"] is None:
            self.store_lock.acquire()
            try:
                con = self._connect()
                if not rollup_state(con).current:
                    refresh_rollups(con)
            except BaseException:
                self.store_lock.release()
                raise
            state["con"] = con
        return state["con"]

    def answer(self, key: tuple, question: Callable[[duckdb.DuckDBPyConnection, datetime], object]):
        """The answer to `question(con, now)`, from the cache while the store is unchanged."""
        signature = self._signature()
        hit = None
        if self.cache_enabled:
            with self._cache_lock:
                hit = self._cache.get(key)
            if hit is not None and hit[1] == signature and time.monotonic() - hit[0] < self.ttl:
                return hit[2]
        try:
            with self.session():
                value = question(self._open_in(self._local.session), self.clock())
        except StoreBusy:
            if hit is not None:  # a writer holds the store: the last answer beats none
                return hit[2]
            raise
        if self.cache_enabled:
            with self._cache_lock:
                self._cache[key] = (time.monotonic(), self._signature(), value)
                self._cache.move_to_end(key)
                while len(self._cache) > CACHE_ENTRIES:
                    self._cache.popitem(last=False)
        return value
