"""`wheelstats dashboard`: its help, clear errors, current figures from the start, and clean stops."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path
from urllib.parse import quote

import duckdb
import httpx
import pytest
from kit.dashboards import WHEELSTATS, running_dashboard
from kit.hits import add_hits
from kit.processes import ctrl_c_restored, free_port, stop, wait_until

from wheelstats.rollups import ROLLUP_TABLES


def test_a_missing_store_is_named_with_the_fix(tmp_path):
    missing = tmp_path / "nowhere.duckdb"
    result = subprocess.run([WHEELSTATS, "dashboard", "--db", str(missing)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert " ".join(result.stderr.split()) == (
        f"Error: No store at '{missing}'. Run `wheelstats ingest LOGS --db {missing}` first, or pass --db."
    )
    assert not missing.exists()


def test_help_gives_a_summary_and_an_example():
    result = subprocess.run([WHEELSTATS, "dashboard", "--help"], capture_output=True, text=True, timeout=60,
                            env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    assert "Serve the stats dashboard, JSON API and badges for a store (or a lake)." in text
    assert "Example: wheelstats dashboard --db wheelstats.duckdb --port 8050" in text
    for option in ("--db", "--lake", "--host", "--port"):
        assert option in text


HOSTILE = "a<script>"


def test_the_dashboard_brings_the_rollups_up_to_date_at_start_and_escapes_what_it_shows(store_copy, tmp_path):
    """Downloads written by a writer that left the rollups behind are counted once the dashboard starts,
    and a project name carrying markup is shown as text on every page."""
    filename = f"{HOSTILE}-1.0-py3-none-any.whl"
    con = duckdb.connect(str(store_copy))
    con.execute("INSERT INTO files (filename, project, version, valid) VALUES (?, ?, '1.0', true)", [filename, HOSTILE])
    add_hits(con, ("ts", "kind", "project", "filename", "path", "source_id"),
             [(f"2021-05-0{day} 10:00:00", "download", HOSTILE, filename, "/", 1) for day in (1, 2, 3)])
    con.close()
    quoted = quote(HOSTILE, safe="")
    with running_dashboard(store_copy, tmp_path / "dashboard.log") as base:
        figures = httpx.get(f"{base}/api/projects/{quoted}", params={"period": "2021-05"}, timeout=60).json()
        assert figures["downloads"]["period"] == 3
        pages = [httpx.get(f"{base}/stats/", params={"period": "2021-05"}, timeout=60),
                 httpx.get(f"{base}/stats/project/{quoted}", timeout=60),
                 httpx.get(f"{base}/stats/compare", params={"projects": f"{HOSTILE},numpy"}, timeout=60)]
    for page in pages:
        assert page.status_code == 200
        assert "a&lt;script&gt;" in page.text
        assert "<script>" not in page.text.replace('<script src="/stats/static/', "")


@pytest.mark.parametrize(("port", "message"), [
    ("99999", "Invalid value for '--port': 99999 is not in the range 1<=x<=65535."),
    ("0", "Invalid value for '--port': 0 is not in the range 1<=x<=65535."),
])
def test_a_port_out_of_range_is_refused_before_anything_is_announced(tmp_path, port, message):
    result = subprocess.run([WHEELSTATS, "dashboard", "--db", str(tmp_path / "s.duckdb"), "--port", port],
                            capture_output=True, text=True, timeout=60, env={**os.environ, "COLUMNS": "200"})
    assert result.returncode == 2
    assert result.stdout == ""  # no "Dashboard of ... on http://..." for a port it would never listen on
    assert message in " ".join(result.stderr.split())


def start_dashboard(db: Path, log: Path, port: int) -> subprocess.Popen:
    with open(log, "wb") as output:
        return subprocess.Popen([WHEELSTATS, "dashboard", "--db", str(db), "--port", str(port)],
                                stdout=output, stderr=subprocess.STDOUT, preexec_fn=ctrl_c_restored)


@pytest.mark.parametrize(("sig", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_ctrl_c_or_sigterm_stops_it_cleanly(store_copy, tmp_path, sig, status):
    port, log = free_port(), tmp_path / "dashboard.log"
    process = start_dashboard(store_copy, log, port)
    try:
        wait_until(lambda: log.read_text().startswith("Dashboard of"), timeout=60, what="the dashboard to start")
        wait_until(lambda: answers(f"http://127.0.0.1:{port}/api/top"), timeout=60, what="an answer")
        process.send_signal(sig)
        assert process.wait(timeout=60) == status
    finally:
        stop(process)
    assert log.read_text().splitlines() == [
        f"Dashboard of {store_copy} on http://127.0.0.1:{port}/stats/ (API: /api/openapi.json)",
        f"Stopped by {signal.Signals(sig).name}: nothing was changed."]


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=5).status_code == 200
    except httpx.TransportError:
        return False


def holds_open(pid: int, path: Path) -> bool:
    """Whether process `pid` has the file open (the store, while it brings the rollups up to date)."""
    folder = Path(f"/proc/{pid}/fd")
    try:
        return any(os.path.realpath(link) == str(path.resolve()) for link in folder.iterdir())
    except (FileNotFoundError, PermissionError):  # gone, or a descriptor closed while listed
        return False


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


@pytest.mark.parametrize("into_the_build", [0.0, 1.5], ids=["as-it-opens-the-store", "cpu-seconds-into-the-build"])
def test_ctrl_c_while_it_brings_the_rollups_up_to_date_stops_it_and_keeps_the_store_as_it_was(
        store_copy, tmp_path, into_the_build):
    """A store whose rollups a writer never built: the dashboard's start is a full build, in one
    transaction (some seconds here). Ctrl-C during it: exit 130, a clean stop, rollups as before."""
    con = duckdb.connect(str(store_copy))
    con.execute("""INSERT INTO hit_rows SELECT h.* REPLACE (h.ts + to_days(CAST(copies.copy AS INTEGER)) AS ts)
                   FROM hit_rows h, range(1, 40) copies(copy)""")  # 40 times the hits: a build of some seconds
    for table in (*ROLLUP_TABLES, "rollup_saved", "rollup_state"):
        con.execute(f"DELETE FROM {table}")
    con.close()
    before = rollup_rows(store_copy)
    port, log = free_port(), tmp_path / "dashboard.log"
    process = start_dashboard(store_copy, log, port)
    try:
        wait_until(lambda: holds_open(process.pid, store_copy), timeout=60, what="the dashboard to open the store")
        opened = cpu_seconds(process.pid)
        wait_until(lambda: cpu_seconds(process.pid) >= opened + into_the_build, timeout=60, what="the build to run")
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 130
    finally:
        stop(process)
    # interrupted before it announced anything: no traceback, no "Aborted!", the one line
    assert log.read_text() == "Stopped by SIGINT: nothing was changed.\n"
    assert rollup_rows(store_copy) == before == {table: 0 for table in before}


def rollup_rows(db: Path) -> dict[str, int]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {table: con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                for table in (*ROLLUP_TABLES, "rollup_saved", "rollup_state")}
    finally:
        con.close()
