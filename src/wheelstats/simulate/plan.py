"""The plan of a scenario: exact download counts by day, month and project.

Decided before anything is written: day totals first, then each project's count per
month (the seed's exact figures for the top projects, the rest by largest-remainder
allocation), then which project each of a month's downloads belongs to and on which
day, by sorting draws from each project's daily profile and cutting the sorted list
at the day totals. Every sum is exact by construction; the same seed gives the same plan.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import numpy as np

from wheelstats.simulate.catalogue import COMPILED, Catalogue, build_catalogue
from wheelstats.simulate.downloads import SpikeDay
from wheelstats.simulate.scenario import Scenario
from wheelstats.simulate.traffic import (
    allocate, base_shape, day_number, history_day_totals, month_slices, scaled, spike_shape,
)

# Share of all pre-period traffic of the known projects (the rest is the long tail).
HISTORY_WEIGHTS = {
    "pycparser": 0.045, "Flask-Login": 0.002, "numpy": 0.03, "zope.component": 0.02, "PyYAML": 0.022,
    "cffi": 0.02, "opencv-python": 0.017, "Markdown": 0.003, "sentry-sdk": 0.001, "semantic-version": 0.0008,
}
# Known projects whose popularity grew from a date to the period's start (weight above at the end).
HISTORY_GROWTH = {"opencv-python": date(2018, 7, 1)}
TAIL_EXPONENT = 0.6
# Before 2020 fewer of the long tail's downloads were of compiled wheels than now.
HISTORY_COMPILED_FACTOR = 0.7


@dataclass(frozen=True, slots=True)
class MonthPlan:
    label: str  # YYYY-MM
    days: np.ndarray  # day numbers (days since 1970-01-01)
    day_totals: np.ndarray
    project_counts: np.ndarray  # [P] downloads of each project in the month
    spike: bool  # the spike projects follow the spike profile this month
    in_period: bool
    flood: np.ndarray | None = None  # per day: downloads above the usual level (the peak's), if any


@dataclass(frozen=True, slots=True)
class PlannedDay:
    """One day of the plan: its month and the project of each of its downloads."""

    month_index: int  # in Plan.months
    month: MonthPlan
    day: int  # day number (days since 1970-01-01)
    projects: np.ndarray
    flood: int = 0  # downloads above the day's usual level


@dataclass(frozen=True, slots=True)
class Plan:
    scenario: Scenario
    scale: float
    seed: int
    catalogue: Catalogue
    months: tuple[MonthPlan, ...]
    spike_ids: np.ndarray
    top_ids: np.ndarray

    @property
    def period_months(self) -> tuple[MonthPlan, ...]:
        return tuple(m for m in self.months if m.in_period)

    def days(self, in_period: bool | None = None) -> Iterator[PlannedDay]:
        """Every day of the plan in order (only those in or before the period, if ``in_period`` says),
        each with its downloads' projects. Each month draws from its own stream, so leaving
        months out changes nothing in the others."""
        for index, month in enumerate(self.months):
            if in_period is not None and month.in_period != in_period:
                continue
            projects, bounds = self.month_downloads(month, self.month_rng(index))
            for i, day in enumerate(month.days):
                flood = int(month.flood[i]) if month.flood is not None else 0
                yield PlannedDay(index, month, int(day), projects[bounds[i]:bounds[i + 1]], flood)

    def spike_day(self, planned: PlannedDay) -> SpikeDay:
        """How the spike and its cause shape `planned`'s downloads."""
        return SpikeDay(self.spike_ids, planned.month.spike, planned.flood, self.scenario.cause)

    def month_rng(self, index: int) -> np.random.Generator:
        """The random stream of month ``index``: the days its downloads fall on."""
        return np.random.default_rng([self.seed, 4, index])

    def month_downloads(self, month: MonthPlan, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """The project of each download of ``month``, ordered by day, and the day bounds."""
        counts = month.project_counts
        projects = np.repeat(np.arange(len(counts)), counts)
        first_day = month.days[0]
        base = base_shape(month.days)
        base_cdf = np.cumsum(base) / base.sum()
        start = np.clip(self.catalogue.release_day[:, 0] - first_day, 0, len(month.days) - 1)
        floor = np.where(start > 0, base_cdf[np.maximum(start - 1, 0)], 0.0)[projects]
        u = floor + rng.random(len(projects)) * (1.0 - floor)
        day = np.searchsorted(base_cdf, u, side="right")
        if month.spike:
            spiking = np.isin(projects, self.spike_ids)
            spike_cdf = np.cumsum(spike_shape(month.days, self.scenario.spike))
            spike_cdf /= spike_cdf[-1]
            day[spiking] = np.searchsorted(spike_cdf, rng.random(int(spiking.sum())), side="right")
        day = np.minimum(day, len(month.days) - 1)
        order = np.argsort(day + rng.random(len(day)), kind="stable")
        bounds = np.concatenate([[0], np.cumsum(month.day_totals)])
        return projects[order], bounds


class InvalidScale(ValueError):
    def __init__(self, scale: float) -> None:
        super().__init__(f"Invalid scale: {scale!r}. Use a number above 0 and at most 10, e.g. 0.01.")


def check_scale(scale: float) -> float:
    if not 0 < scale <= 10:
        raise InvalidScale(scale)
    return scale


def build_plan(scenario: Scenario, scale: float, seed: int) -> Plan:
    check_scale(scale)
    catalogue = build_catalogue(scenario.tail_projects, np.random.default_rng([seed, 1]))
    project_count = catalogue.project_count
    top_ids = np.array([catalogue.project_of(name) for name, _ in scenario.top_in_period])
    spike_ids = np.array([catalogue.project_of(name) for name in scenario.spike_projects], dtype=np.int64)
    tail_weight = np.zeros(project_count)
    tail = np.setdiff1d(np.arange(project_count), top_ids)
    tail_weight[tail] = 1.0 / np.arange(1, len(tail) + 1) ** TAIL_EXPONENT
    first_release = catalogue.release_day[:, 0]

    def availability(days: np.ndarray) -> np.ndarray:
        return ((days[-1] - np.maximum(first_release, days[0]) + 1).clip(0) / len(days))

    months = _period_months(scenario, scale, catalogue, top_ids, spike_ids, tail_weight, availability)
    period_total = sum(int(m.day_totals.sum()) for m in months)
    before = scaled(scenario.downloads_all_time, scale) - period_total
    history_days = np.arange(day_number(scenario.history_start), day_number(scenario.period_start))
    history_totals = history_day_totals(scenario.history_start, date.fromordinal(scenario.period_start.toordinal() - 1), before)
    history_weight = tail_weight * np.where(catalogue.kind == COMPILED, HISTORY_COMPILED_FACTOR, 1.0)
    history_weight *= (1 - sum(HISTORY_WEIGHTS.values())) / history_weight.sum()
    for name, weight in HISTORY_WEIGHTS.items():
        history_weight[catalogue.project_of(name)] = weight
    history = []
    growing = [(catalogue.project_of(name), day_number(since)) for name, since in HISTORY_GROWTH.items()]
    end = day_number(scenario.period_start)
    for label, days in month_slices(history_days):
        totals = history_totals[days]
        weight = history_weight * availability(history_days[days])
        for p, since in growing:
            weight[p] *= float(np.clip((history_days[days].mean() - since) / (end - since), 0.05, 1.0))
        counts = allocate(int(totals.sum()), weight)
        history.append(MonthPlan(label, history_days[days], totals, counts, False, False))
    return Plan(scenario, scale, seed, catalogue, tuple(history) + months, spike_ids, top_ids)


def _period_months(scenario, scale, catalogue, top_ids, spike_ids, tail_weight, availability):
    days = np.arange(day_number(scenario.period_start), day_number(scenario.period_end) + 1)
    slices = month_slices(days)
    last_label, last = slices[-1]
    total = scaled(scenario.downloads_in_period, scale)
    last_total = scaled(scenario.last_month_downloads, scale)
    earlier = slice(0, last.start)
    totals = np.zeros(len(days), dtype=np.int64)
    totals[earlier] = allocate(total - last_total, base_shape(days[earlier]))
    fixed_last = {catalogue.project_of(n): scaled(c, scale) for n, c in scenario.top_in_last_month}
    spike_last = sum(fixed_last[p] for p in spike_ids)
    last_days = days[last]
    base = base_shape(last_days)
    expected = (last_total - spike_last) * base / base.sum() + spike_last * spike_shape(last_days, scenario.spike)
    peak = day_number(scenario.peak_day) - last_days[0]
    peak_count = scaled(scenario.peak_day_downloads, scale)
    flood = np.zeros(len(last_days), dtype=np.int64)
    flood[peak] = max(peak_count - int(round(expected[peak])), 0)
    expected[peak] = 0.0
    last_totals = allocate(last_total - peak_count, expected)
    last_totals[peak] = peak_count
    totals[last] = last_totals
    month_totals = {label: int(totals[s].sum()) for label, s in slices}
    # The top projects: exact period counts; exact last-month counts where the seed gives them.
    counts = {label: np.zeros(len(tail_weight), dtype=np.int64) for label, _ in slices}
    plain_last = month_totals[last_label] - spike_last
    for (name, count), p in zip(scenario.top_in_period, top_ids):
        count = scaled(count, scale)
        if p in fixed_last:
            counts[last_label][p] = fixed_last[p]
            early = allocate(count - fixed_last[p], np.array([month_totals[l] for l, _ in slices[:-1]]))
        else:
            split = allocate(count, np.array([month_totals[l] for l, _ in slices[:-1]] + [plain_last]))
            counts[last_label][p] = split[-1]
            early = split[:-1]
        for (label, _), value in zip(slices[:-1], early):
            counts[label][p] = value
    months = []
    for label, s in slices:
        budget = month_totals[label] - int(counts[label].sum())
        counts[label] += allocate(budget, tail_weight * availability(days[s]))
        months.append(MonthPlan(label, days[s], totals[s], counts[label], label == last_label, True,
                                flood if label == last_label else None))
    return tuple(months)
