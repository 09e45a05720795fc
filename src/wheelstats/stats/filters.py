"""Which downloads a dashboard figure counts, and how: the toggles as SQL over the rollups.

- exclude_ci: leave out downloads whose agent says it runs in CI (agents.ci).
- exclude_bots: leave out crawlers (agents.is_bot) and mirroring tools (bandersnatch...).
- unique: count distinct clients (hits.client, as stored: keyed hashes by default)
  instead of downloads. A store ingested with `--ip none` has no clients: 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from wheelstats.period import Period


@dataclass(frozen=True, slots=True)
class Filters:
    exclude_ci: bool = False
    exclude_bots: bool = False
    unique: bool = False

    def describe(self) -> str:
        parts = []
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
    """The WHERE clause for a rollup table (columns day, ci, bot, and project if asked)."""
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


def source(filters: Filters, counted_table: str) -> str:
    """The rollup a figure reads: the distinct-client rollup when counting clients."""
    return "rollup_clients" if filters.unique else counted_table
