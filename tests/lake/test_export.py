"""A store exported into a lake, and read back: the same summary and report, nothing added twice, nothing half."""

from __future__ import annotations

import shutil
import signal
from datetime import date, datetime, time, timedelta
from pathlib import Path

import duckdb
import pytest
from wheelstats.cli import app
from wheelstats.lake import Lake, LakeError, export_store, open_lake
from wheelstats.lake.ledger import read_state
from wheelstats.period import parse_period
from wheelstats.stats.tables import download_rows, open_tables, tables_on
from wheelstats.store.summary import summarise

from kit.faults import finish, start_wheelstats, wheelstats
from kit.lakes import PERIOD, invoke, invoke_json, runner
from kit.processes import wait_until

def lake_summary(lake: Path) -> dict:
    con = open_lake(Lake.at(lake))
    try:
        return summarise(con).as_json()
    finally:
        con.close()


def test_a_lake_gives_the_stores_summary_and_report(deployment, tmp_path):
    lake = tmp_path / "lake"
    said = invoke("export", "--db", deployment / "s.duckdb", "--lake", lake)
    assert said.startswith("Exported ") and "rewrote agents, files, builds" in said
    assert invoke("summary", "--json", "--lake", lake) == invoke("summary", "--json", "--db", deployment / "s.duckdb")
    invoke("report", "--period", PERIOD, "--lake", lake, "--out", tmp_path / "report")
    store_report = deployment / "report"
    assert (tmp_path / "report" / "report.json").read_bytes() == (store_report / "report.json").read_bytes()
    assert (tmp_path / "report" / "report.md").read_text() == (store_report / "report.md").read_text()
    assert sorted(p.name for p in (tmp_path / "report" / "charts").iterdir()) == \
        sorted(p.name for p in (store_report / "charts").iterdir())
    # PyPI's names where the two overlap: a download's file and details are nested as in `file_downloads`.
    con = open_lake(Lake.at(lake))
    row = con.execute(f"""SELECT file.filename, file.type, details.installer.name, details.system.name
                          FROM {_raw_hits(lake)} WHERE kind = 'download' AND details.installer.name = 'pip'
                          LIMIT 1""").fetchone()
    assert row[0].endswith(".whl") and row[1] == "bdist_wheel" and row[2] == "pip" and row[3] == "Linux"


def test_a_window_of_time_reads_the_hits_files_of_its_days_alone(deployment, tmp_path):
    """The hits of a period are found by their partitions: a file of a day outside the period, spoilt after the
    lake is opened, is never read (a bound on the time alone reads every file's footer); one inside is."""
    lake = tmp_path / "lake"
    invoke("export", "--db", deployment / "s.duckdb", "--lake", lake)
    con = open_lake(Lake.at(lake))
    spoilt = sorted((lake / "hits").glob("date=2019-06-*/*.parquet"))[9]
    day = date.fromisoformat(spoilt.parent.name.removeprefix("date="))
    spoilt.write_bytes(b"not a Parquet file")
    tables, store_tables = tables_on(con), open_tables(deployment / "s.duckdb")
    for text in (PERIOD, f"2019-06-01..{day - timedelta(days=1)}", f"{day + timedelta(days=1)}..2019-06-30"):
        period = parse_period(text)
        counted = download_rows(tables, period.start_ts, period.end_ts).count().execute()
        assert counted == download_rows(store_tables, period.start_ts, period.end_ts).count().execute() > 0, text
    with pytest.raises(duckdb.Error):
        download_rows(tables, datetime.combine(day, time(23)), datetime.combine(day, time(23, 30))).count().execute()


def test_exporting_again_adds_nothing(deployment, tmp_path):
    lake = tmp_path / "lake"
    invoke("export", "--db", deployment / "s.duckdb", "--lake", lake)
    before = read_state(Lake.at(lake))
    said = invoke("export", "--db", deployment / "s.duckdb", "--lake", lake)
    assert said == f"The lake {lake} already holds everything in the store; nothing was added.\n"
    assert read_state(Lake.at(lake)) == before


def test_a_grown_log_adds_only_its_new_lines(tmp_path):
    db, lake, log = tmp_path / "s.duckdb", tmp_path / "lake", tmp_path / "access.log"
    invoke("sample-log", "--lines", "3000", "--out", tmp_path / "whole.log")
    lines = (tmp_path / "whole.log").read_text().splitlines(keepends=True)
    log.write_text("".join(lines[:1000]))
    invoke("ingest", log, "--db", db)
    first = export_store(db, Lake.at(lake))
    with log.open("a") as file:
        file.write("".join(lines[1000:]))
    invoke("ingest", log, "--db", db)
    second = export_store(db, Lake.at(lake))
    held = lake_summary(lake)
    assert held == invoke_json("summary", "--json", "--db", db)
    assert first.hits + second.hits == held["downloads"] + held["searches"] + held["project_pages"] + \
        held["json"] + held["pages"]
    assert 0 < second.hits < held["downloads"] + held["searches"]
    assert second.sources == 1


def test_a_source_the_store_forgot_stops_the_export(tmp_path):
    db, lake = tmp_path / "s.duckdb", tmp_path / "lake"
    invoke("sample-log", "--lines", "500", "--out", tmp_path / "a.log")
    invoke("ingest", tmp_path / "a.log", "--db", db)
    invoke("export", "--db", db, "--lake", lake)
    invoke("forget", tmp_path / "a.log", "--db", db)
    result = runner.invoke(app, ["export", "--db", str(db), "--lake", str(lake)])
    assert result.exit_code == 1
    assert "which the store no longer holds (forgotten or replaced since the last export)" in result.output


def test_a_killed_export_leaves_nothing_half_and_a_rerun_gives_the_whole(deployment, tmp_path):
    lake = tmp_path / "lake"
    process = start_wheelstats("export", "--db", deployment / "s.duckdb", "--lake", lake, folder=tmp_path)
    wait_until(lambda: any((lake / "_staging").glob("*/hits/*")) or process.poll() is not None,
               timeout=120, what="the export staging its first hits")
    process.send_signal(signal.SIGKILL)
    finish(process, tmp_path)
    state = read_state(Lake.at(lake))
    if state.entries:   # the job got to its commit before the kill: then it is whole
        assert lake_summary(lake) == invoke_json("summary", "--json", "--db", deployment / "s.duckdb")
    assert wheelstats("export", "--db", deployment / "s.duckdb", "--lake", lake).code == 0
    assert lake_summary(lake) == invoke_json("summary", "--json", "--db", deployment / "s.duckdb")
    assert not (lake / "_staging").exists()


def test_files_no_committed_job_lists_are_never_read_and_are_removed(deployment, tmp_path):
    lake = tmp_path / "lake"
    export_store(deployment / "s.duckdb", Lake.at(lake))
    whole = lake_summary(lake)
    # A job killed after renaming its files into place, before its ledger entry: files no entry lists.
    listed = read_state(Lake.at(lake)).table_files("hits")[0]
    orphan = (lake / listed).with_name("part-killed-0.parquet")
    shutil.copy(lake / listed, orphan)
    assert lake_summary(lake) == whole
    export_store(deployment / "s.duckdb", Lake.at(lake))
    assert not orphan.exists()
    assert lake_summary(lake) == whole


def test_what_is_not_a_lake_is_refused(tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "notes.txt").write_text("mine")
    with pytest.raises(LakeError, match="is a folder with other files in it, not a lake"):
        Lake.at(tmp_path / "full").create()
    result = runner.invoke(app, ["summary", "--lake", str(tmp_path / "full")])
    assert result.exit_code == 1
    assert "is not a lake (it has no _lake.json)" in result.output
    result = runner.invoke(app, ["report", "--period", "2020", "--lake", str(tmp_path), "--db", "x", "--out", "r"])
    assert "Give --db or --lake, not both" in result.output


def _raw_hits(lake: Path) -> str:
    from wheelstats.lake.reading import parquet_files

    return parquet_files(Lake.at(lake), read_state(Lake.at(lake)).table_files("hits"))


def test_the_lake_keeps_each_hits_country_as_pypi_names_it(tmp_path):
    db, lake = tmp_path / "s.duckdb", tmp_path / "lake"
    invoke("sample-log", "--lines", "2000", "--out", tmp_path / "a.log")
    invoke("ingest", tmp_path / "a.log", "--db", db)
    export_store(db, Lake.at(lake))
    con = open_lake(Lake.at(lake))
    in_lake = dict(con.execute(f"SELECT country_code, count(*) FROM {_raw_hits(lake)} GROUP BY ALL").fetchall())
    con.close()

    store_con = duckdb.connect(str(db), read_only=True)
    in_store = dict(store_con.execute("SELECT country, count(*) FROM hit_rows GROUP BY ALL").fetchall())
    store_con.close()
    assert in_lake == in_store and len(in_store) > 3


def test_hits_files_of_two_versions_are_read_together_by_column_name(tmp_path):
    """Hits files written before country_code and after it, in one lake: every hit is read, the older files'
    countries are unknown and the newer ones' are kept (the files' columns are united by name, where a lake whose
    files all have the same columns is read from one file's schema)."""
    db, lake = tmp_path / "s.duckdb", tmp_path / "lake"
    invoke("sample-log", "--lines", "2000", "--out", tmp_path / "a.log")
    invoke("ingest", tmp_path / "a.log", "--db", db)
    export_store(db, Lake.at(lake))
    files = sorted((lake / "hits").rglob("*.parquet"))
    older, newer = files[: len(files) // 2], files[len(files) // 2:]
    [(known_in_newer,)] = duckdb.sql(f"SELECT count(country_code) FROM read_parquet({[str(p) for p in newer]})").fetchall()
    for path in older:
        _as_version_1_wrote_it(path)
    in_older = duckdb.sql(f"SELECT count(*) FROM read_parquet({[str(p) for p in older]})").fetchall()[0][0]
    con = open_lake(Lake.at(lake))
    read = dict(con.execute("SELECT country IS NULL, count(*) FROM hits GROUP BY ALL").fetchall())
    con.close()
    store_con = duckdb.connect(str(db), read_only=True)
    [(stored,)] = store_con.execute("SELECT count(*) FROM hit_rows").fetchall()
    store_con.close()
    assert 0 < in_older < stored
    assert sum(read.values()) == stored and read.get(False, 0) == known_in_newer > 0


def _as_version_1_wrote_it(path: Path) -> None:
    """Rewrites a hits file without country_code, as lake version 1 wrote them."""
    duckdb.sql(f"COPY (SELECT * EXCLUDE (country_code) FROM '{path}') TO '{path}.v1' (FORMAT parquet)")
    path.with_name(path.name + ".v1").rename(path)


def test_a_lake_of_version_1_is_read_and_brought_to_this_version_by_the_next_job(tmp_path):
    """Version 1's hits have no country_code: they are read with unknown countries, and a job then writes the
    manifest of this version without rewriting them; a lake of a version to come is refused in one line."""
    import json

    from wheelstats.lake.layout import LAKE_VERSION

    db, lake = tmp_path / "s.duckdb", tmp_path / "lake"
    invoke("sample-log", "--lines", "2000", "--out", tmp_path / "a.log")
    invoke("ingest", tmp_path / "a.log", "--db", db)
    export_store(db, Lake.at(lake))
    for path in (lake / "hits").rglob("*.parquet"):
        _as_version_1_wrote_it(path)
    manifest = lake / "_lake.json"
    manifest.write_text(json.dumps({"format": "wheelstats-lake", "version": 1}))
    hits_before = {path: path.stat().st_mtime_ns for path in (lake / "hits").rglob("*.parquet")}

    said = invoke_json("summary", "--json", "--lake", lake)
    assert said == invoke_json("summary", "--json", "--db", db)
    con = open_lake(Lake.at(lake))
    assert con.execute("SELECT DISTINCT country FROM hits").fetchall() == [(None,)]
    con.close()
    assert json.loads(manifest.read_text())["version"] == 1  # reading writes nothing

    invoke("ingest", tmp_path / "a.log", "--db", db)  # nothing new: the export job commits nothing
    invoke("export", "--db", db, "--lake", lake)
    assert json.loads(manifest.read_text())["version"] == LAKE_VERSION
    assert {path: path.stat().st_mtime_ns for path in (lake / "hits").rglob("*.parquet")} == hits_before
    assert invoke_json("summary", "--json", "--lake", lake) == said

    manifest.write_text(json.dumps({"format": "wheelstats-lake", "version": LAKE_VERSION + 1}))
    result = runner.invoke(app, ["summary", "--lake", str(lake)])
    assert result.exit_code == 1
    assert f"is a lake of version {LAKE_VERSION + 1}; this wheelstats reads versions up to {LAKE_VERSION}" \
        in " ".join(result.output.split())


def test_a_lake_on_an_object_store_is_refused_in_one_line_and_file_uris_are_folders(deployment, tmp_path):
    result = runner.invoke(app, ["export", "--db", str(deployment / "s.duckdb"), "--lake", "s3a://bucket/lake"])
    assert result.exit_code == 1
    assert result.output == (
        "Error: s3a://bucket/lake is not a folder, and a lake is one (a path or file://; on a cluster, mounted at the "
        "same path on every machine): s3a:// is not read yet. Mount it and give its folder.\n")
    assert not Path("s3a:").exists()
    lake = tmp_path / "lake"
    result = runner.invoke(app, ["export", "--db", str(deployment / "s.duckdb"), "--lake", f"file://{lake}"])
    assert result.exit_code == 0, result.output
    assert Lake.at(f"file://{lake}") == Lake.at(lake) and Lake.at(lake).exists()
    assert Lake.at(lake).uri("hits") == f"file://{lake}/hits"
