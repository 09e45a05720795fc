"""Spikes, trends and versions on the dashboard: the rollups' answers against the report's functions, the API,
and the pages, on a real `wheelstats dashboard` over the simulated store (the octoprint upgrade in March 2020)."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from datetime import date

import httpx
import pytest
from kit.dashboards import PERIOD, running_dashboard
from kit.processes import WHEELSTATS
from kit.sessions import pip_agent

from wheelstats import stats, store
from wheelstats.period import parse_period
from wheelstats.rollups import adoption, spikes as rolled_spikes, trends as rolled_trends
from wheelstats.rollups.filters import Filters
from wheelstats.stats import trends as hit_trends

PERIODS = ("2020-Q1", "2020-03", "2020-02-20..2020-03-10", "2019")


@pytest.fixture(scope="module")
def reference(simulated_store, tmp_path_factory):
    """A copy of the store, with the report's Ibis tables and a plain read-only connection over it."""
    copy = tmp_path_factory.mktemp("stories") / "store.duckdb"
    shutil.copy(simulated_store, copy)
    tables = stats.open_tables(copy)
    con = store.connect(copy, read_only=True)
    yield tables, con
    con.close()


def get(base: str, path: str, **params) -> httpx.Response:
    return httpx.get(base + path, params=params, timeout=120)


def same_spikes(rolled: list, found: list) -> None:
    assert [(s.start, s.end, s.peak_date, s.peak_downloads) for s in rolled] == \
        [(s.start, s.end, s.peak_date, s.peak_downloads) for s in found]
    for a, b in zip(rolled, found):
        assert a.excess == pytest.approx(b.excess) and a.baseline == pytest.approx(b.baseline)
        assert [(r.project, r.downloads) for r in a.projects] == [(r.project, r.downloads) for r in b.projects]
        assert [r.rise for r in a.projects] == pytest.approx([r.rise for r in b.projects])


@pytest.mark.parametrize("period", PERIODS)
def test_the_rollups_find_the_report_s_spikes(reference, period):
    tables, con = reference
    same_spikes(rolled_spikes.spikes(con, parse_period(period)), stats.spikes(tables, parse_period(period)))


def test_the_march_spike_is_found_and_mirror_toggles_keep_it(reference):
    tables, con = reference
    march = rolled_spikes.spikes(con, parse_period(PERIOD))
    assert [s.peak_date for s in march] == ["2020-03-05"]
    assert {r.project for r in march[0].projects} == {"flask-login", "markdown", "sentry-sdk", "semantic-version"}
    without = rolled_spikes.spikes(con, parse_period(PERIOD), Filters(exclude_ci=True, exclude_bots=True))
    assert [s.peak_date for s in without] == ["2020-03-05"]


@pytest.mark.parametrize("period", PERIODS)
@pytest.mark.parametrize("floor", (1, 20))
def test_rising_projects_are_the_hits_own(reference, period, floor):
    tables, con = reference
    window = parse_period(period)
    rolled = rolled_trends.rising(con, window, Filters(), 10, floor)
    counted = hit_trends.rising(tables, window, 10, floor)
    assert [(r["project"], r["downloads"], r["previous"]) for r in rolled] == \
        [(r.project, r.downloads, r.previous) for r in counted]
    assert all(r["previous"] >= floor for r in rolled)
    assert [r["growth"] for r in rolled] == sorted((r["growth"] for r in rolled), reverse=True)


@pytest.mark.parametrize("end", (date(2020, 3, 31), date(2020, 1, 15), date(2018, 2, 1)))
def test_new_projects_are_the_hits_own(reference, end):
    tables, con = reference
    rolled = rolled_trends.new_projects(con, end, Filters(), 10)
    counted = hit_trends.new_projects(tables, end, 10)
    assert [(r["project"], r["first_day"], r["downloads"]) for r in rolled] == \
        [(r.project, r.first_day, r.downloads) for r in counted]
    assert all(date.fromisoformat(r["first_day"]) > date.fromordinal(end.toordinal() - 90) for r in rolled)


def test_versions_over_time_add_up_to_the_downloads_of_each_version(reference):
    _tables, con = reference
    period = parse_period(PERIOD)
    expected = dict(con.execute(
        """SELECT f.version, count(*) FROM hits h JOIN files f USING (filename)
           WHERE h.kind = 'download' AND h.project = 'flask-login' AND h.ts >= ? AND h.ts < ? GROUP BY ALL""",
        [period.start_ts, period.end_ts]).fetchall())
    for granularity in ("day", "week", "month"):
        rows = adoption.versions_over_time(con, period, Filters(), "flask-login", granularity)
        by_version: dict[str, int] = {}
        for row in rows:
            by_version[row["version"]] = by_version.get(row["version"], 0) + row["downloads"]
        assert by_version == expected, granularity
    weeks = adoption.versions_over_time(con, period, Filters(), "flask-login", "week")
    assert all(date.fromisoformat(r["date"]).weekday() == 0 for r in weeks)
    releases = adoption.stable_and_prerelease(con, period, Filters(), "flask-login")
    assert releases == {"stable": sum(expected.values()), "pre-release": 0, "unknown": 0, "prerelease_share": 0.0}


@pytest.mark.parametrize(("version", "kind"), [
    ("1.0", "stable"), ("0.5.0", "stable"), ("1.0rc1", "pre-release"), ("2.0b3", "pre-release"),
    ("2.0.dev4", "pre-release"), ("1.0.post1", "stable"), ("not a version", "unknown"), (None, "unknown"),
])
def test_release_kinds_follow_pep_440(version, kind):
    assert adoption.release_kind(version) == kind


def test_api_spikes_tell_the_report_s_story(dashboard_url, reference):
    tables, _con = reference
    period = parse_period(PERIOD)
    story = stats.explain_spikes(tables, period, stats.spikes(tables, period))[0]
    body = get(dashboard_url, "/api/spikes", period=PERIOD).json()
    assert body["period"]["name"] == PERIOD and body["session_gap_minutes"] == 10
    (spike,) = body["data"]
    assert (spike["start"], spike["end"], spike["peak_downloads"]) == \
        (story.spike.start, story.spike.end, story.spike.peak_downloads)
    cause = spike["cause"]
    assert (cause["kind"], cause["project"], cause["name"]) == ("project", "octoprint", "OctoPrint")
    assert (cause["clients"], cause["evidence"]) == (story.cause.clients, story.cause.evidence)
    assert cause["share_of_clients"] == pytest.approx(story.cause.share_of_clients)
    assert spike["after"]["after_daily"] == pytest.approx(story.after.after_daily)
    assert spike["python_effect"]["python"] == story.python_effect.python == "2.7"
    rows = list(csv.DictReader(io.StringIO(get(dashboard_url, "/api/spikes", period=PERIOD, format="csv").text)))
    assert [(r["start"], r["cause"], r["cause_project"], int(r["clients"])) for r in rows] == \
        [(story.spike.start, "project", "octoprint", story.cause.clients)]
    wider = get(dashboard_url, "/api/spikes", period=PERIOD, gap="120").json()
    assert wider["session_gap_minutes"] == 120 and wider["data"][0]["cause"]["project"] == "octoprint"
    assert get(dashboard_url, "/api/spikes", period="2020-02").json()["data"] == []


def test_api_trends_and_versions(dashboard_url, reference):
    tables, _con = reference
    body = get(dashboard_url, "/api/trends", period="2020-03", floor="20", limit="5").json()
    assert (body["window"], body["previous"]) == ({"start": "2020-03-01", "end": "2020-03-31"},
                                                  {"start": "2020-01-30", "end": "2020-02-29"})
    counted = hit_trends.rising(tables, parse_period("2020-03"), 5, 20)
    assert [(r["project"], r["downloads"]) for r in body["rising"]] == [(r.project, r.downloads) for r in counted]
    assert [r["project"] for r in body["new"]] == [r.project for r in hit_trends.new_projects(tables, date(2020, 3, 31), 5)]
    assert body["rising"] and body["new"]  # the CSV below has rows of both kinds
    rows = list(csv.DictReader(io.StringIO(get(dashboard_url, "/api/trends", period="2020-03", floor="20", limit="5",
                                                format="csv").text)))
    assert [(r["trend"], r["project"], int(r["downloads"]), r["previous"], r["first_day"]) for r in rows] == [
        *(("rising", r["project"], r["downloads"], str(r["previous"]), "") for r in body["rising"]),
        *(("new", r["project"], r["downloads"], "", r["first_day"]) for r in body["new"])]
    everything = get(dashboard_url, "/api/trends").json()  # all time: the store's last 30 days
    assert everything["window"]["end"] == "2020-03-31" and everything["window"]["start"] == "2020-03-02"
    versions = get(dashboard_url, "/api/projects/Flask_Login/versions", period=PERIOD).json()
    assert versions["project"] == "flask-login" and versions["granularity"] == "week"
    assert sum(r["downloads"] for r in versions["over_time"]) == versions["releases"]["stable"] > 0


@pytest.mark.parametrize(("path", "params", "message"), [
    ("/api/spikes", {"gap": "0"}, "Invalid gap: '0'. Use whole minutes from 1 to 1440."),
    ("/api/spikes", {"gap": "1441"}, "Invalid gap: '1441'. Use whole minutes from 1 to 1440."),
    ("/api/spikes", {"limit": "x"}, "Invalid limit: 'x'. Use a whole number from 1 to 1000."),
    ("/api/trends", {"floor": "-3"}, "Invalid floor: '-3'. Use a whole number of downloads, e.g. 100."),
])
def test_bad_story_parameters_get_a_clear_json_error(dashboard_url, path, params, message):
    response = get(dashboard_url, path, **params)
    assert response.status_code == 400 and response.json()["error"] == message


def test_pages_show_the_spike_its_cause_and_who_pulled_a_project_in(dashboard_url):
    home = get(dashboard_url, "/stats/", period=PERIOD).text
    assert '<tr class="spike" data-start="2020-03-04" data-end="2020-03-' in home
    assert 'data-kind="project" data-project="octoprint">This was an upgrade of OctoPrint: ' in home
    assert '<section id="trends"><h2>Trends</h2>' in home and 'id="new-projects"' in home
    page = get(dashboard_url, "/stats/project/flask-login", period=PERIOD).text
    assert 'data-pulled-in-by="octoprint">' in page
    assert 'pulled in by <a href="/stats/project/octoprint?period=2020-Q1">OctoPrint</a>' in page
    assert 'id="chart-adoption"' in page and 'id="downloads-stable"' in page
    quiet = get(dashboard_url, "/stats/project/numpy", period=PERIOD).text
    assert '<p id="no-spikes">It took part in no spike of the period.</p>' in quiet
    chart = get(dashboard_url, "/stats/chart/project/flask-login/adoption.json", period=PERIOD).json()
    assert chart["title"]["text"] == "Version adoption"


def test_a_pre_release_counts_apart(store_copy, tmp_path):
    """Downloads of a release candidate, ingested on top: the pre-releases' share says how many."""
    agent = pip_agent("3.7.3").replace('"', '\\"')
    lines = "".join(
        f'10.77.0.{i} - - [1{i % 9}/Mar/2020:10:00:00 +0000] "GET /simple/flask-login/'
        f'Flask_Login-0.6.0rc1-py2.py3-none-any.whl HTTP/1.1" 200 4096 "-" "{agent}"\n' for i in range(12))
    log = tmp_path / "rc.log"
    log.write_text(lines)
    subprocess.run([WHEELSTATS, "ingest", str(log), "--db", str(store_copy)], check=True, stdout=subprocess.DEVNULL)
    with running_dashboard(store_copy, tmp_path / "dashboard.log") as base:
        releases = get(base, "/api/projects/flask-login/versions", period=PERIOD).json()["releases"]
        assert releases["pre-release"] == 12
        assert releases["prerelease_share"] == pytest.approx(12 / (12 + releases["stable"]))
        page = get(base, "/stats/project/flask-login", period=PERIOD).text
        assert 'id="downloads-prerelease" data-value="12">12<' in page
