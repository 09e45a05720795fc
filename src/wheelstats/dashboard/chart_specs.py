"""The dashboard's charts: the report's Vega-Lite specs (wheelstats.charts) over the dashboard's figures.

Each chart is its own small JSON answer, fetched by the page and drawn by
vegaEmbed, so that building a spec with Altair (3-20 ms) never holds up the page.
"""

from __future__ import annotations

from collections.abc import Callable

import altair as alt

from wheelstats import charts
from wheelstats.period import Period

Spec = dict


def _period(figures: dict) -> Period:
    from datetime import date
    return Period(date.fromisoformat(figures["period"]["start"]), date.fromisoformat(figures["period"]["end"]))


def installers(shares: list[dict]) -> Spec:
    return charts.share_bars(shares, "Installers", "Share of the period's downloads by installer", "Installer")


def operating_systems(shares: list[dict]) -> Spec:
    return charts.share_bars(shares, "Systems", "Share of the period's downloads by OS family (Linux, Darwin, Windows...)", "System")


WORLD_OUTLINE = "/stats/static/world-110m.json"  # shipped in dashboard/static (scripts/world_map.py): no network


def countries(rows: list[dict]) -> Spec:
    """The country share bar: the countries by share, named (local, unknown and not looked up included)."""
    return charts.share_bars(rows, "Countries", "Share of the period's downloads by the country of the client's address",
                             "Country")


def world_map(rows: list[dict]) -> Spec:
    """Downloads by country on a world map (Natural Earth's 1:110m outline, ids ISO 3166-1 alpha-2); the
    countries too small for that outline (Singapore, Hong Kong, Malta...) are dots."""
    placed = alt.LookupData(alt.Data(values=[
        {"country": r["country"], "name": r["name"], "downloads": r["downloads"], "share": r["share"]}
        for r in rows if r["country"] is not None]), "country", ["name", "downloads", "share"])
    encoding = {
        "color": alt.Color("downloads:Q", title="Downloads", scale=alt.Scale(type="log", scheme="blues")),
        "tooltip": [alt.Tooltip("name:N"), alt.Tooltip("downloads:Q", format=","), alt.Tooltip("share:Q", format=".1%")],
    }
    outline = alt.topo_feature(WORLD_OUTLINE, "countries")
    land = alt.Chart(outline).mark_geoshape(fill="#e8e8e8", stroke="white", strokeWidth=0.5)
    counted = alt.Chart(outline).mark_geoshape(stroke="white", strokeWidth=0.5).transform_lookup(
        lookup="id", from_=placed).transform_filter("isValid(datum.downloads)").encode(**encoding)
    small = alt.UrlData(WORLD_OUTLINE, format=alt.DataFormat(type="json", property="small_countries"))
    dots = alt.Chart(small).mark_circle(size=40, stroke="#555", strokeWidth=0.5, opacity=1).transform_lookup(
        lookup="id", from_=placed).transform_filter("isValid(datum.downloads)").encode(
        longitude=alt.Longitude("longitude:Q"), latitude=alt.Latitude("latitude:Q"), **encoding)
    chart = alt.layer(land, counted, dots).project(type="equalEarth")
    return charts.finished_spec(chart, "Where downloads come from",
                                "Downloads by the country of the client's address (its registry's country)")


def project_series(figures: dict) -> Spec:
    if figures["granularity"] == "day":
        return charts.downloads_by_day([{"date": r["date"], "downloads": r["downloads"]} for r in figures["series"]])
    months = [{"month": r["date"][:7], "downloads": r["downloads"], "time_saved_seconds": 0.0} for r in figures["series"]]
    return charts.downloads_by_month(months, _period(figures).months())


def versions(rows: list[dict]) -> Spec:
    total = sum(r["downloads"] for r in rows) or 1
    shares = [{"name": r["version"], "downloads": r["downloads"], "share": r["downloads"] / total} for r in rows]
    return charts.share_bars(shares, "Versions", "Share of the period's downloads by version", "Version")


def adoption(figures: dict) -> Spec:
    """Downloads by version over time, stacked: how fast each release was taken up."""
    versions = figures["versions_over_time"]
    unit = versions["granularity"]
    chart = alt.Chart(alt.Data(values=versions["over_time"])).mark_area().encode(
        x=alt.X("date:T", title={"day": "Day", "week": "Week", "month": "Month"}[unit], scale=alt.Scale(type="utc"),
                axis=alt.Axis(format="%-d %b %Y" if unit != "month" else "%b %Y", labelAngle=0)),
        y=alt.Y("downloads:Q", title=f"Downloads per {unit}", stack="zero", axis=alt.Axis(format="~s")),
        color=alt.Color("version:N", title="Version", scale=alt.Scale(scheme="tableau10")),
        tooltip=[alt.Tooltip("version:N"), alt.Tooltip("date:T", format="%-d %B %Y", formatType="utc"),
                 alt.Tooltip("downloads:Q", format=",")],
    )
    return charts.finished_spec(chart, "Version adoption", f"Downloads per {unit} by version (UTC)")


def compare(figures: dict) -> Spec:
    unit = figures["granularity"]
    chart = alt.Chart(alt.Data(values=figures["series"])).mark_line(point=True, strokeWidth=2.5).encode(
        x=alt.X("date:T", title={"day": "Day", "week": "Week", "month": "Month"}[unit], scale=alt.Scale(type="utc"),
                axis=alt.Axis(format="%-d %b %Y" if unit != "month" else "%b %Y", labelAngle=0)),
        y=alt.Y("downloads:Q", title=f"Downloads per {unit}", axis=alt.Axis(format="~s")),
        color=alt.Color("project:N", title="Project", sort=figures["projects"], scale=alt.Scale(scheme="tableau10")),
        tooltip=[alt.Tooltip("project:N"), alt.Tooltip("date:T", format="%-d %B %Y", formatType="utc"),
                 alt.Tooltip("downloads:Q", format=",")],
    )
    return charts.finished_spec(chart, "Downloads compared", f"Downloads per {unit} (UTC)")


def builds_by_day(builds: dict) -> Spec:
    """Builds started each day, succeeded and failed stacked."""
    rows = [{"date": day["date"], "status": status, "builds": count}
            for day in builds["by_day"]
            for status, count in (("succeeded", day["builds"] - day["failed"]), ("failed", day["failed"]))]
    chart = alt.Chart(alt.Data(values=rows)).mark_bar().encode(
        x=alt.X("date:T", title="Day", scale=alt.Scale(type="utc"), axis=alt.Axis(format="%-d %b %Y", labelAngle=0)),
        y=alt.Y("builds:Q", title="Builds", stack=True),
        color=alt.Color("status:N", title="Status", scale=alt.Scale(domain=["succeeded", "failed"],
                                                                   range=["#3a7", "#c44"])),
        tooltip=[alt.Tooltip("date:T", format="%-d %B %Y", formatType="utc"), alt.Tooltip("status:N"),
                 alt.Tooltip("builds:Q", format=",")],
    )
    return charts.finished_spec(chart, "Builds by day", "Builds started each day (UTC), by how they ended")


HOME_CHARTS: dict[str, Callable[[dict], Spec]] = {
    "downloads-by-day": lambda f: charts.downloads_by_day(f["by_day"]),
    "downloads-by-month": lambda f: charts.downloads_by_month(f["by_month"], _period(f).months()),
    "time-saved-by-month": lambda f: charts.time_saved_by_month(f["by_month"], _period(f).months()),
    "py-vers": lambda f: charts.python_versions(f["shares"]["python"]),
    "py-vers-over-time": lambda f: charts.python_versions_over_time(f["python_by_month"]),
    "os-usage": lambda f: charts.os_usage(f["shares"]["distro"]),
    "os": lambda f: operating_systems(f["shares"]["os"]),
    "arch": lambda f: charts.architecture(f["shares"]["arch"]),
    "installers": lambda f: installers(f["shares"]["installer"]),
    "builds-by-day": lambda f: builds_by_day(f["builds"]),
    "world-map": lambda f: world_map(f["countries"]),
    "countries": lambda f: countries(f["countries"]),
}

PROJECT_CHARTS: dict[str, Callable[[dict], Spec]] = {
    "downloads": project_series,
    "adoption": adoption,
    "versions": lambda f: versions(f["versions"]),
    "py-vers": lambda f: charts.python_versions(f["shares"]["python"]),
    "arch": lambda f: charts.architecture(f["shares"]["arch"]),
    "os-usage": lambda f: charts.os_usage(f["shares"]["distro"]),
    "installers": lambda f: installers(f["shares"]["installer"]),
    "world-map": lambda f: world_map(f["countries"]),
    "countries": lambda f: countries(f["countries"]),
}

COMPARE_CHARTS: dict[str, Callable[[dict], Spec]] = {"compare": compare}
