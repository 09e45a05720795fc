"""The piwheels-2020q1 scenario: the seed report's figures, as the plan's targets.

All exact figures are the seed's (../shared/seed-2020q1.json); at scale S each count
is the seed's times S, rounded, and the manifest states the resulting numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from wheelstats.simulate.traffic import Spike



@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    site: str
    period_start: date
    period_end: date
    history_start: date
    downloads_in_period: int
    downloads_all_time: int
    last_month: str
    last_month_downloads: int
    peak_day: date
    peak_day_downloads: int
    top_in_period: tuple[tuple[str, int], ...]
    top_in_last_month: tuple[tuple[str, int], ...]
    spike_projects: tuple[str, ...]
    spike: Spike
    time_saved_years_period: float  # the target the build durations are solved for
    time_saved_years_all_time: float
    tail_projects: int  # at scale 1


PIWHEELS_2020Q1 = Scenario(
    name="piwheels-2020q1",
    site="piwheels",
    period_start=date(2020, 1, 1),
    period_end=date(2020, 3, 31),
    history_start=date(2017, 9, 1),
    downloads_in_period=3_317_443,
    downloads_all_time=18_062_971,
    last_month="2020-03",
    last_month_downloads=1_276_799,
    peak_day=date(2020, 3, 5),
    peak_day_downloads=60_324,
    top_in_period=(
        ("pycparser", 147_532), ("Flask-Login", 98_382), ("numpy", 83_633), ("zope.component", 81_875),
        ("PyYAML", 75_123), ("cffi", 62_605), ("opencv-python", 52_953), ("Markdown", 52_203),
        ("sentry-sdk", 50_927), ("semantic-version", 50_236),
    ),
    top_in_last_month=(
        ("Flask-Login", 94_457), ("Markdown", 49_957), ("semantic-version", 49_314),
        ("sentry-sdk", 49_269), ("pycparser", 32_167),
    ),
    spike_projects=("Flask-Login", "Markdown", "sentry-sdk", "semantic-version"),
    spike=Spike(start=date(2020, 3, 4), peak=date(2020, 3, 5), decay_days=3.5, uplift_days=8, uplift_share=0.6),
    time_saved_years_period=59.5,
    time_saved_years_all_time=232.5,
    tail_projects=2500,
)

SCENARIOS = {PIWHEELS_2020Q1.name: PIWHEELS_2020Q1}


class UnknownScenario(ValueError):
    def __init__(self, name: str) -> None:
        super().__init__(f"Unknown scenario: {name!r}. Choose one of: {', '.join(SCENARIOS)}.")


def get_scenario(name: str) -> Scenario:
    try:
        return SCENARIOS[name]
    except KeyError:
        raise UnknownScenario(name) from None
