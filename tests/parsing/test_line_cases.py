"""Real log lines by source family (tests/data/lines/*.yaml): each must become the stated hit.

A case may name the ingest options its line needs: `format`, `escape`, `client_from`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kit import DATA
from wheelstats import store
from wheelstats.ingest import ingest_paths

CASES_DIR = DATA / "lines"
CASES = [
    pytest.param(case, id=f"{path.stem}: {case['name']}")
    for path in sorted(CASES_DIR.glob("*.yaml"))
    for case in yaml.safe_load(path.read_text())
]


def ingest_one(tmp_path: Path, line: str, **options):
    log = tmp_path / "access.log"
    log.write_text(line + "\n")
    con = store.connect(tmp_path / "s.duckdb")
    [report] = ingest_paths(con, [log], ip_mode="raw", **options)
    return con, report


@pytest.mark.parametrize("case", CASES)
def test_line_becomes_its_hit(tmp_path, case):
    options = {"log_format": "format", "escape": "escape", "client_from": "client_from"}
    con, report = ingest_one(tmp_path, case["line"], **{k: case[v] for k, v in options.items() if v in case})
    assert report.lines == 1 and report.balanced
    outcome = case["outcome"]
    kind, _, reason = outcome.partition(":")
    if kind == "ignore":
        assert dict(report.ignored) == {reason: 1}
        return
    if kind == "reject":
        assert dict(report.rejected) == {reason: 1}
        [(line_no, kept)] = con.execute("SELECT line_no, line FROM reject_samples").fetchall()
        assert line_no == 1 and kept == case["line"]
        return
    assert dict(report.hits) == {outcome: 1}
    hit = con.execute("SELECT * FROM hits").fetch_df().to_dict("records")[0]
    for column, expected in case.get("hit", {}).items():
        actual = hit[column]
        if column == "ts":
            actual = str(actual)
        assert actual == expected, column
    if "agent" in case:
        agent = con.execute(
            "SELECT agents.* FROM hits JOIN agents USING (agent_id)"
        ).fetch_df().to_dict("records")[0]
        for column, expected in case["agent"].items():
            actual = agent[column]
            assert (actual if actual == actual else None) == expected, column  # NaN -> None
    if "file" in case:
        file = con.execute("SELECT files.* FROM hits JOIN files USING (filename)").fetch_df().to_dict("records")[0]
        for column, expected in case["file"].items():
            actual = file[column]
            assert (actual if actual == actual else None) == expected, column
