"""The report's figures: one dict (written as report.json), every value from a stats query."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from datetime import date, timedelta

from wheelstats import stats
from wheelstats.period import Period
from wheelstats.stats import Tables
from wheelstats.timesaved import PLATFORM_AMPS, SUPPLY_VOLTS, default_method_for, get_method

DEFAULT_SITE = "this index"  # a store's site before it has a name: derived from nothing private
TOP_PROJECTS = 10
TOP_PER_MONTH = 5
PYTHON_HISTORY_MONTHS = 12


@dataclass(frozen=True, slots=True)
class StoreSpan:
    """The first and the last day with a download in the store."""

    first: date
    last: date


class EmptyPeriod(ValueError):
    """The store has downloads, but none in the requested period."""

    def __init__(self, period: Period, span: StoreSpan) -> None:
        super().__init__(
            f"No downloads in {period} (the store holds downloads from {span.first} to {span.last}). "
            "Choose a period inside that span."
        )


def builder_platforms(tables: Tables) -> list[str]:
    """The platforms wheelstats' builder ran on for the store's builds, sorted (imported builds do not say)."""
    builds = tables.builds
    platforms = builds.filter(builds.platform_tag.notnull()).select("platform_tag").distinct()
    return sorted(platforms.to_pyarrow()["platform_tag"].to_pylist())


def build_report(
    tables: Tables,
    period: Period,
    *,
    site: str = DEFAULT_SITE,
    time_saved_method: str | None = None,
    store_name: str = "the store",
    timings: dict[str, float] | None = None,
    session_gap: timedelta = stats.DEFAULT_GAP,
) -> dict:
    """Run every report query and gather the figures into one JSON-ready dict.

    If `timings` is given, each query's wall time in seconds is recorded in it. Without a
    `time_saved_method`, the store's builds choose it (wheelstats.timesaved.default_method_for).
    `session_gap` is the longest pause within one client's session (spikes' causes).
    """
    platforms = builder_platforms(tables)
    method = get_method(time_saved_method or default_method_for(platforms))

    def run(name: str, query, *args, **kwargs):
        started = time.perf_counter()
        result = query(tables, *args, **kwargs)
        if timings is not None:
            timings[name] = time.perf_counter() - started
        return result

    days = run("download_span", stats.download_span)
    if days is None:
        raise stats.EmptyStore(store_name)
    span = StoreSpan(*days)
    downloads = run("downloads_in_period", stats.downloads_in_period, period)
    if downloads == 0:
        raise EmptyPeriod(period, span)

    # by_month covers the whole history to the period end, so the all-time
    # totals and the peak month are sums and maxima of it (one scan, not three).
    by_month = run("downloads_by_month", stats.downloads_by_month, period, method.name)
    period_months = period.months()
    if period.whole_months():
        in_period_saved = stats.TimeSaved(
            sum(m.time_saved_seconds for m in by_month if m.month in period_months),
            sum(m.energy_kwh for m in by_month if m.month in period_months),
        )
    else:
        in_period_saved = run("time_saved", stats.time_saved, period, method.name)
    peak_month = max(by_month, key=lambda m: m.downloads)  # the earliest on ties
    # Likewise every day of the history: the period's days and the peak day ever.
    history = Period(min(span.first, period.start), period.end)
    daily = run("downloads_by_day", stats.downloads_by_day, history)
    by_day = [d for d in daily if period.start.isoformat() <= d.date]
    peak_day = max(daily, key=lambda d: d.downloads)  # the earliest on ties
    top = run("top_projects", stats.top_projects, period, TOP_PROJECTS)
    top_by_month = run("top_projects_by_month", stats.top_projects_by_month, period, TOP_PER_MONTH)
    spikes = run("spikes", stats.spikes, period)
    explained = run("spike_causes", stats.explain_spikes, period, spikes, gap=session_gap)
    clients = run("unique_clients", stats.unique_clients, period)
    shares = run("all_shares", stats.all_shares, period)
    countries = run("country_shares", stats.country_shares, period)
    python_by_month = run("python_by_month", stats.python_by_month, period,
                          months_before=PYTHON_HISTORY_MONTHS)

    named = {p.project for p in top}
    named |= {p.project for month in top_by_month.values() for p in month}
    named |= {p for story in explained for p in story.named_projects()}
    names = run("display_names", stats.display_names, sorted(named))

    def project(count) -> dict:
        return {"project": count.project, "name": names.get(count.project, count.project),
                "downloads": count.downloads}

    return {
        "site": site,
        "period": {
            "start": period.start.isoformat(),
            "end": period.end.isoformat(),
            "label": period.describe(),
            "months": period_months,
        },
        "store_span": {"first": span.first.isoformat(), "last": span.last.isoformat()},
        "downloads": downloads,
        "downloads_all_time": sum(m.downloads for m in by_month),
        "unique_clients": clients,
        "time_saved_method": {"name": method.name, "version": method.version,
                              "description": method.description, "factors": method.factors(),
                              "multipliers": method.describe_factors(),
                              "chosen": "asked" if time_saved_method else "by the store's builds",
                              "builder_platforms": platforms},
        "time_saved_seconds": in_period_saved.seconds,
        "time_saved_all_time_seconds": sum(m.time_saved_seconds for m in by_month),
        "energy": {
            "period_kwh": in_period_saved.energy_kwh,
            "all_time_kwh": sum(m.energy_kwh for m in by_month),
            "volts": SUPPLY_VOLTS,
            "amps_by_platform": dict(PLATFORM_AMPS),
        },
        "by_month": [
            {"month": m.month, "downloads": m.downloads, "time_saved_seconds": m.time_saved_seconds,
             "in_period": m.month in period_months}
            for m in by_month
        ],
        "by_day": [asdict(d) for d in by_day],
        "peak_month": {"month": peak_month.month, "downloads": peak_month.downloads,
                       "in_period": peak_month.month in period_months},
        "peak_day": {"date": peak_day.date, "downloads": peak_day.downloads,
                     "in_period": period.start.isoformat() <= peak_day.date <= period.end.isoformat()},
        "top": [project(p) for p in top],
        "top_by_month": {month: [project(p) for p in counts] for month, counts in top_by_month.items()},
        "shares": {**{dimension: [asdict(s) for s in rows] for dimension, rows in shares.items()},
                   "country": [asdict(c) for c in countries]},
        "python_by_month": [asdict(row) for row in python_by_month],
        "spikes": [story.as_json(names, session_gap) for story in explained],
    }

