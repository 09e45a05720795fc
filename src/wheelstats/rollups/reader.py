"""The one reader of live figures: read-only store connections, answers cached until the store changes.

The dashboard, its API and badges, and the index's own pages (`wheelstats
serve`) all read through one `CachedReader` per server process. The store is
opened read-only, and only while a request's questions are answered, so that
writers (`wheelstats ingest`, the server's feeder, imports) can take it in
between: DuckDB lets one process hold a file for writing. Reads never write:
the writers keep the rollups current (wheelstats.rollups.refresh).

Answers are cached per question and per version of the store (the size and
modification time of its file and of its WAL): a change to the store, or `ttl`
seconds for figures that depend on the clock, invalidates them. While another
process holds the store longer than a request can wait, the last answer to the
same question is served, marked stale; with none, StoreBusy (a 503). A store
that fails while being read (a truncated or damaged file) is StoreDamaged (a
503 too), with DuckDB's one-line reason.
"""

from __future__ import annotations

import collections
import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Generic, TypeVar

import duckdb

from wheelstats import store
from wheelstats.store.errors import from_duckdb

CACHE_ENTRIES = 2048
BUSY_WAIT_S = 1.0  # how long a request waits for another writer to let go of the store

T = TypeVar("T")
Question = Callable[[duckdb.DuckDBPyConnection, datetime], T]


class StoreUnavailable(RuntimeError):
    """The store cannot answer now; answered with 503 and this message."""

    status = 503


class StoreBusy(StoreUnavailable):
    """The store is held by another writer for longer than a request can wait, or cannot be opened."""

    def __init__(self, path: Path, detail: str) -> None:
        super().__init__(
            f"The store {str(path)!r} is busy or unreadable ({detail}). Try again in a few seconds."
        )


class StoreDamaged(StoreUnavailable):
    """Reading the store failed inside the file: it is cut short or damaged (the store's own StoreDamaged, as a 503)."""

    def __init__(self, damage: store.StoreDamaged) -> None:
        super().__init__(str(damage))


def utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


@dataclass(frozen=True, slots=True)
class FileState:
    size: int
    mtime_ns: int


@dataclass(frozen=True, slots=True)
class StoreVersion:
    """What changes whenever a writer commits: the store file's state and its WAL's (None: absent)."""

    store: FileState | None
    wal: FileState | None


@dataclass(frozen=True, slots=True)
class Answer(Generic[T]):
    value: T
    stale: bool  # the store was busy: this is the last answer to the same question


@dataclass(frozen=True, slots=True)
class CachedAnswer:
    value: object
    version: StoreVersion  # of the store the answer was read from
    answered_at: float  # time.monotonic()


def _file_state(path: Path) -> FileState | None:
    try:
        status = path.stat()
    except FileNotFoundError:
        return None
    return FileState(status.st_size, status.st_mtime_ns)


class CachedReader:
    """Answers questions about the store from read-only connections, cached until the store changes."""

    def __init__(
        self, db_path: str | Path, *, ttl: float = 10.0, cache: bool = True, clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.db_path = Path(db_path)
        self.ttl = ttl
        self.cache_enabled = cache
        self.clock = clock
        self._store_lock = threading.Lock()  # one connection at a time: DuckDB's file lock is per process
        self._cache: collections.OrderedDict[tuple, CachedAnswer] = collections.OrderedDict()
        self._cache_lock = threading.Lock()
        self._local = threading.local()

    def store_exists(self) -> bool:
        return self.db_path.exists()

    def version(self) -> StoreVersion:
        return StoreVersion(_file_state(self.db_path), _file_state(self.db_path.with_name(self.db_path.name + ".wal")))

    def _connect(self) -> duckdb.DuckDBPyConnection:
        if not self.db_path.exists():
            raise StoreBusy(self.db_path, "no such file: run `wheelstats ingest` first or pass --db")
        try:
            return store.connect(self.db_path, read_only=True, wait_seconds=BUSY_WAIT_S)
        except store.StoreDamaged as error:  # found as it was opened (cut short)
            raise StoreDamaged(error) from None
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
                    self._store_lock.release()

    def _open_in(self, state: dict) -> duckdb.DuckDBPyConnection:
        if state["con"] is None:
            self._store_lock.acquire()
            try:
                state["con"] = self._connect()
            except BaseException:
                self._store_lock.release()
                raise
        return state["con"]

    def _cached(self, key: tuple) -> CachedAnswer | None:
        if not self.cache_enabled:
            return None
        with self._cache_lock:
            return self._cache.get(key)

    def _remember(self, key: tuple, value: object, version: StoreVersion) -> None:
        if not self.cache_enabled:
            return
        with self._cache_lock:
            self._cache[key] = CachedAnswer(value, version, time.monotonic())
            self._cache.move_to_end(key)
            while len(self._cache) > CACHE_ENTRIES:
                self._cache.popitem(last=False)

    def read(self, key: tuple, question: Question[T]) -> Answer[T]:
        """The answer to `question(con, now)`: from the cache while the store is unchanged, else
        read anew; the last answer (stale) while another process holds the store."""
        version = self.version()
        hit = self._cached(key)
        if hit is not None and hit.version == version and time.monotonic() - hit.answered_at < self.ttl:
            return Answer(hit.value, stale=False)  # type: ignore[arg-type]
        try:
            with self.session():
                try:
                    value = question(self._open_in(self._local.session), self.clock())
                except duckdb.Error as error:
                    damage = from_duckdb(error, self.db_path)
                    if isinstance(damage, store.StoreDamaged):
                        raise StoreDamaged(damage) from None
                    raise
        except StoreBusy:
            if hit is not None:  # a writer holds the store: the last answer beats none
                return Answer(hit.value, stale=True)  # type: ignore[arg-type]
            raise
        self._remember(key, value, version)  # as it was before reading: a commit meanwhile means read again
        return Answer(value, stale=False)

    def answer(self, key: tuple, question: Question[T]) -> T:
        """The value of `read`: for answers that need not say they are stale."""
        return self.read(key, question).value
