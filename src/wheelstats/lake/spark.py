"""The lake on Apache Spark: a session set up as wheelstats needs it, and the lake's tables as its views.

The views are those reading.py gives DuckDB, with the same names and the same
SQL for the hits, so the report's Ibis queries run on Spark unchanged. Spark's
settings come from where Spark reads them (SPARK_HOME's spark-defaults.conf,
spark-submit), then `master` and `conf` as given; the session is always in UTC.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable

from wheelstats.lake import ledger
from wheelstats.lake.layout import HITS, SNAPSHOT_TABLES, Lake, LakeError
from wheelstats.lake.reading import NO_HITS_SQL, lake_hits_sql

APP_NAME = "wheelstats"


class SparkMissing(LakeError):
    def __init__(self) -> None:
        super().__init__("--engine spark needs PySpark and Java 17: pip install 'wheelstats[spark]' "
                         "(and Debian's openjdk-17-jre-headless).")


def spark_session(master: str | None = None, conf: Iterable[str] = ()):
    """A Spark session (the running one if there is one), in UTC. `conf`: key=value settings."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise SparkMissing() from None
    builder = (SparkSession.builder.appName(APP_NAME).config("spark.sql.session.timeZone", "UTC")
               .config("spark.ui.showConsoleProgress", "false"))  # a command prints its own lines
    if master is not None:
        builder = builder.master(master)
    if master is None or master.startswith("local"):
        # Local executors run this Python, which has wheelstats; a cluster's come from PYSPARK_PYTHON.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    for setting in conf:
        key, equals, value = setting.partition("=")
        if not equals or not key:
            raise LakeError(f"--conf {setting!r} is not key=value (e.g. --conf spark.executor.memory=4g).")
        builder = builder.config(key, value)
    return builder.getOrCreate()


def register_lake(spark, lake: Lake) -> None:
    """Make the lake's committed tables the session's temporary views, named as the store's tables."""
    state = ledger.committed_state(lake)
    hit_files = state.table_files(HITS)
    if hit_files:
        hits = (spark.read.option("basePath", lake.uri(HITS)).option("mergeSchema", "true")
                .parquet(*map(lake.uri, hit_files)))
        hits.createOrReplaceTempView("lake_hits")
        spark.sql("CREATE OR REPLACE TEMP VIEW hits AS " + lake_hits_sql("lake_hits", hits.columns))
    else:
        spark.sql("CREATE OR REPLACE TEMP VIEW hits AS " + NO_HITS_SQL)
    for table in SNAPSHOT_TABLES:
        files = state.table_files(table)
        if files:
            spark.read.parquet(*map(lake.uri, files)).createOrReplaceTempView(table)
