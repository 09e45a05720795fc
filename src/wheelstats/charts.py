"""Chart specs for the report and dashboard (Altair / Vega-Lite), and PNG rendering.

Spec builders take the report's own figures (the dicts written to report.json)
and return Vega-Lite spec dicts with the data inline, so a chart always shows
exactly the report's numbers. Rendering to PNG (vl-convert, offline) is separate
so the dashboard can reuse the same specs interactively.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import altair as alt
import vl_convert
from altair.utils import schemapi

from wheelstats.facets import version_sort_key
from wheelstats.timesaved import SECONDS_PER_YEAR

WIDTH, HEIGHT = 800, 400
VEGA_LITE_VERSION = "6.4"
HIGHLIGHT, MUTED, ACCENT = "#c51a4a", "#9fb3c8", "#2b6cb0"  # raspberry, grey-blue, blue
MAX_SHARE_BARS = 6
INSIDE_LABEL_FROM = 0.85

Spec = dict

# Altair's debug mode checks every chart against Vega-Lite's schema as it is built (about half
# the time a spec takes); the tests check every finished spec instead. Encodings are channel
# objects (alt.Tooltip("name:N")), not "name:N" strings, which Altair parses anew (4-14 ms each).
schemapi.disable_debug_mode()


# The house style, as Vega-Lite's top-level config.
HOUSE_STYLE = {
    "autosize": {"type": "fit", "contains": "padding"},
    "padding": 12,
    "background": "white",
    "font": "DejaVu Sans",
    "title": {"fontSize": 20, "subtitleFontSize": 14, "subtitleColor": "#555"},
    "axis": {"labelFontSize": 13, "titleFontSize": 14, "grid": True, "gridColor": "#eee"},
    "legend": {"labelFontSize": 13, "titleFontSize": 14},
    "view": {"stroke": None},
}


def finished_spec(chart: alt.Chart | alt.LayerChart, title: str, subtitle: str = "") -> Spec:
    """The finished spec: the chart with its title, size and the house style.

    Written into the chart's dict rather than by Altair's configure_* calls (each deep-copies
    the chart), and not validated against Vega-Lite's schema here (see debug mode above).
    """
    spec = chart.to_dict(validate=False)
    spec.update(width=WIDTH, height=HEIGHT, title={"text": title, "anchor": "start"} | (
        {"subtitle": subtitle} if subtitle else {}), config=copy.deepcopy(HOUSE_STYLE))
    return spec


def _monthly_bars(by_month: list[dict], period_months: list[str], field: str, value, axis_title: str,
                  value_format: str, title: str, subtitle: str, y_axis: alt.Axis | None = None) -> Spec:
    """Bars per month over the store's history, the period's months highlighted."""
    inside = set(period_months)
    values = [
        {"month": row["month"], field: value(row), "in_period": "in the period" if row["month"] in inside else "before"}
        for row in by_month
    ]
    chart = alt.Chart(alt.Data(values=values)).mark_bar().encode(
        x=alt.X("month:O", title="Month", axis=alt.Axis(labelAngle=-60, labelOverlap="greedy")),
        y=alt.Y(f"{field}:Q", title=axis_title, axis=y_axis or alt.Undefined),
        color=alt.Color(
            "in_period:N", title=None,
            scale=alt.Scale(domain=["before", "in the period"], range=[MUTED, HIGHLIGHT]),
            legend=alt.Legend(orient="top-left"),
        ),
        tooltip=[alt.Tooltip("month:O"), alt.Tooltip(f"{field}:Q", format=value_format)],
    )
    return finished_spec(chart, title, subtitle)


def downloads_by_month(by_month: list[dict], period_months: list[str]) -> Spec:
    """Bars of downloads per month over the store's history, the period's months highlighted."""
    return _monthly_bars(
        by_month, period_months, "downloads", lambda row: row["downloads"], "Downloads per month", ",",
        "Downloads by month", "Wheel and source downloads per calendar month", alt.Axis(format="~s"),
    )


def time_saved_by_month(by_month: list[dict], period_months: list[str]) -> Spec:
    """Bars of build time saved per month, in years, the period's months highlighted."""
    return _monthly_bars(
        by_month, period_months, "years_saved", lambda row: row["time_saved_seconds"] / SECONDS_PER_YEAR,
        "Build time saved (years)", ".1f", "Time saved by month", "Years of build time saved by pre-built wheels",
    )


def downloads_by_day(by_day: list[dict]) -> Spec:
    """Daily downloads across the period."""
    chart = alt.Chart(alt.Data(values=by_day)).mark_line(
        color=ACCENT, strokeWidth=2.5, point=alt.OverlayMarkDef(size=20, color=ACCENT)
    ).encode(
        x=alt.X("date:T", title="Day", scale=alt.Scale(type="utc"),
                axis=alt.Axis(format="%-d %b", labelAngle=0)),
        y=alt.Y("downloads:Q", title="Downloads per day", axis=alt.Axis(format="~s")),
        tooltip=[alt.Tooltip("date:T", format="%-d %B %Y", formatType="utc"), alt.Tooltip("downloads:Q", format=",")],
    )
    return finished_spec(chart, "Downloads by day", "Downloads per day in the period (UTC)")


def with_shares(rows: list[dict]) -> list[dict]:
    """The rows that have a share (the "unknown" row has none: it is not in the denominator)."""
    return [row for row in rows if row["share"] is not None]


def top_shares(shares: list[dict], limit: int = MAX_SHARE_BARS) -> list[dict]:
    """The largest `limit` - 1 known shares and the rest folded into "other" (as is if short)."""
    shares = with_shares(shares)
    if len(shares) <= limit:
        return [dict(row) for row in shares]
    head = [dict(row) for row in shares[: limit - 1]]
    rest = shares[limit - 1:]
    head.append({
        "name": "other", "downloads": sum(r["downloads"] for r in rest),
        "share": sum(r["share"] for r in rest),
    })
    return head


def share_bars(shares: list[dict], title: str, subtitle: str, axis_title: str) -> Spec:
    values = top_shares(shares)
    order = [row["name"] for row in values]
    base = alt.Chart(alt.Data(values=values)).encode(
        y=alt.Y("name:N", title=axis_title, sort=order, axis=alt.Axis(labelLimit=260)),
        x=alt.X("share:Q", title="Share of downloads", axis=alt.Axis(format=".0%"),
                scale=alt.Scale(domain=[0, 1])),
    )
    bars = base.mark_bar(color=ACCENT).encode(
        tooltip=[alt.Tooltip("name:N"), alt.Tooltip("downloads:Q", format=","), alt.Tooltip("share:Q", format=".1%")]
    )
    # Labels sit after the bar, or inside its end when the bar nearly fills the width.
    outside = base.mark_text(align="left", dx=5, fontSize=14).encode(
        text=alt.Text("share:Q", format=".1%")
    ).transform_filter(alt.datum.share <= INSIDE_LABEL_FROM)
    inside = base.mark_text(align="right", dx=-6, fontSize=14, color="white", fontWeight="bold").encode(
        text=alt.Text("share:Q", format=".1%")
    ).transform_filter(alt.datum.share > INSIDE_LABEL_FROM)
    return finished_spec(alt.layer(bars, outside, inside), title, subtitle)


def os_usage(distro_shares: list[dict]) -> Spec:
    return share_bars(distro_shares, "Operating systems", "Share of the period's downloads whose agent names its OS distribution", "OS")


def architecture(arch_shares: list[dict]) -> Spec:
    return share_bars(arch_shares, "Architectures", "Share of the period's downloads whose agent names its CPU architecture", "Architecture")


def python_versions(python_shares: list[dict]) -> Spec:
    ordered = sorted(with_shares(python_shares), key=lambda r: version_sort_key(r["name"]))
    order = [row["name"] for row in ordered]
    base = alt.Chart(alt.Data(values=ordered)).encode(
        x=alt.X("name:N", title="Python version", sort=order, axis=alt.Axis(labelAngle=0)),
        y=alt.Y("share:Q", title="Share of downloads", axis=alt.Axis(format=".0%")),
    )
    bars = base.mark_bar(color=ACCENT).encode(
        tooltip=[alt.Tooltip("name:N"), alt.Tooltip("downloads:Q", format=","), alt.Tooltip("share:Q", format=".1%")]
    )
    labels = base.mark_text(baseline="bottom", dy=-4, fontSize=14).encode(text=alt.Text("share:Q", format=".1%"))
    return finished_spec(alt.layer(bars, labels), "Python versions", "Share of the period's downloads whose agent names its Python version")


def python_versions_over_time(python_by_month: list[dict]) -> Spec:
    """Stacked monthly shares by Python version (versions sorted as numbers)."""
    rows = with_shares(python_by_month)
    versions = sorted({row["python"] for row in rows}, key=version_sort_key)
    values = [dict(row, order=versions.index(row["python"])) for row in rows]
    chart = alt.Chart(alt.Data(values=values)).mark_area().encode(
        x=alt.X("month:O", title="Month", axis=alt.Axis(labelAngle=-45)),
        y=alt.Y("share:Q", title="Share of downloads", stack="normalize", axis=alt.Axis(format=".0%")),
        color=alt.Color("python:N", title="Python", sort=versions,
                        scale=alt.Scale(scheme="tableau10")),
        order=alt.Order("order:Q"),
        tooltip=[alt.Tooltip("month:O"), alt.Tooltip("python:N"), alt.Tooltip("share:Q", format=".1%"),
                 alt.Tooltip("downloads:Q", format=",")],
    )
    return finished_spec(chart, "Python versions over time", "Monthly share of the downloads whose agent names its Python version")


def countries(country_shares: list[dict]) -> Spec:
    """The country share bar: rows of {country, name, downloads, share} (share None: never looked up)."""
    return share_bars(country_shares, "Countries",
                      "Share of downloads by the country of the client's address", "Country")


def has_countries(report: dict) -> bool:
    """Whether any of the period's downloads had its country looked up (stores since schema 8)."""
    return any(row["country"] is not None for row in report["shares"].get("country", []))


# The report's charts: file stem -> builder over the report data.
REPORT_CHARTS: dict[str, Callable[[dict], Spec]] = {
    "downloads-by-month": lambda r: downloads_by_month(r["by_month"], r["period"]["months"]),
    "time-saved-by-month": lambda r: time_saved_by_month(r["by_month"], r["period"]["months"]),
    "downloads-by-day": lambda r: downloads_by_day(r["by_day"]),
    "os-usage": lambda r: os_usage(r["shares"]["distro"]),
    "arch": lambda r: architecture(r["shares"]["arch"]),
    "py-vers": lambda r: python_versions(r["shares"]["python"]),
    "py-vers-over-time": lambda r: python_versions_over_time(r["python_by_month"]),
    "countries": lambda r: countries(r["shares"]["country"]),
}
# Charts drawn only when the report has what they show.
REPORT_CHARTS_IF = {"countries": has_countries}


def report_specs(report: dict) -> dict[str, Spec]:
    return {name: build(report) for name, build in REPORT_CHARTS.items()
            if REPORT_CHARTS_IF.get(name, lambda r: True)(report)}


def render_png(spec: Spec, scale: float = 1.0) -> bytes:
    """Render a spec to PNG offline."""
    return vl_convert.vegalite_to_png(spec, vl_version=VEGA_LITE_VERSION, scale=scale)


def render_svg(spec: Spec) -> str:
    return vl_convert.vegalite_to_svg(spec, vl_version=VEGA_LITE_VERSION)


def write_pngs(specs: dict[str, Spec], folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, spec in specs.items():
        path = folder / f"{name}.png"
        path.write_bytes(render_png(spec))
        written[name] = path
    return written
