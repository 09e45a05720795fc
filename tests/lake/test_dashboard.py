"""The dashboard of a lake (`wheelstats dashboard --lake`) answers as the dashboard of the store it came from.

The session's deployment is exported into a lake; the lake's rollups are made
from its hits by a job of their own (lake/rollups.py) and read through a store
file of views. Every API endpoint, with each toggle and a country, must give the
same JSON from both.
"""

from __future__ import annotations

import shutil

import httpx

from wheelstats.lake import Lake, open_lake
from wheelstats.lake.ledger import read_state
from wheelstats.lake.rollups import roll_up, rollups_current

from kit.dashboards import running_dashboard
from kit.lakes import PERIOD, invoke
from kit.servers import make_wheel, query, serving

TOGGLES = ({}, {"unique": "true"}, {"exclude_ci": "true", "exclude_bots": "true"})
# The lake's overview of one country explains each of that country's spikes (six here) from the lake's hits (the
# files of the spikes' weeks): 60-80 s on a loaded 2-core machine when every query read all 943 files.
ANSWER_TIMEOUT_S = 300


def answers(base: str, path: str, params: dict) -> dict:
    """The endpoint's JSON without the moment it was answered, its sums of seconds to 12 significant digits
    (the store and the lake add the same doubles in another order)."""
    response = httpx.get(base + path, params=params, timeout=ANSWER_TIMEOUT_S)
    assert response.status_code == 200, (path, params, response.text)
    return comparable(response.json())


def comparable(value):
    if isinstance(value, dict):
        return {key: comparable(item) for key, item in value.items() if key != "as_of"}
    if isinstance(value, list):
        return [comparable(item) for item in value]
    return float(f"{value:.12g}") if isinstance(value, float) else value


def test_a_lake_s_dashboard_answers_as_its_store_s(deployment, tmp_path):
    db, lake = tmp_path / "s.duckdb", tmp_path / "lake"
    shutil.copy(deployment / "s.duckdb", db)
    shutil.copy(deployment / "s.duckdb.key", tmp_path / "s.duckdb.key")
    invoke("export", "--db", db, "--lake", lake)
    with running_dashboard(db, tmp_path / "store.log") as store, \
            running_dashboard(lake, tmp_path / "lake.log", source="--lake") as from_lake:
        top = answers(store, "/api/top", {"period": PERIOD})
        project = top["data"][0]["project"]
        country = answers(store, "/api/shares/country", {"period": PERIOD})["data"][0]["country"]
        paths = ["/api/overview", "/api/downloads", "/api/top", "/api/shares/python", "/api/shares/os",
                 "/api/shares/installer", "/api/shares/country", f"/api/projects/{project}",
                 f"/api/projects/{project}/files", f"/api/projects/{project}/versions", "/api/trends",
                 f"/api/packages/{project}/recent", f"/api/packages/{project}/overall", "/api/spikes"]
        for filters in (*TOGGLES, {"country": country}):
            for path in paths:
                # pypistats' endpoints (/api/packages/...) take their own periods: their defaults here
                params = filters if path.startswith("/api/packages/") else {"period": PERIOD, **filters}
                assert answers(from_lake, path, params) == answers(store, path, params), (path, params)
        for page in ("/stats/", f"/stats/project/{project}"):
            shown = httpx.get(from_lake + page, params={"period": PERIOD}, timeout=60)
            assert shown.status_code == 200 and project in shown.text
    assert "Rolled up" in (tmp_path / "lake.log").read_text()


def test_the_rollups_are_made_once_and_again_when_the_lake_grows(deployment, tmp_path):
    lake = Lake.at(tmp_path / "lake")
    invoke("export", "--db", deployment / "s.duckdb", "--lake", lake.root)
    assert not rollups_current(lake)
    downloads = roll_up(lake)
    [(expected,)] = __import__("duckdb").connect(str(deployment / "s.duckdb"), read_only=True).execute(
        "SELECT count(*) FROM hits WHERE kind = 'download'").fetchall()
    assert downloads == expected
    entries = read_state(lake).entries
    assert rollups_current(lake) and roll_up(lake) is None and read_state(lake).entries == entries


def test_rollups_an_earlier_version_made_are_made_again(deployment, tmp_path, monkeypatch):
    """Rollups made by a version without one of this version's tables (rollup_project_days, since the store's
    schema 14) are not current: the dashboard makes them again, that table with them."""
    from wheelstats.lake import rollups

    lake = Lake.at(tmp_path / "lake")
    invoke("export", "--db", deployment / "s.duckdb", "--lake", lake.root)
    every_table = rollups.ROLLED_UP
    monkeypatch.setattr(rollups, "ROLLED_UP", tuple(t for t in every_table if t != "rollup_project_days"))
    assert roll_up(lake) is not None and rollups_current(lake)
    monkeypatch.setattr(rollups, "ROLLED_UP", every_table)
    assert not read_state(lake).table_files("rollup_project_days") and not rollups_current(lake)
    assert roll_up(lake) is not None and rollups_current(lake)
    assert read_state(lake).table_files("rollup_project_days")

def test_serve_with_a_lake_answers_from_the_lake_and_counts_into_its_store(deployment, tmp_path):
    """The deployment's store, exported to a lake, serves with the lake's figures; what it counts goes
    into the store, and the next export into the lake."""
    db, lake = tmp_path / "s.duckdb", tmp_path / "lake"
    shutil.copy(deployment / "s.duckdb", db)
    shutil.copy(deployment / "s.duckdb.key", tmp_path / "s.duckdb.key")
    invoke("export", "--db", db, "--lake", lake)
    with running_dashboard(lake, tmp_path / "lake.log", source="--lake") as dashboard:
        project = answers(dashboard, "/api/top", {"period": PERIOD})["data"][0]["project"]
        wheel = make_wheel(tmp_path / "wheels", project, "9.9")
        with serving(wheel.parent, tmp_path, "--lake", str(lake), db=db) as server:
            paths = ["/api/overview", "/api/top", f"/api/projects/{project}", f"/api/packages/{project}/overall"]
            lake_figures = {path: answers(dashboard, path, {"period": PERIOD}) for path in paths}
            assert {path: answers(server.url, path, {"period": PERIOD}) for path in paths} == lake_figures
            assert httpx.get(f"{server.url}/simple/{project}/{wheel.name}", timeout=30).status_code == 200
            assert server.stopped_cleanly()  # every line it logged is in its store
        assert f"figures of the lake {lake}" in server.output.read_text()
    served = "SELECT count(*) FROM hits WHERE filename = ?"
    assert query(db, served, [wheel.name]) == [(1,)]
    invoke("export", "--db", db, "--lake", lake)
    assert open_lake(Lake.at(lake)).execute(served, [wheel.name]).fetchall() == [(1,)]
