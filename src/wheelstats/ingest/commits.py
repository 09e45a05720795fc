"""The ingest's transactions: each holds one batch, or two whose hits are under a row group each.

DuckDB writes a transaction's new rows straight into the file, compressed, when they reach a row group
(ROW_GROUP_ROWS); fewer go to its write-ahead log, and the next checkpoint writes them again. Blocks are sized to
hold more than a row group of hits (ingester.BLOCK_HITS), but a block of long lines cannot (sources.MAX_BLOCK_BYTES:
the sample log's 505-byte lines fill one with 0.9 of a row group): such a batch waits, stored but not committed,
for the next one, and the two are committed together. A million lines of the sample log: 2.84-2.99 s against
3.11-3.17 s with each batch its own transaction (docs/ingest.md), its write-ahead log 0 instead of 51 MB.

Nothing is counted before it is committed (`store`'s `on_committed`, called with interrupts held), and a rollback
undoes both batches, so a run stopped at any moment still gives exactly the totals of an uninterrupted one when run
again: it reads again from the last committed checkpoint.

The dictionaries' unique indexes (DuckDB's ART: the agents', the files', ...) hold every key added since the last
checkpoint in memory, and only a checkpoint lets go of them: a log of new values would fill the ingest's memory with
them (4.3 million clients, when their dictionary had indexes: 246 MiB of its 384 MB, and the rollups' refresh after
the run had too little left). So a commit that leaves more than INDEX_MEMORY of them checkpoints. The clients' have
been taken out since (store.schema, version 16): after each checkpoint, a batch of new clients read theirs back in.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import duckdb

from wheelstats import interrupts
from wheelstats.ingest.account import WrittenBlock
from wheelstats.store import ROW_GROUP_ROWS

MAX_BATCHES = 2  # batches a transaction holds at most (a log with few hits commits this often still)
INDEX_MEMORY = 64 << 20  # bytes of indexes held in memory past which a commit checkpoints


class BatchTransaction:
    """The ingest's open transaction, if any, and the batches stored in it."""

    def __init__(self, forget_unsaved: Callable[[], None]) -> None:
        self._forget_unsaved = forget_unsaved  # after a rollback: what was learnt in it may not be in the store
        self._con: duckdb.DuckDBPyConnection | None = None  # the connection of the open transaction
        self._counts: list[Callable[[], None]] = []  # each stored batch's on_committed
        self._hits = 0

    @property
    def open(self) -> bool:
        return self._con is not None

    def store(self, con: duckdb.DuckDBPyConnection, write: Callable[[], WrittenBlock],
              on_committed: Callable[[WrittenBlock], None], *, may_wait: bool = True) -> WrittenBlock:
        """Store a batch (`write`, in this transaction: it begins one if none is open), and commit unless it may wait
        for the next: `may_wait`, and its hits and those stored before it are under a row group."""
        if not self.open:
            self._con = con  # first: a signal right after BEGIN still finds the transaction to roll back
            con.execute("BEGIN")
        try:
            written = write()
        except BaseException:
            self.roll_back()
            raise
        self._counts.append(partial(on_committed, written))
        self._hits += written.hits
        if not may_wait or self._hits >= ROW_GROUP_ROWS or len(self._counts) >= MAX_BATCHES:
            self.commit()
        return written

    def commit(self) -> None:
        """Commit the batches stored, if any, and count them (interrupts held meanwhile, so that nothing committed
        goes uncounted)."""
        if not self.open:
            return
        con, counts = self._con, self._counts
        self._con, self._counts, self._hits = None, [], 0
        with interrupts.deferred():
            try:
                con.execute("COMMIT")
            except BaseException:
                self._forget_unsaved()
                raise
            for count in counts:
                count()
        if index_memory(con) > INDEX_MEMORY:
            con.execute("CHECKPOINT")

    def roll_back(self) -> None:
        """Undo the batches stored, if any (none is counted)."""
        if not self.open:
            return
        con = self._con
        self._con, self._counts, self._hits = None, [], 0
        self._forget_unsaved()
        try:
            con.execute("ROLLBACK")
        except (duckdb.ConnectionException, duckdb.TransactionException):
            pass  # closed already (which rolled it back), or a signal came before BEGIN ran


def index_memory(con: duckdb.DuckDBPyConnection) -> int:
    """Bytes the database's indexes hold in memory."""
    return con.execute("SELECT coalesce(sum(memory_usage_bytes), 0) FROM duckdb_memory() WHERE tag = 'ART_INDEX'"
                       ).fetchone()[0]
