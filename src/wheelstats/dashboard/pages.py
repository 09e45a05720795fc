"""The dashboard's HTML pages: Jinja2 templates (dashboard/templates/), escaping on, charts drawn by vegaEmbed.

Every number on a page carries its raw value in data-value, and comes from the
same figures dict the API answers with (wheelstats.dashboard.figures). Charts
are fetched from /stats/chart/... by the page's script.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from starlette.responses import Response
from starlette.templating import Jinja2Templates

from wheelstats.dashboard.params import ALL_TIME, LAST_30_DAYS, Selection
from wheelstats.rollups.filters import Filters
from wheelstats.web.templates import template_environment

BASE = "/stats"
STATIC = f"{BASE}/static"
PAGE_HEADERS = {"cache-control": "max-age=10"}


def _time_saved(saved: dict) -> str:
    """A figures dict's time saved ({seconds, years, ...}) in years, or days when under one."""
    return f"{saved['years']:,.1f} years" if saved["years"] >= 1 else f"{saved['seconds'] / 86400:,.1f} days"


def _build_time(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


TEMPLATES = Jinja2Templates(env=template_environment(Path(__file__).with_name("templates")))
TEMPLATES.env.filters.update(time_saved=_time_saved, build_time=_build_time, kwh="{:,.1f} kWh".format)
TEMPLATES.env.globals.update(BASE=BASE, STATIC=STATIC)


@dataclass(frozen=True, slots=True)
class PeriodChoice:
    value: str
    label: str
    selected: bool


@dataclass(frozen=True, slots=True)
class Picker:
    """What the period picker and toggles show."""

    choices: tuple[PeriodChoice, ...]
    custom: bool  # the period is none of the choices: a custom range
    start: str
    end: str
    filters: Filters


def picker(options: dict[str, list[str]], selection: Selection) -> Picker:
    named = [(ALL_TIME, "All time"), (LAST_30_DAYS, "Last 30 days")]
    named += [(value, value) for value in (*options["quarters"], *options["years"])]
    current = selection.period_text
    return Picker(
        tuple(PeriodChoice(value, label, value == current) for value, label in named),
        custom=current not in {value for value, _ in named},
        start=selection.period.start.isoformat(), end=selection.period.end.isoformat(),
        filters=selection.filters,
    )


def html_response(body: bytes, status: int = 200) -> Response:
    return Response(body, status_code=status, media_type="text/html; charset=utf-8", headers=PAGE_HEADERS)


def render(template: str, title: str, **context) -> bytes:
    return TEMPLATES.get_template(template).render(title=title, **context).encode("utf-8")


def _counting(selection: Selection) -> str:
    return "Clients" if selection.filters.unique else "Downloads"


def home_page(figures: dict, selection: Selection) -> bytes:
    return render("home.html", "Downloads", figures=figures, picker=picker(figures["options"], selection),
                  query=selection.query(), counting=_counting(selection))


def project_page(figures: dict, selection: Selection) -> bytes:
    return render("project.html", f"{figures['project']} downloads", figures=figures,
                  picker=picker(figures["options"], selection), query=selection.query(), counting=_counting(selection))


def compare_page(figures: dict | None, selection: Selection, given: str, options: dict, error: str | None = None) -> bytes:
    return render("compare.html", "Compare projects", figures=figures, picker=picker(options, selection),
                  query=selection.query(), given=given, error=error)


def error_page(status: int, message: str) -> Response:
    return html_response(render("error.html", f"Error {status}", status=status, message=message), status)
