"""Each spike with its story: what caused it, what it left behind, and what it did to the Pythons' shares."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from wheelstats.period import Period
from wheelstats.stats.aftermath import After, PythonEffect, after, python_effect
from wheelstats.stats.causes import Cause, explain
from wheelstats.spikes import Spike
from wheelstats.stats.sessions import DEFAULT_GAP
from wheelstats.stats.tables import Tables


@dataclass(frozen=True, slots=True)
class ExplainedSpike:
    spike: Spike
    cause: Cause
    after: After | None  # None: too few days after it inside the period
    python_effect: PythonEffect | None  # None: no Python version's share moved with it


def explain_spikes(
    tables: Tables, period: Period, spikes: list[Spike], *, gap: timedelta = DEFAULT_GAP
) -> list[ExplainedSpike]:
    """Each of `spikes` (found in `period` by stats.spikes) with its cause, aftermath and Python effect."""
    return [
        ExplainedSpike(spike, explain(tables, spike, gap=gap), after(tables, spike, period),
                       python_effect(tables, spike))
        for spike in spikes
    ]
