"""Recording: Apache combined lines, flush on SIGTERM, the log as write-ahead record (SIGKILL, busy store),
and the other commands working on the store while `serve` runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import duckdb
import httpx
import pytest

from kit.processes import wait_until
from kit.servers import WHEELSTATS, children, make_wheel, query, serving
from wheelstats import store
from wheelstats.ingest import ingest_files
from wheelstats.server.recorder import AccessLog, ClfClock, combined_line, escape_field

FILE = "/simple/alpha/alpha-1.0-py3-none-any.whl"


@pytest.mark.parametrize(("raw", "logged"), [
    (b"pip/24.0", "pip/24.0"),
    (b'say "hi"', 'say \\"hi\\"'),
    (b"back\\slash", "back\\\\slash"),
    (b"tab\tnew\nline\r", "tab\\tnew\\nline\\r"),
    (b"\x00\x1b\x7f", "\\x00\\x1b\\x7f"),
    ("café".encode(), "caf\\xc3\\xa9"),
])
def test_fields_are_escaped_as_apache_does(raw, logged):
    assert escape_field(raw) == logged


def scope(**overrides):
    base = {
        "type": "http", "method": "GET", "http_version": "1.1", "path": FILE, "raw_path": FILE.encode(),
        "query_string": b"", "client": ("192.0.2.7", 5555),
        "headers": [(b"host", b"x"), (b"user-agent", b'agent "quoted" \\ end'), (b"referer", b"http://r/")],
    }
    return {**base, **overrides}


def test_combined_line_layout():
    line = combined_line(scope(query_string=b"a=1"), "[25/Nov/2026:14:55:53 +0000]", 200, 1234)
    assert line == (
        '192.0.2.7 - - [25/Nov/2026:14:55:53 +0000] "GET /simple/alpha/alpha-1.0-py3-none-any.whl?a=1 HTTP/1.1" '
        '200 1234 "http://r/" "agent \\"quoted\\" \\\\ end"\n'
    )
    bare = combined_line(scope(headers=[], client=None, method="HEAD"), "[t]", 304, 0)
    assert bare == f'- - - [t] "HEAD {FILE} HTTP/1.1" 304 - "-" "-"\n'


def test_request_lines_remembered_differ_in_every_part():
    """Request lines are remembered by the scope's parts: a request that differs in any one of them, after the
    first was logged, is logged as itself."""
    variants = [scope(), scope(method="HEAD"), scope(query_string=b"a=1"), scope(http_version="1.0"),
                scope(raw_path=None), scope(raw_path=None, path="/simple/\u00e9/"), scope(raw_path=b"/simple/%C3%A9/")]
    requests = [combined_line(variant, "[t]", 200, 1).split('"')[1] for variant in variants * 2]
    assert requests[:7] == requests[7:] == [
        f"GET {FILE} HTTP/1.1", f"HEAD {FILE} HTTP/1.1", f"GET {FILE}?a=1 HTTP/1.1", f"GET {FILE} HTTP/1.0",
        f"GET {FILE} HTTP/1.1", "GET /simple/\\xc3\\xa9/ HTTP/1.1", "GET /simple/%C3%A9/ HTTP/1.1"]


def test_clock_formats_in_english_and_utc():
    before = time.gmtime()
    text = ClfClock().now()
    after = time.gmtime()
    months = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
    expected = {f"[{t.tm_mday:02d}/{months[t.tm_mon - 1]}/{t.tm_year}:{t.tm_hour:02d}:{t.tm_min:02d}:"
                f"{t.tm_sec:02d} +0000]" for t in (before, after)}
    assert text in expected


def test_logged_lines_ingest_with_their_fields_intact(tmp_path):
    log = AccessLog(tmp_path / "access.log")
    log.record(combined_line(scope(), ClfClock().now(), 200, 99))
    log.record(combined_line(scope(method="HEAD"), ClfClock().now(), 200, 0))
    log.close()
    (report,) = ingest_files(tmp_path / "s.duckdb", [tmp_path / "access.log"], ip_mode="raw")
    assert report.hits == {"download": 1} and sum(report.ignored.values()) == 1 and not report.rejected
    rows = query(tmp_path / "s.duckdb", "SELECT h.client, h.filename, h.bytes, h.referrer, a.agent "
                                        "FROM hits h JOIN agents a USING (agent_id)")
    assert rows == [("192.0.2.7", "alpha-1.0-py3-none-any.whl", 99, "http://r/", 'agent "quoted" \\ end')]


@pytest.fixture()
def wheels(tmp_path):
    folder = tmp_path / "wheels"
    make_wheel(folder, "alpha", "1.0")
    return folder


def downloads(db) -> int | None:
    """Downloads in the store; None while it does not exist yet or a writer holds it."""
    try:
        return query(db, "SELECT count(*) FROM hits WHERE kind = 'download'")[0][0]
    except duckdb.IOException:
        return None


def log_downloads(server) -> int:
    return server.access_log.read_bytes().count(f'"GET {FILE} HTTP/1.1" 200 '.encode())


def test_sigterm_flushes_every_line_and_feeds_the_store(wheels, tmp_path):
    with serving(wheels, tmp_path) as server:
        with httpx.Client() as client:
            for _ in range(25):
                assert client.get(server.url + FILE).status_code == 200
        assert server.stopped_cleanly()  # at once: the lines are still in the queue
    assert log_downloads(server) == 25
    assert downloads(server.db) == 25


@pytest.mark.parametrize("crash", ["server", "server and feeder"])
def test_sigkill_and_a_busy_store_lose_nothing(wheels, tmp_path, crash):
    db = tmp_path / "stats.duckdb"
    holder = store.connect(db)  # another process would hold it like this: the server cannot write
    try:
        with serving(wheels, tmp_path) as server:
            with httpx.Client() as client:
                for _ in range(30):
                    assert client.get(server.url + FILE).status_code == 200
            wait_until(lambda: log_downloads(server) == 30, timeout=30, what="the log to hold every download")
            wait_until(lambda: "the store is busy" in server.output.read_text(), timeout=30,
                       what="a feeding round to find the store busy")
            (feeder,) = children(server.process.pid)
            server.stop(signal.SIGKILL)
            if crash == "server and feeder":
                os.kill(feeder, signal.SIGKILL)
        assert holder.execute("SELECT count(*) FROM hits").fetchone()[0] == 0
    finally:
        holder.close()
    if crash == "server":  # the orphaned feeder sees the pipe close and catches up once the store is free
        wait_until(lambda: downloads(db) == 30, timeout=30, what="the orphaned feeder to catch up")
    with serving(wheels, tmp_path) as restarted:  # the same log and store: resumes from the checkpoint
        assert httpx.get(restarted.url + FILE).status_code == 200
        assert restarted.stopped_cleanly()
    wait_until(lambda: downloads(db) == 31, timeout=30, what="the restarted server's download in the store")
    assert query(db, "SELECT count(*) FROM sources")[0][0] == 1
    assert query(db, "SELECT sum(lines) FROM sources")[0][0] == restarted.access_log.read_bytes().count(b"\n")


def test_other_commands_use_the_store_while_serve_runs(wheels, tmp_path):
    other_log = tmp_path / "other.log"
    other_log.write_text(
        '10.0.0.1 - - [01/Mar/2020:10:00:00 +0000] "GET /simple/beta/beta-1.0-py3-none-any.whl HTTP/1.1" 200 10 '
        '"-" "pip/20.0 {\\"installer\\":{\\"name\\":\\"pip\\",\\"version\\":\\"20.0\\"},\\"python\\":\\"3.7.3\\"}"\n'
    )
    with serving(wheels, tmp_path) as server:
        for _ in range(3):
            assert httpx.get(server.url + FILE).status_code == 200
        wait_until(lambda: downloads(server.db) == 3, timeout=30, what="3 downloads in the store")
        ingest = subprocess.run([WHEELSTATS, "ingest", str(other_log), "--db", str(server.db)],
                                capture_output=True, text=True, timeout=60)
        assert ingest.returncode == 0, ingest.stderr
        summary = subprocess.run([WHEELSTATS, "summary", "--json", "--db", str(server.db)],
                                 capture_output=True, text=True, timeout=60)
        assert summary.returncode == 0, summary.stderr
        assert json.loads(summary.stdout)["downloads"] == 4
        # and the server goes on recording into the same store
        assert httpx.get(server.url + FILE).status_code == 200
        wait_until(lambda: downloads(server.db) == 5, timeout=30, what="5 downloads in the store")


def test_no_record_writes_nothing(wheels, tmp_path):
    with serving(wheels, tmp_path, "--no-record") as server:
        assert httpx.get(server.url + FILE).status_code == 200
    assert not server.access_log.exists()
    assert not server.db.exists()


def test_a_rotated_log_is_read_to_its_end_then_the_new_one(tmp_path):
    from wheelstats.server.feeder import Feeder

    numbers = iter(range(100))

    def line() -> str:  # each line differs, as real ones do (a source is known by its first bytes)
        return combined_line(scope(query_string=b"n=%d" % next(numbers)), ClfClock().now(), 200, 10)

    log_path = tmp_path / "access.log"
    log = AccessLog(log_path)
    for _ in range(3):
        log.record(line())
    log.flush()
    feeder = Feeder(tmp_path / "s.duckdb", log_path)
    assert feeder.feed_once() and downloads(tmp_path / "s.duckdb") == 3
    with open(log_path, "a") as old:  # written after the last round ...
        old.write(line() + line())
    log_path.rename(tmp_path / "access.log.1")  # ... then rotated away
    for _ in range(4):
        log.record(line())
    log.close()  # the writer noticed the rotation and made a new file
    assert log_path.read_text().count("\n") == 4
    assert feeder.feed_once()
    assert downloads(tmp_path / "s.duckdb") == 9
    assert feeder.feed_once() and downloads(tmp_path / "s.duckdb") == 9  # nothing twice
