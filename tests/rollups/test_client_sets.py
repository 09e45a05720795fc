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

from wheelstats import store
from wheelstats.period import Period
from wheelstats.rollups import client_sets, queries, refresh_rollups
from wheelstats.rollups.filters import Filters
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
    }


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

        assert same(queries.total, period, filters) > 0 or name == "last day"
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


def test_sets_made_a_month_at_a_time_are_the_sets_made_at_once(stores, store_copy, monkeypatch):
    with_sets, _ = stores
    monkeypatch.setattr(client_sets, "CHUNK_ROWS", 1)  # each month's downloads alone
    con = store.connect(store_copy)
    empty_rollups(con)
    assert refresh_rollups(con).new_downloads > 0  # a full build
    every_set = f"SELECT * FROM {client_sets.TABLE} ORDER BY grain, dimension, start, ci, bot, value"
    months = con.execute(f"SELECT count(DISTINCT date_trunc('month', start)) FROM {client_sets.TABLE}").fetchone()[0]
    assert months > 2
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
