"""The manifest: the scenario's figures as the generator wrote them (its ground truth).

Every number comes from the writer's tally of what it wrote (and the build durations
it chose), never from reading the output back. Keys follow ../shared/seed-2020q1.json
where they apply; exact numbers are added next to them.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from wheelstats.simulate.durations import build_weights, saved_deciseconds
from wheelstats.timesaved import SECONDS_PER_YEAR
from wheelstats.simulate.traffic import day_date

TIE_RULE = "downloads descending, then canonical name ascending"


def _top(counts: np.ndarray, names, canonical, size: int) -> list[dict]:
    order = sorted((i for i in np.flatnonzero(counts)), key=lambda i: (-int(counts[i]), canonical[i]))[:size]
    return [{"project": canonical[i], "name": names[i], "downloads": int(counts[i])} for i in order]


def _shares(agent_counts: np.ndarray, agents, attribute) -> dict:
    totals: dict[str, int] = defaultdict(int)
    for agent_id in np.flatnonzero(agent_counts):
        profile = agents.profiles[agent_id]
        value = attribute(profile) if profile is not None else None
        totals[value if value else "unknown"] += int(agent_counts[agent_id])
    known = sum(v for k, v in totals.items() if k != "unknown")
    return {name: {"downloads": count, "share": round(count / known, 6) if known and name != "unknown" else None}
            for name, count in sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))}


def _python_checks(by_month: dict, shares: dict, last: str) -> dict:
    def share(table: dict, version: str) -> float:
        return (table.get(version) or {}).get("share") or 0.0

    def downloads(table: dict, version: str) -> int:
        return (table.get(version) or {}).get("downloads", 0)

    earlier = [table for month, table in by_month.items() if month != last]
    before = sum(downloads(t, "2.7") for t in earlier) / max(sum(downloads(t, v) for t in earlier for v in t
                                                                if v != "unknown"), 1)
    return {"3.7_above_3.5": share(shares, "3.7") > share(shares, "3.5"),
            "2.7_share_rises_in_march": share(by_month.get(last, {}), "2.7") > before}


def build_manifest(plan, agents, tally, durations, files_written: list[dict]) -> dict:
    scenario, catalogue = plan.scenario, plan.catalogue
    labels = [m.label for m in plan.months]
    in_period = np.array([m.in_period for m in plan.months])
    period_labels = [m.label for m in plan.period_months]
    by_month = {label: int(tally.project_month[i].sum()) for i, label in enumerate(labels)}
    saved = saved_deciseconds(durations.durations_ds, build_weights(catalogue, tally.file_month)) / 10
    saved_month = {label: float(saved[i]) for i, label in enumerate(labels)}
    period_downloads = sum(by_month[label] for label in period_labels)
    all_time = sum(by_month.values())
    by_day = {day_date(d).isoformat(): n for d, n in sorted(tally.day_downloads.items())}
    peak_date, peak_count = max(by_day.items(), key=lambda kv: (kv[1], kv[0]))
    period_days = {d: n for d, n in by_day.items() if period_labels[0] <= d[:7] <= period_labels[-1]}
    period_peak = max(period_days.items(), key=lambda kv: (kv[1], kv[0]))
    peak_month = max(by_month.items(), key=lambda kv: (kv[1], kv[0]))
    names, canonical = catalogue.names, catalogue.canonical
    period_projects = sum(tally.project_month[i] for i in np.flatnonzero(in_period))
    period_agents = sum(tally.agent_month[i] for i in np.flatnonzero(in_period))
    top = _top(period_projects, names, canonical, 10)
    top_by_month = {label: _top(tally.project_month[i], names, canonical, 5)
                    for i, label in enumerate(labels) if label in period_labels}
    saved_period = sum(saved_month[label] for label in period_labels)
    saved_all = float(saved.sum())
    last = scenario.last_month
    shares = {
        "os": _shares(period_agents, agents, lambda p: "Linux"),
        "distro": _shares(period_agents, agents, lambda p: p.distro_name),
        "arch": _shares(period_agents, agents, lambda p: p.cpu),
        "python": _shares(period_agents, agents, lambda p: p.python_minor),
        "installer": _shares(period_agents, agents, lambda p: p.installer),
    }
    arm = sum(v["downloads"] for k, v in shares["arch"].items() if k.startswith(("arm", "aarch")))
    known_arch = sum(v["downloads"] for k, v in shares["arch"].items() if k != "unknown")
    python_by_month = {label: _shares(tally.agent_month[i], agents, lambda p: p.python_minor)
                       for i, label in enumerate(labels) if label in period_labels}
    return {
        "about": ("Ground truth of a simulated scenario, counted by the generator as it wrote the files "
                  "(never computed by reading them back). Shares are over downloads whose agent states "
                  "the value ('unknown' is listed but not in the denominator). A year is 365.25 days. "
                  f"Top lists are ordered by {TIE_RULE}; 'project' is the PEP 503 canonical name."),
        "scenario": scenario.name, "site": scenario.site, "scale": plan.scale, "seed": plan.seed,
        "period": {"start": scenario.period_start.isoformat(), "end": scenario.period_end.isoformat()},
        "downloads_in_period": period_downloads,
        "downloads_all_time_at_period_end": all_time,
        "downloads_before_period": all_time - period_downloads,
        "year_days": 365.25,
        "time_saved_seconds": {"in_period": round(saved_period, 1), "all_time": round(saved_all, 1),
                               "before_period": round(saved_all - saved_period, 1),
                               "by_month": {k: round(v, 1) for k, v in saved_month.items()}},
        "time_saved_years": {"in_period": saved_period / SECONDS_PER_YEAR, "all_time": saved_all / SECONDS_PER_YEAR,
                             "per_month": {k: saved_month[k] / SECONDS_PER_YEAR for k in period_labels}},
        "time_saved_method": "piwheels: per download max(duration - 6.7 s, 0) x1 linux_armv7l, x6 linux_armv6l, "
                             "0 otherwise and for abi none; builds over a week count 0",
        "months": {"+".join(period_labels[:-1]): sum(by_month[k] for k in period_labels[:-1]),
                   **{k: by_month[k] for k in period_labels},
                   "march_is_highest_month_ever": peak_month[0] == last},
        "downloads_by_month": by_month,
        "downloads_by_day": by_day,
        "peak_month": {"month": peak_month[0], "downloads": peak_month[1]},
        "peak_day": {"date": peak_date, "downloads": peak_count},
        "days": {"peak": {"date": period_peak[0], "downloads": period_peak[1],
                          "is_highest_day_ever": period_peak[0] == peak_date},
                 "spike_starts": scenario.spike.start.isoformat()},
        "top_in_period": [[t["project"], t["downloads"]] for t in top],
        "top_in_period_named": top,
        "top_in_march": [[t["project"], t["downloads"]] for t in top_by_month.get(last, [])],
        "top_by_month": {k: [[t["project"], t["downloads"]] for t in v] for k, v in top_by_month.items()},
        "spike_packages": {"packages": list(scenario.spike_projects),
                           "canonical": [canonical[i] for i in plan.spike_ids],
                           "wheel_kind": "universal (py2.py3-none-any)"},
        "shares_of_downloads": {**shares, "os_distro": shares["distro"],
                                "all_arm": {"downloads": arm, "share": round(arm / known_arch, 6)}},
        "python_checks": _python_checks(python_by_month, shares["python"], last),
        "python_by_month": python_by_month,
        "lines": {**tally.lines, "total": sum(tally.lines.values())},
        "dump_rows": tally.dump_rows,
        "catalogue": {"projects": catalogue.project_count, "files": len(catalogue.file_name),
                      "builds": len(catalogue.build_abi),
                      "builds_over_a_week": [int(b) + 1 for b in durations.clock_error_builds]},
        "files_written": files_written,
    }
