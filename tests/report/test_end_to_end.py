"""simulate -> import piwheels --dump -> ingest -> report: every figure against the manifest.

The manifest is the generator's own count of what it wrote; the report reads the
raw logs and the dump back through the whole pipeline.
"""

import json

import pytest
from typer.testing import CliRunner

from wheelstats.cli import app
from wheelstats.timesaved import SECONDS_PER_YEAR

runner = CliRunner()
SCALE = "0.002"


def invoke(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    work = tmp_path_factory.mktemp("e2e")
    sim, db, out = work / "sim", work / "s.duckdb", work / "report"
    invoke("simulate", "--scenario", "piwheels-2020q1", "--scale", SCALE, "--out", str(sim))
    invoke("import", "piwheels", "--dump", str(sim / "piwheels"), "--db", str(db))
    invoke("ingest", *sorted(str(p) for p in (sim / "logs").iterdir()), "--db", str(db))
    invoke("report", "--period", "2020-Q1", "--db", str(db), "--out", str(out))
    manifest = json.loads((sim / "manifest.json").read_text())
    report = json.loads((out / "report.json").read_text())
    return manifest, report, out


def test_totals_and_time_saved(pipeline):
    manifest, report, _ = pipeline
    assert report["period"]["start"] == manifest["period"]["start"]
    assert report["period"]["end"] == manifest["period"]["end"]
    assert report["site"] == manifest["site"]
    assert report["downloads"] == manifest["downloads_in_period"]
    assert report["downloads_all_time"] == manifest["downloads_all_time_at_period_end"]
    saved = manifest["time_saved_seconds"]
    assert report["time_saved_seconds"] == pytest.approx(saved["in_period"], abs=0.5)
    assert report["time_saved_all_time_seconds"] == pytest.approx(saved["all_time"], abs=0.5)
    assert report["time_saved_seconds"] / SECONDS_PER_YEAR == pytest.approx(
        manifest["time_saved_years"]["in_period"], rel=1e-6)


def test_months_and_days(pipeline):
    manifest, report, _ = pipeline
    assert {m["month"]: m["downloads"] for m in report["by_month"]} == manifest["downloads_by_month"]
    by_month_saved = {m["month"]: m["time_saved_seconds"] for m in report["by_month"]}
    assert by_month_saved == pytest.approx(manifest["time_saved_seconds"]["by_month"], abs=0.5)
    for month in ("2020-01", "2020-02", "2020-03"):
        assert by_month_saved[month] / SECONDS_PER_YEAR == pytest.approx(
            manifest["time_saved_years"]["per_month"][month], rel=1e-6)
    in_period = {d: n for d, n in manifest["downloads_by_day"].items()
                 if manifest["period"]["start"] <= d <= manifest["period"]["end"]}
    assert {d["date"]: d["downloads"] for d in report["by_day"]} == in_period
    assert {k: report["peak_month"][k] for k in ("month", "downloads")} == manifest["peak_month"]
    assert {k: report["peak_day"][k] for k in ("date", "downloads")} == manifest["peak_day"]
    assert report["peak_month"]["in_period"] is manifest["months"]["march_is_highest_month_ever"]
    assert report["peak_day"]["in_period"] is manifest["days"]["peak"]["is_highest_day_ever"]


def test_top_projects(pipeline):
    manifest, report, _ = pipeline
    assert [[p["project"], p["downloads"]] for p in report["top"]] == manifest["top_in_period"]
    assert [{"project": p["project"], "name": p["name"], "downloads": p["downloads"]} for p in report["top"]] == \
        manifest["top_in_period_named"]
    assert {month: [[p["project"], p["downloads"]] for p in rows] for month, rows in report["top_by_month"].items()} \
        == manifest["top_by_month"]
    assert [[p["project"], p["downloads"]] for p in report["top_by_month"]["2020-03"]] == manifest["top_in_march"]


def test_shares(pipeline):
    manifest, report, _ = pipeline
    aliases = {"os_distro": "distro"}  # the manifest also names distro as the seed does
    for dimension, expected in manifest["shares_of_downloads"].items():
        if dimension == "all_arm":
            continue
        got = {s["name"]: s for s in report["shares"][aliases.get(dimension, dimension)]}
        assert set(got) == set(expected), dimension
        for name, figures in expected.items():
            assert got[name]["downloads"] == figures["downloads"], (dimension, name)
            if figures["share"] is None:
                assert got[name]["share"] is None
            else:
                assert got[name]["share"] == pytest.approx(figures["share"], abs=1e-6), (dimension, name)
    arm = sum(s["share"] for s in report["shares"]["arch"]
              if s["share"] is not None and s["name"].startswith(("arm", "aarch")))
    assert arm == pytest.approx(manifest["shares_of_downloads"]["all_arm"]["share"], abs=1e-6)


def test_python_by_month(pipeline):
    manifest, report, _ = pipeline
    for month, versions in manifest["python_by_month"].items():
        got = {r["python"]: r for r in report["python_by_month"] if r["month"] == month}
        assert set(got) == set(versions), month
        for version, figures in versions.items():
            assert got[version]["downloads"] == figures["downloads"]
            if figures["share"] is not None:
                assert got[version]["share"] == pytest.approx(figures["share"], abs=1e-6)


def test_python_checks(pipeline):
    manifest, report, _ = pipeline
    python = {s["name"]: s["share"] for s in report["shares"]["python"]}
    assert (python["3.7"] > python["3.5"]) is manifest["python_checks"]["3.7_above_3.5"]
    last = report["period"]["months"][-1]
    march = {r["python"]: r["share"] for r in report["python_by_month"] if r["month"] == last}
    earlier = [r for r in report["python_by_month"]
               if r["month"] in report["period"]["months"][:-1] and r["python"] != "unknown"]
    before = sum(r["downloads"] for r in earlier if r["python"] == "2.7") / sum(r["downloads"] for r in earlier)
    assert (march["2.7"] > before) is manifest["python_checks"]["2.7_share_rises_in_march"]


def test_spike_and_the_packages_behind_it(pipeline):
    manifest, report, _ = pipeline
    peak = manifest["days"]["peak"]["date"]
    spikes = [s for s in report["spikes"] if s["start"] <= peak <= s["end"]]
    assert len(spikes) == 1 and spikes[0]["peak_date"] == peak
    assert spikes[0]["start"] >= manifest["days"]["spike_starts"]
    behind = {p["project"] for p in spikes[0]["projects"]}
    assert behind == set(manifest["spike_packages"]["canonical"])


def test_charts_show_the_report(pipeline):
    manifest, report, out = pipeline
    from wheelstats import charts

    specs = charts.report_specs(report)
    months = specs["downloads-by-month"]["data"]["values"]
    assert {m["month"]: m["downloads"] for m in months} == manifest["downloads_by_month"]
    assert sorted(p.name for p in (out / "charts").glob("*.png")) == sorted(f"{name}.png" for name in specs)
    text = (out / "report.md").read_text()
    assert f"**{manifest['downloads_in_period']:,}** packages were downloaded from piwheels" in text
    assert f"bringing the total to **{manifest['downloads_all_time_at_period_end']:,}**" in text


def test_the_spike_s_cause_is_the_upgrade_the_manifest_wrote(pipeline):
    manifest, report, out = pipeline
    peak = manifest["days"]["peak"]["date"]
    spike = next(s for s in report["spikes"] if s["start"] <= peak <= s["end"])
    written = manifest["cause"]
    days = [d for d in written["sessions_by_day"] if spike["start"] <= d <= spike["end"]]
    sessions = sum(written["sessions_by_day"][d]["sessions"] for d in days)
    looked_up = sum(written["sessions_by_day"][d]["looked_up_first"] for d in days)
    cause = spike["cause"]
    # Each upgrade session is a client of its own: the clients behind the spike are its sessions.
    assert (cause["kind"], cause["project"], cause["name"]) == ("project", written["project"], written["name"])
    assert cause["clients"] == sessions > 0
    assert cause["share_of_clients"] == pytest.approx(looked_up / sessions)
    assert cause["openers"][0]["project"] == "octoprint"
    assert cause["downloads_here"] == written["downloads_here"] == 0
    # The dump's dependencies table (piwheels' pip requirements of the octoprint wheel) confirms it.
    assert (cause["evidence"], cause["dependencies_from"]) == ("both", "Requires-Dist")
    required = {p["project"]: p["name"] for p in spike["projects"]}
    assert sorted(cause["dependencies_in_spike"]) == sorted(written["dependencies_in_spike"])
    text = (out / "report.md").read_text()
    names = [required[project] for project in cause["dependencies_in_spike"]]
    assert (f"This was an upgrade of OctoPrint: {looked_up / sessions * 100:.0f}% of the {sessions:,} clients "
            f"behind it looked up octoprint first, and {', '.join(names[:-1])} and {names[-1]} are all its "
            "dependencies.") in text
    assert "OctoPrint itself was installed from elsewhere: none of its files was downloaded here." in text
    assert spike["python_effect"]["python"] == "2.7" and spike["python_effect"]["universal"] == 1.0
    assert spike["after"]["difference"] > 0
