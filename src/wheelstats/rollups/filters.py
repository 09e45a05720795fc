"""Which downloads a dashboard figure counts, and how: the toggles as SQL over the rollups.

- exclude_ci: leave out downloads whose agent says it runs in CI (agents.ci).
- exclude_bots: leave out crawlers (agents.is_bot) and mirroring tools (bandersnatch...).
- unique: count distinct clients (hits.client, as stored: keyed hashes by default)
  instead of downloads. A store ingested with `--ip none` has no clients: 0.
- country: only the downloads from one country (its stored code, parsing/countries:
  ISO 3166-1 alpha-2, XL for local addresses, ZZ for unplaced ones).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta

from wheelstats.period import Period, month_of
from wheelstats.rollups.refresh import READ_FROM_HITS_BY_COUNTRY, country_rows_sql
from wheelstats.store.schema import COUNTRY_TWINS


@dataclass(frozen=True, slots=True)
class Filters:
    exclude_ci: bool = False
    exclude_bots: bool = False
    unique: bool = False
    country: str | None = None

    def counting_downloads(self) -> Filters:
        """The same downloads, counted as downloads (for figures that never count clients)."""
        return replace(self, unique=False)

    def describe(self) -> str:
        parts = []
        if self.country is not None:
            parts.append(f"from {self.country}")
        if self.exclude_ci:
            parts.append("without CI")
        if self.exclude_bots:
            parts.append("without mirrors and crawlers")
        if self.unique:
            parts.append("unique clients")
        return ", ".join(parts) or "all downloads"


@dataclass(frozen=True, slots=True)
class Where:
    """A SQL condition and its parameters, to AND together."""

    sql: str
    params: tuple = ()


def conditions(
    filters: Filters,
    period: Period | None = None,
    *,
    project: str | None = None,
    projects: tuple[str, ...] | None = None,
    since: date | None = None,
    time_column: str = "day",
) -> Where:
    """The WHERE clause for a rollup table (columns day, ci, bot, country, and project if asked)."""
    parts: list[str] = []
    params: list = []
    if period is not None:
        parts.append(f"{time_column} >= ? AND {time_column} <= ?")
        params += [period.start, period.end]
    if since is not None:
        parts.append(f"{time_column} >= ?")
        params.append(since)
    if filters.exclude_ci:
        parts.append("NOT ci")
    if filters.exclude_bots:
        parts.append("NOT bot")
    if filters.country is not None:
        parts.append("country = ?")
        params.append(filters.country)
    if project is not None:
        parts.append("project = ?")
        params.append(project)
    if projects is not None:
        parts.append("project IN (" + ", ".join("?" for _ in projects) + ")")
        params += list(projects)
    return Where(" AND ".join(parts) or "true", tuple(params))


def measure(filters: Filters) -> str:
    """The aggregate a figure counts with."""
    return "count(DISTINCT client)" if filters.unique else "sum(downloads)"


def table_of(filters: Filters, table: str, by_country: bool = False) -> str:
    """What to read for `table`'s figures (FROM ...): `table` itself, unless a country is asked for, or the
    figure is split `by_country`, and `table` keeps none. Then its twin keyed by country
    (store.schema.COUNTRY_TWINS), or for the daily project and file rollups, which have no twin, the
    downloads among the hits as that table's rows with their country (rollups.refresh.country_rows_sql)."""
    if filters.country is None and not by_country:
        return table
    if table in COUNTRY_TWINS:
        return COUNTRY_TWINS[table]
    if table in READ_FROM_HITS_BY_COUNTRY:
        return f"({country_rows_sql(table)})"
    return table


def source(filters: Filters, counted_table: str, by_country: bool = False) -> str:
    """The rollup a figure reads: the distinct-client rollup when counting clients (it keeps the country),
    else table_of."""
    return "rollup_clients" if filters.unique else table_of(filters, counted_table, by_country)


def _month_start(day: date) -> date:
    return day.replace(day=1)


@dataclass(frozen=True, slots=True)
class MonthSplit:
    """A period as its whole months (read from the monthly rollups) and the days at
    either end that are not whole months (read from the daily ones)."""

    first_month: date | None  # the first day of the first whole month; None when none is whole
    last_month: date | None  # the first day of the last whole month
    edges: tuple[Period, ...]  # the days before the first whole month and after the last


def split_months(period: Period) -> MonthSplit:
    first_whole = period.start if period.start.day == 1 else month_of(period.start).end + timedelta(days=1)
    after_last_whole = _month_start(period.end + timedelta(days=1))  # the month after the last whole one
    if first_whole >= after_last_whole:
        return MonthSplit(None, None, (period,))
    edges = []
    if period.start < first_whole:
        edges.append(Period(period.start, first_whole - timedelta(days=1)))
    if after_last_whole <= period.end:
        edges.append(Period(after_last_whole, period.end))
    return MonthSplit(first_whole, _month_start(after_last_whole - timedelta(days=1)), tuple(edges))


def spanning(
    filters: Filters, period: Period | None, monthly: str, daily: str, columns: str,
    where: str = "true", params: tuple = (), by_country: bool = False,
) -> tuple[str, tuple]:
    """A subquery of `columns` (a template over {time}: the table's time column) and
    downloads, reading `monthly` for the period's whole months and `daily` for the rest
    (each as table_of says; `by_country` when `columns` name the country)."""
    toggles = conditions(filters.counting_downloads())
    monthly, daily = table_of(filters, monthly, by_country), table_of(filters, daily, by_country)
    if period is None:
        parts = [f"SELECT {columns.format(time='month')}, downloads FROM {monthly} WHERE {toggles.sql} AND {where}"]
        return "(" + parts[0] + ")", (*toggles.params, *params)
    split = split_months(period)
    parts, all_params = [], []
    if split.first_month is not None:
        parts.append(f"SELECT {columns.format(time='month')}, downloads FROM {monthly} "
                     f"WHERE month >= ? AND month <= ? AND {toggles.sql} AND {where}")
        all_params += [split.first_month, split.last_month, *toggles.params, *params]
    if split.edges:
        ranges = " OR ".join("(day >= ? AND day <= ?)" for _ in split.edges)
        parts.append(f"SELECT {columns.format(time='day')}, downloads FROM {daily} "
                     f"WHERE ({ranges}) AND {toggles.sql} AND {where}")
        all_params += [day for edge in split.edges for day in (edge.start, edge.end)] + [*toggles.params, *params]
    return "(" + " UNION ALL ".join(parts) + ")", tuple(all_params)
