"""The scale-1.0 plan reproduces the seed's figures, without writing a file.

The plan decides every count before anything is written and the writer checks that
it wrote exactly the plan, so checking the plan at scale 1.0 checks the seed figures.
"""

import json

import numpy as np
import pytest
from packaging.utils import canonicalize_name

from kit import DATA
from wheelstats.simulate.agents import installer_profiles
from wheelstats.simulate.groundtruth import planned_counts, solve
from wheelstats.simulate.plan import build_plan
from wheelstats.simulate.pools import build_agent_pool
from wheelstats.simulate.scenario import PIWHEELS_2020Q1
from wheelstats.timesaved import SECONDS_PER_YEAR
from wheelstats.simulate.traffic import day_date

SEED = json.loads((DATA / "seed-2020q1.json").read_text())


@pytest.fixture(scope="module")
def plan():
    return build_plan(PIWHEELS_2020Q1, 1.0, 0)


@pytest.fixture(scope="module")
def counts(plan):
    return planned_counts(plan, build_agent_pool())


def test_totals_months_and_days_are_the_seed_s(plan):
    by_month = {m.label: int(m.day_totals.sum()) for m in plan.months}
    assert all(int(m.project_counts.sum()) == by_month[m.label] for m in plan.months)
    period = [m for m in plan.months if m.in_period]
    assert sum(by_month[m.label] for m in period) == SEED["downloads_in_period"]
    assert sum(by_month.values()) == SEED["downloads_all_time_at_period_end"]
    assert by_month["2020-01"] + by_month["2020-02"] == SEED["months"]["2020-01+2020-02"]
    assert by_month["2020-03"] == SEED["months"]["2020-03"] == max(by_month.values())
    low, high = SEED["months"]["each_of_jan_feb_between"]
    assert low <= by_month["2020-01"] <= high and low <= by_month["2020-02"] <= high
    days = {day_date(d).isoformat(): int(n) for m in plan.months for d, n in zip(m.days, m.day_totals)}
    peak = max(days, key=days.get)
    assert (peak, days[peak]) == (SEED["days"]["peak"]["date"], SEED["days"]["peak"]["downloads"])
    assert sorted(days.values())[-2] < days[peak]
    usual = np.mean([n for d, n in days.items() if "2020-01-01" <= d < "2020-03-01"])
    after = np.mean([n for d, n in days.items() if "2020-03-19" <= d <= "2020-03-31"])
    assert 38_000 <= after <= 42_000 and 5_000 <= after - usual <= 10_000
    spike = [days[f"2020-03-{d:02d}"] for d in range(5, 20)]
    assert days["2020-03-04"] > days["2020-03-03"] + 5_000
    assert all(a >= b - 2_500 for a, b in zip(spike, spike[1:]))  # declines, allowing for weekends


def _top(plan, counts: np.ndarray, size: int) -> list[list]:
    order = sorted(np.flatnonzero(counts), key=lambda i: (-counts[i], plan.catalogue.canonical[i]))[:size]
    return [[plan.catalogue.canonical[i], int(counts[i])] for i in order]


def test_top_projects_are_the_seed_s(plan):
    period = sum(m.project_counts for m in plan.months if m.in_period)
    assert _top(plan, period, 10) == [[canonicalize_name(n), c] for n, c in SEED["top_in_period"]]
    assert _top(plan, period, 11)[10][1] < SEED["top_in_period"][9][1]
    march = plan.months[-1].project_counts
    assert _top(plan, march, 5) == [[canonicalize_name(n), c] for n, c in SEED["top_in_march"]]
    for month in plan.months[-3:-1]:
        top = _top(plan, month.project_counts, 6)
        assert top[4][1] > top[5][1]  # no tie at the edge of a month's top 5


def test_time_saved_meets_the_seed_s_ranges(plan, counts):
    years = solve(plan, counts.files).planned_saved_ds / 10 / SECONDS_PER_YEAR
    in_period = np.array([m.in_period for m in plan.months])
    bounds = SEED["time_saved_years"]
    assert bounds["in_period"]["min"] <= years[in_period].sum() <= bounds["in_period"]["max"]
    assert bounds["all_time"]["min"] <= years.sum() <= bounds["all_time"]["max"]
    for value in years[in_period]:
        assert bounds["per_month"]["min"] <= value <= bounds["per_month"]["max"]


def test_planned_clients_give_the_seed_s_shares(plan, counts):
    agents = build_agent_pool()
    keys = agents.group_keys
    period = counts.groups[:, [m.in_period for m in plan.months]].sum(axis=1)
    total = period.sum()

    def share(predicate, column=period) -> float:
        return sum(n for k, n in zip(keys, column) if predicate(k)) / column.sum()

    arch = SEED["shares_of_downloads"]["arch"]
    assert abs(share(lambda k: k[1] == "armv7l") - arch["armv7l"]["approx"]) <= arch["armv7l"]["tolerance"] - 0.002
    assert abs(share(lambda k: k[1] == "armv6l") - arch["armv6l"]["approx"]) <= arch["armv6l"]["tolerance"] - 0.002
    assert share(lambda k: k[1] in ("armv7l", "armv6l", "aarch64")) >= arch["all_arm_min"]
    assert share(lambda k: k[0] == "3.7") > share(lambda k: k[0] == "3.5")
    march, before = counts.groups[:, -1], counts.groups[:, -3:-1].sum(axis=1)
    assert share(lambda k: k[0] == "2.7", march) > share(lambda k: k[0] == "2.7", before) + 0.05
    # Raspbian, expected from each group's mix of distributions.
    profiles = installer_profiles()
    raspbian = sum(n * sum(w for p, w in profiles[k] if p.distro_name == "Raspbian GNU/Linux")
                   / sum(w for _, w in profiles[k]) for k, n in zip(keys, period))
    distro = SEED["shares_of_downloads"]["os_distro"]["Raspbian GNU/Linux"]
    assert abs(raspbian / total - distro["approx"]) <= distro["tolerance"] - 0.003


def test_days_walk_every_planned_day_with_its_downloads_projects():
    small = build_plan(PIWHEELS_2020Q1, 0.002, 3)
    days = list(small.days())
    assert [d.day for d in days] == [int(day) for m in small.months for day in m.days]
    assert sorted({d.day for d in days}) == [d.day for d in days]
    for index, month in enumerate(small.months):
        of_month = [d for d in days if d.month_index == index]
        assert all(d.month is month for d in of_month)
        assert [len(d.projects) for d in of_month] == month.day_totals.tolist()
        projects = np.concatenate([d.projects for d in of_month])
        assert np.array_equal(np.bincount(projects, minlength=len(month.project_counts)), month.project_counts)
    before, during = list(small.days(in_period=False)), list(small.days(in_period=True))
    assert [d.day for d in before + during] == [d.day for d in days]
    assert {d.month.label for d in during} == {"2020-01", "2020-02", "2020-03"}
    assert all(np.array_equal(a.projects, b.projects) for a, b in zip(during, days[len(before):]))
