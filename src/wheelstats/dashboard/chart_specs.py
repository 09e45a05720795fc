"""The dashboard's charts: the report's Vega-Lite specs (wheelstats.charts) over the dashboard's figures.

Each chart is its own small JSON answer, fetched by the page and drawn by
vegaEmbed, so that building a spec with Altair (~50 ms) never holds up the page.
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


def project_series(figures: dict) -> Spec:
    if figures["granularity"] == "day":
        return charts.downloads_by_day([{"date": r["date"], "downloads": r["downloads"]} for r in figures["series"]])
    months = [{"month": r["date"][:7], "downloads": r["downloads"], "time_saved_seconds": 0.0} for r in figures["series"]]
    return charts.downloads_by_month(months, _period(figures).months())


def versions(rows: list[dict]) -> Spec:
    total = sum(r["downloads"] for r in rows) or 1
    shares = [{"name": r["version"], "downloads": r["downloads"], "share": r["downloads"] / total} for r in rows]
    return charts.share_bars(shares, "Versions", "Share of the period's downloads by version", "Version")


def compare(figures: dict) -> Spec:
    unit = figures["granularity"]
    chart = alt.Chart(alt.Data(values=figures["series"])).mark_line(point=True, strokeWidth=2.5).encode(
        x=alt.X("date:T", title={"day": "Day", "week": "Week", "month": "Month"}[unit], scale=alt.Scale(type="utc"),
                axis=alt.Axis(format="%-d %b %Y" if unit != "month" else "%b %Y", labelAngle=0)),
        y=alt.Y("downloads:Q", title=f"Downloads per {unit}", axis=alt.Axis(format="~s")),
        color=alt.Color("project:N", title="Project", sort=figures["projects"], scale=alt.Scale(scheme="tableau10")),
        tooltip=["project:N", alt.Tooltip("date:T", format="%-d %B %Y", formatType="utc"),
                 alt.Tooltip("downloads:Q", format=",")],
    )
    return charts.finished_spec(chart, "Downloads compared", f"Downloads per {unit} (UTC)")


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
}

PROJECT_CHARTS: dict[str, Callable[[dict], Spec]] = {
    "downloads": project_series,
    "versions": lambda f: versions(f["versions"]),
    "py-vers": lambda f: charts.python_versions(f["shares"]["python"]),
    "arch": lambda f: charts.architecture(f["shares"]["arch"]),
    "os-usage": lambda f: charts.os_usage(f["shares"]["distro"]),
    "installers": lambda f: installers(f["shares"]["installer"]),
}

COMPARE_CHARTS: dict[str, Callable[[dict], Spec]] = {"compare": compare}
