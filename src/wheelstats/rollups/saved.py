"""Time saved per download of each file, as SQL written from the methods' data (wheelstats.timesaved).

This is the rendering the live figures use: plain SQL, so refreshing the rollups
never loads Ibis. The report's rendering (wheelstats.stats.savings) is written
from the same data; tests/test_timesaved.py checks that they agree.

A method's saving for a group of downloads is (a function of the file) x
downloads, so it is computed once per file and joined to the counted rows.
"""

from __future__ import annotations

from collections.abc import Mapping

from wheelstats.timesaved import TimeSavedMethod, get_method


def _number(value: float) -> str:
    return f"{float(value)!r}::DOUBLE"


def _text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _by_platform(values: Mapping[str, float], otherwise: float, platform: str) -> str:
    if not values:
        return _number(otherwise)
    cases = " ".join(f"WHEN {_text(tag)} THEN {_number(value)}" for tag, value in values.items())
    return f"(CASE {platform} {cases} ELSE {_number(otherwise)} END)"


def seconds_sql(method: TimeSavedMethod, duration: str, platform: str, abi: str) -> str:
    """SQL for the seconds one download saved, over the given column expressions."""
    usable = f"(CASE WHEN {duration} IS NULL OR {duration} < 0 OR {duration} > {_number(method.cap_s)} THEN 0.0 ELSE {duration} END)"
    saved = f"greatest({usable} - {_number(method.overhead_s)}, 0.0)"
    factor = (f"(CASE WHEN {abi} IS NULL OR {abi} = 'none' THEN {_number(method.pure_factor)} "
              f"ELSE {_by_platform(method.platform_factors, method.other_platforms_factor, platform)} END)")
    return f"({saved} * {factor})"


def watts_sql(method: TimeSavedMethod, platform: str) -> str:
    """SQL for the power drawn while building on the platform (0 where the method knows none)."""
    return _by_platform(method.watts_by_platform, 0.0, platform)


def per_download_sql(method: str, file_filter: str = "") -> str:
    """The CTE `per_download` (filename, saved, joules): one download's saving for every
    file that saves anything (`file_filter` is a WHERE over files f)."""
    chosen = get_method(method)
    saved = seconds_sql(chosen, "b.duration_s", "f.platform_tag", "f.abi_tag")
    return f"""per_download AS (
            SELECT filename, saved, saved * {watts_sql(chosen, 'platform_tag')} AS joules FROM (
                SELECT f.filename, f.platform_tag, {saved} AS saved
                FROM files f LEFT JOIN builds b ON b.build_id = f.build_id {file_filter}
            ) WHERE saved > 0
        )"""
