"""Query parameters of the dashboard and the API, parsed once, with 400s that say what to send.

Periods: `period=all` (the default: the whole store), `period=last-30-days` (by
the clock: today and the 29 days before, UTC), any period the report takes
(2020-Q1, 2020-03, 2020, 2020-01-01..2020-03-31), or `start=` and `end=` dates.
Toggles: exclude_ci, exclude_bots, unique; `country=GB` keeps one country's downloads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from starlette.datastructures import QueryParams

from wheelstats.period import FIRST_YEAR, LAST_YEAR, InvalidPeriod, Period, parse_period
from wheelstats.rollups.filters import Filters
from wheelstats.rollups.queries import GRANULARITIES, DataSpan
from wheelstats.facets import DIMENSIONS
from wheelstats.spikes import DEFAULT_GAP
from wheelstats.timesaved import DEFAULT_METHOD, METHODS

ALL_TIME = "all"
LAST_30_DAYS = "last-30-days"
TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off", ""}
FORMATS = ("json", "csv")
MAX_TOP = 1000


class BadParameter(ValueError):
    """A query parameter the API cannot use; answered with 400 and this message."""

    status = 400

    def __init__(self, name: str, value: str, expected: str) -> None:
        super().__init__(f"Invalid {name}: {value!r}. {expected}")
        self.name = name


class NotFound(LookupError):
    status = 404


@dataclass(frozen=True, slots=True)
class Selection:
    """What a page or an answer covers: the period (None until resolved against the
    store for `all`), its name as the user gave it, and the toggles."""

    period_text: str
    period: Period | None
    filters: Filters

    def query(self) -> dict[str, str]:
        """The query parameters that reproduce this selection."""
        params = {"period": self.period_text}
        if self.filters.exclude_ci:
            params["exclude_ci"] = "true"
        if self.filters.exclude_bots:
            params["exclude_bots"] = "true"
        if self.filters.unique:
            params["unique"] = "true"
        if self.filters.country is not None:
            params["country"] = self.filters.country
        return params


def flag(params: QueryParams, name: str) -> bool:
    value = params.get(name, "").strip().lower()
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise BadParameter(name, params[name], "Use true or false.")


def _date(params: QueryParams, name: str) -> date:
    try:
        day = date.fromisoformat(params[name])
    except ValueError:
        raise BadParameter(name, params[name], "Use a date as YYYY-MM-DD.") from None
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise BadParameter(name, params[name], f"Use a date in the years {FIRST_YEAR} to {LAST_YEAR}.")
    return day


@dataclass(frozen=True, slots=True)
class NamedPeriod:
    name: str  # as the user gave it (all, last-30-days, 2020-Q1...), or start..end
    period: Period


def period_from(params: QueryParams, today: date, span: DataSpan | None) -> NamedPeriod:
    """The period the parameters ask for, resolved: `all` covers the store's span
    (or just today when the store is empty)."""
    if "start" in params or "end" in params:
        if "start" not in params or "end" not in params:
            missing = "end" if "start" in params else "start"
            raise BadParameter(missing, "", "Give both start and end (YYYY-MM-DD), or a period.")
        start, end = _date(params, "start"), _date(params, "end")
        if end < start:
            raise BadParameter("end", params["end"], f"The end is before the start ({start}).")
        return NamedPeriod(f"{start}..{end}", Period(start, end))
    text = params.get("period", ALL_TIME).strip() or ALL_TIME
    if text == ALL_TIME:
        first, last = (span.first, span.last) if span else (today, today)
        return NamedPeriod(ALL_TIME, Period(first, max(last, first)))
    if text == LAST_30_DAYS:
        return NamedPeriod(LAST_30_DAYS, Period(today - timedelta(days=29), today))
    try:
        return NamedPeriod(text, parse_period(text))
    except InvalidPeriod as error:
        raise BadParameter("period", text, f"Use all, {LAST_30_DAYS}, a quarter (2020-Q1), a month (2020-03), "
                           "a year (2020) or a range (2020-01-01..2020-03-31).") from error


def country(params: QueryParams) -> str | None:
    """`country=GB`: only the downloads from one country (any case); absent or empty: all."""
    text = params.get("country", "").strip()
    if not text:
        return None
    if len(text) != 2 or not text.isascii() or not text.isalpha():
        raise BadParameter("country", text, "Use a two-letter ISO 3166 country code such as GB "
                           "(XL: local addresses, ZZ: addresses no registry places).")
    return text.upper()


def filters_from(params: QueryParams) -> Filters:
    return Filters(flag(params, "exclude_ci"), flag(params, "exclude_bots"), flag(params, "unique"), country(params))


def selection_from(params: QueryParams, today: date, span: DataSpan | None) -> Selection:
    named = period_from(params, today, span)
    return Selection(named.name, named.period, filters_from(params))


def choice(params: QueryParams, name: str, choices, default: str) -> str:
    value = params.get(name, default)
    if value not in choices:
        raise BadParameter(name, value, f"Choose one of: {', '.join(choices)}.")
    return value


def granularity(params: QueryParams, period: Period) -> str:
    default = "day" if period.days <= 92 else "month"
    return choice(params, "granularity", tuple(GRANULARITIES), default)


COUNTRY_DIMENSION = "country"  # /api/shares/country: downloads by country (rollups, not an agent column)


def dimension(value: str) -> str:
    if value not in DIMENSIONS and value != COUNTRY_DIMENSION:
        raise BadParameter("dimension", value, f"Choose one of: {', '.join((*DIMENSIONS, COUNTRY_DIMENSION))}.")
    return value


def method(params: QueryParams, default: str = DEFAULT_METHOD) -> str:
    """The time-saved method asked for; `default` is the store's (chosen by its builds)."""
    return choice(params, "method", tuple(METHODS), default)


def output_format(params: QueryParams) -> str:
    return choice(params, "format", FORMATS, "json")


def limit(params: QueryParams, default: int = 10) -> int:
    text = params.get("limit", str(default))
    if not text.isdigit() or not 1 <= int(text) <= MAX_TOP:
        raise BadParameter("limit", text, f"Use a whole number from 1 to {MAX_TOP}.")
    return int(text)


MAX_GAP_MINUTES = 24 * 60


def session_gap(params: QueryParams) -> timedelta:
    """The longest pause inside one client's session (spikes' causes): gap= minutes, 10 by default."""
    text = params.get("gap", str(int(DEFAULT_GAP.total_seconds() // 60)))
    if not text.isdigit() or not 1 <= int(text) <= MAX_GAP_MINUTES:
        raise BadParameter("gap", text, f"Use whole minutes from 1 to {MAX_GAP_MINUTES}.")
    return timedelta(minutes=int(text))


def floor(params: QueryParams, default: int) -> int:
    """The fewest downloads in the previous period a project needs to be ranked as rising."""
    text = params.get("floor", str(default))
    if not text.isdigit():
        raise BadParameter("floor", text, "Use a whole number of downloads, e.g. 100.")
    return int(text)
