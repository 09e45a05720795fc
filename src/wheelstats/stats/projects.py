"""Projects: the most downloaded, per period and per month, and download spikes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import ibis
from ibis import _
from packaging.utils import canonicalize_name

from wheelstats.period import Period
from wheelstats.spikes import (
    BASELINE_DAYS, MIN_BASELINE_DAYS, RISING_KEPT, SPIKE_FACTOR, ProjectRise, Spike, SpikeDay, build_spikes, runs_of,
)
from wheelstats.stats.tables import Tables, download_rows
from wheelstats.stats.totals import month_key, month_number


@dataclass(frozen=True, slots=True)
class ProjectCount:
    project: str
    downloads: int


def _project_counts(rows, n: int) -> list[ProjectCount]:
    grouped = (
        rows.filter(_.project.notnull())
        .group_by("project").agg(downloads=_.count())
        .order_by([_.downloads.desc(), _.project]).limit(n)
    )
    return [ProjectCount(r["project"], r["downloads"]) for r in grouped.to_pyarrow().to_pylist()]


def top_projects(tables: Tables, period: Period, n: int = 10) -> list[ProjectCount]:
    """The `n` most downloaded projects in the period (ties by name)."""
    return _project_counts(download_rows(tables, period.start_ts, period.end_ts), n)


def top_projects_by_month(tables: Tables, period: Period, n: int = 5) -> dict[str, list[ProjectCount]]:
    """The `n` most downloaded projects of each month in the period."""
    rows = download_rows(tables, period.start_ts, period.end_ts).filter(_.project.notnull())
    counts = rows.group_by(month=month_number(_.ts), project=_.project).agg(downloads=_.count())
    rank = ibis.row_number().over(
        group_by=counts.month, order_by=[counts.downloads.desc(), counts.project]
    )
    ranked = counts.mutate(rank=rank).filter(_.rank < n).order_by(["month", "rank"])
    result: dict[str, list[ProjectCount]] = {}
    for row in ranked.to_pyarrow().to_pylist():
        result.setdefault(month_key(row["month"]), []).append(
            ProjectCount(row["project"], row["downloads"])
        )
    return result


def _spike_days(tables: Tables, period: Period, factor: float) -> list[SpikeDay]:
    """Days in the period at least `factor` times their trailing daily mean."""
    history_start = period.start_ts - timedelta(days=BASELINE_DAYS)
    daily = (
        download_rows(tables, history_start, period.end_ts)
        .group_by(day=_.ts.date()).agg(downloads=_.count())
    )
    trailing = ibis.window(order_by=daily.day, rows=(-BASELINE_DAYS, -1))
    with_baseline = daily.mutate(
        baseline=daily.downloads.mean().over(trailing),
        baseline_days=daily.downloads.count().over(trailing),
    )
    spikes = with_baseline.filter(
        (_.day >= period.start)
        & (_.baseline_days >= MIN_BASELINE_DAYS)
        & (_.downloads >= _.baseline * factor)
    ).order_by("day")
    return [SpikeDay(r["day"], r["downloads"], float(r["baseline"])) for r in spikes.to_pyarrow().to_pylist()]


def _rising_projects(tables: Tables, first: date, last: date, n: int) -> list[ProjectRise]:
    """The projects whose downloads rose most on the days first..last over their trailing mean."""
    spike_start = datetime.combine(first, time())
    spike_end = datetime.combine(last + timedelta(days=1), time())
    days = (last - first).days + 1
    rows = download_rows(tables, spike_start - timedelta(days=BASELINE_DAYS), spike_end)
    rows = rows.filter(_.project.notnull())
    per_project = rows.group_by("project").agg(
        during=_.count(where=_.ts >= spike_start),
        before=_.count(where=_.ts < spike_start),
    )
    # Ranked by the rise in whole numbers (times BASELINE_DAYS), divided here: every engine ranks and
    # rounds alike.
    per_project = per_project.mutate(scaled_rise=_.during * BASELINE_DAYS - _.before * days)
    top = per_project.order_by([_.scaled_rise.desc(), _.project]).limit(n)
    return [ProjectRise.of(r["project"], r["during"], r["before"], days) for r in top.to_pyarrow().to_pylist()]


def spikes(
    tables: Tables, period: Period, *, factor: float = SPIKE_FACTOR, projects: int = RISING_KEPT
) -> list[Spike]:
    """Runs of days far above the trailing baseline, with the projects behind each
    (the `projects` that rose most, keeping those that carry a tenth of the excess): wheelstats.spikes' rule."""
    return build_spikes(runs_of(_spike_days(tables, period, factor)),
                        lambda first, last: _rising_projects(tables, first, last, projects))


def display_names(tables: Tables, projects: list[str]) -> dict[str, str]:
    """The display form of canonical project names, read from their files' names.

    A wheel or sdist name starts with the project's name as its author spells it
    (with "-" escaped as "_"): "Flask_Login-0.5.0-py2.py3-none-any.whl" gives
    "Flask-Login". A name is used only if it canonicalises back to the project;
    otherwise, or without files, the canonical name stands.
    """
    if not projects:
        return {}
    files = tables.files.filter(_.project.isin(projects))
    prefixes = files.mutate(display=_.filename.re_extract(r"^([^-]+)-", 1).replace("_", "-"))
    counted = prefixes.group_by("project", "display").agg(files=_.count())
    best: dict[str, tuple[int, str]] = {}
    for row in counted.to_pyarrow().to_pylist():
        display = row["display"]
        if not display or canonicalize_name(display) != row["project"]:
            continue
        candidate = (row["files"], display)
        if row["project"] not in best or candidate > best[row["project"]]:
            best[row["project"]] = candidate
    return {project: best[project][1] if project in best else project for project in projects}
