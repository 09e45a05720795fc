"""Exact distinct clients from sets of client numbers kept per day and per month (rollup_client_sets).

Distinct clients do not add up: the clients of a quarter are not the sum of its days'.
Counting them from rollup_clients means hashing every client-day row of the period
(3.3 million for a quarter of an 18-million-download store: 50 to 400 ms a figure).
These sets make it a union: each is a roaring bitmap (pyroaring, the portable format)
of the client numbers (rollup_clients.client) seen in a day or a month, split by ci
and bot so that the toggles pick sets instead of filtering rows. Days keep the total
alone; months keep it and one set per value of each facet, of the country and of the
project, and so does all time up to the sets' last month (grain 'all', its start the
first month it does not hold). A figure over a period takes the months it covers whole
(as far as the store's days go) and the days of the rest, all time's sets standing in
for the months they hold when the period starts with the sets, and unions them: a few
to tens of bitmaps instead of millions of rows, and exact.

What the sets cannot answer, `count` leaves to rollup_clients (returns None): one
country's clients (a client's sets do not say its country), and a facet or a
project over days that are not whole months. (One project's page filters by it:
it reads rollup_clients.)

A refresh adds each new download's client to the sets of its day and month
(`add_new_clients`), and to all time's when they hold its month already (a late log): a
month's sets of each facet, and its total, are unions of its sets per facet number
(rollup_facets), the new downloads grouped once for them all. Sets only grow, as hits
are only appended (the rollups are rebuilt, sets with them, when hits were removed). It
counts the clients of each day it touched under each state of the toggles too
(rollup_client_day_counts): a series by day reads those counts instead of every day's
sets (all time: a thousand days, 30 MB of bitmaps on the benchmark's store). When the
days go on into a new month, the months before it are folded into all time's sets
(`fold_months`): once a month, not by every refresh, as all time's sets are as large as
the store's clients. Sets made before all time's are folded by the next refresh.
"""

from __future__ import annotations

import array
import weakref
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa
from pyroaring import BitMap

from wheelstats import arrays
from wheelstats.period import Period, month_of
from wheelstats.store.schema import FACETS

if TYPE_CHECKING:  # rollups.filters reads rollups.refresh, which builds the sets
    from wheelstats.rollups.filters import Filters

TABLE = "rollup_client_sets"
DAY_COUNTS = "rollup_client_day_counts"
TOTAL = "total"  # the dimension of all clients (value '')
# Which dimensions each grain keeps a set per value of: a facet column of rollup_clients, or the country.
MONTH_DIMENSIONS = (TOTAL, *FACETS, "country", "project")
GRAINS = {"day": (TOTAL,), "month": MONTH_DIMENSIONS}
_START = {"day": "day", "month": "date_trunc('month', day)::DATE"}
# New downloads whose sets a refresh makes at once (memory grows with it): a run of months, or a share of a month
# that alone has more (the 9.7 million downloads of one month, made at once, ran out of an ingest's memory).
CHUNK_ROWS = 4_000_000


def add_new_clients(con: duckdb.DuckDBPyConnection) -> None:
    """Add the clients of the new downloads (the temp table rollup_new) to the sets of their days and months:
    each set they touch is read, joined with theirs and written again; the others stay as they are. One run
    of months of at most about CHUNK_ROWS new downloads at a time, or a share of a month that has more, so that
    memory holds that many downloads' clients however many are new (a full build is every month). A month's
    shares are joined here, and its sets written once, after the last: each share written in turn left every
    earlier version of the month's sets in the refresh's transaction (19.4 million downloads of one month in
    five shares: 266 MiB more at the refresh's peak)."""
    kind = _client_rows(con)
    folded_until = _folded_until(con)
    shares_made: dict[str, dict[SetKey, BitMap]] = {grain: {} for grain in GRAINS}  # of a month, before its last
    for run in _runs(con):
        for grain in GRAINS:
            new = _joined(shares_made[grain], _new_sets(con, grain, run))
            if not run.completes_its_months:
                continue
            shares_made[grain] = {}
            days = sorted({key.start for key in new})
            # The clients of months all time's sets hold already (a late log) join those too.
            late = _as_all_time([(key, clients) for key, clients in new.items() if key.start < folded_until],
                                folded_until) if grain == "month" and folded_until else {}
            _merge(con, grain, new)
            _merge(con, "all", late)
            if grain == "day":
                write_day_counts(con, days)
    con.execute(f"DROP {kind} client_set_rows")
    fold_months(con)


def write_day_counts(con: duckdb.DuckDBPyConnection, days: Sequence[date] | None = None) -> None:
    """Write the distinct clients of each of `days` (all the sets' days if None) under each state of the toggles
    (CI and bots counted or not) in rollup_client_day_counts, from their sets."""
    if days is None:
        days = [day for (day,) in con.execute(f"SELECT DISTINCT start FROM {TABLE} WHERE grain = 'day'").fetchall()]
    by_day: dict[date, dict[tuple[bool, bool], BitMap]] = {}
    for day, ci, bot, clients in con.execute(
            f"SELECT start, ci, bot, clients FROM {TABLE} WHERE grain = 'day' AND list_contains(?, start)",
            [list(days)]).fetchall():
        by_day.setdefault(day, {})[ci, bot] = BitMap.deserialize(clients)
    rows = [(day, with_ci, with_bots, _clients_counted(sets, with_ci, with_bots))
            for day, sets in sorted(by_day.items()) for with_ci in (False, True) for with_bots in (False, True)]
    con.execute(f"DELETE FROM {DAY_COUNTS} WHERE list_contains(?, day)", [list(days)])
    if rows:
        day, with_ci, with_bots, clients = zip(*rows)
        con.register("day_count_rows", pa.table({
            "day": arrays.from_python(day, pa.date32()), "with_ci": arrays.from_python(with_ci, pa.bool_()),
            "with_bots": arrays.from_python(with_bots, pa.bool_()),
            "clients": arrays.from_python(clients, pa.int64())}))
        con.execute(f"INSERT INTO {DAY_COUNTS} SELECT * FROM day_count_rows")
        con.unregister("day_count_rows")


def _clients_counted(sets: dict[tuple[bool, bool], BitMap], with_ci: bool, with_bots: bool) -> int:
    """How many clients one day's sets (by their CI and bot flags) hold, CI's and bots' counted or not."""
    counted = [clients for (ci, bot), clients in sets.items() if (with_ci or not ci) and (with_bots or not bot)]
    return len(BitMap.union(BitMap(), *counted))


def write_missing_day_counts(con: duckdb.DuckDBPyConnection) -> None:
    """Count every day of the sets when rollup_client_day_counts does not hold their days (sets made before it,
    schema version 13)."""
    held = span(con)
    if held is not None and not _days_counted(con, held):
        write_day_counts(con)


def fold_months(con: duckdb.DuckDBPyConnection) -> None:
    """Fold the month sets before the sets' last month into all time's, which then start at that month (a
    dimension at a time: all time's and the months not yet folded are read, joined and written again)."""
    held = span(con)
    if held is None:
        return
    since, until = _folded_until(con) or held.start.replace(day=1), month_of(held.end).start
    if since >= until:  # folded already, or the sets hold one month
        return
    for dimension in MONTH_DIMENSIONS:
        held_sets = [(SetKey(start, ci, bot, dimension, value), BitMap.deserialize(clients))
                     for start, ci, bot, value, clients in con.execute(
                         f"SELECT start, ci, bot, value, clients FROM {TABLE} WHERE dimension = ? "
                         "AND (grain = 'all' OR grain = 'month' AND start >= ? AND start < ?)",
                         [dimension, since, until]).fetchall()]
        con.execute(f"DELETE FROM {TABLE} WHERE grain = 'all' AND dimension = ?", [dimension])
        _write(con, "all", _as_all_time(held_sets, until))


def _folded_until(con: duckdb.DuckDBPyConnection) -> date | None:
    """The first month all time's sets do not hold; None when there are none."""
    return con.execute(f"SELECT max(start) FROM {TABLE} WHERE grain = 'all'").fetchone()[0]


def _joined(sets: dict[SetKey, BitMap], more: dict[SetKey, BitMap]) -> dict[SetKey, BitMap]:
    """`sets`, the clients of `more` added key by key (its sets taken in, not copied)."""
    for key, clients in more.items():
        held = sets.setdefault(key, clients)
        if held is not clients:
            held |= clients
    return sets


def _as_all_time(sets: Iterable[tuple[SetKey, BitMap]], folded_until: date) -> dict[SetKey, BitMap]:
    """Sets as all time's, holding the months before `folded_until`: one set per key but the start, the union
    of theirs."""
    joined: dict[SetKey, BitMap] = {}
    for key, clients in sets:
        joined.setdefault(SetKey(folded_until, key.ci, key.bot, key.dimension, key.value), BitMap()).update(clients)
    return joined


def _days_counted(con: duckdb.DuckDBPyConnection, held: Period) -> bool:
    """rollup_client_day_counts holds the days of the sets `held` (they are counted together, or not at all)."""
    return con.execute(f"SELECT min(day), max(day) FROM {DAY_COUNTS}").fetchone() == (held.start, held.end)


@dataclass(frozen=True, slots=True)
class Run:
    """New downloads whose sets are made at once: those of a run of months, or the share of one month's whose
    row numbers leave `part` when divided by `parts`."""

    months: Period
    part: int = 0
    parts: int = 1

    @property
    def completes_its_months(self) -> bool:
        """Whether its months' new downloads are all made into sets once it is: a run of months, or a month's last
        share."""
        return self.part == self.parts - 1

    @property
    def rows(self) -> str:
        """SQL: which rows of client_set_rows it holds."""
        share = f" AND row_no % {self.parts} = {self.part}" if self.parts > 1 else ""
        return f"day >= DATE '{self.months.start}' AND day <= DATE '{self.months.end}'{share}"


def _runs(con: duckdb.DuckDBPyConnection) -> list[Run]:
    """The months of the new downloads with a client, in runs of at most CHUNK_ROWS of them; a month with more
    in as many shares as it takes, each of at most about CHUNK_ROWS."""
    runs: list[Run] = []
    rows = 0
    for month, count in con.execute("""SELECT date_trunc('month', day)::DATE AS month, count(*) FROM client_set_rows
                                       GROUP BY month ORDER BY month""").fetchall():
        months = Period(month, month_of(month).end)
        if count > CHUNK_ROWS:
            parts = -(-count // CHUNK_ROWS)
            runs.extend(Run(months, part, parts) for part in range(parts))
        elif runs and runs[-1].parts == 1 and rows + count <= CHUNK_ROWS:
            runs[-1], rows = Run(Period(runs[-1].months.start, months.end)), rows + count
        else:
            runs.append(Run(months))
            rows = count
    return runs


def _merge(con: duckdb.DuckDBPyConnection, grain: str, new: dict[SetKey, BitMap]) -> None:
    """Write the sets `new` at `grain`, each joined with the set of its key already held; a held set that
    has all its new clients already (most, when the clients come back) stays as it is. Changes `new`."""
    if not new:
        return
    # The conditions on the table alone first: its scan reads the sets (the blobs) of the rows they keep alone.
    first, last = min(key.start for key in new), max(key.start for key in new)
    same_set = (f"s.grain = '{grain}' AND s.start BETWEEN DATE '{first}' AND DATE '{last}' AND s.start = k.start "
                "AND s.ci = k.ci AND s.bot = k.bot AND s.dimension = k.dimension "
                "AND s.value IS NOT DISTINCT FROM k.value")
    with _registered(con, "client_set_keys", _key_rows(grain, new)):
        for start, ci, bot, dimension, value, clients in con.execute(
                f"SELECT s.start, s.ci, s.bot, s.dimension, s.value, s.clients FROM {TABLE} s "
                f"JOIN client_set_keys k ON {same_set}").fetchall():
            key, held = SetKey(start, ci, bot, dimension, value), BitMap.deserialize(clients)
            if new[key] <= held:
                del new[key]
            else:
                new[key] |= held
    if not new:
        return
    with _registered(con, "client_set_keys", _key_rows(grain, new)):
        con.execute(f"DELETE FROM {TABLE} s USING client_set_keys k WHERE {same_set}")
    _write(con, grain, new)


def _write(con: duckdb.DuckDBPyConnection, grain: str, sets: dict[SetKey, BitMap]) -> None:
    """Insert `sets` at `grain` (the table holds none of their keys)."""
    rows = _key_rows(grain, sets).append_column(
        "clients", arrays.from_python([sets[key].serialize() for key in sorted(sets, key=SetKey.order)], pa.binary()))
    with _registered(con, "client_sets_arrow", rows):
        con.execute(f"INSERT INTO {TABLE} BY NAME SELECT * FROM client_sets_arrow")


def _key_rows(grain: str, sets: dict[SetKey, BitMap]) -> pa.Table:
    """The keys of `sets` at `grain`, in the order sets are written in."""
    keys = sorted(sets, key=SetKey.order)
    return pa.table({"grain": arrays.from_python([grain] * len(keys), pa.string()),
                     **{name: arrays.from_python([getattr(key, name) for key in keys], type)
                        for name, type in _KEY_TYPES.items()}})


@contextmanager
def _registered(con: duckdb.DuckDBPyConnection, name: str, table: pa.Table) -> Iterator[None]:
    con.register(name, table)
    try:
        yield
    finally:
        con.unregister(name)


def _client_rows(con: duckdb.DuckDBPyConnection) -> str:
    """The new downloads with a client, each client as a set member (32 bits): the temp view client_set_rows
    over rollup_new, or a temp table when the clients must be numbered first; says which ('VIEW', 'TABLE').
    A store's clients are numbers already (hit_clients.client_id); a lake's are named by text, and its
    rollups are made whole in one job (lake.rollups), so numbering them for that job (their rank) is enough."""
    [(kind,)] = con.execute("SELECT typeof(client) FROM rollup_new LIMIT 1").fetchall() or [("INTEGER",)]
    numbered = kind == "VARCHAR"
    client = "(dense_rank() OVER (ORDER BY client) - 1)::UINTEGER" if numbered else "client::UINTEGER"
    made = "TABLE" if numbered else "VIEW"
    con.execute(f"""CREATE OR REPLACE TEMP {made} client_set_rows AS
        SELECT rowid AS row_no, day, ci, bot, facet_id, country, project_id, {client} AS client
        FROM rollup_new WHERE client IS NOT NULL""")
    return made


@dataclass(frozen=True, slots=True)
class SetKey:
    start: date
    ci: bool
    bot: bool
    dimension: str
    value: str | None

    def order(self) -> tuple:
        """The order sets are written in: a figure reads one dimension's sets over a run of days or months."""
        return self.dimension, self.start, self.ci, self.bot, self.value or ""


_KEY_TYPES = {"start": pa.date32(), "ci": pa.bool_(), "bot": pa.bool_(), "dimension": pa.string(), "value": pa.string()}


def _new_sets(con: duckdb.DuckDBPyConnection, grain: str, run: Run) -> dict[SetKey, BitMap]:
    """The sets at `grain` of each value of each dimension it keeps, of the clients of the new downloads of `run`.
    A month's sets of the facets, and its total, are unions of its sets by the downloads' facets as one number
    (rollup_facets): one grouping of the downloads for them all. Its projects' are grouped by their ids, and named
    once grouped (rollup_project_names, rollups.refresh)."""
    if grain == "day":
        return _grouped_sets(con, grain, TOTAL, "''", run)
    sets = _grouped_sets(con, grain, "country", "country", run)
    projects = dict(con.execute("SELECT project_id, project FROM rollup_project_names").fetchall())
    for key, clients in _grouped_sets(con, grain, "project", "project_id", run).items():
        sets[replace(key, value=projects.get(key.value))] = clients
    facets = {facet_id: dict(zip(FACETS, values)) for facet_id, *values in
              con.execute(f"SELECT facet_id, {', '.join(FACETS)} FROM rollup_facets").fetchall()}
    for key, clients in _grouped_sets(con, grain, "facet_id", "facet_id", run).items():
        for dimension, value in ((TOTAL, ""), *facets[key.value].items()):
            held = sets.setdefault(SetKey(key.start, key.ci, key.bot, dimension, value), BitMap())
            held |= clients
    return sets


def _grouped_sets(con: duckdb.DuckDBPyConnection, grain: str, dimension: str, value: str,
                  run: Run) -> dict[SetKey, BitMap]:
    """The sets at `grain` of the clients of the new downloads of `run` by `value` (SQL over client_set_rows),
    keyed as `dimension`'s."""
    groups = con.sql(f"""SELECT {_START[grain]} AS start, ci, bot, {value} AS value, list(client) AS clients
        FROM client_set_rows WHERE {run.rows} GROUP BY ALL""").to_arrow_table()
    members = groups.column("clients").combine_chunks()
    numbers, offsets = arrays.as_numpy(members.values), arrays.as_numpy(members.offsets)
    keys = zip(*(groups.column(name).to_pylist() for name in ("start", "ci", "bot", "value")))
    sets: dict[SetKey, BitMap] = {}
    for i, (start, ci, bot, named) in enumerate(keys):
        clients = BitMap()
        clients.update(array.array("I", numbers[offsets[i]:offsets[i + 1]].tobytes()))
        sets[SetKey(start, ci, bot, dimension, named)] = clients
    return sets


@dataclass(frozen=True, slots=True)
class Cover:
    """The sets one period is the union of: all time's up to a month (`folded_until`), whole months, and days."""

    months: tuple[date, ...]
    days: tuple[date, ...]
    folded_until: date | None = None

    def keys(self) -> list[tuple[str, date]]:
        """(grain, start) of each set of a value."""
        return ([("all", self.folded_until)] if self.folded_until else []) + \
            [("month", month) for month in self.months] + [("day", day) for day in self.days]


def _cover(period: Period, span: Period, dimension: str, folded_until: date | None = None) -> Cover | None:
    """The sets that make up `period`'s clients, the store's days being `span` and all time's sets holding the
    months before `folded_until` (if any); None when a month is cut and `dimension` is kept for months alone."""
    if folded_until is not None and period.start <= span.start and period.end >= folded_until - timedelta(days=1):
        if period.end < folded_until:
            return Cover((), (), folded_until)
        rest = _cover(Period(folded_until, period.end), span, dimension)
        return None if rest is None else Cover(rest.months, rest.days, folded_until)
    start, end = max(period.start, span.start), min(period.end, span.end)
    months: list[date] = []
    days: list[date] = []
    day = start
    while day <= end:
        month = month_of(day)
        if start <= max(month.start, span.start) and end >= min(month.end, span.end):
            months.append(month.start)
        elif dimension not in GRAINS["day"]:
            return None
        else:
            last = min(month.end, end)
            days += [day + timedelta(days=n) for n in range((last - day).days + 1)]
        day = month.end + timedelta(days=1)
    return Cover(tuple(months), tuple(days))


def span(con: duckdb.DuckDBPyConnection) -> Period | None:
    """The first and last day the sets hold clients of; None when they hold none (no clients, or rollups
    made before the sets: rollup_clients answers)."""
    first, last = con.execute(f"SELECT min(start), max(start) FROM {TABLE} WHERE grain = 'day'").fetchone()
    return Period(first, last) if first is not None else None


@dataclass(frozen=True, slots=True)
class Held:
    """What the sets hold, as the figures read them: their days (`span`) and all time's end (`_folded_until`)."""

    days: Period | None
    folded_until: date | None

    @classmethod
    def read(cls, con: duckdb.DuckDBPyConnection) -> Held:
        return cls(span(con), _folded_until(con))


# Per connection the figures ask on: what its sets hold, or None on a connection that may write (asked each time).
_HELD_ON: weakref.WeakKeyDictionary[duckdb.DuckDBPyConnection, Held | None] = weakref.WeakKeyDictionary()


def _held(con: duckdb.DuckDBPyConnection) -> Held:
    """What the sets hold, read once per read-only connection (a dashboard request's: no process can write a
    store another holds read-only, so a page's twenty figures need not ask again) and at each call otherwise."""
    if con not in _HELD_ON:
        read_only = con.execute(
            "SELECT readonly FROM duckdb_databases() WHERE database_name = current_database()").fetchone()[0]
        _HELD_ON[con] = Held.read(con) if read_only else None
    return _HELD_ON[con] or Held.read(con)


def _held_for(con: duckdb.DuckDBPyConnection, filters: Filters) -> Held | None:
    """What the sets hold, when they can answer `filters` (not one country's) and hold any day; else None."""
    held = None if filters.country is not None else _held(con)
    return held if held is not None and held.days is not None else None


def count(con: duckdb.DuckDBPyConnection, filters: Filters, dimension: str, periods: Sequence[Period],
          values: Sequence[str] | None = None) -> list[dict[str | None, int]] | None:
    """Distinct clients in each of `periods` by the values of `dimension` (TOTAL: {'': clients}), or of those
    `values` alone, with the toggles of `filters`; None when the sets cannot answer (see the module's docstring)."""
    held = _held_for(con, filters)
    return None if held is None else _count(con, filters, dimension, periods, held, values)


def count_by(con: duckdb.DuckDBPyConnection, filters: Filters, dimension: str, period: Period | None,
             unit: str) -> dict[date, dict[str | None, int]] | None:
    """As `count`, in each day, week (from Monday) or month of `period` (all the sets' days if None) that the
    sets hold, by its first day."""
    held = _held_for(con, filters)
    if held is None:
        return None
    days = held.days
    start, end = max((period or days).start, days.start), min((period or days).end, days.end)
    if start > end:
        return {}  # the period holds none of the sets' days
    if unit == "day" and dimension == TOTAL:
        counted = _day_counts(con, filters, Period(start, end), days)
        if counted is not None:
            return counted
    buckets: dict[date, Period] = {}
    day = start
    while day <= end:
        first = {"day": day, "week": day - timedelta(days=day.weekday()), "month": day.replace(day=1)}[unit]
        buckets[first] = Period(buckets[first].start if first in buckets else day, day)
        day += timedelta(days=1)
    counts = _count(con, filters, dimension, list(buckets.values()), held)
    return None if counts is None else dict(zip(buckets, counts))


def _day_counts(con: duckdb.DuckDBPyConnection, filters: Filters, period: Period,
                held: Period) -> dict[date, dict[str | None, int]] | None:
    """count_by's days of `period` from rollup_client_day_counts; None when those do not hold the days of the
    sets `held` (a lake's rollups made before them, a store not refreshed since version 13)."""
    if not _days_counted(con, held):
        return None
    counts = dict(con.execute(
        f"SELECT day, clients FROM {DAY_COUNTS} WHERE day BETWEEN ? AND ? AND with_ci = ? AND with_bots = ?",
        [period.start, period.end, not filters.exclude_ci, not filters.exclude_bots]).fetchall())
    days = (period.start + timedelta(days=n) for n in range((period.end - period.start).days + 1))
    return {day: {"": counts[day]} if counts.get(day) else {} for day in days}


def _count(con: duckdb.DuckDBPyConnection, filters: Filters, dimension: str, periods: Sequence[Period],
           held: Held, values: Sequence[str] | None = None) -> list[dict[str | None, int]] | None:
    """`count`, the sets holding `held`."""
    covers = [_cover(period, held.days, dimension, held.folded_until) for period in periods]
    if any(cover is None for cover in covers):
        return None
    starts_by_grain = {grain: sorted({start for cover in covers for held_grain, start in cover.keys()
                                      if held_grain == grain}) for grain in ("all", *GRAINS)}
    toggles = "".join((" AND NOT ci" if filters.exclude_ci else "", " AND NOT bot" if filters.exclude_bots else "",
                       " AND list_contains(?, value)" if values is not None else ""))
    sets: dict[tuple[str, date], dict[str | None, list[BitMap]]] = {}
    for grain, starts in starts_by_grain.items():
        if not starts:
            continue
        for start, value, clients in con.execute(
            f"SELECT start, value, clients FROM {TABLE} WHERE grain = ? AND dimension = ? AND start >= ? "
            f"AND start <= ? AND list_contains(?, start){toggles}",
            [grain, dimension, starts[0], starts[-1], starts, *([list(values)] if values is not None else [])],
        ).fetchall():
            sets.setdefault((grain, start), {}).setdefault(value, []).append(BitMap.deserialize(clients))
    counts = []
    for cover in covers:
        by_value: dict[str | None, list[BitMap]] = {}
        for key in cover.keys():
            for value, bitmaps in sets.get(key, {}).items():
                by_value.setdefault(value, []).extend(bitmaps)
        counts.append({value: len(BitMap.union(*bitmaps)) for value, bitmaps in by_value.items()})
    return counts
