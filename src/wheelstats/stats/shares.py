"""Who downloads: shares by OS, distro, architecture, Python and installer; and where from, by country."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import ibis
import ibis.expr.types as ir
from ibis import _

from wheelstats.facets import DIMENSIONS, LOCAL_COUNTRY, UNKNOWN, UNPLACED_COUNTRY, country_name, version_sort_key
from wheelstats.period import Period
from wheelstats.stats.tables import Tables, download_rows
from wheelstats.stats.totals import month_key, month_number



class UnknownDimension(ValueError):
    def __init__(self, name: str) -> None:
        super().__init__(
            f"Unknown share dimension: {name!r}. Choose one of: {', '.join(DIMENSIONS)}."
        )


@dataclass(frozen=True, slots=True)
class Share:
    name: str
    downloads: int
    share: float | None  # of the downloads whose agent states a value; None for "unknown"


__all__ = ["CountryShare", "LOCAL_COUNTRY", "UNPLACED_COUNTRY", "Share", "PythonMonthShare", "all_shares",
           "country_shares", "python_by_month", "shares"]


@dataclass(frozen=True, slots=True)
class CountryShare:
    country: str | None  # ISO 3166-1 alpha-2, XL (local), ZZ (unplaced); None: never looked up
    name: str
    downloads: int
    share: float | None  # of the downloads whose country was looked up; None for those never looked up

    @property
    def is_country(self) -> bool:
        """A country, not local addresses, unplaced ones or downloads never looked up."""
        return self.country is not None and self.country not in (LOCAL_COUNTRY, UNPLACED_COUNTRY)


@dataclass(frozen=True, slots=True)
class PythonMonthShare:
    month: str
    python: str
    downloads: int
    share: float | None  # of the month's downloads whose agent states a version



def _share(value: str, downloads: int, known_total: int) -> float | None:
    """Shares are of the downloads whose agent states the value; "unknown" has none."""
    if value == UNKNOWN or not known_total:
        return None
    return downloads / known_total


def _counts_by_agent_value(rows: ir.Table, tables: Tables, column: str, **keys: ir.Value) -> ir.Table:
    """Downloads per agent `column` value (and per `keys`), unknown agents as "unknown".

    Counting per agent_id before joining the (small) agents table keeps the join
    small: the big side is grouped on an integer first.
    """
    per_agent = rows.group_by(agent_id=rows.agent_id, **keys).agg(downloads=_.count())
    agents = tables.agents.select(agent_key=_.agent_id, value=tables.agents[column])
    joined = per_agent.left_join(agents, per_agent.agent_id == agents.agent_key)
    labelled = joined.select(*keys, "downloads", value=joined.value.fill_null(UNKNOWN))
    return labelled.group_by(*keys, "value").agg(downloads=_.downloads.sum())


def all_shares(tables: Tables, period: Period) -> dict[str, list[Share]]:
    """`shares` for every dimension at once: one scan of the period's downloads.

    The downloads are counted per agent once; each dimension then regroups
    that small result, and the five groupings come back as one union.
    """
    rows = download_rows(tables, period.start_ts, period.end_ts)
    per_agent = rows.group_by("agent_id").agg(downloads=_.count())
    agents = tables.agents.select(agent_key=_.agent_id, *DIMENSIONS.values())
    joined = per_agent.left_join(agents, per_agent.agent_id == agents.agent_key)
    parts = [
        joined.group_by(
            dimension=ibis.literal(dimension), value=joined[column].fill_null(UNKNOWN)
        ).agg(downloads=_.downloads.sum())
        for dimension, column in DIMENSIONS.items()
    ]
    grouped = ibis.union(*parts).order_by(["dimension", _.downloads.desc(), "value"])
    by_dimension: dict[str, list[dict]] = {dimension: [] for dimension in DIMENSIONS}
    for row in grouped.to_pyarrow().to_pylist():
        by_dimension[row["dimension"]].append(row)
    result = {}
    for dimension, dimension_rows in by_dimension.items():
        known = sum(row["downloads"] for row in dimension_rows if row["value"] != UNKNOWN)
        result[dimension] = [
            Share(row["value"], row["downloads"], _share(row["value"], row["downloads"], known))
            for row in dimension_rows
        ]
    return result


def shares(tables: Tables, period: Period, dimension: str) -> list[Share]:
    """Downloads in the period by one agent dimension, most first, with their share."""
    if dimension not in DIMENSIONS:
        raise UnknownDimension(dimension)
    rows = download_rows(tables, period.start_ts, period.end_ts)
    grouped = (
        _counts_by_agent_value(rows, tables, DIMENSIONS[dimension])
        .order_by([_.downloads.desc(), _.value])
    ).to_pyarrow().to_pylist()
    known = sum(row["downloads"] for row in grouped if row["value"] != UNKNOWN)
    return [
        Share(row["value"], row["downloads"], _share(row["value"], row["downloads"], known))
        for row in grouped
    ]


def country_shares(tables: Tables, period: Period) -> list[CountryShare]:
    """Downloads in the period by the country of their client's address, most first."""
    rows = download_rows(tables, period.start_ts, period.end_ts)
    grouped = rows.group_by("country").agg(downloads=_.count()).order_by(
        [_.downloads.desc(), _.country]).to_pyarrow().to_pylist()
    looked_up = sum(row["downloads"] for row in grouped if row["country"] is not None)
    return [
        CountryShare(row["country"], country_name(row["country"]), row["downloads"],
                     row["downloads"] / looked_up if row["country"] is not None and looked_up else None)
        for row in grouped
    ]


def python_by_month(
    tables: Tables, period: Period, *, months_before: int = 12
) -> list[PythonMonthShare]:
    """Each month's downloads by Python major.minor, from `months_before` months
    before the period start to its end, ordered by month then version."""
    year, month = period.start.year, period.start.month - months_before
    while month < 1:
        year, month = year - 1, month + 12
    since = datetime(year, month, 1)
    rows = download_rows(tables, since, period.end_ts)
    grouped = (
        _counts_by_agent_value(rows, tables, DIMENSIONS["python"], month=month_number(rows.ts))
        .rename(python="value")
    ).to_pyarrow().to_pylist()
    known: dict[str, int] = {}
    for row in grouped:
        if row["python"] != UNKNOWN:
            key = month_key(row["month"])
            known[key] = known.get(key, 0) + row["downloads"]
    result = [
        PythonMonthShare(
            month_key(row["month"]), row["python"], row["downloads"],
            _share(row["python"], row["downloads"], known.get(month_key(row["month"]), 0)),
        )
        for row in grouped
    ]
    return sorted(result, key=lambda r: (r.month, version_sort_key(r.python)))
