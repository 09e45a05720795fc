"""The JSON API against the report's own query functions, pypistats.org's shapes, CSV, badges and bad input.

A real `wheelstats dashboard` serves a store filled by simulate + import + ingest;
the reference figures come from the report's Ibis query functions on the same store.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
from datetime import date

import httpx
import pytest
import schemathesis
from schemathesis.specs.openapi.checks import positive_data_acceptance
from hypothesis import HealthCheck, given, settings
from kit.dashboards import PERIOD, running_dashboard, server_log_tail

from wheelstats import stats, store
from wheelstats.dashboard.openapi import openapi_schema
from wheelstats.period import parse_period
from wheelstats.facets import MIRROR_INSTALLERS


@pytest.fixture(scope="module")
def reference(simulated_store, tmp_path_factory):
    """The report's figures for the test period, from the report's query functions."""
    copy = tmp_path_factory.mktemp("reference") / "store.duckdb"
    shutil.copy(simulated_store, copy)
    tables = stats.open_tables(copy)
    period = parse_period(PERIOD)
    span = stats.download_span(tables)
    return {
        "period": period,
        "downloads": stats.downloads_in_period(tables, period),
        "top": [(p.project, p.downloads) for p in stats.top_projects(tables, period, 10)],
        "shares": {d: [(s.name, s.downloads) for s in stats.shares(tables, period, d)] for d in stats.DIMENSIONS},
        "time_saved": stats.time_saved(tables, period).seconds,
        "by_month": {m.month: (m.downloads, m.time_saved_seconds) for m in stats.downloads_by_month(tables, period)},
        "by_day": {d.date: d.downloads for d in stats.downloads_by_day(tables, period)},
        "unique_clients": stats.unique_clients(tables, period),
        "all_time": stats.downloads_all_time(tables, parse_period(f"{span[0]}..{span[1]}")),
        "db": copy,
    }


def get(base: str, path: str, **params) -> httpx.Response:
    return httpx.get(base + path, params=params, timeout=60)


def test_overview_equals_the_report_for_the_same_period(dashboard_url, reference):
    body = get(dashboard_url, "/api/overview", period=PERIOD).json()
    assert body["period"] == {"name": PERIOD, "start": "2020-01-01", "end": "2020-03-31", "label": "January — March 2020"}
    assert body["downloads"]["period"] == reference["downloads"]
    assert body["downloads"]["all_time"] == reference["all_time"]
    assert [(r["project"], r["downloads"]) for r in body["top"]] == reference["top"]
    for dimension, expected in reference["shares"].items():
        assert [(r["name"], r["downloads"]) for r in body["shares"][dimension]] == expected, dimension
    assert body["time_saved"]["period"]["seconds"] == pytest.approx(reference["time_saved"], rel=1e-9)
    assert {r["month"]: r["downloads"] for r in body["by_month"]} == {m: v[0] for m, v in reference["by_month"].items()}
    for row in body["by_month"]:
        assert row["time_saved_seconds"] == pytest.approx(reference["by_month"][row["month"]][1], rel=1e-9, abs=1e-6)
    assert {r["date"]: r["downloads"] for r in body["by_day"]} == reference["by_day"]


def test_toggles_count_what_they_say(dashboard_url, reference):
    con = store.connect(reference["db"], read_only=True)
    period = reference["period"]
    raw = """SELECT count(*) FROM hits h LEFT JOIN agents a ON a.agent_id = h.agent_id
             WHERE h.kind = 'download' AND h.ts >= ? AND h.ts < ? AND {}"""
    without_bots = con.execute(raw.format(
        f"NOT (coalesce(a.is_bot, false) OR coalesce(a.installer_name IN {MIRROR_INSTALLERS!r}, false))"),
        [period.start_ts, period.end_ts]).fetchone()[0]
    without_ci = con.execute(raw.format("NOT coalesce(a.ci, false)"), [period.start_ts, period.end_ts]).fetchone()[0]
    con.close()
    assert without_bots < reference["downloads"] and without_ci < reference["downloads"]
    body = get(dashboard_url, "/api/overview", period=PERIOD, exclude_bots="true").json()
    assert body["downloads"]["period"] == without_bots
    assert body["filters"]["label"] == "without mirrors and crawlers"
    assert get(dashboard_url, "/api/overview", period=PERIOD, exclude_ci="true").json()["downloads"]["period"] == without_ci
    unique = get(dashboard_url, "/api/overview", period=PERIOD, unique="true").json()
    assert unique["counting"] == "clients"
    assert unique["downloads"]["period"] == reference["unique_clients"]


def test_series_by_granularity_add_up_and_export_as_csv(dashboard_url, reference):
    for granularity in ("day", "week", "month"):
        body = get(dashboard_url, "/api/downloads", period=PERIOD, granularity=granularity).json()
        assert body["granularity"] == granularity
        assert sum(r["downloads"] for r in body["data"]) == reference["downloads"]
    weeks = get(dashboard_url, "/api/downloads", period=PERIOD, granularity="week").json()["data"]
    assert all(date.fromisoformat(r["date"]).weekday() == 0 for r in weeks)
    response = get(dashboard_url, "/api/downloads", period=PERIOD, granularity="month", format="csv")
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert rows == [{"date": f"2020-0{m}-01", "downloads": str(reference["by_month"][f"2020-0{m}"][0])} for m in (1, 2, 3)]
    top_csv = list(csv.DictReader(io.StringIO(get(dashboard_url, "/api/top", period=PERIOD, format="csv").text)))
    assert [(r["project"], int(r["downloads"])) for r in top_csv] == reference["top"]


def test_pypistats_compatible_endpoints(dashboard_url, reference):
    project, downloads = reference["top"][0]
    recent = get(dashboard_url, f"/api/packages/{project}/recent").json()
    assert recent["package"] == project and recent["type"] == "recent_downloads"
    assert set(recent["data"]) == {"last_day", "last_week", "last_month"}
    assert get(dashboard_url, f"/api/packages/{project}/recent", period="week").json()["data"].keys() == {"last_week"}

    overall = get(dashboard_url, f"/api/packages/{project}/overall", period=PERIOD).json()
    assert overall["type"] == "overall_downloads" and overall["package"] == project
    with_mirrors = [r for r in overall["data"] if r["category"] == "with_mirrors"]
    without = [r for r in overall["data"] if r["category"] == "without_mirrors"]
    assert sum(r["downloads"] for r in with_mirrors) == downloads
    assert 0 < sum(r["downloads"] for r in without) <= downloads
    assert [r["category"] for r in overall["data"]] == sorted(r["category"] for r in overall["data"])
    only = get(dashboard_url, f"/api/packages/{project}/overall", period=PERIOD, mirrors="false").json()["data"]
    assert only == without

    for endpoint, kind in (("python_major", "python_major_downloads"), ("python_minor", "python_minor_downloads"),
                           ("system", "system_downloads"), ("architecture", "architecture_downloads"),
                           ("installer", "installer_downloads")):
        body = get(dashboard_url, f"/api/packages/{project}/{endpoint}", period=PERIOD).json()
        assert body["type"] == kind and body["package"] == project
        assert set(body["data"][0]) == {"date", "category", "downloads"}
        assert sum(r["downloads"] for r in body["data"]) == downloads, endpoint
    majors = {r["category"] for r in get(dashboard_url, f"/api/packages/{project}/python_major", period=PERIOD).json()["data"]}
    assert majors <= {"2", "3", "null"} and "3" in majors
    systems = {r["category"] for r in get(dashboard_url, f"/api/packages/{project}/system", period=PERIOD).json()["data"]}
    assert systems <= {"Linux", "Darwin", "Windows", "other", "null"}
    threes = get(dashboard_url, f"/api/packages/{project}/python_major", period=PERIOD, version="3").json()["data"]
    assert threes and {r["category"] for r in threes} == {"3"}
    # Any spelling of the name finds the project, as on pypistats.org.
    assert get(dashboard_url, f"/api/packages/{project.upper()}/recent").json()["package"] == project


def test_project_figures_and_compare(dashboard_url, reference):
    (first, first_downloads), (second, second_downloads) = reference["top"][:2]
    body = get(dashboard_url, f"/api/projects/{first}", period=PERIOD).json()
    assert body["downloads"]["period"] == first_downloads
    assert sum(r["downloads"] for r in body["versions"]) == first_downloads
    assert sum(r["downloads"] for r in body["files"]) == first_downloads
    assert sum(r["downloads"] for r in body["shares"]["python"]) == first_downloads
    compared = get(dashboard_url, "/api/compare", projects=f"{first},{second}", period=PERIOD, granularity="month").json()
    assert compared["totals"] == {first: first_downloads, second: second_downloads}
    assert {r["project"] for r in compared["series"]} == {first, second}


@pytest.mark.parametrize(("path", "params", "status", "message"), [
    ("/api/overview", {"period": "2020-Q5"}, 400, "Invalid period: '2020-Q5'. Use all, last-30-days, a quarter (2020-Q1)"),
    ("/api/overview", {"exclude_ci": "maybe"}, 400, "Invalid exclude_ci: 'maybe'. Use true or false."),
    ("/api/overview", {"start": "2020-01-01"}, 400, "Invalid end: ''. Give both start and end"),
    ("/api/overview", {"start": "2020-02-01", "end": "2020-01-01"}, 400, "Invalid end: '2020-01-01'. The end is before the start"),
    ("/api/overview", {"start": "2020-02-30", "end": "2020-03-01"}, 400, "Invalid start: '2020-02-30'. Use a date as YYYY-MM-DD."),
    ("/api/overview", {"start": "2020-01-01", "end": "9999-12-31"}, 400, "Invalid end: '9999-12-31'. Use a date in the years 1970 to 9998."),
    ("/api/overview", {"period": "9999"}, 400, "Invalid period: '9999'. Use all, last-30-days"),
    ("/api/downloads", {"granularity": "hour"}, 400, "Invalid granularity: 'hour'. Choose one of: day, week, month."),
    ("/api/top", {"limit": "0"}, 400, "Invalid limit: '0'. Use a whole number from 1 to 1000."),
    ("/api/top", {"format": "xml"}, 400, "Invalid format: 'xml'. Choose one of: json, csv."),
    ("/api/shares/colour", {}, 400, "Invalid dimension: 'colour'. Choose one of: os, distro, arch, python, installer, country."),
    ("/api/overview", {"country": "GBR"}, 400, "Invalid country: 'GBR'. Use a two-letter ISO 3166 country code such as GB "
     "(XL: local addresses, ZZ: addresses no registry places)."),
    ("/api/top", {"country": "é1"}, 400, "Invalid country: 'é1'. Use a two-letter ISO 3166 country code"),
    ("/api/compare", {"projects": "numpy"}, 400, "Invalid projects: 'numpy'. Give 2 to 5 project names"),
    ("/api/packages/no-such-project/recent", {}, 404, "No project 'no-such-project' in the store."),
    ("/api/nothing-here", {}, 404, "No API endpoint /api/nothing-here."),
])
def test_bad_parameters_get_a_clear_json_error(dashboard_url, path, params, status, message):
    response = get(dashboard_url, path, **params)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["status"] == status
    assert body["error"].startswith(message)


def test_a_period_longer_than_the_years_before_it_has_trends_against_what_there_is(dashboard_url):
    """The period before 2000-05-01..5552-08-06 would start before year 1: it starts at year 1 instead."""
    response = get(dashboard_url, "/api/overview", start="2000-05-01", end="5552-08-06")
    assert response.status_code == 200
    assert response.json()["trends"]["previous"] == {"start": "0001-01-01", "end": "2000-04-30"}


def test_badges_are_shields_style_svgs(dashboard_url, reference):
    project, downloads = reference["top"][0]
    response = get(dashboard_url, f"/badge/{project}/total.svg")
    assert response.status_code == 200 and response.headers["content-type"] == "image/svg+xml"
    total = get(dashboard_url, f"/api/projects/{project}").json()["downloads"]["all_time"]
    from wheelstats.dashboard.badges import compact
    assert f"downloads: {compact(total)}" in response.text
    assert response.text.startswith("<svg") and 'height="20"' in response.text
    month = get(dashboard_url, f"/badge/{project}/month.svg")
    recent = get(dashboard_url, f"/api/packages/{project}/recent").json()["data"]["last_month"]
    assert f"downloads: {compact(recent)}/month" in month.text
    assert get(dashboard_url, "/badge/no-such-project/day.svg").status_code == 404
    assert get(dashboard_url, f"/badge/{project}/year.svg").status_code == 400


def test_compact_counts_read_like_shields():
    from wheelstats.dashboard.badges import compact
    assert [compact(n) for n in (0, 999, 1000, 1234, 12_345, 999_999, 1_500_000, 18_062_971)] == \
        ["0", "999", "1k", "1.2k", "12k", "1M", "1.5M", "18M"]


@pytest.mark.parametrize(("count", "text"), [
    (9_999, "10k"), (99_950, "100k"), (999_499, "999k"), (999_500, "1M"), (999_950, "1M"),
    (999_499_999, "999M"), (999_999_999, "1G"), (12_345_678_901, "12G"),
])
def test_compact_rounds_first_then_picks_the_unit(count, text):
    from wheelstats.dashboard.badges import compact
    assert compact(count) == text


@pytest.fixture(scope="module")
def api_schema(dashboard_url):
    return schemathesis.openapi.from_url(f"{dashboard_url}/api/openapi.json")


@pytest.mark.parametrize("path", list(openapi_schema()["paths"]))
def test_every_answer_conforms_to_the_openapi_schema(api_schema, dashboard_url, path):
    """Requests generated from /api/openapi.json, valid and invalid: never a server error,
    and every answer matches its documented status, content type and schema.

    Schema-valid requests may still get a 400 when parameters contradict each other
    (start without end, an end before the start, month 13, limit 5000), which an
    OpenAPI schema cannot express: the check that every schema-valid request succeeds
    is left out; bad parameters' 400s are checked in test_bad_parameters_get_a_clear_json_error.
    """
    operation = api_schema[path]["GET"]

    @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(case=operation.as_strategy())
    def check(case):
        case.call_and_validate(base_url=dashboard_url, timeout=60, excluded_checks=[positive_data_acceptance])

    try:
        check()
    except Exception as failure:
        failure.add_note(f"The dashboard's output ends:\n{server_log_tail(dashboard_url)}")
        raise


def test_a_project_the_store_lists_but_nobody_downloaded_has_zeros(store_copy, tmp_path):
    """Known from the store's catalogue (here its projects table, as a piwheels import fills it): zeros, not 404."""
    con = store.connect(store_copy)
    con.execute("INSERT INTO projects (project, name) VALUES ('never-downloaded', 'Never_Downloaded')")
    con.close()
    with running_dashboard(store_copy, tmp_path / "dashboard.log") as base:
        figures = get(base, "/api/projects/Never_Downloaded", period=PERIOD)
        assert figures.status_code == 200
        assert figures.json()["downloads"] == {"period": 0, "all_time": 0, "last_30_days": 0, "today": 0, "this_hour": 0}
        assert figures.json()["series"] == [] and figures.json()["files"] == []
        overall = get(base, "/api/packages/never-downloaded/overall")
        assert overall.status_code == 200 and overall.json()["data"] == []
        badge = get(base, "/badge/never-downloaded/total.svg")
        assert badge.status_code == 200 and "downloads: 0" in badge.text
        assert get(base, "/stats/project/never-downloaded").status_code == 200
        assert get(base, "/api/projects/never-listed").status_code == 404


def test_a_damaged_store_gets_a_clear_503_on_every_page(store_copy, tmp_path):
    """A store cut to half its size: one line that says so, as a page or as JSON, never a traceback or a 500."""
    os.truncate(store_copy, store_copy.stat().st_size // 2)
    log = tmp_path / "dashboard.log"
    with running_dashboard(store_copy, log) as base:
        answers = {path: get(base, path, period=PERIOD) for path in (
            "/stats/", "/stats/project/numpy", "/api/overview", "/api/top", "/api/projects/numpy", "/badge/numpy/total.svg")}
    damaged = f"The store {str(store_copy)!r} is damaged ("
    for path, response in answers.items():
        assert response.status_code == 503, path
    for path in ("/api/overview", "/api/top", "/api/projects/numpy"):
        error = answers[path].json()["error"]
        assert error.startswith(damaged) and error.endswith("Restore it from a backup, or ingest the access logs again into a new store (--db).")
        assert "\n" not in error
    for path in ("/stats/", "/stats/project/numpy"):  # the message, escaped like any text on a page
        assert f'id="error">The store &#39;{store_copy}&#39; is damaged (' in answers[path].text, path
    assert "unavailable" in answers["/badge/numpy/total.svg"].text
    *warning, started, stopped = log.read_text().splitlines()
    assert started.startswith(f"Dashboard of {store_copy} on http://127.0.0.1:")
    assert stopped == "Stopped by SIGTERM: nothing was changed."
    # Bringing the rollups up to date at start reads the store too: if that failed, one line says so.
    assert warning == [] or (len(warning) == 1 and warning[0].startswith(
        f"Warning: The live figures of {str(store_copy)!r} could not be brought up to date: "))
