"""Time saved per download, as Ibis expressions written from the methods' data (wheelstats.timesaved).

This is the rendering the report's queries use, on any Ibis backend. The live
figures use the SQL rendering (wheelstats.rollups.saved) of the same data;
tests/test_timesaved.py checks that they agree.
"""

from __future__ import annotations

from collections.abc import Mapping

import ibis
import ibis.expr.types as ir

from wheelstats.timesaved import TimeSavedMethod


def _by_platform(values: Mapping[str, float], otherwise: float, platform: ir.StringValue) -> ir.NumericValue:
    if not values:
        return ibis.literal(float(otherwise))
    return ibis.cases(*((platform == tag, float(value)) for tag, value in values.items()), else_=float(otherwise))


def saved_seconds(method: TimeSavedMethod, rows: ir.Table) -> ir.NumericValue:
    """The seconds one download saved, over rows with duration_s, platform_tag and abi_tag."""
    duration = rows.duration_s
    usable = ibis.ifelse(duration.isnull() | (duration < 0) | (duration > float(method.cap_s)), 0.0, duration)
    saved = ibis.greatest(usable - float(method.overhead_s), 0.0)
    is_pure = rows.abi_tag.isnull() | (rows.abi_tag == "none")
    factor = ibis.ifelse(
        is_pure, float(method.pure_factor),
        _by_platform(method.platform_factors, method.other_platforms_factor, rows.platform_tag),
    )
    return saved * factor


def watts(method: TimeSavedMethod, rows: ir.Table) -> ir.NumericValue:
    """The power drawn while building on the rows' platform (0 where the method knows none)."""
    return _by_platform(method.watts_by_platform, 0.0, rows.platform_tag)
