"""The dashboard's HTML pages: figures written into the page, charts drawn by vegaEmbed from /stats/chart/...

Every number on a page carries its raw value in data-value, and comes from the
same figures dict the API answers with (wheelstats.dashboard.figures).
"""

from __future__ import annotations

from html import escape
from urllib.parse import quote, urlencode

from wheelstats.dashboard.params import ALL_TIME, LAST_30_DAYS, Selection

BASE = "/stats"
STATIC = f"{BASE}/static"
SECONDS_PER_YEAR = 365.25 * 24 * 3600


def _number(element_id: str, value: int | float, text: str | None = None) -> str:
    shown = text if text is not None else f"{value:,}"
    return f'<span class="figure" id="{element_id}" data-value="{value}">{escape(shown)}</span>'


def _card(label: str, element_id: str, value, text: str | None = None) -> str:
    return f'<div class="card"><div class="label">{escape(label)}</div>{_number(element_id, value, text)}</div>'


def _years(seconds: float) -> str:
    years = seconds / SECONDS_PER_YEAR
    return f"{years:,.1f} years" if years >= 1 else f"{seconds / 86400:,.1f} days"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _controls(figures: dict, selection: Selection, lead: str = "") -> str:
    """The period picker and toggles (`lead`: more fields before them)."""
    options = [(ALL_TIME, "All time"), (LAST_30_DAYS, "Last 30 days")]
    options += [(q, q) for q in figures["options"]["quarters"]]
    options += [(y, y) for y in figures["options"]["years"]]
    current = selection.period_text
    custom = current not in {value for value, _ in options}
    period = selection.period
    items = [
        f'<option value="{escape(value)}"{" selected" if value == current else ""}>{escape(label)}</option>'
        for value, label in options
    ]
    items.append(f'<option value="custom"{" selected" if custom else ""}>Custom range…</option>')
    filters = selection.filters

    def box(name: str, label: str, checked: bool) -> str:
        return (f'<label><input type="checkbox" name="{name}" id="toggle-{name}" value="true"'
                f'{" checked" if checked else ""}> {escape(label)}</label>')
    return (
        f'<form id="controls" method="get">{lead}'
        f'<label>Period <select name="period" id="period">{"".join(items)}</select></label> '
        f'<span id="custom-range"{"" if custom else " hidden"}>'
        f'<input type="date" name="start" id="start" value="{period.start.isoformat()}"> to '
        f'<input type="date" name="end" id="end" value="{period.end.isoformat()}"></span> '
        + box("exclude_ci", "Exclude CI", filters.exclude_ci)
        + box("exclude_bots", "Exclude mirrors and crawlers", filters.exclude_bots)
        + box("unique", "Count unique clients", filters.unique)
        + ' <button type="submit">Apply</button></form>'
    )


def _document(title: str, body: list[str]) -> bytes:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title>"
        f'<link rel="stylesheet" href="{STATIC}/dashboard.css"></head><body>'
        f'<nav><a href="{BASE}/">Downloads</a> <a href="{BASE}/compare">Compare</a> '
        f'<a href="/api/openapi.json">API</a></nav><main>'
        + "\n".join(body)
        + f'</main><script src="{STATIC}/vega.js"></script><script src="{STATIC}/dashboard.js"></script></body></html>\n'
    ).encode("utf-8")


def _chart(kind: str, name: str, query: dict[str, str], wide: bool = False) -> str:
    url = f"{BASE}/chart/{kind}/{name}.json?{urlencode(query)}"
    return f'<div class="chart{" wide" if wide else ""}" id="chart-{name}" data-spec="{escape(url)}"></div>'


def _what(figures: dict) -> str:
    return (f'<p class="what" id="selection">{escape(figures["period"]["label"])} '
            f'({escape(figures["period"]["start"])} to {escape(figures["period"]["end"])}), '
            f'{escape(figures["filters"]["label"])}. Figures as of {escape(figures["as_of"])} UTC.</p>')


def _table(rows: list[dict], columns: list[tuple[str, str]], table_id: str) -> str:
    head = "".join(f"<th>{escape(label)}</th>" for _, label in columns)
    body = []
    for row in rows:
        cells = []
        for key, _ in columns:
            value = row[key]
            if isinstance(value, int):
                cells.append(f'<td class="n" data-value="{value}">{value:,}</td>')
            else:
                cells.append(f"<td>{value}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f'<table id="{table_id}"><tr>{head}</tr>{"".join(body)}</table>'


def home_page(figures: dict, selection: Selection) -> bytes:
    query = selection.query()
    downloads, saved = figures["downloads"], figures["time_saved"]
    counting = "Clients" if selection.filters.unique else "Downloads"
    top = [
        {"project": f'<a href="{BASE}/project/{quote(r["project"], safe="")}?{urlencode(query)}">{escape(r["project"])}</a>',
         "downloads": r["downloads"]}
        for r in figures["top"]
    ]
    cat = figures["catalogue"]
    body = [
        "<h1>Downloads</h1>",
        _controls(figures, selection),
        _what(figures),
        '<section class="cards">',
        *_download_cards(counting, downloads),
        _card("This hour", "downloads-this-hour", downloads["this_hour"]),
        _card("Time saved in the period", "time-saved-period", saved["period"]["seconds"], _years(saved["period"]["seconds"])),
        _card("Time saved to the period's end", "time-saved-all-time", saved["all_time"]["seconds"], _years(saved["all_time"]["seconds"])),
        _card("Energy saved in the period", "energy-saved-period", saved["period"]["energy_kwh"], f'{saved["period"]["energy_kwh"]:,.1f} kWh'),
        _card("Projects downloaded in the period", "projects-period", cat["projects"]),
        _card("Projects in the catalogue", "catalogue-projects", cat["catalogue_projects"]),
        _card("Files in the catalogue", "catalogue-files", cat["catalogue_files"]),
        "</section>",
        '<section class="charts">',
        _chart("home", "downloads-by-day", query, wide=True),
        _chart("home", "downloads-by-month", query, wide=True),
        _chart("home", "time-saved-by-month", query, wide=True),
        "</section>",
        "<h2>Top projects</h2>",
        _table(top, [("project", "Project"), ("downloads", counting)], "top-projects"),
        '<section class="charts">',
        *(_chart("home", name, query) for name in ("py-vers", "os-usage", "arch", "installers", "os")),
        _chart("home", "py-vers-over-time", query, wide=True),
        "</section>",
    ]
    return _document("Downloads", body)


def _download_cards(counting: str, downloads: dict) -> list[str]:
    """The cards every page opens with: the period, all time, the last 30 days, today."""
    return [
        _card(f"{counting} in the period", "downloads-period", downloads["period"]),
        _card(f"{counting}, all time", "downloads-all-time", downloads["all_time"]),
        _card("Last 30 days", "downloads-last-30-days", downloads["last_30_days"]),
        _card("Today", "downloads-today", downloads["today"]),
    ]


def project_page(figures: dict, selection: Selection) -> bytes:
    name = figures["project"]
    query = selection.query()
    downloads, saved = figures["downloads"], figures["time_saved"]
    counting = "Clients" if selection.filters.unique else "Downloads"
    files = [
        {"filename": escape(r["filename"]), "version": escape(r["version"] or ""), "downloads": r["downloads"],
         "build": _duration(r["build_duration_s"])}
        for r in figures["files"]
    ]
    badge = f"/badge/{quote(name, safe='')}/month.svg"
    body = [
        f'<h1 id="project-name">{escape(name)}</h1>',
        f'<p><img src="{escape(badge)}" alt="downloads per month badge"> <code>{escape(badge)}</code></p>',
        _controls(figures, selection),
        _what(figures),
        '<section class="cards">',
        *_download_cards(counting, downloads),
        _card("Time saved in the period", "time-saved-period", saved["period"]["seconds"], _years(saved["period"]["seconds"])),
        _card("Time saved, all time", "time-saved-all-time", saved["all_time"]["seconds"], _years(saved["all_time"]["seconds"])),
        "</section>",
        '<section class="charts">',
        _chart(f"project/{quote(name, safe='')}", "downloads", query, wide=True),
        *(_chart(f"project/{quote(name, safe='')}", chart, query) for chart in ("versions", "py-vers", "arch", "os-usage", "installers")),
        "</section>",
        "<h2>Files</h2>",
        _table(files, [("filename", "File"), ("version", "Version"), ("downloads", "Downloads"), ("build", "Build time")], "files"),
    ]
    return _document(f"{name} downloads", body)


def compare_page(figures: dict | None, selection: Selection, given: str, options: dict, error: str | None = None) -> bytes:
    query = selection.query()
    body = [
        "<h1>Compare projects</h1>",
        _controls({"options": options}, selection, f'<label>Projects <input name="projects" id="projects" '
                  f'value="{escape(given)}" placeholder="numpy, pillow" size="40"></label> '),
    ]
    if error:
        body.append(f'<p class="error" id="error">{escape(error)}</p>')
    elif figures is None:
        body.append("<p>Name two to five projects, separated by commas.</p>")
    else:
        body.append(_what(figures))
        rows = [{"project": escape(p), "downloads": figures["totals"][p]} for p in figures["projects"]]
        body.append(_table(rows, [("project", "Project"), ("downloads", "Downloads in the period")], "compare-totals"))
        body.append('<section class="charts">'
                    + _chart("compare", "compare", {**query, "projects": ",".join(figures["projects"])}, wide=True)
                    + "</section>")
    return _document("Compare projects", body)
