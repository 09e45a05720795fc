"""What a spike left behind, and what it did to the Python versions' shares.

- After: the daily downloads of the weeks after the spike against the four
  weeks before it (a lasting uplift: the seed's "left regular daily downloads
  around 40k, which is 5-10k greater than usual"), and how many days the
  downloads took from the peak to settle at that level.
- Python: when the spike's packages are universal wheels (py2.py3, ABI none),
  every Python installs them, so the Pythons of the clients behind the spike
  move the shares: the version whose share moved most in the spike's days,
  against the four weeks before, is named when its share moved by 2 points
  or more and the spike's downloads came from it more than usual.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from ibis import _

from wheelstats.period import Period
from wheelstats.spikes import BASELINE_DAYS, MIN_BASELINE_DAYS, Spike
from wheelstats.stats.tables import Tables, download_rows

AFTER_DAYS = 14  # the weeks after a spike: two
SETTLED_WITHIN = 0.1  # a day within 10% above the weeks-after level has settled
UNIVERSAL_SHARE = 0.9  # a spike's packages are universal when this share of their downloads were universal wheels
SHIFT_WORTH_NOTING = 0.02  # a Python version's share moving 2 points or more


@dataclass(frozen=True, slots=True)
class After:
    """The weeks after a spike against the weeks before it."""

    before_daily: float  # mean downloads a day over the 28 days before the spike
    after_daily: float  # mean downloads a day over the days after it (up to 14, inside the period)
    days: int  # how many days after it were counted
    difference: float  # after_daily - before_daily
    settled_after: int | None  # days from the peak to the first within 10% of after_daily (None: not yet)


@dataclass(frozen=True, slots=True)
class PythonEffect:
    """A Python version whose share moved with a spike of universal wheels."""

    python: str
    share_before: float  # of the downloads stating a Python, in the 28 days before the spike
    share_during: float  # the same, in the spike's days
    share_in_spike: float  # of the spike's packages' downloads in its days that state a Python
    universal: float  # share of the spike's packages' downloads that were universal wheels


def _day(iso: str) -> date:
    return date.fromisoformat(iso)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time())


def _daily(tables: Tables, first: date, last: date) -> dict[date, int]:
    rows = download_rows(tables, _midnight(first), _midnight(last + timedelta(days=1)))
    grouped = rows.group_by(day=_.ts.date()).agg(downloads=_.count())
    return {row["day"]: int(row["downloads"]) for row in grouped.to_pyarrow().to_pylist()}


def after(tables: Tables, spike: Spike, period: Period) -> After | None:
    """The level of the weeks after `spike` against the weeks before; None without 7 days after it
    inside the period (or without 7 days of history before it)."""
    start, end, peak = _day(spike.start), _day(spike.end), _day(spike.peak_date)
    last = min(end + timedelta(days=AFTER_DAYS), period.end)
    daily = _daily(tables, start - timedelta(days=BASELINE_DAYS), last)
    before = [n for day, n in daily.items() if day < start]
    following = [daily.get(end + timedelta(days=i), 0) for i in range(1, (last - end).days + 1)]
    if len(following) < MIN_BASELINE_DAYS or len(before) < MIN_BASELINE_DAYS:
        return None
    before_daily = sum(before) / len(before)
    after_daily = sum(following) / len(following)
    settled = None
    for offset in range(1, (last - peak).days + 1):
        if daily.get(peak + timedelta(days=offset), 0) <= after_daily * (1 + SETTLED_WITHIN):
            settled = offset
            break
    return After(before_daily, after_daily, len(following), after_daily - before_daily, settled)


def python_effect(tables: Tables, spike: Spike) -> PythonEffect | None:
    """The Python version whose share moved with `spike`, when its packages are universal wheels (else None)."""
    packages = [p.project for p in spike.projects if p.rise > 0]
    if not packages:
        return None
    start, end = _midnight(_day(spike.start)), _midnight(_day(spike.end) + timedelta(days=1))
    rows = download_rows(tables, start - timedelta(days=BASELINE_DAYS), end).select("ts", "agent_id", "filename",
                                                                                   "project")
    agents = tables.agents.select(agent_key=_.agent_id, python=_.python_version)
    files = tables.files.select(file_key=_.filename, python_tag=_.python_tag, abi_tag=_.abi_tag)
    joined = rows.left_join(agents, rows.agent_id == agents.agent_key)
    joined = joined.left_join(files, joined.filename == files.file_key)
    universal = (joined.abi_tag == "none") & joined.python_tag.contains("py2") & joined.python_tag.contains("py3")
    marked = joined.select(
        "python", during=joined.ts >= start, in_spike=(joined.ts >= start) & joined.project.isin(packages),
        universal=universal.fill_null(False),
    )
    grouped = marked.group_by("python", "during", "in_spike").agg(
        downloads=_.count(), universal=_.count(where=_.universal)
    ).to_pyarrow().to_pylist()
    spike_downloads = sum(r["downloads"] for r in grouped if r["in_spike"])
    if not spike_downloads:
        return None
    universal_share = sum(r["universal"] for r in grouped if r["in_spike"]) / spike_downloads
    if universal_share < UNIVERSAL_SHARE:
        return None

    def shares(rows: list[dict]) -> dict[str, float]:
        known = {}
        for row in rows:
            if row["python"] is not None:
                known[row["python"]] = known.get(row["python"], 0) + row["downloads"]
        total = sum(known.values())
        return {python: count / total for python, count in known.items()} if total else {}

    before = shares([r for r in grouped if not r["during"]])
    during = shares([r for r in grouped if r["during"]])
    in_spike = shares([r for r in grouped if r["in_spike"]])
    if not before or not during:
        return None
    moved = max(sorted(during), key=lambda v: during[v] - before.get(v, 0.0))
    change = during[moved] - before.get(moved, 0.0)
    if change < SHIFT_WORTH_NOTING or in_spike.get(moved, 0.0) <= before.get(moved, 0.0):
        return None
    return PythonEffect(moved, before.get(moved, 0.0), during[moved], in_spike[moved], universal_share)
