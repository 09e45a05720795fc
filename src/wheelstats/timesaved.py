"""Time saved by pre-built wheels: named, versioned methods, written as data.

A method says what one download of a file saved, from the file's build
duration, platform tag and abi tag:

    usable  = the build duration; 0 when unknown, negative or over `cap_s` (clock errors)
    seconds = max(usable - overhead_s, 0) x the factor, where the factor is
              `pure_factor` for a pure wheel (abi tag `none`, or a file not in the catalogue),
              else `platform_factors[platform tag]`, or `other_platforms_factor`
    joules  = seconds x `watts_by_platform[platform tag]` (0 for other platforms)

The data is rendered twice, from this one description: as SQL for the live
figures (wheelstats.rollups.saved, which must not load Ibis) and as Ibis for
the report's queries (wheelstats.stats.savings). tests/test_timesaved.py checks
that both agree on every method. Add a method by adding one to METHODS.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

WEEK_SECONDS = 7 * 24 * 3600
SECONDS_PER_YEAR = 365.25 * 24 * 3600  # the years that time saved is told in
PIWHEELS_OVERHEAD_S = 6.7  # what installing a wheel still costs, per piwheels
SUPPLY_VOLTS = 5.0
PLATFORM_AMPS = {"linux_armv7l": 0.22, "linux_armv6l": 0.08}
PI_WATTS = {tag: SUPPLY_VOLTS * amps for tag, amps in PLATFORM_AMPS.items()}
PLATFORM_FACTORS = {"linux_armv7l": 1.0, "linux_armv6l": 6.0}  # a Pi Zero builds ~6x slower


class UnknownTimeSavedMethod(ValueError):
    """A time-saved method name that is not registered."""

    def __init__(self, name: str) -> None:
        known = ", ".join(sorted(METHODS))
        super().__init__(f"Unknown time-saved method: {name!r}. Choose one of: {known}.")
        self.name = name


@dataclass(frozen=True, slots=True)
class TimeSavedMethod:
    """One way of counting the building a download saved (see the module docstring)."""

    name: str
    version: int
    description: str
    overhead_s: float  # subtracted from every build duration: what installing still costs
    cap_s: float  # builds longer than this count 0
    platform_factors: Mapping[str, float]  # platform tag -> seconds saved per second of building
    other_platforms_factor: float  # the factor of every platform not listed
    pure_factor: float  # the factor of a pure wheel (abi tag none) or an uncatalogued file
    watts_by_platform: Mapping[str, float]  # power drawn while building; 0 for platforms not listed

    def __post_init__(self) -> None:  # read-only views: a method's data cannot change under its users
        object.__setattr__(self, "platform_factors", MappingProxyType(dict(self.platform_factors)))
        object.__setattr__(self, "watts_by_platform", MappingProxyType(dict(self.watts_by_platform)))


METHODS: dict[str, TimeSavedMethod] = {
    method.name: method
    for method in (
        TimeSavedMethod(
            "piwheels", 1,
            "Build duration minus 6.7 s, x1 on armv7l, x6 on armv6l, 0 for other "
            "platforms and pure wheels; builds over a week count 0.",
            overhead_s=PIWHEELS_OVERHEAD_S, cap_s=WEEK_SECONDS, platform_factors=PLATFORM_FACTORS,
            other_platforms_factor=0.0, pure_factor=0.0, watts_by_platform=PI_WATTS,
        ),
        TimeSavedMethod(
            "duration", 1,
            "The plain build duration of every non-pure wheel downloaded; builds "
            "over a week count 0.",
            overhead_s=0.0, cap_s=WEEK_SECONDS, platform_factors={},
            other_platforms_factor=1.0, pure_factor=0.0, watts_by_platform=PI_WATTS,
        ),
    )
}
DEFAULT_METHOD = "piwheels"


def get_method(name: str = DEFAULT_METHOD) -> TimeSavedMethod:
    try:
        return METHODS[name]
    except KeyError:
        raise UnknownTimeSavedMethod(name) from None


def joules_to_kwh(joules: float) -> float:
    return joules / 3_600_000.0
