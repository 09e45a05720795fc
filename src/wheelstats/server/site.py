"""The index's own human pages and piwheels' packages.json, with figures from the live rollups.

Figures come from wheelstats.rollups.queries through the server's one
CachedReader (the dashboard's too): read-only, cached until the store changes.
When the store is held by a writer (this server's feeder or another process),
the last figures are served, marked as such; with none, the page says so. A
damaged store (StoreDamaged) is the handler's to answer, with a 503. The pages
are Jinja2 templates (server/templates/) with escaping on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from starlette.templating import Jinja2Templates

from wheelstats.period import Period
from wheelstats.rollups import queries
from wheelstats.rollups.filters import Filters
from wheelstats.rollups.queries import ClientDownloads, DayDownloads, ProjectTotals
from wheelstats.rollups.reader import Answer, CachedReader, StoreBusy, utc_now
from wheelstats.server.catalogue import Project, Snapshot
from wheelstats.server.index import file_url, json_bytes, project_url
from wheelstats.web.templates import template_environment

RECENT_DAYS = queries.RECENT_WINDOWS["month"]
BAR_WIDTH, BAR_GAP, CHART_HEIGHT = 10, 2, 80

TEMPLATES = Jinja2Templates(env=template_environment(Path(__file__).with_name("templates")))
TEMPLATES.env.globals.update(file_url=file_url, recent_days=RECENT_DAYS)


@dataclass(frozen=True, slots=True)
class ProjectFigures:
    all_time: int
    last_30_days: int
    by_day: tuple[DayDownloads, ...]  # the last 30 days, oldest first, zeros included
    by_file: Mapping[str, int]  # downloads by filename, all time
    clients: tuple[ClientDownloads, ...]  # installer (or agent product) and downloads, most first
    as_of: datetime  # UTC

    @classmethod
    def none_yet(cls, now: datetime) -> ProjectFigures:
        return cls(0, 0, (), {}, (), now)


def project_figures(con, now: datetime, name: str) -> ProjectFigures:
    """One project's page figures, from the live queries."""
    today = now.date()
    recent = Period(today - timedelta(days=RECENT_DAYS - 1), today)
    return ProjectFigures(
        all_time=queries.total(con, None, Filters(), name),
        last_30_days=queries.recent(con, today, Filters(), name)["last_month"],
        by_day=queries.downloads_by_day(con, recent, Filters(), name),
        by_file=queries.downloads_by_file(con, None, Filters(), name),
        clients=queries.project_clients(con, name),
        as_of=now,
    )


class IndexFigures:
    """The figures the index's pages show, read through the server's CachedReader."""

    def __init__(self, reader: CachedReader):
        self.reader = reader

    def _read(self, key: tuple, question, none_yet) -> Answer:
        if not self.reader.store_exists():  # nothing recorded yet: no downloads
            return Answer(none_yet, stale=False)
        try:
            return self.reader.read(key, question)
        except StoreBusy:  # and never answered before
            return Answer(None, stale=True)

    def project(self, name: str) -> Answer[ProjectFigures | None]:
        return self._read(("index-project", name), lambda con, now: project_figures(con, now, name),
                          ProjectFigures.none_yet(utc_now()))

    def package_counts(self) -> Answer[dict[str, ProjectTotals] | None]:
        return self._read(("index-packages",), lambda con, now: queries.project_totals(con, now.date()), {})


@dataclass(frozen=True, slots=True)
class Bar:
    x: int
    height: int
    day: date
    downloads: int


@dataclass(frozen=True, slots=True)
class BarChart:
    """The last days' downloads as SVG bars, scaled to the peak."""

    bars: tuple[Bar, ...]
    peak: int
    first: date
    last: date
    width: int
    height: int = CHART_HEIGHT
    bar_width: int = BAR_WIDTH

    @classmethod
    def of(cls, by_day: tuple[DayDownloads, ...]) -> BarChart | None:
        if not by_day:
            return None
        peak = max(day.downloads for day in by_day) or 1
        step = BAR_WIDTH + BAR_GAP
        bars = tuple(Bar(i * step, round(CHART_HEIGHT * day.downloads / peak), day.day, day.downloads)
                     for i, day in enumerate(by_day))
        return cls(bars, peak, by_day[0].day, by_day[-1].day, len(by_day) * step)


def render_project_page(project: Project, figures: Answer[ProjectFigures | None]) -> bytes:
    shown = figures.value if figures.value is not None else ProjectFigures.none_yet(utc_now())
    return TEMPLATES.get_template("project.html").render(
        title=f"{project.name} downloads", project=project, index_url=project_url(project.name), figures=shown,
        unavailable=figures.value is None, stale=figures.stale, chart=BarChart.of(shown.by_day),
    ).encode("utf-8")


def render_packages_json(snapshot: Snapshot, figures: Answer[dict[str, ProjectTotals] | None]) -> bytes:
    counts = figures.value or {}
    none = ProjectTotals(0, 0)
    rows = [[name, counts.get(name, none).last_30_days, counts.get(name, none).all_time] for name in snapshot.projects]
    return json_bytes(rows)


def render_error_page(status: int, message: str) -> bytes:
    return TEMPLATES.get_template("error.html").render(title=f"Error {status}", status=status, message=message).encode("utf-8")


def render_home_page(snapshot: Snapshot) -> bytes:
    return TEMPLATES.get_template("home.html").render(title="Package index", projects=list(snapshot.projects)).encode("utf-8")
