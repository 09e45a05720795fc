"""Numbers and durations as words for the report's prose."""

from __future__ import annotations

import math

from wheelstats.timesaved import SECONDS_PER_YEAR

UNITS = (
    ("year", SECONDS_PER_YEAR),
    ("month", SECONDS_PER_YEAR / 12),
    ("day", 24 * 3600.0),
    ("hour", 3600.0),
    ("minute", 60.0),
    ("second", 1.0),
)
# "nearly 12 months" reads better as "nearly 1 year".
CARRIES = {"month": (12, "year"), "hour": (24, "day"), "minute": (60, "hour"), "second": (60, "minute")}
ROUND_YEARS_FROM = 100  # from here on, whole years only: "232 years"
NEARLY_FROM = 0.4  # 59.4 years and up read "nearly 60 years"; 59.1 "over 59 years"


def _plural(count: int, unit: str) -> str:
    return f"{count:,} {unit}" if count == 1 else f"{count:,} {unit}s"


def duration_parts(seconds: float) -> tuple[str, str]:
    """A duration as (qualifier, amount): ("nearly", "60 years"), ("", "232 years")."""
    if seconds < 1:
        return "", "no time"
    for unit, size in UNITS:
        value = seconds / size
        if value >= 1:
            break
    whole = math.floor(value)
    fraction = value - whole
    if unit == "year" and value >= ROUND_YEARS_FROM:
        return "", _plural(whole, unit)
    if fraction >= NEARLY_FROM:
        limit, larger = CARRIES.get(unit, (0, unit))
        if whole + 1 == limit:
            return "nearly", _plural(1, larger)
        return "nearly", _plural(whole + 1, unit)
    if fraction >= 0.1:
        return "over", _plural(whole, unit)
    return "", _plural(whole, unit)


def duration_words(seconds: float) -> str:
    """A duration in words: "nearly 60 years", "232 years", "over 1 year", "3 days"."""
    qualifier, amount = duration_parts(seconds)
    return f"{qualifier} {amount}" if qualifier else amount


def years(seconds: float) -> float:
    return seconds / SECONDS_PER_YEAR


def count(value: int) -> str:
    """An exact count with thousands separators: 3,317,443."""
    return f"{value:,}"


def approx_count(value: float) -> str:
    """A rounded count: "1.1 million", "40 thousand", "950".

    The value is rounded first and the unit chosen after, so 999,999 reads
    "1 million", not "1,000 thousand".
    """
    if round(value) < 10_000:
        return f"{round(value):,}"
    thousands = round(value / 1000)
    if thousands < 1000:
        return f"{thousands:,} thousand"
    return f"{value / 1_000_000:,.1f}".removesuffix(".0") + " million"


def percent(share: float) -> str:
    """A share as a percentage, one decimal: 94.9%."""
    return f"{share * 100:.1f}%"


def join_words(items: list[str]) -> str:
    """"a", "a and b", "a, b and c"."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]
