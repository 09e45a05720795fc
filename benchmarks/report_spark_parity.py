"""Check that the report's queries give the same figures on PySpark as on DuckDB.

    .venv/bin/pip install 'pyspark>=3.5,<4.1'   # not a wheelstats dependency; needs Java 17
    .venv/bin/python benchmarks/report_spark_parity.py [--store S.duckdb] [--period 2020-Q1]

Without --store, it builds the tests' small store of known rows. The store's four
tables are written as Parquet, read back by Ibis' PySpark backend, and
`build_report` runs on both; every key of report.json must be equal (floats to 6
decimals). Exit status 1 on any difference.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import ibis

from wheelstats import stats
from wheelstats.period import parse_period
from wheelstats.report import build_report

TABLES = ("hits", "agents", "files", "builds")


def export_parquet(db: Path, folder: Path) -> None:
    con = duckdb.connect(str(db), read_only=True)
    for table in TABLES:
        # The hit kind is a DuckDB ENUM; Parquet and Spark get plain strings.
        select = f"SELECT * REPLACE (CAST(kind AS VARCHAR) AS kind) FROM {table}" if table == "hits" \
            else f"SELECT * FROM {table}"
        con.execute(f"COPY ({select}) TO '{folder / table}.parquet' (FORMAT parquet)")
    con.close()


def rounded(value):
    return json.loads(json.dumps(value), parse_float=lambda text: round(float(text), 6))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path)
    parser.add_argument("--period", default="2020-Q1")
    args = parser.parse_args()
    period = parse_period(args.period)
    with tempfile.TemporaryDirectory(prefix="wheelstats-spark-") as temporary:
        folder = Path(temporary)
        db = args.store
        if db is None:
            sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
            from kit.reports import build_store

            db = folder / "store.duckdb"
            build_store(db)
        export_parquet(db, folder)
        on_duckdb = build_report(stats.open_tables(db), period)

        from pyspark.sql import SparkSession

        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        session = (SparkSession.builder.master("local[2]")
                   .config("spark.sql.session.timeZone", "UTC").getOrCreate())
        backend = ibis.pyspark.connect(session)
        tables = stats.Tables(**{t: backend.read_parquet(str(folder / f"{t}.parquet")) for t in TABLES})
        started = time.perf_counter()
        on_spark = build_report(tables, period)
        print(f"report on PySpark in {time.perf_counter() - started:.1f} s")
        session.stop()

    differences = [key for key in on_duckdb if rounded(on_duckdb[key]) != rounded(on_spark.get(key))]
    for key in differences:
        print(f"DIFFERS: {key}\n  duckdb: {str(on_duckdb[key])[:300]}\n  spark:  {str(on_spark.get(key))[:300]}")
    print(f"{len(on_duckdb) - len(differences)} of {len(on_duckdb)} figures equal")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
