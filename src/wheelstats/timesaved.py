"""Time saved by pre-built wheels: named, versioned methods.

Each method turns one download row (a hit joined to its file and build, with
the columns `duration_s`, `platform_tag` and `abi_tag`) into the seconds of
building that the download saved, as an Ibis expression, so it runs inside
the query engine. Add a method by writing a function and registering it in
METHODS.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

WEEK_SECONDS = 7 * 24 * 3600
PIWHEELS_OVERHEAD_S = 6.7  # what installing a wheel still costs, per piwheels
SUPPLY_VOLTS = 5.0
PLATFORM_AMPS = {"linux_armv7l": 0.22, "linux_armv6l": 0.08}
PLATFORM_FACTORS = {"linux_armv7l": 1, "linux_armv6l": 6}  # a Pi Zero builds ~6x slower


class UnknownTimeSavedMethod(ValueError):
    """A time-saved method name that is not registered."""

    def __init__(self, name: str) -> None:
        known = ", ".join(sorted(METHODS))
        super().__init__(f"Unknown time-saved method: {name!r}. Choose one of: {known}.")
        self.name = name


@dataclass(frozen=True, slots=True)
class TimeSavedMethod:
    name: str
    version: int
    description: str
    seconds: Callable[[ir.Table], ir.NumericValue]


def _usable_duration(rows: ir.Table) -> ir.NumericValue:
    """The build duration, or 0 when unknown, negative or over a week (clock errors)."""
    duration = rows.duration_s
    return ibis.ifelse(
        duration.isnull() | (duration < 0) | (duration > WEEK_SECONDS), 0.0, duration
    )


def _is_pure(rows: ir.Table) -> ir.BooleanValue:
    return rows.abi_tag.isnull() | (rows.abi_tag == "none")


def piwheels_seconds(rows: ir.Table) -> ir.NumericValue:
    """max(duration - 6.7 s, 0) x 1 on armv7l, x 6 on armv6l; 0 elsewhere and for pure wheels."""
    saved = ibis.greatest(_usable_duration(rows) - PIWHEELS_OVERHEAD_S, 0.0)
    factor = ibis.cases(
        *((rows.platform_tag == tag, float(f)) for tag, f in PLATFORM_FACTORS.items()),
        else_=0.0,
    )
    return ibis.ifelse(_is_pure(rows), 0.0, saved * factor)


def duration_seconds(rows: ir.Table) -> ir.NumericValue:
    """The plain build duration for any non-pure wheel, whatever its platform."""
    return ibis.ifelse(_is_pure(rows), 0.0, _usable_duration(rows))


METHODS: dict[str, TimeSavedMethod] = {
    method.name: method
    for method in (
        TimeSavedMethod(
            "piwheels", 1,
            "Build duration minus 6.7 s, x1 on armv7l, x6 on armv6l, 0 for other "
            "platforms and pure wheels; builds over a week count 0.",
            piwheels_seconds,
        ),
        TimeSavedMethod(
            "duration", 1,
            "The plain build duration of every non-pure wheel downloaded; builds "
            "over a week count 0.",
            duration_seconds,
        ),
    )
}
DEFAULT_METHOD = "piwheels"


def get_method(name: str = DEFAULT_METHOD) -> TimeSavedMethod:
    try:
        return METHODS[name]
    except KeyError:
        raise UnknownTimeSavedMethod(name) from None


def watts(rows: ir.Table) -> ir.NumericValue:
    """The power a Pi draws while building, by the wheel's platform (0 if not a Pi)."""
    return ibis.cases(
        *((rows.platform_tag == tag, SUPPLY_VOLTS * amps) for tag, amps in PLATFORM_AMPS.items()),
        else_=0.0,
    )


def joules_to_kwh(joules: float) -> float:
    return joules / 3_600_000.0
