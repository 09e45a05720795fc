"""The store: versioned schema, migrations from every earlier version, clear refusals."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from wheelstats import store
from wheelstats.store import dimensions
from wheelstats.store.schema import catalog_sql


# How a hit was written before the narrow hits of version 6 (the old code's SQL, kept as it was).
WIDE_HIT_INSERT = ("INSERT INTO hits (ts, kind, project, path, source_id) VALUES "
                   "('2020-03-05 10:00:00', 'search', 'numpy', '/simple/numpy/', 1)")
WIDE_HITS_SINCE, NARROW_HITS_SINCE = 1, 6


def connect_at_version(path, version: int) -> duckdb.DuckDBPyConnection:
    """A store as version `version` of the schema left it (its first migrations alone), open."""
    con = duckdb.connect(str(path))
    for step in store.MIGRATIONS[:version]:
        step(con) if callable(step) else con.execute(step)
    con.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(version)])
    return con


def add_numpy_downloads(con, column: str, downloads: list[tuple[str, str]]) -> None:
    """Downloads of one numpy wheel, each (its time, its `column`), stored as ingest stores hits."""
    rows = ", ".join(f"('{ts}'::TIMESTAMP, 'download', 'numpy', 'numpy-1.0-py3-none-any.whl', 1, '{value}')"
                     for ts, value in downloads)
    dimensions.add_wide_hits(con, f"SELECT * FROM (VALUES {rows}) t(ts, kind, project, filename, source_id, {column})")


def make_store_at_version(path, version: int) -> None:
    con = connect_at_version(path, version)
    if version < NARROW_HITS_SINCE:
        con.execute(WIDE_HIT_INSERT)
    else:
        dimensions.add_wide_hits(con, WIDE_HIT_INSERT.replace("INSERT INTO hits (ts, kind, project, path, source_id) "
                                                              "VALUES ", "SELECT * FROM (VALUES ") +
                                 ") t(ts, kind, project, path, source_id)")
    con.close()


# Hits of every kind as a version-5 store held them (hashed and raw clients, a path the kind does
# not make, referrers, bytes, no agent), and what `hits` must show for them after the migration.
V5_HITS = [
    ("2020-03-05 10:00:00", "download", "numpy", "numpy-1.0-cp37-cp37m-linux_armv7l.whl",
     "/simple/numpy/numpy-1.0-cp37-cp37m-linux_armv7l.whl", "0123456789abcdef", 7, 1234, "https://a.example/", 1, 1),
    ("2020-03-05 10:00:01", "download", "numpy", "numpy-1.0-cp37-cp37m-linux_armv7l.whl",
     "/simple/NumPy/numpy-1.0-cp37-cp37m-linux_armv7l.whl", "fedcba9876543210", 7, 1234, None, 1, 2),
    ("2020-03-05 10:00:02", "search", "numpy", None, "/simple/numpy/", "0123456789abcdef", 8, None, None, 1, 3),
    ("2020-03-05 10:00:03", "search", "numpy", None, "/simple/numpy", "10.0.0.1", None, 5, None, 2, 1),
    ("2020-03-05 10:00:04", "project_page", "a-b", None, "/project/a_b/", "2001:db8::1", None, 5, None, 2, 2),
    ("2020-03-05 10:00:05", "json", "a-b", None, "/project/a-b/json/", None, None, 5, None, 2, 3),
    ("2020-03-05 10:00:06", "json", "a-b", None, "/project/a-b/json", None, None, 5, None, 2, 4),
    ("2020-03-05 10:00:07.123456", "page", None, None, "/faq.html", "10.0.0.1", 9, 99, "https://b.example/?q=é", 2, 5),
]


def test_a_version_5_store_migrates_to_narrow_hits_that_show_the_same_rows(tmp_path):
    path = tmp_path / "v5.duckdb"
    con = connect_at_version(path, 5)
    con.executemany("INSERT INTO hits VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", V5_HITS)
    con.execute("INSERT INTO rollup_state VALUES ('hits', 7, 8, '2020-03-06', NULL)")
    con.execute("INSERT INTO rollup_clients VALUES ('2020-03-05', 42, 'numpy', '3.7', 'armv7l', 'd', 'Linux', 'pip', "
                "false, false)")
    before = con.execute("SELECT * FROM hits ORDER BY ts").fetchall()
    con.close()
    con = store.connect(path)
    # The same rows, each with a country from version 8 on: unknown (NULL) for hits stored before, and each time
    # to the second from version 12 on (the page's 10:00:07.123456).
    assert con.execute("SELECT * FROM hits ORDER BY ts").fetchall() == [
        (row[0].replace(microsecond=0), *row[1:], None) for row in before]
    # Only the paths their kind, project and file do not make are kept; raw addresses are kept as such.
    assert sorted(r[0] for r in con.execute("SELECT path FROM hit_paths").fetchall()) == sorted([
        "/faq.html", "/project/a_b/", "/project/a-b/json", "/simple/NumPy/numpy-1.0-cp37-cp37m-linux_armv7l.whl",
        "/simple/numpy"])
    assert sorted(r[0] for r in con.execute("SELECT address FROM hit_clients WHERE address IS NOT NULL").fetchall()) \
        == ["10.0.0.1", "2001:db8::1"]
    # The rollups are rebuilt from the hits: their client numbers and the hits' rowids are new.
    assert con.execute("SELECT count(*) FROM rollup_state").fetchall() == [(0,)]
    assert con.execute("SELECT count(*) FROM rollup_clients").fetchall() == [(0,)]


@pytest.mark.parametrize("version", range(1, store.SCHEMA_VERSION + 1))
def test_every_earlier_version_migrates_to_the_current_one_keeping_its_data(tmp_path, version):
    path = tmp_path / "old.duckdb"
    make_store_at_version(path, version)
    con = store.connect(path)
    assert store.schema_version(con) == store.SCHEMA_VERSION
    assert con.execute("SELECT project, kind::VARCHAR FROM hits").fetchall() == [("numpy", "search")]


def test_a_version_8_store_loses_the_country_of_its_daily_project_and_file_rollups_which_are_rebuilt(tmp_path):
    """Version 9: rollup_projects, rollup_files and rollup_saved without the country; the next refresh makes
    them again from the hits, and one country's project-days come from the hits (refresh.country_rows_sql)."""
    from wheelstats.rollups import refresh_rollups
    from wheelstats.rollups.refresh import country_rows_sql
    from wheelstats.store.schema import ROLLUPS_WITHOUT_COUNTRY

    path = tmp_path / "v8.duckdb"
    con = connect_at_version(path, 8)
    add_numpy_downloads(con, "country", [("2020-03-05 10:00:00", "GB"), ("2020-03-05 11:00:00", "JP"),
                                         ("2020-03-05 12:00:00", "GB")])
    # The rollups as version 8 kept them, keyed by country.
    con.execute("INSERT INTO rollup_projects VALUES ('2020-03-05', 'numpy', 'unknown', 'unknown', 'unknown', "
                "'unknown', 'unknown', false, false, 2, 'GB'), ('2020-03-05', 'numpy', 'unknown', 'unknown', "
                "'unknown', 'unknown', 'unknown', false, false, 1, 'JP')")
    con.execute("INSERT INTO rollup_state VALUES ('hits', 2, 3, '2020-03-06', NULL)")
    con.close()
    con = store.connect(path)
    for table in ROLLUPS_WITHOUT_COUNTRY:
        columns = [name for (name,) in con.execute(
            f"SELECT column_name FROM duckdb_columns() WHERE table_name = '{table}'").fetchall()]
        assert columns and "country" not in columns, table
    assert con.execute("SELECT count(*) FROM rollup_projects").fetchall() == [(0,)]
    assert refresh_rollups(con).new_downloads == 3
    assert con.execute("SELECT day::VARCHAR, project, downloads FROM rollup_projects").fetchall() \
        == [("2020-03-05", "numpy", 3)]
    assert con.execute(f"SELECT country, sum(downloads) FROM ({country_rows_sql('rollup_projects')}) "
                       "GROUP BY ALL ORDER BY country").fetchall() == [("GB", 2), ("JP", 1)]
    con.close()


def test_a_version_10_store_gets_client_sets_with_its_rollups_rebuilt(tmp_path):
    """Version 11: rollup_client_sets; the rollups are emptied, and the next refresh makes them again, sets too."""
    from datetime import date

    from wheelstats.period import Period
    from wheelstats.rollups import client_sets, queries, refresh_rollups
    from wheelstats.rollups.filters import Filters

    path = tmp_path / "v10.duckdb"
    con = connect_at_version(path, 10)
    add_numpy_downloads(con, "client", [("2020-03-05 10:00:00", "c1"), ("2020-03-05 11:00:00", "c2"),
                                        ("2020-03-06 12:00:00", "c1")])
    con.execute("INSERT INTO rollup_totals VALUES ('2020-03-05', 'unknown', 'unknown', 'unknown', 'unknown', "
                "'unknown', false, false, 2)")
    con.execute("INSERT INTO rollup_state VALUES ('hits', 1, 2, '2020-03-06', NULL)")
    con.close()
    con = store.connect(path)
    assert con.execute("SELECT count(*) FROM rollup_totals").fetchall() == [(0,)]
    assert refresh_rollups(con).new_downloads == 3
    march = Period(date(2020, 3, 1), date(2020, 3, 31))
    assert client_sets.count(con, Filters(unique=True), client_sets.TOTAL, [march]) == [{"": 2}]
    assert queries.series(con, march, Filters(unique=True)) == [
        {"date": "2020-03-05", "downloads": 2}, {"date": "2020-03-06", "downloads": 1}]
    con.close()


def test_a_version_11_store_keeps_its_hits_narrower_and_shows_them_as_before(tmp_path):
    """Version 12: times to the second (cut, not rounded: 23:59:59.7 stays on its day); a file's size is the bytes
    its downloads send most; a download keeps its bytes as the difference; rollups and row ids stay."""
    path = tmp_path / "v11.duckdb"
    con = connect_at_version(path, 11)
    wheel = "numpy-1.0-py3-none-any.whl"
    dimensions.add_wide_hits(con, f"""SELECT * FROM (VALUES
        ('2020-03-05 10:00:00', 'download', 'numpy', '{wheel}', 1000, 1, 1),
        ('2020-03-05 23:59:59', 'download', 'numpy', '{wheel}', 1000, 1, 2),
        ('2020-03-06 10:00:00', 'download', 'numpy', '{wheel}', 400, 1, 3),
        ('2020-03-06 11:00:00', 'download', 'numpy-mirror', '{wheel}', 1000, 1, 4),
        ('2020-03-06 12:00:00', 'search', 'numpy', NULL, 900, 1, 5)
    ) t(ts, kind, project, filename, bytes, source_id, line_no)""")
    con.execute("UPDATE hit_rows SET ts = ts + INTERVAL 700 MILLISECONDS WHERE line_no = 2")  # as a JSON log's
    con.execute("INSERT INTO rollup_state VALUES ('hits', 4, 5, '2020-03-06', NULL)")
    before = con.execute("SELECT * REPLACE (date_trunc('second', ts) AS ts) FROM hits ORDER BY line_no").fetchall()
    con.close()
    con = store.connect(path)
    assert con.execute("SELECT * FROM hits ORDER BY line_no").fetchall() == before
    assert before[1][0].isoformat() == "2020-03-05T23:59:59"
    assert con.execute("SELECT filename, size FROM hit_files").fetchall() == [(wheel, 1000)]
    assert [bytes for (bytes,) in con.execute("SELECT bytes FROM hit_rows ORDER BY line_no").fetchall()] \
        == [0, 0, -600, 0, 900]
    assert con.execute("SELECT hits_rowid, hits_rows FROM rollup_state").fetchall() == [(4, 5)]
    con.close()


def test_a_version_12_store_counts_each_days_clients_from_its_sets(store_copy):
    """Version 13: rollup_client_day_counts, made by the next refresh from the day sets a store holds (no
    rebuild)."""
    from wheelstats.rollups import client_sets, refresh_rollups

    con = store.connect(store_copy)
    refresh_rollups(con)
    every_count = f"SELECT * FROM {client_sets.DAY_COUNTS} ORDER BY ALL"
    counts = con.execute(every_count).fetchall()
    assert len(counts) > 40
    con.execute(f"DROP TABLE {client_sets.DAY_COUNTS}")  # as version 12 left it
    con.execute("DROP TABLE rollup_project_days")
    unfold_client_facets(con)
    con.execute("UPDATE meta SET value = '12' WHERE key = 'schema_version'")
    con.close()
    con = store.connect(store_copy)
    assert con.execute(every_count).fetchall() == []
    assert refresh_rollups(con).new_hits == 0  # nothing new to roll up
    assert con.execute(every_count).fetchall() == counts
    con.close()


def test_a_version_13_store_gets_its_project_days_from_its_rollups(store_copy):
    """Version 14: rollup_project_days, made from rollup_projects (no rebuild), in day order; a refresh then
    keeps it as a full build makes it."""
    from wheelstats.rollups import refresh_rollups

    con = store.connect(store_copy)
    refresh_rollups(con)
    every_row = "SELECT * FROM rollup_project_days ORDER BY ALL"
    made = con.execute(every_row).fetchall()
    assert len(made) > 100 and sum(row[-1] for row in made) == \
        con.execute("SELECT count(*) FROM hits WHERE kind = 'download' AND project IS NOT NULL").fetchone()[0]
    con.execute("DROP TABLE rollup_project_days")  # as version 13 left it
    unfold_client_facets(con)
    con.execute("UPDATE meta SET value = '13' WHERE key = 'schema_version'")
    con.close()
    con = store.connect(store_copy)
    assert con.execute(every_row).fetchall() == made
    days = [day for (day,) in con.execute("SELECT day FROM rollup_project_days").fetchall()]
    assert days == sorted(days)
    assert refresh_rollups(con).new_hits == 0
    con.close()

def unfold_client_facets(con: duckdb.DuckDBPyConnection) -> None:
    """The distinct clients' rollup as the table it was before version 15, its rows as the view shows them."""
    con.execute("CREATE TABLE rollup_clients_before AS SELECT * FROM rollup_clients")
    con.execute("DROP VIEW rollup_clients")
    con.execute("DROP TABLE rollup_client_rows")
    con.execute("DROP TABLE rollup_facets")
    con.execute("ALTER TABLE rollup_clients_before RENAME TO rollup_clients")


def test_a_version_14_store_keeps_its_clients_facets_as_one_number_from_its_rollups(store_copy):
    """Version 15: rollup_client_rows with each row's facets as a number (rollup_facets), made from the table
    rollup_clients was (no rebuild), which the view of that name shows as it was; a refresh then goes on."""
    from wheelstats.rollups import refresh_rollups

    con = store.connect(store_copy)
    refresh_rollups(con)
    every_row = "SELECT * FROM rollup_clients ORDER BY ALL"
    rows = con.execute(every_row).fetchall()
    assert len(rows) > 100
    unfold_client_facets(con)
    con.execute("UPDATE meta SET value = '14' WHERE key = 'schema_version'")
    con.close()
    con = store.connect(store_copy)
    assert con.execute(every_row).fetchall() == rows
    assert [name for (name,) in con.execute("SELECT column_name FROM duckdb_columns() "
                                            "WHERE table_name = 'rollup_client_rows'").fetchall()] \
        == ["day", "client", "project", "facet_id", "country"]
    combinations = con.execute("SELECT count(*), count(DISTINCT (python, cpu, distro, os, installer, ci, bot)) "
                               "FROM rollup_facets").fetchone()
    assert combinations[0] == combinations[1] > 1
    assert refresh_rollups(con).new_hits == 0  # nothing rebuilt
    assert con.execute(every_row).fetchall() == rows
    con.close()


def test_a_fresh_store_has_the_current_version(tmp_path):
    con = store.connect(tmp_path / "new.duckdb")
    assert store.schema_version(con) == store.SCHEMA_VERSION


def every_row(con) -> dict[str, list[tuple]]:
    tables = con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()").fetchall()
    return {table: sorted(con.execute(f'SELECT * FROM "{table}"').fetchall()) for (table,) in tables}


def test_a_new_store_made_at_once_is_the_store_every_migration_makes_one_by_one(tmp_path):
    """New stores run store/schema.sql, written by scripts/schema-sql: after a new migration, run it again."""
    new = store.connect(tmp_path / "new.duckdb")
    stepwise = connect_at_version(tmp_path / "stepwise.duckdb", store.SCHEMA_VERSION)
    assert catalog_sql(new) == catalog_sql(stepwise)
    assert every_row(new) == every_row(stepwise)
    assert dict(new.execute("SELECT * FROM meta").fetchall()).keys() == {"schema_version", "line_hash_probe"}


def test_a_store_from_a_newer_wheelstats_is_refused(tmp_path):
    path = tmp_path / "future.duckdb"
    store.connect(path).execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    with pytest.raises(store.StoreError, match="schema version 999, newer than this wheelstats understands"):
        store.connect(path)


def test_read_only_open_of_an_old_store_migrates_it_first(tmp_path):
    path = tmp_path / "old.duckdb"
    make_store_at_version(path, 1)
    con = store.connect(path, read_only=True)
    assert store.schema_version(con) == store.SCHEMA_VERSION
    assert con.execute("SELECT count(*) FROM hits").fetchall() == [(1,)]


def hold_lock(path, seconds: float):
    """A process holding the store for `seconds`; it writes <path>.letting-go just before it lets go."""
    import subprocess
    import sys

    marker = f"{path}.letting-go"
    holder = subprocess.Popen(
        [sys.executable, "-c", (
            f"import duckdb, time; c = duckdb.connect({str(path)!r}); print('held', flush=True); "
            f"time.sleep({seconds}); open({marker!r}, 'w').close(); c.close(); time.sleep(60)"
        )],
        stdout=subprocess.PIPE, text=True,
    )
    assert holder.stdout.readline() == "held\n"
    return holder


def test_open_waits_while_another_process_holds_the_store(tmp_path):
    path = tmp_path / "s.duckdb"
    store.connect(path).close()
    holder = hold_lock(path, 1.5)
    try:
        con = store.connect(path, read_only=True, wait_seconds=30)
        assert store.schema_version(con) == store.SCHEMA_VERSION
        assert Path(f"{path}.letting-go").exists()  # it got in only after the holder let go
    finally:
        holder.kill()
        holder.wait()


def test_open_gives_up_with_a_clear_error_when_the_store_stays_busy(tmp_path):
    path = tmp_path / "s.duckdb"
    store.connect(path).close()
    holder = hold_lock(path, 10)
    try:
        with pytest.raises(store.StoreError, match="is in use by another process. Wait for it to finish, or stop it."):
            store.connect(path, read_only=True, wait_seconds=0.5)
    finally:
        holder.kill()
        holder.wait()


# -- only a store is ever opened, and a file that is not one is left as it was ---------------------------
# (every command's refusal of a foreign DuckDB file and of a store cut to half: tests/faults/test_stores.py)

def test_a_foreign_duckdb_file_with_a_pending_wal_is_not_checkpointed_by_the_refusal(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "other.duckdb"
    script = (  # a process that dies with its last insert only in the WAL
        "import duckdb, os; c = duckdb.connect({0!r}); c.execute('CREATE TABLE dogs (name VARCHAR)');"
        "c.execute('CHECKPOINT'); c.execute(\"SET checkpoint_threshold = '1GB'\");"
        "c.execute(\"INSERT INTO dogs VALUES ('Cleo')\"); os._exit(0)"
    ).format(str(path))
    subprocess.run([sys.executable, "-c", script], check=True)
    wal = tmp_path / "other.duckdb.wal"
    assert wal.exists()
    before = (path.read_bytes(), wal.read_bytes())
    with pytest.raises(store.NotAStore):
        store.connect(path)
    assert (path.read_bytes(), wal.read_bytes()) == before


def test_a_store_from_a_newer_wheelstats_is_left_as_it_was(tmp_path):
    path = tmp_path / "future.duckdb"
    con = store.connect(path)
    con.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    con.close()
    before = path.read_bytes()
    for read_only in (True, False):
        with pytest.raises(store.NewerStore):
            store.connect(path, read_only=read_only)
    assert path.read_bytes() == before


def cut_store(tmp_path, keep: float):
    whole = tmp_path / "whole.duckdb"
    con = store.connect(whole)
    dimensions.add_wide_hits(con, "SELECT TIMESTAMP '2020-03-05' + INTERVAL (i) SECOND AS ts, 'search' AS kind, "
                             "'p' || (i % 100) AS project, '/simple/p/' AS path, 1 AS source_id FROM range(300000) t(i)")
    con.execute("CHECKPOINT")
    con.close()
    data = whole.read_bytes()
    cut = tmp_path / "cut.duckdb"
    cut.write_bytes(data[: int(len(data) * keep)])
    return cut, len(data)


def test_a_store_cut_inside_its_headers_is_called_damaged(tmp_path):
    cut, _ = cut_store(tmp_path, 0.0001)
    with pytest.raises(store.StoreDamaged, match=r"is damaged \(cut short: [\d,]+ bytes, less than DuckDB's headers\)"):
        store.connect(cut, read_only=True)


@pytest.mark.parametrize(("make", "message"), [
    (lambda p: p.mkdir(), "{p!r} is not a wheelstats store (it is a folder). Pass the store's file with --db, e.g. stats.duckdb."),
    (lambda p: p.write_bytes(b""), "{p!r} is not a wheelstats store (an empty file). Delete it to make a new store there, or pass another --db."),
    (lambda p: p.write_text("a note"), "{p!r} is not a wheelstats store (not a DuckDB file). Pass the store's path with --db."),
], ids=["folder", "empty file", "text file"])
def test_what_is_not_a_duckdb_file_is_refused_for_reading_and_writing(tmp_path, make, message):
    path = tmp_path / "s.duckdb"
    make(path)
    for read_only in (True, False):
        with pytest.raises(store.NotAStore) as error:
            store.connect(path, read_only=read_only)
        assert str(error.value) == message.format(p=str(path))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.duckdb"]


def test_an_empty_duckdb_database_becomes_a_store_only_when_written(tmp_path):
    path = tmp_path / "s.duckdb"
    duckdb.connect(str(path)).close()
    with pytest.raises(store.NoStore) as error:
        store.connect(path, read_only=True)
    assert str(error.value) == (
        f"No store at {str(path)!r} (an empty DuckDB database). Run `wheelstats ingest` first, or pass --db."
    )
    con = store.connect(path)
    assert store.schema_version(con) == store.SCHEMA_VERSION


def test_a_read_never_makes_a_store_and_a_write_needs_its_folder(tmp_path):
    with pytest.raises(store.NoStore):
        store.connect(tmp_path / "s.duckdb", read_only=True)
    missing = tmp_path / "no" / "such" / "s.duckdb"
    with pytest.raises(store.StoreError) as error:
        store.connect(missing)
    assert str(error.value) == (
        f"Cannot make the store {str(missing)!r}: the folder {str(missing.parent)!r} does not exist. "
        "Create it, or pass another --db."
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_processes_making_one_new_store_at_once_all_get_it(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "s.duckdb"
    go = tmp_path / "go"
    script = (
        "import os, time\n"
        "from wheelstats import store\n"
        f"while not os.path.exists({str(go)!r}): time.sleep(0.001)\n"
        f"con = store.connect({str(path)!r}, wait_seconds=60)\n"
        "print(store.schema_version(con))\n"
    )
    children = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True) for _ in range(6)]
    go.touch()
    results = [child.communicate(timeout=120) for child in children]
    assert [(child.returncode, out, err) for child, (out, err) in zip(children, results)] == \
        [(0, f"{store.SCHEMA_VERSION}\n", "")] * 6


def test_a_store_another_process_is_still_making_is_waited_for_not_called_empty(tmp_path, monkeypatch):
    """The file exists but is empty while its maker holds DuckDB's lock: look again once the lock is free."""
    import subprocess
    import sys
    import threading

    from wheelstats.store import connection

    made = tmp_path / "made.duckdb"
    store.connect(made).close()
    path = tmp_path / "s.duckdb"
    maker = subprocess.Popen(  # holds the lock on an empty file, as DuckDB does while it makes a store
        [sys.executable, "-c", (
            "import fcntl, shutil, sys\n"
            f"out = open({str(path)!r}, 'wb'); fcntl.lockf(out, fcntl.LOCK_EX)\n"
            "print('held', flush=True); sys.stdin.readline()\n"
            f"out.write(open({str(made)!r}, 'rb').read()); out.flush(); fcntl.lockf(out, fcntl.LOCK_UN)\n"
        )], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert maker.stdout.readline() == "held\n"
        looked = threading.Event()
        problem = connection._problem

        def spied_problem(p, **options):
            found = problem(p, **options)
            looked.set()
            return found

        monkeypatch.setattr(connection, "_problem", spied_problem)
        opened = {}

        def read() -> None:
            try:
                opened["con"] = store.connect(path, read_only=True)
            except store.StoreError as error:
                opened["error"] = str(error)

        reader = threading.Thread(target=read)
        reader.start()
        assert looked.wait(30)  # it has seen the empty file: now let the maker finish
        maker.stdin.write("go\n")
        maker.stdin.flush()
        reader.join(60)
        assert "error" not in opened, opened["error"]
        assert store.schema_version(opened["con"]) == store.SCHEMA_VERSION
    finally:
        maker.kill()
        maker.wait()


def test_a_store_whose_last_blocks_are_free_is_not_called_damaged(tmp_path):
    """DuckDB cuts free blocks off a store's end but still counts them in its header: that is no damage."""
    from kit.logs import log_line, write_log
    from wheelstats.ingest import ingest_paths
    from wheelstats.rollups import refresh_rollups
    from wheelstats.store.connection import HEADER_BYTES, _block_count

    db, shorter_than_counted = tmp_path / "s.duckdb", []
    for batch in range(1, 6):  # small batches into one store, as the index server's feeder writes them
        log = write_log(tmp_path / "access.log", [log_line(n) for n in range(3 * batch)])
        con = store.connect(db)
        con.execute("SET threads = 1")
        ingest_paths(con, [log], ip_mode="none")
        refresh_rollups(con)
        con.close()
        counted = _block_count(db.read_bytes()[:HEADER_BYTES]).file_size
        shorter_than_counted.append(db.stat().st_size < counted)
        con = store.connect(db, read_only=True)  # not damaged
        assert con.execute("SELECT count(*) FROM hits").fetchone()[0] == 3 * batch
        con.close()
    assert any(shorter_than_counted)  # the case this test is about did happen


def test_all_threads_lets_duckdb_use_every_core_meanwhile_and_gives_the_setting_back_even_after_an_error(tmp_path):
    con = store.connect(tmp_path / "s.duckdb")
    every_core = con.execute("SELECT current_setting('threads')").fetchall()[0][0]
    con.execute("SET threads = 1")  # as an ingest's connection while it writes blocks

    def threads() -> int:
        return con.execute("SELECT current_setting('threads')").fetchall()[0][0]

    with store.all_threads(con):
        assert threads() == every_core
    assert threads() == 1
    with pytest.raises(duckdb.CatalogException), store.all_threads(con):
        con.execute("SELECT * FROM no_such_table")
    assert threads() == 1
    con.close()


@pytest.mark.parametrize("context", [store.transaction, store.all_threads])
def test_a_transaction_left_open_by_a_signal_is_closed_quietly_after_its_connection(tmp_path, monkeypatch, context):
    """A signal right after BEGIN (or RESET threads), before the `with` took the context over, leaves its generator
    suspended; the command stops and closes the store (which rolls the transaction back), and the garbage collector
    closes the generator later: it must not print a traceback under the command's one line (test_signals found one)."""
    import gc
    import sys

    unraisable = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    con = store.connect(tmp_path / "s.duckdb")
    left_open = context(con)
    left_open.__enter__()  # BEGIN; no `with` ever calls __exit__
    con.close()
    del left_open
    gc.collect()
    assert unraisable == []
    con = store.connect(tmp_path / "s.duckdb")
    assert con.execute("SELECT count(*) FROM meta").fetchone()[0] > 0  # the store is whole
    con.close()
