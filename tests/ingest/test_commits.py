"""The ingest's transactions (ingest/commits): a batch under a row group of hits waits for the next, nothing is
counted before its commit, a rollback undoes every batch of the transaction, and a commit that leaves the indexes
holding more than INDEX_MEMORY checkpoints. A real DuckDB connection."""

from __future__ import annotations

from collections import Counter

import duckdb
import pytest

from wheelstats.ingest import commits
from wheelstats.ingest.account import HIT, Outcome, WrittenBlock
from wheelstats.ingest.commits import BatchTransaction
from wheelstats.store import ROW_GROUP_ROWS


class Ingest:
    """Batches of `hits` hits, each a row in `stored`; what was counted, and how often the run forgot."""

    def __init__(self, path: str = ":memory:") -> None:
        self.con = duckdb.connect(path)
        self.con.execute("CREATE TABLE stored (batch INTEGER)")
        self.counted: list[int] = []
        self.forgotten = 0
        self.transaction = BatchTransaction(self.forget)

    def forget(self) -> None:
        self.forgotten += 1

    def store(self, batch: int, hits: int, *, may_wait: bool = True, fails: bool = False) -> None:
        def write() -> WrittenBlock:
            self.con.execute("INSERT INTO stored VALUES (?)", [batch])
            if fails:
                raise KeyboardInterrupt
            return WrittenBlock(hits, Counter({Outcome(HIT, "download"): hits}))

        self.transaction.store(self.con, write, lambda written: self.counted.append(batch), may_wait=may_wait)

    def stored(self) -> list[int]:
        """The batches a second connection sees: those committed."""
        return [batch for (batch,) in self.con.cursor().execute("SELECT batch FROM stored ORDER BY batch").fetchall()]


def test_a_batch_under_a_row_group_waits_for_the_next_and_both_are_counted_at_their_commit():
    ingest = Ingest()
    ingest.store(1, ROW_GROUP_ROWS // 2)
    assert ingest.transaction.open and ingest.counted == [] and ingest.stored() == []
    ingest.store(2, ROW_GROUP_ROWS // 3)  # under a row group still: two batches are the most a transaction holds
    assert not ingest.transaction.open and ingest.counted == [1, 2] and ingest.stored() == [1, 2]


@pytest.mark.parametrize("hits, may_wait", [(ROW_GROUP_ROWS, True), (10, False)])
def test_a_batch_of_a_row_group_or_one_that_may_not_wait_commits_at_once(hits, may_wait):
    ingest = Ingest()
    ingest.store(1, hits, may_wait=may_wait)
    assert not ingest.transaction.open and ingest.counted == [1] and ingest.stored() == [1]


def test_a_batch_that_fails_rolls_back_the_one_waiting_with_it_and_neither_is_counted():
    ingest = Ingest()
    ingest.store(1, 10)
    with pytest.raises(KeyboardInterrupt):
        ingest.store(2, 10, fails=True)
    assert ingest.counted == [] and ingest.stored() == [] and ingest.forgotten == 1
    assert not ingest.transaction.open
    ingest.store(3, 10, may_wait=False)  # the connection holds no transaction left over: a new one begins
    assert ingest.counted == [3] and ingest.stored() == [3]


def test_commit_and_roll_back_with_nothing_stored_do_nothing():
    ingest = Ingest()
    ingest.transaction.commit()
    ingest.transaction.roll_back()
    assert ingest.forgotten == 0 and not ingest.transaction.open
    ingest.con.execute("BEGIN")  # no transaction was begun meanwhile
    ingest.con.execute("COMMIT")


def test_a_commit_that_leaves_the_indexes_holding_more_than_their_share_of_memory_checkpoints(tmp_path, monkeypatch):
    """A dictionary's unique index keeps the keys added since the last checkpoint in memory: without a checkpoint
    now and then, a log of new clients fills the ingest's memory with them."""
    monkeypatch.setattr(commits, "INDEX_MEMORY", 8 << 20)
    ingest = Ingest(str(tmp_path / "store.duckdb"))
    ingest.con.execute("SET checkpoint_threshold = '1GB'")  # no checkpoint of DuckDB's own on the way
    ingest.con.execute("CREATE TABLE keys (key UBIGINT UNIQUE)")
    held = []
    for batch in range(4):
        def write(batch=batch) -> WrittenBlock:
            ingest.con.execute(f"INSERT INTO keys SELECT hash(range + {batch} * 100000) FROM range(100000)")
            return WrittenBlock(0, Counter())

        ingest.transaction.store(ingest.con, write, lambda written: None, may_wait=False)
        held.append(commits.index_memory(ingest.con))
    assert held[0] > 0  # a batch's keys alone are under INDEX_MEMORY: they stay
    assert max(held) <= commits.INDEX_MEMORY  # the batch that passed it checkpointed
    assert held != sorted(held)  # and the memory was let go
    assert ingest.con.execute("SELECT count(DISTINCT key) FROM keys").fetchone()[0] == 400_000
