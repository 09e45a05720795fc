"""The shape of traffic: downloads per day, before and during the period, and the spike.

Totals are decided first (the seed's figures times the scale) and then spread over
days with integer largest-remainder allocation, so every sum is exact by construction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

EPOCH = date(1970, 1, 1)
# Hour-of-day weights (UTC): Europe and America awake.
_HOURS = np.array([3.0, 2.5, 2.2, 2.0, 2.0, 2.2, 2.8, 3.5, 4.2, 4.8, 5.2, 5.4,
                   5.5, 5.6, 5.7, 5.8, 5.8, 5.7, 5.6, 5.4, 5.0, 4.5, 4.0, 3.5])
_HOUR_CDF = np.cumsum(_HOURS) / _HOURS.sum()


def day_number(day: date) -> int:
    return (day - EPOCH).days


def day_date(number: int) -> date:
    return EPOCH + timedelta(days=int(number))


def allocate(total: int, weights: np.ndarray) -> np.ndarray:
    """Integers proportional to ``weights`` summing exactly to ``total`` (largest remainder)."""
    weights = np.asarray(weights, dtype=np.float64)
    if total == 0 or weights.sum() <= 0:
        return np.zeros(len(weights), dtype=np.int64)
    exact = weights * (total / weights.sum())
    result = np.floor(exact).astype(np.int64)
    short = total - int(result.sum())
    if short:
        order = np.lexsort((np.arange(len(exact)), -(exact - result)))
        result[order[:short]] += 1
    return result


def scaled(count: int, scale: float) -> int:
    return int(round(count * scale))


@dataclass(frozen=True, slots=True)
class Spike:
    """One application's upgrade: a burst that decays, and a lasting uplift."""

    start: date
    peak: date
    decay_days: float
    uplift_days: int
    uplift_share: float  # of the spike projects' downloads in the month that are the lasting uplift


def seconds_of_day(count: int, rng: np.random.Generator) -> np.ndarray:
    """Seconds into a day (UTC) of `count` hits, by the hours' rhythm."""
    hour = np.searchsorted(_HOUR_CDF, rng.random(count), side="right")
    return np.minimum(hour, 23) * 3600 + rng.integers(0, 3600, size=count)


def weekly(days: np.ndarray) -> np.ndarray:
    """Weekends are busier at a Raspberry Pi index (hobby projects)."""
    weekday = (days + 3) % 7  # 1970-01-01 was a Thursday; 0 = Monday
    return np.where(weekday >= 5, 1.07, 1.0)


def base_shape(days: np.ndarray) -> np.ndarray:
    """Everyday demand: steady growth since the index opened, with a weekly rhythm."""
    start = day_number(date(2017, 9, 1))
    growth = 2600.0 + 31.5 * (days - start) + 0.004 * (days - start) ** 2
    return growth * weekly(days)


def spike_shape(days: np.ndarray, spike: Spike) -> np.ndarray:
    """The spike projects' daily profile in the spike month: burst plus lasting uplift."""
    start, peak = day_number(spike.start), day_number(spike.peak)
    burst = np.where(days < start, 0.0, np.where(days < peak, 0.55, np.exp(-(days - peak) / spike.decay_days)))
    ramp = np.clip((days - start + 1) / spike.uplift_days, 0.0, 1.0)
    burst_total, ramp_total = burst.sum(), ramp.sum()
    return (1 - spike.uplift_share) * burst / burst_total + spike.uplift_share * ramp / ramp_total


def history_day_totals(first: date, last: date, total: int) -> np.ndarray:
    days = np.arange(day_number(first), day_number(last) + 1)
    return allocate(total, base_shape(days))


def month_slices(days: np.ndarray) -> list[tuple[str, slice]]:
    """(YYYY-MM, slice of ``days``) for each month ``days`` (consecutive) cover."""
    labels = [day_date(d).strftime("%Y-%m") for d in days]
    result, begin = [], 0
    for i in range(1, len(labels) + 1):
        if i == len(labels) or labels[i] != labels[begin]:
            result.append((labels[begin], slice(begin, i)))
            begin = i
    return result
