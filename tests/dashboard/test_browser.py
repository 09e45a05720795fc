"""The dashboard in a real browser: Playwright driving Debian's Chromium against `wheelstats dashboard`.

The figures on screen must equal the API's and the report's for the same period,
change to the API's new values when the period or a toggle changes, every chart
must be drawn, and no request may leave the server. Screenshots are saved under
artifacts/dashboard/ (gitignored) for a person to look at.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest
from kit import ROOT
from kit.dashboards import PERIOD
from playwright.sync_api import sync_playwright

from wheelstats import stats
from wheelstats.period import parse_period

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]
ARTIFACTS = ROOT / "artifacts" / "dashboard"
HOME_FIGURES = ("downloads-period", "downloads-all-time", "downloads-last-30-days", "downloads-today",
                "downloads-this-hour", "projects-period", "catalogue-projects", "catalogue-files")


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package (apt-get install -y chromium).")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture()
def page(browser, dashboard_url):
    """A page that records every request it makes, to prove none leaves the server."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.requests_seen = []
    page.on("request", lambda request: page.requests_seen.append(request.url))
    yield page
    context.close()
    server = urlparse(dashboard_url).netloc
    foreign = [url for url in page.requests_seen if urlparse(url).netloc not in (server, "") and not url.startswith("data:")]
    assert not foreign, f"requests to other hosts: {foreign}"


def api(base: str, path: str, **params) -> dict:
    return httpx.get(base + path, params=params, timeout=60).json()


def shown(page, element_id: str) -> float:
    value = page.locator(f"#{element_id}").get_attribute("data-value")
    return float(value)


def wait_for_charts(page) -> None:
    page.wait_for_selector("body[data-charts-ready=true]", timeout=60_000)
    charts = page.locator(".chart")
    assert charts.count() > 0
    for i in range(charts.count()):
        chart = charts.nth(i)
        assert chart.get_attribute("data-rendered") == "true", chart.inner_text()
        assert chart.locator("svg").count() >= 1
        assert chart.locator("svg").first.bounding_box()["width"] > 300, chart.get_attribute("id")


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
    return path


@pytest.fixture(scope="module")
def report_figures(simulated_store, tmp_path_factory):
    copy = tmp_path_factory.mktemp("browser-reference") / "store.duckdb"
    shutil.copy(simulated_store, copy)
    tables = stats.open_tables(copy)
    period = parse_period(PERIOD)
    return {
        "downloads": stats.downloads_in_period(tables, period),
        "time_saved": stats.time_saved(tables, period).seconds,
        "top": [(p.project, p.downloads) for p in stats.top_projects(tables, period, 10)],
    }


def test_home_page_shows_the_api_and_report_figures_and_follows_the_controls(page, dashboard_url, report_figures):
    page.goto(f"{dashboard_url}/stats/?period={PERIOD}")
    wait_for_charts(page)
    expected = api(dashboard_url, "/api/overview", period=PERIOD)
    for element_id, value in zip(HOME_FIGURES, (
        expected["downloads"]["period"], expected["downloads"]["all_time"], expected["downloads"]["last_30_days"],
        expected["downloads"]["today"], expected["downloads"]["this_hour"],
        expected["catalogue"]["projects"], expected["catalogue"]["catalogue_projects"],
        expected["catalogue"]["catalogue_files"],
    )):
        assert shown(page, element_id) == value, element_id
    # The report's figures for the same period.
    assert shown(page, "downloads-period") == report_figures["downloads"]
    assert shown(page, "time-saved-period") == pytest.approx(report_figures["time_saved"], rel=1e-9)
    rows = page.locator("#top-projects tr")
    top = [(rows.nth(i).locator("td").nth(0).inner_text(), int(rows.nth(i).locator("td").nth(1).get_attribute("data-value")))
           for i in range(1, rows.count())]
    assert top == report_figures["top"]
    assert "January — March 2020" in page.locator("#selection").inner_text()
    screenshot(page, "home-2020-q1")

    # Another period from the picker: every figure follows, to the API's values.
    page.select_option("#period", "all")
    page.wait_for_url("**period=all")
    wait_for_charts(page)
    year = api(dashboard_url, "/api/overview", period="all")
    assert shown(page, "downloads-period") == year["downloads"]["period"] != expected["downloads"]["period"]
    assert shown(page, "time-saved-period") == pytest.approx(year["time_saved"]["period"]["seconds"], rel=1e-9)

    # A toggle: leave out mirrors and crawlers.
    page.check("#toggle-exclude_bots")
    page.wait_for_url("**exclude_bots=true**")
    wait_for_charts(page)
    no_bots = api(dashboard_url, "/api/overview", period="all", exclude_bots="true")
    assert shown(page, "downloads-period") == no_bots["downloads"]["period"] < year["downloads"]["period"]
    assert page.locator("#toggle-exclude_bots").is_checked()
    assert "without mirrors and crawlers" in page.locator("#selection").inner_text()

    # Unique clients instead of downloads.
    page.check("#toggle-unique")
    page.wait_for_url("**unique=true**")
    wait_for_charts(page)
    unique = api(dashboard_url, "/api/overview", period="all", exclude_bots="true", unique="true")
    assert shown(page, "downloads-period") == unique["downloads"]["period"] < no_bots["downloads"]["period"]
    screenshot(page, "home-all-time-no-bots-unique")

    # A custom range.
    page.uncheck("#toggle-unique")
    page.wait_for_url("**exclude_bots=true**")
    page.select_option("#period", "custom")
    page.fill("#start", "2020-03-04")
    page.fill("#end", "2020-03-06")
    page.click("#controls button[type=submit]")
    page.wait_for_url("**start=2020-03-04**")
    wait_for_charts(page)
    custom = api(dashboard_url, "/api/overview", start="2020-03-04", end="2020-03-06", exclude_bots="true")
    assert shown(page, "downloads-period") == custom["downloads"]["period"]
    assert "4 March — 6 March 2020" in page.locator("#selection").inner_text()


def test_project_page_shows_the_api_figures_and_follows_the_period(page, dashboard_url, report_figures):
    project, downloads = report_figures["top"][0]
    page.goto(f"{dashboard_url}/stats/?period={PERIOD}")
    page.click(f"#top-projects a:text-is('{project}')")
    page.wait_for_url(f"**/stats/project/{project}?period={PERIOD}")
    wait_for_charts(page)
    expected = api(dashboard_url, f"/api/projects/{project}", period=PERIOD)
    assert page.locator("#project-name").inner_text() == project
    assert shown(page, "downloads-period") == expected["downloads"]["period"] == downloads
    assert shown(page, "downloads-all-time") == expected["downloads"]["all_time"]
    assert shown(page, "time-saved-period") == pytest.approx(expected["time_saved"]["period"]["seconds"], rel=1e-9)
    files = page.locator("#files tr")
    assert files.count() - 1 == len(expected["files"])
    assert sum(int(files.nth(i).locator("td").nth(2).get_attribute("data-value")) for i in range(1, files.count())) == downloads
    assert page.locator("img[alt='downloads per month badge']").evaluate("img => img.naturalWidth") > 50
    screenshot(page, "project-2020-q1")

    page.select_option("#period", "all")
    page.wait_for_url("**period=all")
    wait_for_charts(page)
    all_time = api(dashboard_url, f"/api/projects/{project}", period="all")
    assert shown(page, "downloads-period") == all_time["downloads"]["period"] > downloads


def test_compare_draws_projects_on_one_chart(page, dashboard_url, report_figures):
    (first, first_downloads), (second, second_downloads) = report_figures["top"][:2]
    page.goto(f"{dashboard_url}/stats/compare?period={PERIOD}")
    page.fill("#projects", f"{first}, {second}")
    page.click("#controls button[type=submit]")
    page.wait_for_url("**projects=**")
    wait_for_charts(page)
    rows = page.locator("#compare-totals tr")
    totals = {rows.nth(i).locator("td").nth(0).inner_text(): int(rows.nth(i).locator("td").nth(1).get_attribute("data-value"))
              for i in range(1, rows.count())}
    assert totals == {first: first_downloads, second: second_downloads}
    legend = page.locator("#chart-compare").inner_html()
    assert first in legend and second in legend
    screenshot(page, "compare-2020-q1")
    page.fill("#projects", first)
    page.click("#controls button[type=submit]")
    page.wait_for_selector("#error")
    assert "Give 2 to 5 project names" in page.locator("#error").inner_text()


def test_the_world_map_draws_every_country_and_colours_those_with_downloads(page, dashboard_url):
    """The outline ships with the package (no request leaves the server: the page fixture checks);
    each country with downloads is a coloured shape whose tooltip names it, the rest are grey."""
    page.goto(f"{dashboard_url}/stats/?period={PERIOD}")
    wait_for_charts(page)
    world = page.locator("#chart-world-map")
    assert world.get_attribute("data-rendered") == "true"
    shapes = world.locator("g.mark-shape path")
    outline = httpx.get(f"{dashboard_url}/stats/static/world-110m.json", timeout=30).json()
    countries = outline["objects"]["countries"]["geometries"]
    placed = {row["country"]: row for row in api(dashboard_url, "/api/shares/country", period=PERIOD)["data"]}
    on_map = [g for g in countries if g.get("id") in placed]
    assert len(on_map) >= 3
    # Two layers: every country in grey, and over it each country with downloads in colour.
    assert shapes.count() == len(countries) + len(on_map)
    labels = [shapes.nth(i).get_attribute("aria-label") or "" for i in range(shapes.count())]
    for geometry in on_map:
        row = placed[geometry["id"]]
        assert any(f"name: {row['name']}" in label and f"downloads: {row['downloads']:,}" in label
                   for label in labels), row
    fills = {shapes.nth(i).get_attribute("fill") for i in range(shapes.count())}
    assert "#e8e8e8" in fills and len(fills) > 2  # grey land, and more than one shade of blue
    # The countries too small for the outline (Singapore, Hong Kong...) with downloads are dots, named.
    dots = world.locator("g.mark-symbol path")
    small_on_map = [point for point in outline["small_countries"] if point["id"] in placed]
    assert small_on_map and dots.count() == len(small_on_map)
    dot_labels = [dots.nth(i).get_attribute("aria-label") or "" for i in range(dots.count())]
    for point in small_on_map:
        row = placed[point["id"]]
        assert any(f"name: {row['name']}" in label and f"downloads: {row['downloads']:,}" in label
                   for label in dot_labels), row
    box = world.bounding_box()
    assert box["width"] > 600 and box["height"] > 250
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    world.screenshot(path=str(ARTIFACTS / "world-map.png"))

    # The country filter from the form: the page follows, and only that country is coloured.
    first = next(g["id"] for g in on_map)
    page.fill("#country", first.lower())
    page.press("#country", "Enter")
    page.wait_for_url(f"**country={first.lower()}**")
    wait_for_charts(page)
    expected = api(dashboard_url, "/api/overview", period=PERIOD, country=first)
    assert shown(page, "downloads-period") == expected["downloads"]["period"] == placed[first]["downloads"]
    assert page.locator("#chart-world-map g.mark-shape path").count() == len(countries) + 1
    assert page.locator("#chart-world-map g.mark-symbol path").count() == 0
