"""Project pages and packages.json: figures from the store, cached, and the last figures when it is busy."""

from __future__ import annotations

import os
import re
from datetime import date, datetime, timezone

import httpx
import pytest

from kit.processes import wait_until
from kit.servers import make_wheel, serving
from wheelstats import store
from wheelstats.rollups import refresh_rollups

from kit.hits import add_hits
from wheelstats.rollups.queries import ClientDownloads, DayDownloads, ProjectTotals, project_totals
from wheelstats.rollups.reader import CachedReader
from wheelstats.server.site import IndexFigures, ProjectFigures, project_figures


def figure(page: str, name: str) -> int:
    return int(re.search(rf'id="{name}">([\d,]+)<', page).group(1).replace(",", ""))


def page_showing(server, path: str, name: str, value: int) -> str:
    """The page once its figure `name` reads `value` (the feeder ingests every round; answers are cached)."""
    def page() -> str | None:
        text = httpx.get(server.url + path).text
        return text if figure(text, name) == value else None
    return wait_until(page, timeout=30, what=f"{path} to show {name} = {value}")


def seed_store(db, rows):
    con = store.connect(db)
    source = con.execute("INSERT INTO sources (name, head_hash, head_len, log_format) "
                         "VALUES ('t', 'h', 1, 'combined') RETURNING source_id").fetchone()[0]
    add_hits(con, ("ts", "kind", "project", "filename", "path", "source_id"), [(*row, "/", source) for row in rows])
    refresh_rollups(con)  # as every writer does: the pages read the rollups
    con.close()


def test_project_queries_count_all_time_recent_and_by_day(tmp_path):
    now = datetime(2026, 11, 25, 12, 0)
    seed_store(tmp_path / "s.duckdb", [
        (datetime(2026, 11, 25, 1), "download", "alpha", "alpha-1.0.whl"),
        (datetime(2026, 11, 24, 1), "download", "alpha", "alpha-1.1.whl"),
        (datetime(2026, 10, 27, 0), "download", "alpha", "alpha-1.0.whl"),   # the 30th day back: recent
        (datetime(2026, 10, 26, 23), "download", "alpha", "alpha-1.0.whl"),  # the 31st: not recent
        (datetime(2026, 11, 25, 1), "search", "alpha", None),
        (datetime(2026, 11, 25, 1), "download", "beta", "beta-1.0.whl"),
    ])
    con = store.connect(tmp_path / "s.duckdb", read_only=True)
    figures = project_figures(con, now, "alpha")
    assert (figures.all_time, figures.last_30_days) == (4, 3)
    assert figures.by_day[0] == DayDownloads(date(2026, 10, 27), 1) and figures.by_day[-1] == DayDownloads(date(2026, 11, 25), 1)
    assert len(figures.by_day) == 30 and sum(d.downloads for d in figures.by_day) == 3
    assert figures.by_file == {"alpha-1.0.whl": 3, "alpha-1.1.whl": 1}
    assert figures.clients == (ClientDownloads("unknown", 4),)
    assert project_totals(con, now.date()) == {"alpha": ProjectTotals(3, 4), "beta": ProjectTotals(1, 1)}
    con.close()


def test_reader_serves_the_last_figures_while_a_writer_holds_the_store(tmp_path):
    db = tmp_path / "s.duckdb"
    seed_store(db, [(datetime.now(timezone.utc).replace(tzinfo=None), "download", "alpha", "alpha-1.0.whl")])
    reader = IndexFigures(CachedReader(db, ttl=0.0))
    fresh = reader.project("alpha")
    assert not fresh.stale and fresh.value.all_time == 1
    writer = store.connect(db)
    try:
        busy = reader.project("alpha")
        assert busy.stale and busy.value == fresh.value
        never_read = reader.project("beta")
        assert never_read.stale and never_read.value is None
    finally:
        writer.close()
    assert reader.project("alpha").stale is False


def test_a_missing_store_means_no_downloads_yet(tmp_path):
    reader = IndexFigures(CachedReader(tmp_path / "none.duckdb"))
    figures = reader.project("alpha")
    assert isinstance(figures.value, ProjectFigures) and figures.value.all_time == 0
    assert reader.package_counts().value == {}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pages")
    wheels = tmp / "wheels"
    make_wheel(wheels, "alpha", "1.0")
    make_wheel(wheels, "alpha", "1.1", requires_python=">=3.10")
    make_wheel(wheels, "beta", "0.1")
    (wheels / "yanked.txt").write_text("alpha-1.0-py3-none-any.whl old\n")
    with serving(wheels, tmp) as running:
        yield running


def test_pages_show_the_downloads_the_server_counted(server):
    for name in ["alpha-1.1-py3-none-any.whl", "alpha-1.1-py3-none-any.whl", "alpha-1.0-py3-none-any.whl"]:
        assert httpx.get(f"{server.url}/simple/alpha/{name}").status_code == 200
    page = page_showing(server, "/project/alpha/", "downloads-all-time", 3)
    assert figure(page, "downloads-last-30-days") == 3
    today = datetime.now(timezone.utc).date().isoformat()
    assert f'<tr><td>{today}</td><td class="n">3</td></tr>' in page
    assert "<p>1.1, 1.0</p>" in page
    assert 'alpha-1.0-py3-none-any.whl</a> <span class="note">yanked: old</span>' in page
    assert '<td>&gt;=3.10</td><td class="n">2</td>' in page
    packages = httpx.get(server.url + "/packages.json")
    assert packages.headers["content-type"] == "application/json"
    wait_until(lambda: httpx.get(server.url + "/packages.json").json() == [["alpha", 3, 3], ["beta", 0, 0]],
               timeout=30, what="packages.json to count the downloads")


def test_home_page_lists_projects(server):
    page = httpx.get(server.url + "/").text
    assert '<a href="/project/alpha/">alpha</a>' in page and '<a href="/project/beta/">beta</a>' in page


def test_unknown_project_page_is_404(server):
    assert httpx.get(server.url + "/project/nothing/").status_code == 404


def test_the_index_pages_and_the_dashboard_count_alike(server):
    """One reader, one set of queries: the project page, packages.json, the API and the badge agree."""
    for _ in range(2):
        assert httpx.get(f"{server.url}/simple/beta/beta-0.1-py3-none-any.whl").status_code == 200
    page = page_showing(server, "/project/beta/", "downloads-all-time", 2)
    api = httpx.get(server.url + "/api/projects/beta").json()["downloads"]
    assert (api["all_time"], api["last_30_days"]) == (2, 2) == (figure(page, "downloads-all-time"),
                                                               figure(page, "downloads-last-30-days"))
    assert ["beta", 2, 2] in httpx.get(server.url + "/packages.json").json()
    assert "downloads: 2" in httpx.get(server.url + "/badge/beta/total.svg").text


def test_a_project_the_index_serves_has_zeros_before_its_first_download(tmp_path):
    wheels = tmp_path / "wheels"
    make_wheel(wheels, "gamma", "1.0")
    make_wheel(wheels, "delta", "1.0")
    with serving(wheels, tmp_path) as server:
        assert httpx.get(f"{server.url}/simple/delta/delta-1.0-py3-none-any.whl").status_code == 200
        page_showing(server, "/project/delta/", "downloads-all-time", 1)  # the store holds delta's download
        figures = httpx.get(server.url + "/api/projects/gamma")
        assert figures.status_code == 200
        assert figures.json()["downloads"] == {"period": 0, "all_time": 0, "last_30_days": 0, "today": 0, "this_hour": 0}
        overall = httpx.get(server.url + "/api/packages/gamma/overall")
        assert overall.status_code == 200 and overall.json() == {"data": [], "package": "gamma", "type": "overall_downloads"}
        badge = httpx.get(server.url + "/badge/gamma/month.svg")
        assert badge.status_code == 200 and "downloads: 0/month" in badge.text
        assert httpx.get(server.url + "/api/projects/epsilon").status_code == 404


def test_a_damaged_store_gets_a_clear_503_and_the_index_still_serves(store_copy, tmp_path):
    """The store cut to half its size: the pages that show figures say so in one line; pip installs go on."""
    wheels = tmp_path / "wheels"
    make_wheel(wheels, "numpy", "1.18.1")
    os.truncate(store_copy, store_copy.stat().st_size // 2)
    with serving(wheels, tmp_path, "--no-record", db=store_copy) as server:
        page = httpx.get(server.url + "/project/numpy/")
        packages = httpx.get(server.url + "/packages.json")
        assert httpx.get(server.url + "/simple/numpy/").status_code == 200
        assert httpx.get(server.url + "/simple/numpy/numpy-1.18.1-py3-none-any.whl").status_code == 200
    assert page.status_code == 503
    assert f'id="error">The store &#39;{store_copy}&#39; is damaged (' in page.text
    assert packages.status_code == 503
    error = packages.json()["error"]
    assert error.startswith(f"The store {str(store_copy)!r} is damaged (") and "\n" not in error
    assert "Traceback" not in server.output.read_text()
