"""Build durations solved so that the time saved by the planned downloads hits a target.

Time saved follows DESIGN.md's piwheels method: per download of a wheel, the build's
duration minus 6.7 s (never below 0), times 1 for linux_armv7l and 6 for linux_armv6l,
0 for other platforms and for abi ``none``; builds over a week count 0. Durations
are whole deciseconds, so the generator's sums are exact integers.
"""

from __future__ import annotations

import numpy as np

from wheelstats.simulate.catalogue import Catalogue

THRESHOLD_DS = 67  # 6.7 s
WEEK_DS = 7 * 86400 * 10
CLOCK_ERROR_DS = 8 * 86400 * 10 + 37_215  # a build "longer than a week": counts 0


class DurationsUnsolvable(ValueError):
    """The targets cannot be met by scaling the builds' durations."""


def platform_multiplier(catalogue: Catalogue) -> np.ndarray:
    """Per file: 6 for linux_armv6l, 1 for linux_armv7l, 0 for anything else or abi none."""
    result = np.zeros(len(catalogue.file_name), dtype=np.int64)
    for f, (_, abi, platform) in enumerate(catalogue.file_tags):
        if abi != "none":
            result[f] = {"linux_armv6l": 6, "linux_armv7l": 1}.get(platform, 0)
    return result


def build_weights(catalogue: Catalogue, file_counts: np.ndarray) -> np.ndarray:
    """[builds, columns] weighted downloads per build for per-file counts [files, columns]."""
    weighted = file_counts * platform_multiplier(catalogue)[:, None]
    result = np.zeros((len(catalogue.build_abi), file_counts.shape[1]), dtype=np.int64)
    np.add.at(result, catalogue.file_build, weighted)
    return result


def saved_deciseconds(durations_ds: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Time saved per column, in deciseconds, for build durations and build weights."""
    per_build = np.where(durations_ds > WEEK_DS, 0, np.maximum(durations_ds - THRESHOLD_DS, 0))
    return (weights * per_build[:, None]).sum(axis=0)


def solve_durations(catalogue: Catalogue, weights_period: np.ndarray, weights_before: np.ndarray,
                    target_period_ds: float, target_before_ds: float, clock_error_builds: np.ndarray,
                    period_start_day: int) -> np.ndarray:
    """Durations (ds) so that period and pre-period time saved land on their targets.

    Each tunable build's (compiled, over a minute) excess over 6.7 s is scaled by
    ``a + c * age``, ``age`` rising from 0 for the first builds to 1 at the period's
    start (later builds were of bigger projects); ``a`` and ``c`` solve the two targets.
    """
    durations = catalogue.build_base_ds.copy()
    durations[clock_error_builds] = CLOCK_ERROR_DS
    tunable = catalogue.build_tunable.copy()
    tunable[clock_error_builds] = False
    excess = np.where(tunable, durations - THRESHOLD_DS, 0).astype(np.float64)
    fixed = np.where(tunable, 0, durations)
    fixed_period = saved_deciseconds(fixed, weights_period[:, None])[0]
    fixed_before = saved_deciseconds(fixed, weights_before[:, None])[0]
    first = int(catalogue.build_day.min())
    age = np.clip((catalogue.build_day - first) / max(period_start_day - first, 1), 0.0, 1.0)
    matrix = np.array([[float((weights_period * excess).sum()), float((weights_period * excess * age).sum())],
                       [float((weights_before * excess).sum()), float((weights_before * excess * age).sum())]])
    rhs = np.array([target_period_ds - fixed_period, target_before_ds - fixed_before])
    try:
        a, c = np.linalg.solve(matrix, rhs)
    except np.linalg.LinAlgError:
        a, c = -1.0, 0.0
    if a <= 0 or a + c <= 0:
        # Too few downloads to tell old builds from new (a tiny scale): one factor for all.
        total = matrix[:, 0].sum()
        if total <= 0:
            raise DurationsUnsolvable("No downloads of compiled wheels to carry the time saved.")
        a, c = rhs.sum() / total, 0.0
    factor = a + c * age
    durations[tunable] = THRESHOLD_DS + np.round(excess[tunable] * factor[tunable]).astype(np.int64)
    return durations


def interval_text(deciseconds: int) -> str:
    """PostgreSQL's text form of an interval: ``00:01:23.5``, ``2 days 03:04:05``."""
    seconds, tenths = divmod(int(deciseconds), 10)
    days, seconds = divmod(seconds, 86400)
    clock = f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" + (f".{tenths}" if tenths else "")
    if days:
        return f"{days} day{'s' if days != 1 else ''} {clock}"
    return clock
