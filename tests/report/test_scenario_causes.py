"""The scenarios whose spike no single project made: simulate -> import -> ingest -> report, against the manifest.

mirror-resync: one mirror fetches the peak day's downloads above normal; ci-loop:
CI runners fetch one file over and over. The report must say so, with the shares
the generator wrote.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from wheelstats.cli import app

runner = CliRunner()
SCALE = "0.001"


def invoke(*args: str) -> None:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module", params=["mirror-resync", "ci-loop"])
def scenario(request, tmp_path_factory):
    work = tmp_path_factory.mktemp(request.param)
    sim, db, out = work / "sim", work / "s.duckdb", work / "report"
    invoke("simulate", "--scenario", request.param, "--scale", SCALE, "--out", str(sim))
    invoke("import", "piwheels", "--dump", str(sim / "piwheels"), "--db", str(db))
    invoke("ingest", *sorted(str(p) for p in (sim / "logs").iterdir()), "--db", str(db))
    invoke("report", "--period", "2020-Q1", "--db", str(db), "--out", str(out))
    return (request.param, json.loads((sim / "manifest.json").read_text()),
            json.loads((out / "report.json").read_text()), (out / "report.md").read_text())


def test_the_report_names_what_the_manifest_wrote(scenario):
    name, manifest, report, text = scenario
    peak = manifest["days"]["peak"]["date"]
    spike = next(s for s in report["spikes"] if s["start"] <= peak <= s["end"])
    written, cause = manifest["cause"], spike["cause"]
    days = {d["date"]: d["downloads"] for d in report["by_day"] if spike["start"] <= d["date"] <= spike["end"]}
    carried = sum(n for day, n in written["downloads_by_day"].items() if day in days)
    assert cause["kind"] == written["kind"] and cause["project"] is None
    assert cause["share_of_downloads"] == pytest.approx(carried / sum(days.values()))
    share = f"{carried / sum(days.values()) * 100:.0f}%"
    if name == "mirror-resync":
        assert f"No single project caused it: {share} of its downloads came from one client." in text
    else:
        assert cause["share_of_excess"] == pytest.approx(min(carried / spike["excess"], 1.0))
        assert (f"A CI system made it: agents that say they run in CI made {cause['share_of_excess'] * 100:.0f}% of "
                f"its downloads above normal ({share} of those days' downloads).") in text
