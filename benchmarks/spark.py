"""The lake on Spark against the embedded store, side by side on the same input, each command in its own process.

    .venv/bin/python benchmarks/spark.py [--logs 8] [--lines 250000] [--downloads 100000000] [--part ingest|report]

Ingest: --logs logs of --lines lines (`wheelstats sample-log`, one seed each, as logrotate leaves a log a day),
ingested end to end by `wheelstats ingest --db` (embedded), and by `wheelstats ingest --lake --engine spark` on
local[1] and on local[2] (JVM start included, one task per log): lines/s for each, and the scaling from one core
to two (target: at least 1.7x).

Report: a lake of --downloads downloads, made by DuckDB from a simulated deployment's lake (its hits repeated
over the days of a year, clients and files spread), then `wheelstats report` for a quarter on DuckDB and on
Spark local[2]: seconds for each and their ratio. The figures are checked to be the same.

Needs Java 17 (Debian's openjdk-17-jre-headless) and the `spark` extra.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

WHEELSTATS = [sys.executable, "-m", "wheelstats"]
YEAR = 2020
QUARTER = "2020-Q2"


def run(*args: str | Path) -> float:
    """Seconds a wheelstats command takes, end to end; it must succeed."""
    started = time.perf_counter()
    done = subprocess.run([*WHEELSTATS, *map(str, args)], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"wheelstats {' '.join(map(str, args))} failed:\n{done.stderr[-3000:]}")
    return time.perf_counter() - started


def ingest_part(work: Path, logs: int, lines: int) -> None:
    paths = []
    for seed in range(logs):
        path = work / f"access.log.{seed}"
        run("sample-log", "--lines", lines, "--seed", seed, "--out", path)
        paths.append(path)
    total = logs * lines
    embedded = run("ingest", *paths, "--db", work / "embedded.duckdb")
    print(f"ingest, {logs} logs x {lines:,} lines = {total:,} lines")
    print(f"  embedded store        {embedded:7.1f} s  {total / embedded:10,.0f} lines/s")
    seconds = {}
    for cores in (1, 2):
        seconds[cores] = run("ingest", *paths, "--lake", work / f"lake-{cores}", "--engine", "spark",
                             "--spark-master", f"local[{cores}]")
        print(f"  spark local[{cores}]        {seconds[cores]:7.1f} s  {total / seconds[cores]:10,.0f} lines/s  "
              f"({embedded / seconds[cores]:.2f}x embedded)")
    print(f"  scaling 1 -> 2 cores: {seconds[1] / seconds[2]:.2f}x (target 1.7x)")
    summaries = {name: subprocess.run([*WHEELSTATS, "summary", "--json", *where], capture_output=True, text=True).stdout
                 for name, where in (("embedded", ["--db", work / "embedded.duckdb"]),
                                     ("lake", ["--lake", work / "lake-2"]))}
    print(f"  same summary: {summaries['embedded'] == summaries['lake']}")


def report_part(work: Path, downloads: int) -> None:
    seed = work / "seed"
    run("simulate", "--scenario", "piwheels-2020q1", "--scale", "0.01", "--out", seed)
    run("import", "piwheels", "--dump", seed / "piwheels", "--db", work / "seed.duckdb")
    run("export", "--db", work / "seed.duckdb", "--lake", work / "seed-lake")
    lake = work / "big-lake"
    started = time.perf_counter()
    grow_lake(work / "seed-lake", lake, downloads)
    print(f"report, a lake of {downloads:,} downloads (made in {time.perf_counter() - started:.0f} s)")
    seconds = {}
    for engine in ("duckdb", "spark"):
        extra = ["--spark-master", "local[2]"] if engine == "spark" else []
        seconds[engine] = run("report", "--period", QUARTER, "--lake", lake, "--engine", engine, *extra,
                              "--out", work / f"report-{engine}")
        print(f"  {engine:6} {seconds[engine]:8.1f} s")
    print(f"  spark local[2] / duckdb: {seconds['spark'] / seconds['duckdb']:.2f}x the time")
    same = filecmp.cmp(work / "report-duckdb" / "report.json", work / "report-spark" / "report.json", shallow=False)
    print(f"  same report.json: {same}")


def grow_lake(seed: Path, lake: Path, downloads: int) -> None:
    """A copy of the seed lake whose hits are `downloads` downloads over YEAR, drawn from the seed's."""
    import shutil

    shutil.copytree(seed, lake)
    entry = json.loads((sorted((lake / "_ledger").glob("*.json"))[-1]).read_text())
    for name in entry["files"].get("hits", []):
        (lake / name).unlink()
    con = duckdb.connect()
    con.execute(f"""CREATE TABLE pattern AS SELECT * EXCLUDE (date), row_number() OVER () - 1 AS n
                    FROM read_parquet('{seed}/hits/*/*.parquet') WHERE kind = 'download'""")
    patterns = con.execute("SELECT count(*) FROM pattern").fetchall()[0][0]
    staged = lake / "hits-new"
    con.execute(f"""COPY (
        SELECT TIMESTAMP '{YEAR}-01-01' + to_seconds((i * 7919) % (366 * 86400)) AS timestamp,
               (TIMESTAMP '{YEAR}-01-01' + to_seconds((i * 7919) % (366 * 86400)))::DATE AS date,
               p.* EXCLUDE (timestamp, n, client), 'c' || (hash(i) % 5000000)::VARCHAR AS client
        FROM range({downloads}) r(i) JOIN pattern p ON p.n = hash(i * 31) % {patterns})
        TO '{staged}' (FORMAT parquet, PARTITION_BY (date))""")
    files = sorted(path.relative_to(staged) for path in staged.rglob("*.parquet"))
    for relative in files:
        target = lake / "hits" / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        (staged / relative).rename(target)
    shutil.rmtree(staged)
    entry["files"]["hits"] = [f"hits/{relative.as_posix()}" for relative in files]
    (sorted((lake / "_ledger").glob("*.json"))[-1]).write_text(json.dumps(entry))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logs", type=int, default=8)
    parser.add_argument("--lines", type=int, default=250_000)
    parser.add_argument("--downloads", type=int, default=100_000_000)
    parser.add_argument("--part", choices=("ingest", "report"), action="append")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="wheelstats-spark-") as temporary:
        work = Path(temporary)
        if not args.part or "ingest" in args.part:
            ingest_part(work, args.logs, args.lines)
        if not args.part or "report" in args.part:
            report_part(work, args.downloads)


if __name__ == "__main__":
    main()
