"""The lake on Apache Spark (local[2]): the same summary and report as the store it was exported from."""

from __future__ import annotations

import json
import shutil
import signal

import pytest

from wheelstats.lake import Lake, LakeError
from wheelstats.lake.spark import register_lake, spark_session

from kit.faults import finish, start_wheelstats, wheelstats
from kit.lakes import PERIOD, invoke, runner
from kit.processes import wait_until
from wheelstats.cli import app


@pytest.fixture(scope="module")
def spark():
    """One Spark session for the module: the commands below find it running and use it."""
    session = spark_session("local[2]", ["spark.sql.shuffle.partitions=4"])
    yield session
    session.stop()


@pytest.fixture(scope="module")
def lake(deployment, tmp_path_factory):
    folder = tmp_path_factory.mktemp("spark") / "lake"
    invoke("export", "--db", deployment / "s.duckdb", "--lake", folder)
    return folder


def test_the_summary_on_spark_is_the_stores(spark, lake, deployment):
    assert invoke("summary", "--json", "--lake", lake, "--engine", "spark") == \
        invoke("summary", "--json", "--db", deployment / "s.duckdb")


def test_the_report_on_spark_is_the_stores(spark, lake, deployment, tmp_path):
    said = invoke("report", "--period", PERIOD, "--lake", lake, "--engine", "spark", "--out", tmp_path)
    assert said.startswith(f"Report written to {tmp_path}/report.md")
    store_report = deployment / "report"
    assert (tmp_path / "report.json").read_bytes() == (store_report / "report.json").read_bytes()
    assert (tmp_path / "report.md").read_text() == (store_report / "report.md").read_text()


def test_spark_reads_only_committed_files(spark, lake, tmp_path):
    register_lake(spark, Lake.at(lake))
    committed = spark.sql("SELECT count(*) FROM hits").collect()[0][0]
    some_day = next((lake / "hits").iterdir())
    for part in list(some_day.glob("*.parquet")):
        (some_day / f"uncommitted-{part.name}").write_bytes(part.read_bytes())
    register_lake(spark, Lake.at(lake))
    assert spark.sql("SELECT count(*) FROM hits").collect()[0][0] == committed


def test_spark_needs_a_lake(spark, tmp_path):
    result = runner.invoke(app, ["summary", "--engine", "spark", "--db", str(tmp_path / "s.duckdb")])
    assert result.exit_code == 1
    assert "--engine spark reads a lake: give --lake (a store is read on DuckDB)." in result.output
    with pytest.raises(LakeError, match="is not a lake"):
        register_lake(spark, Lake.at(tmp_path))


LOG_DAYS = 14         # the deployment's last days of logs: Spark's tests stay short
LOGS_PERIOD = "2020-03"


@pytest.fixture(scope="module")
def logs(deployment) -> list:
    return sorted((deployment / "sim" / "logs").iterdir())[-LOG_DAYS:]


@pytest.fixture(scope="module")
def logs_store(logs, tmp_path_factory):
    """Those logs alone, ingested into a store: what a lake ingested on Spark must equal."""
    db = tmp_path_factory.mktemp("logs") / "logs.duckdb"
    invoke("ingest", *logs, "--db", db)
    return db


def test_logs_ingested_on_spark_give_the_stores_summary_and_report(spark, logs, logs_store, tmp_path):
    lake = tmp_path / "lake"
    said = invoke("ingest", *logs, "--lake", lake, "--engine", "spark")
    store_summary = json.loads(invoke("summary", "--json", "--db", logs_store))
    assert said.startswith(f"lines read = hits + ignored + rejected: {store_summary['lines']:,} = ")
    assert said.endswith(f"from {len(logs)} logs into the lake {lake}\n")
    assert invoke("summary", "--json", "--lake", lake) == invoke("summary", "--json", "--db", logs_store)
    invoke("report", "--period", LOGS_PERIOD, "--db", logs_store, "--out", tmp_path / "from-store")
    invoke("report", "--period", LOGS_PERIOD, "--lake", lake, "--out", tmp_path / "from-lake")  # Spark's: above
    assert (tmp_path / "from-lake" / "report.json").read_bytes() == \
        (tmp_path / "from-store" / "report.json").read_bytes()
    ledger_entries = sorted((lake / "_ledger").iterdir())
    assert invoke("ingest", *logs, "--lake", lake, "--engine", "spark").startswith(
        "lines read = hits + ignored + rejected: 0 = 0 + 0 + 0")
    assert sorted((lake / "_ledger").iterdir()) == ledger_entries


def test_a_grown_log_adds_only_its_new_lines_on_spark(spark, tmp_path):
    invoke("sample-log", "--lines", "4000", "--out", tmp_path / "whole.log")
    lines = (tmp_path / "whole.log").read_text().splitlines(keepends=True)
    log, lake, db = tmp_path / "access.log", tmp_path / "lake", tmp_path / "s.duckdb"
    log.write_text("".join(lines[:1500]))
    invoke("ingest", log, "--lake", lake, "--engine", "spark")
    with log.open("a") as file:
        file.write("".join(lines[1500:]))
    said = invoke("ingest", log, "--lake", lake, "--engine", "spark")
    assert said.startswith("lines read = hits + ignored + rejected: 2,500 = ")
    invoke("ingest", log, "--db", db)
    assert invoke("summary", "--json", "--lake", lake) == invoke("summary", "--json", "--db", db)


def test_a_driver_killed_half_way_and_run_again_gives_one_runs_totals(logs, logs_store, tmp_path):
    lake = tmp_path / "lake"
    args = ("ingest", *logs, "--lake", lake, "--engine", "spark", "--spark-master", "local[2]")
    process = start_wheelstats(*args, folder=tmp_path)
    wait_until(lambda: (lake / "_staging").is_dir() or process.poll() is not None, timeout=300,
               what="the Spark job staging its files")
    process.send_signal(signal.SIGKILL)
    finish(process, tmp_path)
    assert wheelstats(*args).code == 0
    assert invoke("summary", "--json", "--lake", lake) == invoke("summary", "--json", "--db", logs_store)


def test_logs_into_an_exported_lake_are_hashed_with_its_stores_key(spark, tmp_path):
    db, lake = tmp_path / "s.duckdb", tmp_path / "lake"
    for seed in (0, 1):
        invoke("sample-log", "--lines", "800", "--seed", seed, "--out", tmp_path / f"{seed}.log")
    invoke("ingest", tmp_path / "0.log", "--db", db)
    invoke("export", "--db", db, "--lake", lake)
    result = runner.invoke(app, ["ingest", str(tmp_path / "1.log"), "--lake", str(lake), "--engine", "spark"])
    assert result.exit_code == 1
    assert "The lake's clients were hashed with another key than" in result.output
    shutil.copy(f"{db}.key", lake / "_lake.key")
    invoke("ingest", tmp_path / "1.log", "--lake", lake, "--engine", "spark")
    invoke("ingest", tmp_path / "1.log", "--db", db)
    assert invoke("summary", "--json", "--lake", lake) == invoke("summary", "--json", "--db", db)
    invoke("report", "--period", "2025-11", "--db", db, "--out", tmp_path / "from-store")
    invoke("report", "--period", "2025-11", "--lake", lake, "--out", tmp_path / "from-lake")
    assert (tmp_path / "from-lake" / "report.json").read_bytes() == \
        (tmp_path / "from-store" / "report.json").read_bytes()   # unique clients counted across both logs
