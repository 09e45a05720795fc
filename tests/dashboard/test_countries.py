"""Countries on the dashboard and in its API: ?country= on every figure equals the raw hits of
that country; /api/packages/<name>/country is pypistats' shape; a store migrated from before
countries says which downloads have none."""

from __future__ import annotations

import duckdb
import httpx
import pytest
from kit.dashboards import PERIOD, running_dashboard
from kit.logs import PIP_AGENT

from wheelstats import store
from wheelstats.ingest import ingest_files
from wheelstats.parsing.countries import countries_of
from wheelstats.period import parse_period
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
