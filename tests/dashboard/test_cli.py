"""`wheelstats dashboard`: its help, and a clear error for a missing store."""

from __future__ import annotations

import subprocess

from kit.dashboards import WHEELSTATS


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
