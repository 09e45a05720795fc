"""The store: versioned schema, migrations from every earlier version, clear refusals."""

from __future__ import annotations

import duckdb
import pytest

from wheelstats import store


def make_store_at_version(path, version: int) -> None:
    con = duckdb.connect(str(path))
    for step in store.MIGRATIONS[:version]:
        step(con) if callable(step) else con.execute(step)
    con.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(version)])
    con.execute(
        "INSERT INTO hits (ts, kind, project, path, source_id) VALUES "
        "('2020-03-05 10:00:00', 'search', 'numpy', '/simple/numpy/', 1)"
    )
    con.close()


@pytest.mark.parametrize("version", range(1, store.SCHEMA_VERSION + 1))
def test_every_earlier_version_migrates_to_the_current_one_keeping_its_data(tmp_path, version):
    path = tmp_path / "old.duckdb"
    make_store_at_version(path, version)
    con = store.connect(path)
    assert store.schema_version(con) == store.SCHEMA_VERSION
    assert con.execute("SELECT project, kind::VARCHAR FROM hits").fetchall() == [("numpy", "search")]


def test_a_fresh_store_has_the_current_version(tmp_path):
    con = store.connect(tmp_path / "new.duckdb")
    assert store.schema_version(con) == store.SCHEMA_VERSION


def test_a_store_from_a_newer_wheelstats_is_refused(tmp_path):
    path = tmp_path / "future.duckdb"
    store.connect(path).execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    with pytest.raises(store.StoreError, match="schema version 999, newer than this wheelstats understands"):
        store.connect(path)


def test_read_only_open_of_an_old_store_migrates_it_first(tmp_path):
    path = tmp_path / "old.duckdb"
    make_store_at_version(path, 1)
    con = store.connect(path, read_only=True)
    assert store.schema_version(con) == store.SCHEMA_VERSION
    assert con.execute("SELECT count(*) FROM hits").fetchall() == [(1,)]


def hold_lock(path, seconds: float):
    import subprocess
    import sys
    import time

    holder = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb, time; c = duckdb.connect({str(path)!r}); print('held', flush=True); time.sleep({seconds})"],
        stdout=subprocess.PIPE, text=True,
    )
    assert holder.stdout.readline() == "held\n"
    time.sleep(0.1)
    return holder


def test_open_waits_while_another_process_holds_the_store(tmp_path):
    path = tmp_path / "s.duckdb"
    store.connect(path).close()
    holder = hold_lock(path, 1.5)
    try:
        con = store.connect(path, read_only=True, wait_seconds=30)
        assert store.schema_version(con) == store.SCHEMA_VERSION
        assert holder.poll() is not None  # it got in only after the holder let go
    finally:
        holder.wait()


def test_open_gives_up_with_a_clear_error_when_the_store_stays_busy(tmp_path):
    path = tmp_path / "s.duckdb"
    store.connect(path).close()
    holder = hold_lock(path, 10)
    try:
        with pytest.raises(store.StoreError, match="is in use by another process. Wait for it to finish, or stop it."):
            store.connect(path, read_only=True, wait_seconds=0.5)
    finally:
        holder.kill()
        holder.wait()
