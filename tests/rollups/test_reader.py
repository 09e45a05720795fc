"""The one reader beside writers: new hits show up without a restart, a busy store gets a clear 503,
reads never write, and a damaged store is said to be damaged."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import textwrap

import httpx
import pytest
from kit.dashboards import WHEELSTATS, running_dashboard
from kit.processes import stop

from wheelstats import store
from wheelstats.rollups import ROLLUP_TABLES, queries, refresh_store, rollup_state
from wheelstats.rollups.filters import Filters
from wheelstats.rollups.reader import CachedReader, StoreDamaged
from wheelstats.store import dimensions


def overview(base: str, **params) -> httpx.Response:
    return httpx.get(f"{base}/api/overview", params=params, timeout=60)


def test_downloads_ingested_while_the_dashboard_runs_appear_in_its_figures(store_copy, tmp_path):
    with running_dashboard(store_copy, tmp_path / "dashboard.log") as base:
        before = overview(base, period="2020-04-01..2020-04-30").json()
        assert before["downloads"]["period"] == 0
        log = tmp_path / "april.log"
        agent = ('pip/20.0.2 {"cpu":"armv7l","implementation":{"name":"CPython","version":"3.7.3"},'
                 '"installer":{"name":"pip","version":"20.0.2"},"python":"3.7.3"}').replace('"', '\\"')
        log.write_text("".join(
            f'192.0.2.{i} - - [02/Apr/2020:10:{i:02d}:00 +0000] "GET /simple/numpy/numpy-1.18.2-cp37-cp37m-linux_armv7l.whl '
            f'HTTP/1.1" 200 4096 "-" "{agent}"\n' for i in range(12)
        ))
        subprocess.run([WHEELSTATS, "ingest", str(log), "--db", str(store_copy)], check=True, stdout=subprocess.DEVNULL)
        after = overview(base, period="2020-04-01..2020-04-30").json()
        assert after["downloads"]["period"] == 12
        assert after["downloads"]["all_time"] == before["downloads"]["all_time"] + 12
        assert after["shares"]["python"] == [{"name": "3.7", "downloads": 12, "share": 1.0}]
        numpy = httpx.get(f"{base}/api/projects/numpy", params={"period": "2020-04-01..2020-04-30"}, timeout=60).json()
        assert numpy["downloads"]["period"] == 12


def test_a_store_held_by_another_writer_gets_the_last_answer_or_a_503(store_copy, tmp_path):
    with running_dashboard(store_copy, tmp_path / "dashboard.log") as base:
        assert overview(base).status_code == 200
        holder = subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(f"""
                import sys, duckdb
                con = duckdb.connect({str(store_copy)!r})
                con.execute("CHECKPOINT")
                print("holding", flush=True)
                sys.stdin.readline()
            """)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        try:
            assert holder.stdout.readline().strip() == "holding"
            busy = overview(base, period="2019")  # a question not answered yet: it needs the store
            assert busy.status_code == 503
            assert busy.json()["error"].startswith(f"The store {str(store_copy)!r} is busy or unreadable")
            assert busy.json()["error"].endswith("Try again in a few seconds.")
            # A question answered before: its last answer is served meanwhile.
            assert overview(base).status_code == 200
        finally:
            holder.stdin.write("\n")  # let go of the store, and exit
            holder.stdin.flush()
            try:
                holder.wait(timeout=30)
            finally:
                stop(holder)  # killed if it did not exit, pass or fail
        assert overview(base, period="2019").status_code == 200


def add_unrolled_downloads(db, count: int) -> None:
    """Copies of the store's last downloads a year later, written as a writer that does not refresh would."""
    con = store.connect(db)
    dimensions.add_wide_hits(con, f"""
        SELECT ts + INTERVAL 1 YEAR AS ts, kind, project, filename, path, client, agent_id, bytes, source_id
        FROM hits WHERE kind = 'download' ORDER BY ts DESC LIMIT {count}""")
    con.close()


def total_downloads(con, now) -> int:
    return queries.total(con, None, Filters())


def test_reads_never_write_even_when_the_rollups_are_behind(store_copy):
    reader = CachedReader(store_copy)
    before = reader.answer(("total",), total_downloads)
    add_unrolled_downloads(store_copy, 7)
    written = hashlib.sha256(store_copy.read_bytes()).hexdigest(), reader.version()
    assert reader.answer(("total",), total_downloads) == before  # the rollups as the writer left them
    assert (hashlib.sha256(store_copy.read_bytes()).hexdigest(), reader.version()) == written
    con = store.connect(store_copy, read_only=True)
    assert not rollup_state(con).current
    con.close()
    refresh_store(store_copy)  # what `wheelstats dashboard` and `serve` do once at start
    assert reader.answer(("total",), total_downloads) == before + 7  # the store changed: read anew



def test_a_store_cut_short_is_a_damaged_store_not_a_crash(store_copy):
    reader = CachedReader(store_copy, cache=False)
    assert reader.answer(("total",), total_downloads) > 0
    os.truncate(store_copy, store_copy.stat().st_size // 2)
    with pytest.raises(StoreDamaged) as error:
        for table in ROLLUP_TABLES:  # some table's blocks lie beyond the cut
            reader.answer((table,), lambda con, now, table=table: con.execute(f"SELECT * FROM {table}").fetchall())
    message = str(error.value)
    assert re.fullmatch(  # found as it is opened (the store's header counts blocks the file lacks)
        rf"The store {re.escape(repr(str(store_copy)))} is damaged \(cut short: [\d,]+ of its [\d,]+ bytes\)\. "
        r"Restore it from a backup, or ingest the access logs again into a new store \(--db\)\.", message)
    assert "\n" not in message and error.value.status == 503
