"""The index's own human pages and piwheels' packages.json, with figures from the live rollups.

Figures come from wheelstats.rollups.queries through the server's one
CachedReader (the dashboard's too): read-only, cached until the store changes.
When the store is held by a writer (this server's feeder or another process),
the last figures are served, marked as such; with none, the page says so. A
damaged store (StoreDamaged) is the handler's to answer, with a 503. The pages
are Jinja2 templates (server/templates/) with escaping on.

A project page also shows each version's builds (wheelstats.rollups.builds):
status, why a failure failed, duration, start, the files, and a link to the
build's log, served as a page of escaped text (its last LOG_PAGE_BYTES).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from packaging.version import InvalidVersion, Version
from starlette.templating import Jinja2Templates

from wheelstats.period import Period
from wheelstats.rollups import queries
from wheelstats.rollups.builds import BuildRecord, LogUnreadable, log_file, logs_folder, read_builds, read_log
from wheelstats.rollups.filters import Filters
from wheelstats.rollups.queries import ClientDownloads, DayDownloads, ProjectTotals
from wheelstats.rollups.reader import Answer, CachedReader, StoreBusy, StoreUnavailable, utc_now
from wheelstats.server.catalogue import Project, Snapshot
from wheelstats.server.index import file_url, json_bytes, project_url
from wheelstats.web.templates import template_environment

RECENT_DAYS = queries.RECENT_WINDOWS["month"]
BAR_WIDTH, BAR_GAP, CHART_HEIGHT = 10, 2, 80
BUILDS_SHOWN = 100  # a project's newest builds on its page
LOG_PAGE_BYTES = 1 << 20  # a log page shows this much of the end of the log

TEMPLATES = Jinja2Templates(env=template_environment(Path(__file__).with_name("templates")))
TEMPLATES.env.globals.update(file_url=file_url, recent_days=RECENT_DAYS)
TEMPLATES.env.filters.update(seconds="{:,.1f} s".format)


def _release_order(version: str) -> tuple:
    """PEP 440 order; a version that is not PEP 440 (an old import) sorts below, by its text."""
    try:
        return (1, Version(version), "")
    except InvalidVersion:
        return (0, Version("0"), version)


@dataclass(frozen=True, slots=True)
class ProjectFigures:
    all_time: int
    last_30_days: int
    by_day: tuple[DayDownloads, ...]  # the last 30 days, oldest first, zeros included
    by_file: Mapping[str, int]  # downloads by filename, all time
    clients: tuple[ClientDownloads, ...]  # installer (or agent product) and downloads, most first
    as_of: datetime  # UTC
    builds: tuple[BuildRecord, ...] = ()  # the newest first

    @classmethod
    def none_yet(cls, now: datetime) -> ProjectFigures:
        return cls(0, 0, (), {}, (), now)

    def builds_by_version(self) -> list[tuple[str, list[BuildRecord]]]:
        """The builds grouped by version, the newest version first (and its newest build first)."""
        grouped: dict[str, list[BuildRecord]] = {}
        for build in self.builds:
            grouped.setdefault(build.version, []).append(build)
        return sorted(grouped.items(), key=lambda item: _release_order(item[0]), reverse=True)


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
        builds=tuple(read_builds(con, project=name, limit=BUILDS_SHOWN)),
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
        project_files={dist.filename: dist for dist in project.files},
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


@dataclass(frozen=True, slots=True)
class LogPage:
    status: int
    body: bytes


def _log_tail(db: Path, build: BuildRecord) -> tuple[str, int]:
    """The end of a build's log as text, and how many bytes before it are left out."""
    tail, total = b"", 0
    for chunk in read_log(db, build.build_id, build.log_path):
        total += len(chunk)
        tail = (tail + chunk)[-LOG_PAGE_BYTES:]
    return tail.decode("utf-8", errors="replace"), total - len(tail)


def render_build_log(reader: CachedReader, project: Project, build_id: int) -> LogPage:
    """The page of one build's log, escaped; 404 for a build of another project or without a log."""
    db = reader.db_path
    if not reader.store_exists():
        return LogPage(404, render_error_page(404, f"No build {build_id} of {project.name}."))
    try:
        found = reader.answer(("index-build", build_id), lambda con, now: read_builds(con, build_id=build_id))
    except StoreUnavailable as error:
        return LogPage(error.status, render_error_page(error.status, str(error)))
    build = found[0] if found else None
    if build is None or build.project != project.name or build.log_path is None:
        return LogPage(404, render_error_page(404, f"No build {build_id} of {project.name} with a log."))
    path = log_file(db, build.log_path).resolve()
    if not path.is_relative_to(logs_folder(db).resolve()):  # the store names a file outside its logs
        return LogPage(404, render_error_page(404, f"No build {build_id} of {project.name} with a log."))
    try:
        text, left_out = _log_tail(db, build)
    except LogUnreadable as error:
        return LogPage(410, render_error_page(410, str(error)))
    body = TEMPLATES.get_template("build_log.html").render(
        title=f"Build {build_id} of {project.name} {build.version}", project=project, build=build, log=text,
        left_out=left_out, project_url=f"/project/{project.name}/",
    ).encode("utf-8")
    return LogPage(200, body)
