"""The lake on Apache Spark (local[2]): the same summary and report as the store it was exported from."""

from __future__ import annotations

import pytest

from wheelstats.lake import Lake, LakeError
from wheelstats.lake.spark import register_lake, spark_session

from kit.lakes import PERIOD, invoke, runner
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
