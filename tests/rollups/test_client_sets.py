"""Distinct clients from the client sets (rollups.client_sets) give every figure that rollup_clients gives.

The session's simulated store is copied twice and refreshed; one copy loses its client
sets, so that every query function answers it from rollup_clients' rows as before the
sets. Each figure that counts clients must be the same from both, for periods of whole
months, periods that cut months, all history and the last days, under each toggle.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from kit.dashboards import copy_store
from pyroaring import BitMap

from wheelstats import store
from wheelstats.period import Period
from wheelstats.rollups import client_sets, queries, refresh_rollups
from wheelstats.rollups.filters import Filters
from wheelstats.store import dimensions
from wheelstats.store.schema import empty_rollups

TOGGLES = [Filters(exclude_ci=ci, exclude_bots=bots, unique=True) for ci in (False, True) for bots in (False, True)]


@pytest.fixture(scope="module")
def stores(simulated_store, tmp_path_factory):
    folder = tmp_path_factory.mktemp("client-sets")
    copies = []
    for name in ("sets", "rows"):
        copy = copy_store(simulated_store, folder / f"{name}.duckdb")
        con = store.connect(copy)
        refresh_rollups(con)
        if name == "rows":
            con.execute(f"DELETE FROM {client_sets.TABLE}")
        con.close()
        copies.append(store.connect(copy, read_only=True))
    yield copies
    for con in copies:
        con.close()


def periods(con) -> dict[str, Period | None]:
    span = queries.data_span(con)
    return {
        "all": None,
        "whole months": Period(date(2020, 1, 1), date(2020, 3, 31)),
        "cut months": Period(date(2020, 1, 10), date(2020, 2, 20)),
        "last 30 days": Period(span.last - timedelta(days=29), span.last),
        "last day": Period(span.last, span.last),
        "before the data": Period(span.first - timedelta(days=40), span.first - timedelta(days=10)),
        "after the data": Period(span.last + timedelta(days=10), span.last + timedelta(days=40)),
    }


MAY_BE_EMPTY = {"last day", "before the data", "after the data"}


def test_the_sets_answer_what_they_hold_and_nothing_else(stores):
    with_sets, without = stores
    quarter = Period(date(2020, 1, 1), date(2020, 3, 31))
    [counts] = client_sets.count(with_sets, TOGGLES[0], client_sets.TOTAL, [quarter])
    assert counts[""] == with_sets.execute("SELECT count(DISTINCT client) FROM rollup_clients "
                                           "WHERE day BETWEEN ? AND ?", [quarter.start, quarter.end]).fetchone()[0]
    assert counts[""] > 100
    assert client_sets.count(without, TOGGLES[0], client_sets.TOTAL, [quarter]) is None  # sets not made
    assert client_sets.count(with_sets, Filters(unique=True, country="GB"), client_sets.TOTAL, [quarter]) is None
    cut = Period(date(2020, 1, 10), date(2020, 2, 20))
    assert client_sets.count(with_sets, TOGGLES[0], client_sets.TOTAL, [cut]) is not None  # days keep totals
    assert client_sets.count(with_sets, TOGGLES[0], "python", [cut]) is None  # facets: whole months alone
    # All history: its first and last months are whole as far as the store's days go.
    assert client_sets.count(with_sets, TOGGLES[0], "python", [queries.ALL_DAYS]) is not None
    [(project, clients)] = with_sets.execute("""SELECT project, count(DISTINCT client) FROM rollup_clients
        WHERE day BETWEEN ? AND ? AND project IS NOT NULL GROUP BY project ORDER BY 2 DESC, 1 LIMIT 1""",
        [quarter.start, quarter.end]).fetchall()
    assert client_sets.count(with_sets, TOGGLES[0], "project", [quarter], values=[project]) == [{project: clients}]


@pytest.mark.parametrize("filters", TOGGLES, ids=lambda f: f.describe())
def test_every_figure_of_clients_is_the_same_from_the_sets(stores, filters):
    with_sets, without = stores
    for name, period in periods(with_sets).items():
        def same(figure, *args, **kwargs):
            from_sets, from_rows = figure(with_sets, *args, **kwargs), figure(without, *args, **kwargs)
            assert from_sets == from_rows, (name, figure.__name__, args, kwargs)
            return from_sets

        assert same(queries.total, period, filters) > 0 or name in MAY_BE_EMPTY
        for granularity in ("day", "week", "month"):
            same(queries.series, period, filters, granularity)
        for dimension in ("python", "os", "distro", "arch", "installer"):
            same(queries.shares, period, filters, dimension)
        same(queries.countries, period, filters)
        same(queries.python_by_month, period, filters)
        if period is not None:
            same(queries.by_month, period.end, filters, since=period.start)
    span = queries.data_span(with_sets)
    now = datetime.combine(span.last, datetime.min.time()).replace(hour=12)
    assert queries.headline(with_sets, now, filters) == queries.headline(without, now, filters)
    assert queries.recent(with_sets, span.last, filters) == queries.recent(without, span.last, filters)


@pytest.mark.parametrize("filters", [*TOGGLES, Filters(unique=True, country="GB")], ids=lambda f: f.describe())
def test_the_projects_with_most_clients_are_counted_from_the_most_downloaded_alone(stores, filters):
    with_sets, _ = stores
    for name, period in periods(with_sets).items():
        for n in (1, 5, 30):
            where = "true" if period is None else f"day BETWEEN DATE '{period.start}' AND DATE '{period.end}'"
            toggles = "".join((" AND NOT ci" if filters.exclude_ci else "",
                               " AND NOT bot" if filters.exclude_bots else "",
                               f" AND country = '{filters.country}'" if filters.country else ""))
            every_project = with_sets.execute(f"""SELECT project, count(DISTINCT client) AS clients FROM rollup_clients
                WHERE project IS NOT NULL AND {where}{toggles} GROUP BY project ORDER BY clients DESC, project
                LIMIT {n}""").fetchall()
            assert [(r["project"], r["downloads"]) for r in queries.top_projects(with_sets, period, filters, n)] \
                == every_project, (name, n)


@pytest.mark.parametrize("shares", [1, 3])
def test_sets_made_a_run_of_months_or_a_share_of_one_at_a_time_are_the_sets_made_at_once(stores, store_copy,
                                                                                         monkeypatch, shares):
    """CHUNK_ROWS the downloads (with a client) of the largest month (runs of months, none shared), or a third of
    them (the largest month in shares, joined, and its sets written once, after the last)."""
    with_sets, _ = stores
    con = store.connect(store_copy)
    [(largest,)] = con.execute("""SELECT max(downloads) FROM (SELECT count(*) AS downloads FROM hits
        WHERE kind = 'download' AND client IS NOT NULL GROUP BY date_trunc('month', ts))""").fetchall()
    monkeypatch.setattr(client_sets, "CHUNK_ROWS", largest // shares)
    runs = []

    def recorded_runs(con, made=client_sets._runs):
        runs.extend(made(con))
        return runs

    monkeypatch.setattr(client_sets, "_runs", recorded_runs)
    written = []

    def recorded_write(con, grain, sets, write=client_sets._write):
        written.extend((grain, start) for start in {key.start for key in sets} if grain != "all")
        write(con, grain, sets)

    monkeypatch.setattr(client_sets, "_write", recorded_write)
    empty_rollups(con)
    assert refresh_rollups(con).new_downloads > 0  # a full build
    parts = max(run.parts for run in runs)
    assert len(runs) > 2 and (parts == 1 if shares == 1 else parts >= shares)
    assert written and len(written) == len(set(written))  # each day's and month's sets written once
    every_set = f"SELECT * FROM {client_sets.TABLE} ORDER BY grain, dimension, start, ci, bot, value"
    assert con.execute(every_set).fetchall() == with_sets.execute(every_set).fetchall()
    con.close()


def test_a_series_by_day_reads_each_days_counts_and_without_them_the_sets(stores, store_copy):
    """rollup_client_day_counts: four counts a day (CI and bots counted or not), the series by day read from them;
    rollups made before them (a lake's) answer from the day sets, the same."""
    with_sets, _ = stores
    days = with_sets.execute(f"SELECT count(DISTINCT start) FROM {client_sets.TABLE} WHERE grain = 'day'").fetchone()[0]
    assert with_sets.execute(f"SELECT count(*), count(DISTINCT day) FROM {client_sets.DAY_COUNTS}").fetchone() \
        == (4 * days, days)
    con = store.connect(store_copy)
    refresh_rollups(con)
    from_counts = [queries.series(con, None, filters) for filters in TOGGLES]
    con.execute(f"DELETE FROM {client_sets.DAY_COUNTS}")
    assert [queries.series(con, None, filters) for filters in TOGGLES] == from_counts
    assert len({str(series) for series in from_counts}) == 4  # each toggle counts its own clients
    con.close()


def test_all_time_holds_the_months_before_the_last_and_takes_late_clients(stores, store_copy):
    """Grain 'all': a set per value of the clients of every month before the sets' last, which a period starting
    with the sets reads instead of those months. Without them the months answer the same, the next refresh folds
    them again, and a late download in a folded month adds its client to them."""
    with_sets, _ = stores
    last_month = with_sets.execute(f"SELECT date_trunc('month', max(start))::DATE FROM {client_sets.TABLE} "
                                   "WHERE grain = 'day'").fetchone()[0]
    all_time = f"SELECT dimension, ci, bot, value, clients FROM {client_sets.TABLE} WHERE grain = 'all' ORDER BY ALL"
    held = with_sets.execute(all_time).fetchall()
    assert with_sets.execute(f"SELECT DISTINCT start FROM {client_sets.TABLE} WHERE grain = 'all'").fetchall() \
        == [(last_month,)]
    months = {}
    for dimension, ci, bot, value, clients in with_sets.execute(
            f"SELECT dimension, ci, bot, value, clients FROM {client_sets.TABLE} WHERE grain = 'month' AND start < ?",
            [last_month]).fetchall():
        months.setdefault((dimension, ci, bot, value), BitMap()).update(BitMap.deserialize(clients))
    assert {tuple(key): BitMap.deserialize(clients) for *key, clients in held} == months
    assert {row[0] for row in held} == set(client_sets.MONTH_DIMENSIONS)

    con = store.connect(store_copy)
    refresh_rollups(con)

    def figures():
        return [(queries.total(con, None, filters), queries.shares(con, None, filters, "python"),
                 queries.countries(con, None, filters), queries.series(con, None, filters, "month"))
                for filters in TOGGLES]

    from_all_time = figures()
    con.execute(f"UPDATE {client_sets.TABLE} SET clients = ? WHERE grain = 'all' AND dimension = 'total'",
                [BitMap().serialize()])
    assert queries.total(con, None, TOGGLES[0]) < from_all_time[0][0]  # all time's set is read
    con.execute(f"DELETE FROM {client_sets.TABLE} WHERE grain = 'all'")
    assert figures() == from_all_time  # from the months
    refresh_rollups(con)  # nothing new to roll up: the months are folded again
    assert con.execute(all_time).fetchall() == held

    first_day = con.execute("SELECT min(ts) FROM hits WHERE kind = 'download'").fetchone()[0]
    dimensions.add_wide_hits(con, f"""SELECT TIMESTAMP '{first_day}' AS ts, kind, project, filename, path,
        'a client first seen late' AS client, agent_id, bytes, source_id, country
        FROM hits WHERE kind = 'download' LIMIT 1""")
    refresh_rollups(con)
    every_client = con.execute("SELECT count(DISTINCT client) FROM rollup_clients").fetchone()[0]
    assert queries.total(con, None, TOGGLES[0]) == every_client == from_all_time[0][0] + 1
    assert con.execute(f"SELECT DISTINCT start FROM {client_sets.TABLE} WHERE grain = 'all'").fetchall() \
        == [(last_month,)]
    con.close()


def test_a_read_only_connection_reads_what_the_sets_hold_once_and_the_next_one_anew(store_copy):
    """A dashboard request's connection is read-only: what the sets hold (their days, all time's end) is read once
    on it, as no process can write the store meanwhile; a connection opened after a refresh sees the new clients."""
    con = store.connect(store_copy)
    refresh_rollups(con)
    con.close()
    before = store.connect(store_copy, read_only=True)
    clients = queries.total(before, None, TOGGLES[0])
    assert clients == before.execute("SELECT count(DISTINCT client) FROM rollup_clients").fetchone()[0]
    before.close()

    con = store.connect(store_copy)
    last_day = con.execute("SELECT max(ts) FROM hits WHERE kind = 'download'").fetchone()[0] + timedelta(days=1)
    dimensions.add_wide_hits(con, f"""SELECT TIMESTAMP '{last_day}' AS ts, kind, project, filename, path,
        'a client of a new day' AS client, agent_id, bytes, source_id, country
        FROM hits WHERE kind = 'download' LIMIT 1""")
    refresh_rollups(con)
    con.close()
    after = store.connect(store_copy, read_only=True)
    assert queries.total(after, None, TOGGLES[0]) == clients + 1
    assert client_sets.count(after, TOGGLES[0], client_sets.TOTAL, [Period(last_day.date(), last_day.date())]) \
        == [{"": 1}]  # a day the sets did not hold before
    after.close()
