"""Rollups: equal to counts over the raw hits, the same whether built at once or batch by batch."""

from __future__ import annotations

import gzip
import shutil
from datetime import date

import pytest

from wheelstats import store
from wheelstats.store import privacy
from wheelstats.ingest import ingest_files, ingest_paths
from wheelstats.facets import MIRROR_INSTALLERS
from wheelstats.rollups import ROLLUP_TABLES, refresh_rollups, rollup_state
from wheelstats.rollups import refresh
from wheelstats.rollups.refresh import country_rows_sql
from wheelstats.store.schema import COUNTRY_TWINS

RAW_FACETS = f"""
    SELECT h.ts::DATE AS day, p.project, f.filename, h.client_id AS client, h.country,
           coalesce(a.python_version, 'unknown') AS python, coalesce(a.cpu, 'unknown') AS cpu,
           coalesce(a.distro_name, 'unknown') AS distro, coalesce(a.os_name, 'unknown') AS os,
           coalesce(a.installer_name, 'unknown') AS installer, coalesce(a.ci, false) AS ci,
           coalesce(a.is_bot, false) OR coalesce(a.installer_name IN {MIRROR_INSTALLERS!r}, false) AS bot
    FROM hit_rows h LEFT JOIN agents a ON a.agent_id = h.agent_id
    LEFT JOIN hit_projects p ON p.project_id = h.project_id LEFT JOIN hit_files f ON f.file_id = h.file_id
    WHERE h.kind = 'download'
"""


def test_unknown_facets_read_as_the_report_writes_them():
    from wheelstats.rollups.refresh import UNKNOWN
    from wheelstats.stats.shares import UNKNOWN as REPORT_UNKNOWN
    assert UNKNOWN == REPORT_UNKNOWN


def table_rows(con, table: str) -> list[tuple]:
    return sorted(con.execute(f"SELECT * FROM {table}").fetchall(), key=repr)


def rollups_rows(con) -> dict[str, list[tuple]]:
    """Every rollup's rows (table_rows), by table."""
    return {table: table_rows(con, table) for table in ROLLUP_TABLES}


def rebuild(con) -> None:
    """Empty every rollup and build them again, at once, from all the store's hits."""
    for table in (*ROLLUP_TABLES, "rollup_state"):
        con.execute(f"DELETE FROM {table}")
    refresh_rollups(con)


def test_ingest_leaves_rollups_that_count_exactly_what_the_raw_hits_hold(store_copy):
    """The session store was filled by `wheelstats import piwheels` then `wheelstats ingest`,
    which refreshes the rollups at its end."""
    con = store.connect(store_copy)
    assert rollup_state(con).current
    downloads = con.execute("SELECT count(*) FROM hits WHERE kind = 'download'").fetchone()[0]
    assert downloads > 1000
    # The logs' downloads have countries, looked up at ingest; each country's own rows add up to them.
    assert con.execute("SELECT count(DISTINCT country) FROM hit_rows WHERE country IS NOT NULL").fetchone()[0] > 1
    project_keys = "day, project, python, cpu, distro, os, installer, ci, bot"
    raw_projects = con.execute(f"""
        SELECT {project_keys}, count(*) FROM ({RAW_FACETS}) WHERE project IS NOT NULL GROUP BY ALL""").fetchall()
    rolled = con.execute(f"SELECT {project_keys}, downloads FROM rollup_projects").fetchall()
    assert sorted(rolled, key=repr) == sorted(raw_projects, key=repr)
    raw_files = con.execute(f"SELECT day, project, filename, ci, bot, count(*) FROM ({RAW_FACETS}) GROUP BY ALL").fetchall()
    assert sorted(con.execute("SELECT day, project, filename, ci, bot, downloads FROM rollup_files").fetchall(),
                  key=repr) == sorted(raw_files, key=repr)
    # The daily project and file rollups keep no country (store version 9): by country, their rows come
    # from the hits (country_rows_sql), and those add up to the raw hits by country.
    for table, keys, rows in (("rollup_projects", project_keys, "project IS NOT NULL"),
                              ("rollup_files", "day, project, filename, ci, bot", "filename IS NOT NULL")):
        assert "country" not in [name for (name,) in con.execute(
            f"SELECT column_name FROM duckdb_columns() WHERE table_name = '{table}'").fetchall()]
        by_country = con.execute(f"SELECT {keys}, country, sum(downloads) FROM ({country_rows_sql(table)}) GROUP BY ALL").fetchall()
        raw = con.execute(f"SELECT {keys}, country, count(*) FROM ({RAW_FACETS}) WHERE {rows} GROUP BY ALL").fetchall()
        assert sorted(by_country, key=repr) == sorted(raw, key=repr), table
    months = con.execute("SELECT month, project, ci, bot, country, downloads FROM rollup_country_project_months").fetchall()
    raw_months = con.execute(f"""SELECT date_trunc('month', day)::DATE, project, ci, bot, country, count(*)
        FROM ({RAW_FACETS}) WHERE project IS NOT NULL GROUP BY ALL""").fetchall()
    assert sorted(months, key=repr) == sorted(raw_months, key=repr)
    for table in ("rollup_totals", "rollup_hours", "rollup_file_months", "rollup_project_months"):
        assert con.execute(f"SELECT sum(downloads) FROM {table}").fetchone()[0] == downloads
    # Each twin keyed by country holds its table's rows split by country.
    for table, twin in COUNTRY_TWINS.items():
        keys = [name for (name,) in con.execute(
            f"SELECT column_name FROM duckdb_columns() WHERE table_name = '{table}' AND column_name <> 'downloads'"
        ).fetchall()]
        merged = con.execute(f"SELECT {', '.join(keys)}, sum(downloads) FROM {twin} GROUP BY ALL").fetchall()
        assert sorted(merged, key=repr) == sorted(con.execute(f"SELECT {', '.join(keys)}, downloads FROM {table}").fetchall(),
                                                  key=repr), twin
    by_country = con.execute(f"SELECT country, count(*) FROM ({RAW_FACETS}) GROUP BY ALL").fetchall()
    assert sorted(con.execute("SELECT country, sum(downloads) FROM rollup_country_totals GROUP BY ALL").fetchall(),
                  key=repr) == sorted(by_country, key=repr)
    raw_clients = con.execute(f"SELECT count(DISTINCT (day, client)) FROM ({RAW_FACETS}) WHERE client IS NOT NULL").fetchone()[0]
    assert con.execute("SELECT count(DISTINCT (day, client)) FROM rollup_clients").fetchone()[0] == raw_clients
    # Nothing new: nothing to do.
    again = refresh_rollups(con)
    assert (again.new_hits, again.new_downloads, again.rebuilt) == (0, 0, False)
    con.close()


def refreshed_batch_by_batch(simulated_store, simulated_logs, tmp_path, after_each) -> None:
    """The store without its logs' hits, then the logs ingested in three batches, each refreshed, `after_each(con)`
    then; at the end every rollup equals one built at once."""
    incremental = tmp_path / "incremental.duckdb"
    shutil.copy(simulated_store, incremental)
    con = store.connect(incremental)
    log_sources = [row[0] for row in con.execute("SELECT source_id FROM sources WHERE name LIKE '%.gz'").fetchall()]
    placeholders = ", ".join("?" for _ in log_sources)
    for table in ("hit_rows", "ignored", "rejected", "reject_samples", "sources"):
        con.execute(f"DELETE FROM {table} WHERE source_id IN ({placeholders})", log_sources)
    rebuild(con)  # in order
    for batch in [simulated_logs[i::3] for i in range(3)]:
        ingest_paths(con, [str(p) for p in batch], key=privacy.load_key(incremental))
        report = refresh_rollups(con)
        assert report.new_downloads > 0 and not report.rebuilt
        after_each(con)
    con.execute("CHECKPOINT")
    full = tmp_path / "full.duckdb"
    shutil.copy(incremental, full)
    once = store.connect(full)
    rebuild(once)
    assert rollups_rows(con) == rollups_rows(once)
    con.close()
    once.close()


def out_of_order(con, table: str, order: str = "project") -> int:
    """Rows of `table` that come after a row of a later key in `order` (its sort order, as SQL)."""
    return con.execute(f"""SELECT count(*) FROM (SELECT ({order}) AS k, lag(({order})) OVER (ORDER BY rowid) AS before
                           FROM {table}) WHERE before > k""").fetchone()[0]


def touched_since(con) -> dict[str, date]:
    return dict(con.execute("SELECT rollup, touched_since FROM rollup_order").fetchall())


def test_batch_by_batch_equals_all_at_once_and_notes_the_days_out_of_order(simulated_store, simulated_logs,
                                                                          tmp_path, monkeypatch):
    """Import the history, refresh, then ingest the logs in three batches with a refresh after each (as `ingest`
    and the server do): the rollups equal a single build. Each refresh appends its days' merged rows at the end
    of the rollups sorted by project or country, out of that order: the first such day is noted, until the
    table is big enough to compact (here never)."""
    monkeypatch.setattr(refresh, "MIN_ROWS_TO_COMPACT", 1 << 40)
    out_of_order_tables = {rollup.table for rollup in refresh.ROLLUPS if not rollup.sorted_by_time}

    def first_days_noted(con) -> None:
        assert rollup_state(con).current
        first_day = con.execute("""SELECT min(h.ts)::DATE FROM hit_rows h JOIN sources s USING (source_id)
                                   WHERE s.name LIKE '%.gz' AND h.kind = 'download'""").fetchone()[0]
        assert touched_since(con) == dict.fromkeys(out_of_order_tables, first_day)
        assert out_of_order(con, "rollup_projects") > 0 and out_of_order(con, "rollup_files") > 0

    refreshed_batch_by_batch(simulated_store, simulated_logs, tmp_path, first_days_noted)


def test_rollups_out_of_their_order_are_written_in_order_again_one_a_refresh(simulated_store, simulated_logs,
                                                                             tmp_path, monkeypatch):
    """With any row out of order past the limit (a tiny store standing in for a big one), each refresh writes
    one of the rollups out of order in order again, the one most out of order: it is in order after, and the
    rollups hold the rows of one build at once."""
    monkeypatch.setattr(refresh, "MIN_ROWS_TO_COMPACT", 0)
    monkeypatch.setattr(refresh, "COMPACT_FRACTION", 1 << 40)
    orders = {rollup.table: rollup.order for rollup in refresh.ROLLUPS if not rollup.sorted_by_time}

    def one_compacted(con) -> None:
        [compacted] = set(orders) - set(touched_since(con))
        assert out_of_order(con, compacted, orders[compacted]) == 0
        assert all(out_of_order(con, table, order) > 0 for table, order in orders.items() if table != compacted)

    refreshed_batch_by_batch(simulated_store, simulated_logs, tmp_path, one_compacted)


def test_downloads_of_days_already_rolled_up_merge_into_their_rows(simulated_logs, tmp_path):
    """The logs' lines in three parts taken in turn, so that every part holds every day (as a followed log's batches
    share their day), countries off (a NULL in the keys): each refresh after the first merges into days the rollups
    hold, and the rollups equal one built at once."""
    lines = [line for log in simulated_logs for line in gzip.decompress(log.read_bytes()).splitlines(keepends=True)]
    parts = [tmp_path / f"part-{n}.log" for n in range(3)]
    for n, part in enumerate(parts):
        part.write_bytes(b"".join(lines[n::3]))
    db = tmp_path / "parts.duckdb"
    days_of_parts = []
    for part in parts:
        ingest_files(db, [part], countries=False)
        con = store.connect(db)
        days_of_parts.append(con.execute("SELECT count(DISTINCT day) FROM rollup_totals").fetchone()[0])
        con.close()
    assert days_of_parts[0] == days_of_parts[-1] > 30  # the later parts merged into days held already
    con = store.connect(db)
    assert con.execute("SELECT count(*) FROM rollup_country_totals WHERE country IS NULL").fetchone()[0] > 0
    rolled = rollups_rows(con)
    rebuild(con)
    assert rollups_rows(con) == rolled
    con.close()


def test_a_first_build_in_runs_of_days_holds_the_rows_of_one_in_a_single_run_in_their_order(store_copy, tmp_path,
                                                                                          monkeypatch):
    """A first build writes each rollup sorted by day a run of days at a time (RUN_ROWS downloads): with runs of a
    few downloads (many runs) it holds the same rows as with one run, each rollup in its order."""
    con = store.connect(store_copy)
    days = con.execute("SELECT count(DISTINCT ts::DATE) FROM hit_rows WHERE kind = 'download'").fetchone()[0]
    assert days > 3
    built, runs = {}, []
    day_runs = refresh._day_runs
    monkeypatch.setattr(refresh, "_day_runs", lambda con: runs.append(day_runs(con)) or runs[-1])
    for run_rows in (1 << 40, 3):
        monkeypatch.setattr(refresh, "RUN_ROWS", run_rows)
        rebuild(con)
        built[run_rows] = rollups_rows(con)
        for rollup in refresh.ROLLUPS:
            assert out_of_order(con, rollup.table, rollup.order.split(",")[0]) == 0, rollup.table
    assert [len(made) for made in runs] == [1, days]  # every day has more than three downloads
    assert built[3] == built[1 << 40]
    con.close()


def test_removed_hits_rebuild_the_rollups(store_copy):
    con = store.connect(store_copy)
    refresh_rollups(con)
    con.execute("DELETE FROM hit_rows WHERE rowid % 10 = 0")
    report = refresh_rollups(con)
    assert report.rebuilt
    downloads = con.execute("SELECT count(*) FROM hits WHERE kind = 'download'").fetchone()[0]
    assert con.execute("SELECT sum(downloads) FROM rollup_totals").fetchone()[0] == downloads
    con.close()


def test_refresh_inside_an_open_transaction_is_refused(store_copy):
    con = store.connect(store_copy)
    con.execute("BEGIN")
    with pytest.raises(Exception, match="transaction"):
        refresh_rollups(con)
    con.execute("ROLLBACK")
    con.close()


def test_new_build_durations_reprice_time_saved(store_copy):
    """Time saved depends on the catalogue: importing builds later re-prices every day."""
    from wheelstats import stats
    from wheelstats.period import parse_period
    from wheelstats.rollups import queries
    from wheelstats.rollups.filters import Filters

    period = parse_period("2020-Q1")
    con = store.connect(store_copy)
    before = queries.time_saved(con, period, Filters())
    assert before.seconds > 0
    con.execute("UPDATE builds SET duration_s = duration_s * 2")
    assert not rollup_state(con).current
    refresh_rollups(con)
    assert rollup_state(con).current
    after = queries.time_saved(con, period, Filters())
    con.close()
    assert after.seconds > before.seconds * 1.5
    assert after.seconds == pytest.approx(stats.time_saved(stats.open_tables(store_copy), period).seconds, rel=1e-9)


def test_imports_leave_the_rollups_current(simulated_logs, tmp_path):
    """Reads never refresh: `import piwheels` and `import builds` bring the live figures up to date themselves."""
    from wheelstats import stats
    from wheelstats.imports.builds import import_builds
    from wheelstats.imports.piwheels import import_dump
    from wheelstats.period import parse_period
    from wheelstats.rollups import queries
    from wheelstats.rollups.filters import Filters

    dump = simulated_logs[0].parent.parent / "piwheels"
    db = tmp_path / "imported.duckdb"
    con = store.connect(db)
    import_dump(con, dump, ip_mode="none")
    assert rollup_state(con).current
    downloads = con.execute("SELECT count(*) FROM hits WHERE kind = 'download'").fetchone()[0]
    assert downloads > 0 and con.execute("SELECT sum(downloads) FROM rollup_totals").fetchone()[0] == downloads
    before = queries.time_saved(con, None, Filters())

    (filename,), = con.execute("""SELECT f.filename FROM files f JOIN rollup_files r USING (filename)
        WHERE f.platform_tag = 'linux_armv7l' AND f.abi_tag <> 'none' GROUP BY f.filename
        ORDER BY sum(r.downloads) DESC, f.filename LIMIT 1""").fetchall()
    catalogue = tmp_path / "longer.csv"
    catalogue.write_text(f"filename,duration\n{filename},86400\n")  # a day's build: saves far more
    import_builds(con, catalogue)
    assert rollup_state(con).current
    after = queries.time_saved(con, None, Filters())
    con.close()
    assert after.seconds > before.seconds
    everything = parse_period("2000-01-01..2030-12-31")
    assert after.seconds == pytest.approx(stats.time_saved(stats.open_tables(db), everything).seconds, rel=1e-9)
