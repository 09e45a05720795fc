"""The dashboard's build figures (total build time, builds per day, failures, the slowest builds),
from a store the builder filled, on a real `wheelstats dashboard`."""

from __future__ import annotations

import subprocess
from datetime import datetime, timezone

import httpx
import pytest

from kit.builds import builds, run_build
from kit.dashboards import running_dashboard
from kit.processes import WHEELSTATS
from kit.sdists import make_project


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("build-figures")
    sources, db, wheels = tmp / "sources", tmp / "stats.duckdb", tmp / "wheels"
    make_project(sources, "quick", "1.0", "pure")
    make_project(sources, "broken", "1.0", "fail")
    make_project(sources, "compiled", "1.0", "extension", compile_functions=100)
    assert run_build(db, sources, wheels).returncode == 0
    now = datetime.now(timezone.utc)
    log = tmp / "access.log"
    log.write_text(f'10.0.0.1 - - [{now:%d/%b/%Y:%H:%M:%S} +0000] "GET /simple/quick/quick-1.0-py3-none-any.whl '
                   'HTTP/1.1" 200 1000 "-" "pip/24.0"\n')
    subprocess.run([WHEELSTATS, "ingest", str(log), "--db", str(db)], check=True, capture_output=True)
    rows = builds(db)
    with running_dashboard(db, tmp / "dashboard.log") as base:
        yield base, rows


def test_the_overview_has_the_build_figures(dashboard):
    base, rows = dashboard
    figures = httpx.get(base + "/api/overview", timeout=30).json()["builds"]
    built = sorted((row for row in rows if row["status"]), key=lambda row: -row["duration_s"])
    day = rows[0]["built_at"].date().isoformat()
    assert figures == {
        "builds": 3, "succeeded": 2, "failed": 1,
        "total_seconds": pytest.approx(sum(row["duration_s"] for row in rows)),
        "succeeded_seconds": pytest.approx(sum(row["duration_s"] for row in built)),
        "by_day": [{"date": day, "builds": 3, "failed": 1, "seconds": pytest.approx(sum(r["duration_s"] for r in rows))}],
        "failures": [{"reason": "error", "builds": 1}],
        "slowest": [{"build_id": row["build_id"], "project": row["project"], "version": "1.0",
                     "abi_tag": row["abi_tag"], "built_at": row["built_at"].isoformat(timespec="seconds"),
                     "duration_s": pytest.approx(row["duration_s"])} for row in built],
    }
    assert [row["project"] for row in figures["slowest"]] == ["compiled", "quick"]


def test_the_home_page_shows_them(dashboard):
    base, rows = dashboard
    page = httpx.get(base + "/stats/", timeout=30).text
    total = sum(row["duration_s"] for row in rows)
    assert f'<span class="figure" id="build-time-period" data-value="{total}">{total:.0f} s</span>' in page
    assert '<span class="figure" id="builds-period" data-value="3">3</span>' in page
    assert '<span class="figure" id="builds-failed" data-value="1">1</span>' in page
    failures = page.split('<table id="build-failures">', 1)[1].split("</table>", 1)[0]
    assert '<tr><td>error</td><td class="n" data-value="1">1</td></tr>' in failures
    slowest = page.split('<table id="slowest-builds">', 1)[1].split("</table>", 1)[0]
    assert slowest.index(">compiled</a>") < slowest.index(">quick</a>") and ">broken</a>" not in slowest
    assert 'id="chart-builds-by-day"' in page


def test_the_builds_by_day_chart(dashboard):
    base, rows = dashboard
    spec = httpx.get(base + "/stats/chart/home/builds-by-day.json", timeout=30).json()
    day = rows[0]["built_at"].date().isoformat()
    assert spec["data"]["values"] == [{"date": day, "status": "succeeded", "builds": 2},
                                      {"date": day, "status": "failed", "builds": 1}]
    assert spec["title"]["text"] == "Builds by day"


def test_time_saved_is_priced_by_the_method_the_builds_call_for(dashboard):
    base, rows = dashboard
    saved = httpx.get(base + "/api/overview", timeout=30).json()["time_saved"]
    assert saved["method"] == "native"  # an x86_64 builder's builds: piwheels' method would price them at 0
    asked = httpx.get(base + "/api/overview?method=piwheels", timeout=30).json()["time_saved"]
    assert asked["method"] == "piwheels"
