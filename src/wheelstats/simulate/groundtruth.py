"""The planned downloads per file and month, and the build durations solved from them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from wheelstats.simulate.catalogue import COMPILED
from wheelstats.simulate.downloads import file_counts
from wheelstats.simulate.durations import build_weights, saved_deciseconds, solve_durations
from wheelstats.simulate.plan import Plan
from wheelstats.simulate.pools import AgentPool
from wheelstats.timesaved import SECONDS_PER_YEAR


@dataclass(frozen=True, slots=True)
class Durations:
    durations_ds: np.ndarray  # per build
    clock_error_builds: np.ndarray
    planned_saved_ds: np.ndarray  # per month of the plan


@dataclass(frozen=True, slots=True)
class PlannedCounts:
    """What the writer will write, computed without writing."""

    files: np.ndarray  # [files, months] downloads
    groups: np.ndarray  # [agent groups, months] downloads by (python, cpu) of the client


def planned_counts(plan: Plan, agents: AgentPool, progress: Callable[[int], None] | None = None) -> PlannedCounts:
    files = np.zeros((len(plan.catalogue.file_name), len(plan.months)), dtype=np.int64)
    groups = np.zeros((len(agents.group_keys), len(plan.months)), dtype=np.int64)
    for planned in plan.days():
        by_file, by_group = file_counts(plan.catalogue, agents, planned.projects, planned.day, plan.spike_ids,
                                        planned.month.spike, plan.seed)
        files[:, planned.month_index] += by_file
        groups[:, planned.month_index] += by_group
        if progress:
            progress(len(planned.projects))
    return PlannedCounts(files, groups)


def clock_error_builds(plan: Plan) -> np.ndarray:
    """Two downloaded builds of the tail whose recorded duration is over a week."""
    catalogue = plan.catalogue
    compiled_tail = [p for p in np.flatnonzero(catalogue.kind == COMPILED) if p not in set(plan.top_ids)][:2]
    return np.array([np.flatnonzero((catalogue.build_project == p) & catalogue.build_ok)[-1] for p in compiled_tail])


def solve(plan: Plan, counts: np.ndarray) -> Durations:
    weights = build_weights(plan.catalogue, counts)
    in_period = np.array([m.in_period for m in plan.months])
    scenario = plan.scenario
    period_target = scenario.time_saved_years_period * SECONDS_PER_YEAR * 10 * plan.scale
    before_target = (scenario.time_saved_years_all_time - scenario.time_saved_years_period) * SECONDS_PER_YEAR * 10 * plan.scale
    errors = clock_error_builds(plan)
    durations = solve_durations(plan.catalogue, weights[:, in_period].sum(axis=1), weights[:, ~in_period].sum(axis=1),
                                period_target, before_target, errors, int(plan.period_months[0].days[0]))
    return Durations(durations, errors, saved_deciseconds(durations, weights))
