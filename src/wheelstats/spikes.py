"""Spikes: runs of days far above their trailing baseline, and the projects behind each.

The rule, shared by the report's Ibis queries (wheelstats.stats) and the
dashboard's rollups (wheelstats.rollups.spikes), which each find the spike days
and the projects' rises their own way and build the spikes here:

- a day is a spike day when its downloads are at least SPIKE_FACTOR times the
  mean of the BASELINE_DAYS days before it that had downloads (with at least
  MIN_BASELINE_DAYS of them);
- consecutive spike days form one spike; its peak is its busiest day (the
  earliest on ties) and its excess the downloads above each day's baseline;
- the projects behind it are those whose downloads over its days rose most
  above their own mean of the BASELINE_DAYS before, keeping those that carry
  at least MIN_RISE_SHARE of the excess.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

SPIKE_FACTOR = 1.25       # a day at least this many times its trailing baseline is a spike
BASELINE_DAYS = 28        # the trailing baseline: mean downloads of this many days before
MIN_BASELINE_DAYS = 7     # fewer days of history than this: no baseline, no spike
MIN_RISE_SHARE = 0.1      # a project behind a spike carries at least this share of its excess
RISING_KEPT = 5           # how many of the projects that rose most are looked at
DEFAULT_GAP = timedelta(minutes=10)  # the longest pause inside one client's session (wheelstats.stats.sessions)


@dataclass(frozen=True, slots=True)
class SpikeDay:
    day: date
    downloads: int
    baseline: float  # the mean of the days before it


@dataclass(frozen=True, slots=True)
class ProjectRise:
    project: str
    downloads: int      # in the spike's days
    baseline: float     # expected in as many days, from the project's trailing mean
    rise: float         # downloads - baseline

    @classmethod
    def of(cls, project: str, downloads: int, before: int, days: int) -> ProjectRise:
        """A project's rise over `days` from its downloads then and in the BASELINE_DAYS `before`; computed
        here, from whole numbers, so every engine gives the same figures (engines rank by
        downloads * BASELINE_DAYS - before * days, the same order in whole numbers)."""
        baseline = before * days / BASELINE_DAYS
        return cls(project, downloads, baseline, downloads - baseline)


@dataclass(frozen=True, slots=True)
class Spike:
    start: str          # first day, YYYY-MM-DD
    end: str            # last day (consecutive spike days form one spike)
    peak_date: str
    peak_downloads: int
    baseline: float     # trailing daily mean before the peak day
    ratio: float        # peak_downloads / baseline
    excess: float       # downloads above the trailing baseline, summed over the spike's days
    projects: list[ProjectRise] = field(default_factory=list)


def runs_of(days: list[SpikeDay]) -> list[list[SpikeDay]]:
    """The spike days (in order) joined into runs of consecutive days: one run a spike."""
    runs: list[list[SpikeDay]] = []
    for day in days:
        if runs and (day.day - runs[-1][-1].day).days == 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    return runs


def build_spikes(runs: list[list[SpikeDay]], rising: Callable[[date, date], list[ProjectRise]]) -> list[Spike]:
    """Spikes from the runs of spike days (runs_of), each with the projects behind it.

    `rising(first, last)` gives the projects that rose most over those days, most first.
    """
    result = []
    for run in runs:
        peak = max(run, key=lambda d: (d.downloads, -d.day.toordinal()))
        excess = sum(d.downloads - d.baseline for d in run)
        projects = [r for r in rising(run[0].day, run[-1].day) if r.rise >= MIN_RISE_SHARE * excess]
        result.append(Spike(
            start=run[0].day.isoformat(), end=run[-1].day.isoformat(), peak_date=peak.day.isoformat(),
            peak_downloads=peak.downloads, baseline=float(peak.baseline), ratio=peak.downloads / peak.baseline,
            excess=excess, projects=projects,
        ))
    return result
