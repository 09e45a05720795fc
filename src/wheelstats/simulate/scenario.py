"""The scenarios: piwheels-2020q1 (the seed report's figures, as the plan's targets) and two of its kin.

All exact figures of piwheels-2020q1 are the seed's (../shared/seed-2020q1.json); at
scale S each count is the seed's times S, rounded, and the manifest states the
resulting numbers. Its spike is the seed's: OctoPrint 1.4.0 pushed to its users, whose
pips looked octoprint up and then fetched Flask-Login, Markdown, sentry-sdk and
semantic-version. Two scenarios keep everything else and change what made the spike,
so that a spike without a single project behind it is simulated too:

    mirror-resync  one mirror re-syncing: the peak day's downloads above normal, of every
                   kind of project, come from one client (no spike projects)
    ci-loop        CI runners fetching semantic-version's newest wheel over and over
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date

from wheelstats.simulate.agents import MIRRORS
from wheelstats.simulate.causes import Cause, CiLoop, Flood, Upgrade
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
    cause: Cause  # who carries the spike's downloads


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
    cause=Upgrade(
        name="OctoPrint", version="1.4.0", released=date(2020, 3, 4),
        requires=("Flask", "Jinja2", "tornado", "sockjs-tornado", "PyYAML", "Flask-Login", "Flask-Babel",
                  "Flask-Assets", "Markdown", "pyserial", "netaddr", "watchdog", "sarge", "netifaces", "pylru",
                  "rsa", "pkginfo", "requests", "semantic-version", "psutil", "Click", "awesome-slugify",
                  "feedparser", "future", "websocket-client", "wrapt", "emoji", "frozendict", "sentry-sdk",
                  "filetype", "zeroconf", "cachelib", "Unidecode", "blinker"),
        lookup_share=0.94, downloads_per_session=5,
    ),
)

MIRROR_RESYNC = dataclasses.replace(
    PIWHEELS_2020Q1, name="mirror-resync", spike_projects=(), peak_day_downloads=200_000,
    cause=Flood(agent=MIRRORS[0]),
)

_CI_TOP = {"semantic-version": (250_236, 249_314)}  # the project the CI loop fetches: far more in March
CI_LOOP = dataclasses.replace(
    PIWHEELS_2020Q1, name="ci-loop", spike_projects=("semantic-version",),
    top_in_period=tuple((name, _CI_TOP.get(name, (count,))[0]) for name, count in PIWHEELS_2020Q1.top_in_period),
    top_in_last_month=tuple((name, _CI_TOP.get(name, (0, count))[1])
                            for name, count in PIWHEELS_2020Q1.top_in_last_month),
    cause=CiLoop(runners=40),
)

SCENARIOS = {scenario.name: scenario for scenario in (PIWHEELS_2020Q1, MIRROR_RESYNC, CI_LOOP)}


class UnknownScenario(ValueError):
    def __init__(self, name: str) -> None:
        super().__init__(f"Unknown scenario: {name!r}. Choose one of: {', '.join(SCENARIOS)}.")


def get_scenario(name: str) -> Scenario:
    try:
        return SCENARIOS[name]
    except KeyError:
        raise UnknownScenario(name) from None
