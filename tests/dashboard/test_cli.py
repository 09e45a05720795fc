"""`wheelstats dashboard`: its help, a clear error for a missing store, current figures from the start."""

from __future__ import annotations

import os
import subprocess
from urllib.parse import quote

import duckdb
import httpx
import pytest
from kit.dashboards import WHEELSTATS, running_dashboard


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
    assert "Serve the stats dashboard, JSON API and badges for a store." in text
    assert "Example: wheelstats dashboard --db wheelstats.duckdb --port 8050" in text
    for option in ("--db", "--host", "--port"):
        assert option in text


HOSTILE = "a<script>"


def test_the_dashboard_brings_the_rollups_up_to_date_at_start_and_escapes_what_it_shows(store_copy, tmp_path):
    """Downloads written by a writer that left the rollups behind are counted once the dashboard starts,
    and a project name carrying markup is shown as text on every page."""
    filename = f"{HOSTILE}-1.0-py3-none-any.whl"
    con = duckdb.connect(str(store_copy))
    con.execute("INSERT INTO files (filename, project, version, valid) VALUES (?, ?, '1.0', true)", [filename, HOSTILE])
    con.executemany("INSERT INTO hits (ts, kind, project, filename, path, source_id) VALUES (?, 'download', ?, ?, '/', 1)",
                    [(f"2021-05-0{day} 10:00:00", HOSTILE, filename) for day in (1, 2, 3)])
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
    ("99999", "Invalid value for '--port': Input should be less than or equal to 65535"),
    ("0", "Invalid value for '--port': Input should be greater than or equal to 1"),
])
def test_a_port_out_of_range_is_refused_before_anything_is_announced(tmp_path, port, message):
    result = subprocess.run([WHEELSTATS, "dashboard", "--db", str(tmp_path / "s.duckdb"), "--port", port],
                            capture_output=True, text=True, timeout=60, env={**os.environ, "COLUMNS": "200"})
    assert result.returncode == 2
    assert result.stdout == ""  # no "Dashboard of ... on http://..." for a port it would never listen on
    assert message in " ".join(result.stderr.split())
