"""An interrupt at any moment leaves the store consistent, and the run's account says what it holds.

The moments are chosen by injecting the interrupt where it must land (inside a
batch's transaction, inside the rollup refresh, between a commit and its
account); everything else is the real thing. `test_cli.py` interrupts a real
`wheelstats ingest` process with a real SIGINT.
"""

from __future__ import annotations

import os
import signal
import threading

import duckdb
import pytest

from wheelstats import store
from wheelstats import interrupts
from wheelstats.ingest import RunAccount, ingest_files, sources, writer
from wheelstats.rollups import refresh as rollups_refresh
from wheelstats.rollups import rollup_state

from kit.logs import hit_counts, log_line, write_log
from kit.processes import wait_until


class Stop(Exception):
    """What the test's SIGINT handler raises (the run's own SIGINT may be ignored)."""


@pytest.fixture
def sigint_raises_stop():
    previous = signal.signal(signal.SIGINT, lambda *_: (_ for _ in ()).throw(Stop()))
    yield
    signal.signal(signal.SIGINT, previous)


def stored_lines(db) -> int:
    con = store.connect(db, read_only=True)
    try:
        return con.execute("SELECT coalesce(sum(lines), 0) FROM sources").fetchall()[0][0]
    finally:
        con.close()


@pytest.fixture
def big_log(tmp_path, monkeypatch):
    """About 23 MB: two batches (of 16 MB, however few lines they hold)."""
    monkeypatch.setattr(sources, "MIN_BLOCK_LINES", 1)
    monkeypatch.setattr(sources, "MAX_BLOCK_LINES", 1)
    return write_log(tmp_path / "access.log", [log_line(n) for n in range(60_000)])


def test_a_signal_waits_for_the_end_of_a_deferred_block(sigint_raises_stop):
    reached = []
    with pytest.raises(Stop):
        with interrupts.deferred():
            os.kill(os.getpid(), signal.SIGINT)
            reached.append("after the signal")
        reached.append("after the block")  # never: the signal is delivered as the block ends
    assert reached == ["after the signal"]


def test_interrupts_as_python_and_duckdb_raise_them():
    assert interrupts.is_interrupt(KeyboardInterrupt())
    assert interrupts.is_interrupt(RuntimeError("Query interrupted"))
    assert interrupts.is_interrupt(duckdb.InterruptException("INTERRUPT Error: Interrupted!"))
    assert not interrupts.is_interrupt(RuntimeError("something else"))


def test_an_interrupt_inside_a_batch_rolls_it_back_and_the_account_matches_the_store(tmp_path, big_log,
                                                                                   monkeypatch):
    calls = []
    real = writer.record_chunks

    def interrupted_in_the_second_batch(con, source_id, batch):
        calls.append(batch)
        if len(calls) == 2:
            raise KeyboardInterrupt  # after its hits and counts were written, before its commit
        real(con, source_id, batch)

    monkeypatch.setattr(writer, "record_chunks", interrupted_in_the_second_batch)
    db, run = tmp_path / "s.duckdb", RunAccount()
    with pytest.raises(KeyboardInterrupt):
        ingest_files(db, [big_log], ip_mode="raw", run=run)
    [report] = run.reports
    assert report.lines == stored_lines(db) == calls[0].lines
    wait_until(lambda: not any(t.name == "wheelstats-read-ahead" for t in threading.enumerate()),
               timeout=10, what="the reading thread to stop with the ingest")
    assert sum(report.hits.values()) == sum(v for k, v in hit_counts(db).items() if k not in (
        "ignored", "rejected", "distinct_lines"))
    monkeypatch.undo()
    reference = tmp_path / "reference.duckdb"
    ingest_files(reference, [big_log], ip_mode="raw")
    ingest_files(db, [big_log], ip_mode="raw")
    assert hit_counts(db) == hit_counts(reference)


def test_an_interrupt_in_the_rollup_refresh_keeps_every_batch_and_the_next_refresh_catches_up(tmp_path, big_log,
                                                                                            monkeypatch):
    real, builds = rollups_refresh._build, []  # a new store's first refresh builds every rollup

    def interrupted_mid_refresh(con, rollup, runs):
        builds.append(rollup)
        if len(builds) == 3:
            raise KeyboardInterrupt
        real(con, rollup, runs)

    monkeypatch.setattr(rollups_refresh, "_build", interrupted_mid_refresh)
    db, run = tmp_path / "s.duckdb", RunAccount()
    with pytest.raises(KeyboardInterrupt):
        ingest_files(db, [big_log], ip_mode="raw", run=run)
    assert run.reports[0].lines == stored_lines(db) == 60_000
    con = store.connect(db)
    try:
        assert con.execute("SELECT count(*) FROM rollup_totals").fetchall() == [(0,)]  # rolled back whole
        monkeypatch.undo()
        rollups_refresh.refresh_rollups(con)
        assert rollup_state(con).current
        assert con.execute("SELECT sum(downloads) FROM rollup_totals").fetchall() == [(60_000,)]
    finally:
        con.close()


def test_a_signal_between_a_commit_and_its_account_waits_for_the_account(tmp_path, big_log, monkeypatch,
                                                                       sigint_raises_stop):
    """The SIGINT arrives during the first commit: the account still counts that batch."""
    real_enter = interrupts.deferred

    def deferred_with_a_signal():
        manager = real_enter()

        class SignalledInside:
            def __enter__(self):
                manager.__enter__()
                os.kill(os.getpid(), signal.SIGINT)  # now: held until the account has the batch

            def __exit__(self, *exc):
                return manager.__exit__(*exc)

        return SignalledInside()

    monkeypatch.setattr(interrupts, "deferred", deferred_with_a_signal)
    db, run = tmp_path / "s.duckdb", RunAccount()
    with pytest.raises(Stop):
        ingest_files(db, [big_log], ip_mode="raw", run=run)
    assert 0 < run.reports[0].lines == stored_lines(db) < 60_000
