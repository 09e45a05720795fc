"""Trends, as ClickPy shows them: the rule shared by the report's queries (wheelstats.stats.trends)
and the dashboard's rollups (wheelstats.rollups.trends).

- rising: the projects whose downloads grew most over the previous period of the
  same length, among those with at least RISING_FLOOR downloads in it (so that 3
  downloads after 1 is not a 200% rise);
- new: the projects first downloaded in the last NEW_DAYS days up to a day, most
  downloaded first.
"""

from __future__ import annotations

from datetime import date, timedelta

from wheelstats.period import Period

RISING_FLOOR = 100  # downloads in the previous period a project needs to be ranked by growth
NEW_DAYS = 90  # "new": first downloaded in the last 90 days
KEPT = 10  # how many of each are listed


def previous_period(period: Period) -> Period:
    """The period of as many days just before `period` (from the first day a date can hold, if later)."""
    days_back = min(period.days, (period.start - date.min).days)
    return Period(period.start - timedelta(days=days_back), period.start - timedelta(days=1))
