"""Each spike with its story: what caused it, what it left behind, and what it did to the Pythons' shares."""

from __future__ import annotations

from dataclasses import asdict, dataclass
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

    def as_json(self, names: dict[str, str], gap: timedelta) -> dict:
        """The spike as report.json and the API give it: its days and packages, its cause, what it left
        behind and its Python effect; `names` are display names by project."""
        spike, cause = self.spike, self.cause
        return {
            **{k: v for k, v in asdict(spike).items() if k != "projects"},
            "projects": [dict(asdict(r), name=names.get(r.project, r.project)) for r in spike.projects],
            "cause": {
                "kind": cause.kind,
                "project": cause.project,
                "name": names.get(cause.project, cause.project) if cause.project else None,
                "clients": cause.clients,
                "share_of_clients": cause.share_of_clients,
                "evidence": cause.evidence,
                "dependencies_in_spike": list(cause.dependencies_in_spike),
                "dependencies_from": cause.dependencies_from,
                "downloads_here": cause.downloads_here,
                "share_of_downloads": cause.share_of_downloads,
                "share_of_excess": cause.share_of_excess,
                "openers": [dict(asdict(o), name=names.get(o.project, o.project)) for o in cause.openers],
                "clients_are": cause.identity,
                "session_gap_minutes": gap.total_seconds() / 60,
            },
            "after": asdict(self.after) if self.after else None,
            "python_effect": asdict(self.python_effect) if self.python_effect else None,
        }

    def named_projects(self) -> set[str]:
        """The projects its JSON names: those behind it, its cause and the projects opening its sessions."""
        named = {r.project for r in self.spike.projects}
        return named | {p for p in (self.cause.project, *(o.project for o in self.cause.openers)) if p}


def explain_spikes(
    tables: Tables, period: Period, spikes: list[Spike], *, gap: timedelta = DEFAULT_GAP
) -> list[ExplainedSpike]:
    """Each of `spikes` (found in `period` by stats.spikes) with its cause, aftermath and Python effect."""
    return [
        ExplainedSpike(spike, explain(tables, spike, gap=gap), after(tables, spike, period),
                       python_effect(tables, spike))
        for spike in spikes
    ]
