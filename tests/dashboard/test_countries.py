"""Countries on the dashboard and in its API: ?country= on every figure equals the raw hits of
that country, and every endpoint of one country answers as a store of that country's hits alone;
/api/packages/<name>/country is pypistats' shape; a store migrated from before countries says
which downloads have none."""

from __future__ import annotations

import shutil

import duckdb
import httpx
import pytest
from kit.dashboards import PERIOD, running_dashboard
from kit.logs import PIP_AGENT

from wheelstats import store
from wheelstats.dashboard.api import CATEGORY_ENDPOINTS
from wheelstats.facets import DIMENSIONS
from wheelstats.ingest import ingest_files
from wheelstats.parsing.countries import countries_of
from wheelstats.period import parse_period
from wheelstats.rollups import queries, refresh_rollups
from wheelstats.rollups.filters import Filters
from wheelstats.store import dimensions


def get(base: str, path: str, **params) -> dict:
    response = httpx.get(base + path, params=params, timeout=120)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture(scope="module")
def raw(simulated_store):
    """The session store's download hits with their countries, read straight from hit_rows."""
    con = duckdb.connect(str(simulated_store), read_only=True)
    yield con
    con.close()


def raw_downloads(con, country: str, period=None, project: str | None = None) -> int:
    where, params = ["h.kind = 'download'", "h.country = ?"], [country]
    if period is not None:
        where.append("h.ts::DATE BETWEEN ? AND ?")
        params += [period.start, period.end]
    if project is not None:
        where.append("p.project = ?")
        params.append(project)
    return con.execute(f"""SELECT count(*) FROM hit_rows h LEFT JOIN hit_projects p USING (project_id)
        WHERE {' AND '.join(where)}""", params).fetchone()[0]


def test_the_store_has_countries_and_the_country_shares_add_up(dashboard_url, raw):
    period = parse_period(PERIOD)
    shares = get(dashboard_url, "/api/shares/country", period=PERIOD)["data"]
    assert len(shares) > 3
    assert sum(row["downloads"] for row in shares) == get(dashboard_url, "/api/overview", period=PERIOD)["downloads"]["period"]
    for row in shares:
        assert row["downloads"] == raw_downloads(raw, row["country"], period), row
    assert [row["downloads"] for row in shares] == sorted((row["downloads"] for row in shares), reverse=True)


def test_a_country_filter_narrows_every_figure_to_that_countrys_hits(dashboard_url, raw):
    period = parse_period(PERIOD)
    shares = get(dashboard_url, "/api/shares/country", period=PERIOD)["data"]
    for row in shares[:3]:
        code = row["country"]
        overview = get(dashboard_url, "/api/overview", period=PERIOD, country=code.lower())
        assert overview["filters"]["country"] == code
        assert overview["downloads"]["period"] == raw_downloads(raw, code, period)
        assert [r["country"] for r in overview["countries"]] == [code]
        assert sum(r["downloads"] for r in get(dashboard_url, "/api/downloads", period=PERIOD, country=code)["data"]) \
            == raw_downloads(raw, code, period)
        top = get(dashboard_url, "/api/top", period=PERIOD, country=code, limit="3")["data"]
        assert top and all(r["downloads"] == raw_downloads(raw, code, period, r["project"]) for r in top)
        project = get(dashboard_url, f"/api/projects/{top[0]['project']}", period=PERIOD, country=code)
        assert project["downloads"]["period"] == top[0]["downloads"]
    # A country without downloads: zeros, not an error.
    assert get(dashboard_url, "/api/overview", period=PERIOD, country="AQ")["downloads"]["period"] == 0


def test_the_pypistats_country_endpoint_gives_each_days_downloads_by_country(dashboard_url, raw):
    project = get(dashboard_url, "/api/top", period=PERIOD, limit="1")["data"][0]["project"]
    answer = get(dashboard_url, f"/api/packages/{project}/country")
    assert (answer["package"], answer["type"]) == (project, "country_downloads")
    expected = raw.execute("""SELECT h.ts::DATE::VARCHAR, coalesce(h.country, 'null'), count(*)
        FROM hit_rows h JOIN hit_projects p USING (project_id) WHERE h.kind = 'download' AND p.project = ?
        GROUP BY ALL ORDER BY 2, 1""", [project]).fetchall()
    assert [(r["date"], r["category"], r["downloads"]) for r in answer["data"]] == expected
    one = expected[0][1]
    kept = get(dashboard_url, f"/api/packages/{project}/country", country=one)["data"]
    assert {r["category"] for r in kept} == {one} and len(kept) == sum(1 for r in expected if r[1] == one)


def test_a_project_of_one_country_reads_its_hits_alone_inside_and_every_hit_after(simulated_store, raw):
    """The project page's figures in one country read the project's hits of that country, taken once
    (queries.hits_of_project_in_country) unless there are more than it takes; after them, error or not, the
    connection reads every hit again."""
    [(code, project, downloads)] = raw.execute("""SELECT h.country, p.project, count(*) FROM hit_rows h
        JOIN hit_projects p USING (project_id) WHERE h.kind = 'download' AND h.country IS NOT NULL
        GROUP BY ALL ORDER BY 3 DESC LIMIT 1""").fetchall()
    every_download = raw.execute("SELECT count(*) FROM hit_rows WHERE kind = 'download'").fetchone()[0]
    assert downloads < every_download
    con = store.connect(simulated_store, read_only=True)
    try:
        seen = "SELECT count(*), count(DISTINCT project), min(country), max(country) FROM hit_downloads"
        with queries.hits_of_project_in_country(con, Filters(country=code), project):
            assert con.execute(seen).fetchone() == (downloads, 1, code, code)
            assert queries.total(con, None, Filters(country=code), project) == downloads
        assert con.execute(seen).fetchone()[0] == every_download
        with pytest.raises(ZeroDivisionError), queries.hits_of_project_in_country(con, Filters(country=code), project):
            1 / 0
        assert con.execute(seen).fetchone()[0] == every_download
        with queries.hits_of_project_in_country(con, Filters(), project):  # no country: the figures read the rollups
            assert con.execute(seen).fetchone()[0] == every_download
        with queries.hits_of_project_in_country(con, Filters(country=code), project, most=downloads - 1):  # too many
            assert con.execute(seen).fetchone()[0] == every_download
    finally:
        con.close()


def test_a_store_migrated_from_before_countries_says_which_downloads_have_none(tmp_path):
    """Version 7 hits (no country) then new ones ingested: the old count as "not looked up"."""
    db = tmp_path / "old.duckdb"
    con = duckdb.connect(str(db))
    for step in store.MIGRATIONS[:7]:
        step(con) if callable(step) else con.execute(step)
    con.execute("INSERT INTO meta VALUES ('schema_version', '7')")
    con.execute("INSERT INTO sources (name, head_hash, head_len, log_format) VALUES ('old.log', 'x', 0, 'combined')")
    dimensions.add_wide_hits(con, """SELECT * FROM (VALUES
        ('2020-03-04 10:00:00'::TIMESTAMP, 'download', 'numpy', 'numpy-1.0-cp37-cp37m-linux_armv7l.whl', 1),
        ('2020-03-04 11:00:00'::TIMESTAMP, 'download', 'numpy', 'numpy-1.0-cp37-cp37m-linux_armv7l.whl', 1),
        ('2020-03-04 12:00:00'::TIMESTAMP, 'download', 'numpy', 'numpy-1.0-cp37-cp37m-linux_armv7l.whl', 1))
        t(ts, kind, project, filename, source_id)""")
    con.close()
    log = tmp_path / "new.log"
    clients = ["8.8.8.8", "8.8.4.4", "1.0.16.1", "10.0.0.7"]
    log.write_text("".join(
        f'{client} - - [05/Mar/2020:10:00:0{n} +0000] "GET /simple/numpy/numpy-1.0-cp37-cp37m-linux_armv7l.whl '
        f'HTTP/1.1" 200 1234 "-" "{PIP_AGENT}"\n' for n, client in enumerate(clients)))
    ingest_files(db, [log], ip_mode="none")  # migrates the store to version 8 first; no clients, countries all the same
    with running_dashboard(db, tmp_path / "dashboard.log") as base:
        countries = get(base, "/api/shares/country", period="2020-03")["data"]
        expected = {None: 3}
        for code in countries_of(clients):
            expected[code] = expected.get(code, 0) + 1
        assert {row["country"]: row["downloads"] for row in countries} == expected
        assert next(row["name"] for row in countries if row["country"] is None) == "not looked up"
        page = httpx.get(f"{base}/stats/project/numpy", params={"period": "2020-03"}, timeout=60).text
        assert ('<p class="note" id="countries-not-looked-up" data-value="3">3 of the period\'s downloads have no '
                "country: they were stored before wheelstats looked countries up (or ingested with "
                "<code>--country off</code>), so their country is unknown.</p>") in page
        home = httpx.get(f"{base}/stats/", params={"period": "2020-03", "country": "XL"}, timeout=60).text
        assert 'id="countries-not-looked-up"' not in home  # only local downloads: all have a country
        assert 'value="XL"' in home


# What an answer holds that is not a figure of the filtered downloads: the moment, the filters echoed, and
# a spike's story (cause, aftermath, Python effect), which reads every download of its days whatever the
# filters (dashboard.insights).
NOT_FILTERED = ("as_of", "filters", "cause", "after", "python_effect")


def comparable(answer: dict):
    """An endpoint's JSON without NOT_FILTERED, its floats to 12 significant digits (the same doubles
    summed in another order)."""
    def strip(value):
        if isinstance(value, dict):
            return {key: strip(item) for key, item in value.items() if key not in NOT_FILTERED}
        if isinstance(value, list):
            return [strip(item) for item in value]
        return float(f"{value:.12g}") if isinstance(value, float) else value
    return strip(answer)


def answers(base: str, path: str, params: dict):
    return comparable(get(base, path, **params))


def test_every_endpoint_of_one_country_answers_as_a_store_of_that_countrys_hits_alone(
        dashboard_url, simulated_store, tmp_path):
    """?country=XX on each endpoint, with each toggle, over a period of whole months and one with days at
    either end, against the same endpoint unfiltered on a copy of the store that holds only that country's
    hits (its rollups rebuilt from them): the rollups that keep no country must not change a figure."""
    shares = get(dashboard_url, "/api/shares/country", period=PERIOD)["data"]
    code = next(row["country"] for row in shares if row["country"] is not None)
    alone_db = tmp_path / "alone.duckdb"
    shutil.copy(simulated_store, alone_db)
    con = store.connect(alone_db)
    con.execute("DELETE FROM hit_rows WHERE country IS DISTINCT FROM ?", [code])
    assert refresh_rollups(con).rebuilt
    downloads = con.execute("SELECT count(*) FROM hits WHERE kind = 'download'").fetchone()[0]
    con.close()
    assert 0 < downloads == next(row["downloads"] for row in get(dashboard_url, "/api/shares/country")["data"]
                                 if row["country"] == code)
    top = get(dashboard_url, "/api/top", period=PERIOD, country=code, limit="2")["data"]
    project, other = top[0]["project"], top[1]["project"]
    paths = ["/api/overview", "/api/downloads", "/api/top", *(f"/api/shares/{name}" for name in DIMENSIONS),
             "/api/shares/country", f"/api/projects/{project}", f"/api/projects/{project}/files",
             f"/api/projects/{project}/versions", "/api/trends", "/api/spikes",
             f"/api/packages/{project}/overall",
             *(f"/api/packages/{project}/{endpoint.series}" for endpoint in CATEGORY_ENDPOINTS)]
    toggles = ({}, {"unique": "true"}, {"exclude_ci": "true", "exclude_bots": "true"})
    with running_dashboard(alone_db, tmp_path / "alone.log") as alone:
        for period in (PERIOD, "2020-01-20..2020-03-10"):
            for filters in toggles:
                params = {"period": period, **filters}
                for path in paths:
                    assert answers(dashboard_url, path, {**params, "country": code}) == answers(alone, path, params), \
                        (path, params)
                assert answers(dashboard_url, f"/api/packages/{project}/recent", {**filters, "country": code}) \
                    == answers(alone, f"/api/packages/{project}/recent", filters), filters  # the last days, by the clock
                for granularity in ("week", "month"):
                    params = {"period": period, "granularity": granularity, **filters}
                    assert answers(dashboard_url, "/api/downloads", {**params, "country": code}) \
                        == answers(alone, "/api/downloads", params), params
                params = {"period": period, "projects": f"{project},{other}", **filters}
                assert answers(dashboard_url, "/api/compare", {**params, "country": code}) \
                    == answers(alone, "/api/compare", params), params

