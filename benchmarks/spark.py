"""The lake on Apache Spark against the embedded store, side by side on the same input, each command in its own process.

    .venv/bin/python benchmarks/spark.py [--logs 8] [--lines 250000] [--downloads 100000000] [--part ingest|report]
                                         [--keep DIR]

Ingest: --logs logs of --lines lines (`wheelstats sample-log`, one seed each, as logrotate leaves a log a day),
ingested end to end by `wheelstats ingest --db` (embedded), and by `wheelstats ingest --lake --engine spark` on
local[1] and on local[2] (JVM start included, one task per log): lines/s for each, and the scaling from one core
to two (target: at least 1.7x); then the same job alone, timed in a process whose Spark session is up and has
run a first job, as a cluster's long-lived driver runs its jobs; and once more with that process and all it starts
held to as many CPUs as local[N] has cores (local[1] alone leaves the JVM's and the driver's threads the others).

Report: a lake of a simulated piwheels' history and --downloads downloads more in 2020-Q1, drawn from that
history by DuckDB straight into the lake's Parquet partitions and committed by the lake's own ledger (make_lake),
then `wheelstats report --period 2020-Q1` over it on DuckDB and on Spark local[2]: seconds for each and their
ratio, and the two report.json compared byte for byte (they hold no timings). 100 million downloads took 22
minutes on two shared cores (made in 447 s, reported in 153 s on DuckDB and 706 s on Spark; docs/scale.md);
--downloads 1000000 makes a quick run.

The data is written in a temporary folder, removed after, or in --keep DIR (kept). Needs Java 17 (Debian's
openjdk-17-jre-headless) and the `spark` extra.
"""

from __future__ import annotations

import argparse
import contextlib
import filecmp
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import duckdb

from wheelstats.lake import Lake, ledger
from wheelstats.lake.layout import HITS
from wheelstats.lake.reading import parquet_files
from wheelstats.parsing.escapes import sql_literal
from wheelstats.period import parse_period

WHEELSTATS = [sys.executable, "-m", "wheelstats"]
QUARTER = "2020-Q1"
SEED_SCALE = 0.01            # the simulated history the downloads are drawn from: ~150,000 downloads, 2017-2019
DOWNLOADS_PER_CLIENT = 20    # a client downloads this many times in the quarter, on average
# Local mode runs Spark's executors in the driver's JVM (1 GiB by default); DuckDB may use most of the memory.
SPARK_MEMORY = "spark.driver.memory=8g"
GENERATOR_MEMORY = "2GB"


def run(*args: str | Path) -> float:
    """Seconds a wheelstats command takes, end to end; it must succeed."""
    started = time.perf_counter()
    done = subprocess.run([*WHEELSTATS, *map(str, args)], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"wheelstats {' '.join(map(str, args))} failed:\n{done.stderr[-3000:]}")
    return time.perf_counter() - started


def load() -> str:
    """The machine's load just after a measurement: above the cores' count, others took part of them."""
    return f"(load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)"


def ingest_part(work: Path, logs: int, lines: int) -> None:
    paths = []
    for seed in range(logs):
        path = work / f"access.log.{seed}"
        run("sample-log", "--lines", lines, "--seed", seed, "--out", path)
        paths.append(path)
    total = logs * lines
    embedded = run("ingest", *paths, "--db", work / "embedded.duckdb")
    print(f"ingest, {logs} logs x {lines:,} lines = {total:,} lines")
    print(f"  embedded store        {embedded:7.1f} s  {total / embedded:10,.0f} lines/s  {load()}")
    seconds = {}
    for cores in (1, 2):
        seconds[cores] = run("ingest", *paths, "--lake", work / f"lake-{cores}", "--engine", "spark",
                             "--spark-master", f"local[{cores}]")
        print(f"  spark local[{cores}]        {seconds[cores]:7.1f} s  {total / seconds[cores]:10,.0f} lines/s  "
              f"({embedded / seconds[cores]:.2f}x embedded)  {load()}")
    print(f"  scaling 1 -> 2 cores: {seconds[1] / seconds[2]:.2f}x (target 1.7x)")
    warm = {}
    for cores in (1, 2):
        warm[cores] = warm_job(work, cores, paths)
        print(f"  spark local[{cores}], the job alone (session up, warmed) {warm[cores]:7.1f} s  "
              f"{total / warm[cores]:10,.0f} lines/s  {load()}")
    print(f"  scaling 1 -> 2 cores of the job alone: {warm[1] / warm[2]:.2f}x (the JVM's start and first job "
          "are paid once a session: a cluster's driver pays them once for many jobs)")
    # local[1] is one task at a time, but the driver, the JVM's collector and compiler and the Python workers
    # take the other cores meanwhile: with the whole process tree held to `cores` CPUs, the scaling is the cores'.
    pinned, pinned_work = {}, work / "pinned"  # lakes of their own: the same job into the same lake adds nothing
    pinned_work.mkdir()
    for cores in (1, 2):
        pinned[cores] = warm_job(pinned_work, cores, paths, cpus=set(range(cores)))
        print(f"  spark local[{cores}], the job alone, every process held to {cores} CPU(s) {pinned[cores]:7.1f} s  "
              f"{total / pinned[cores]:10,.0f} lines/s  {load()}")
    print(f"  scaling 1 -> 2 cores of the job alone, held to the cores: {pinned[1] / pinned[2]:.2f}x (target 1.7x)")
    summaries = {name: subprocess.run([*WHEELSTATS, "summary", "--json", *where], capture_output=True, text=True).stdout
                 for name, where in (("embedded", ["--db", work / "embedded.duckdb"]),
                                     ("lake", ["--lake", work / "lake-2"]))}
    print(f"  same summary: {summaries['embedded'] == summaries['lake']}")


def warm_job(work: Path, cores: int, paths: list[Path], cpus: set[int] | None = None) -> float:
    """Seconds of one ingest job into a new lake on local[cores], in a process whose session is up and has
    run a first job (a small log into another lake) already; with `cpus`, that process and every process it
    starts (the JVM, Python workers) run on those CPUs alone."""
    done = subprocess.run([sys.executable, __file__, "--warm-job", str(cores), str(work), *map(str, paths)],
                          capture_output=True, text=True,
                          preexec_fn=None if cpus is None else lambda: os.sched_setaffinity(0, cpus))
    if done.returncode != 0:
        sys.exit(f"the warm job on local[{cores}] failed:\n{done.stderr[-3000:]}")
    return float(done.stdout.split()[-1])


def run_warm_job(cores: int, work: Path, paths: list[str]) -> None:
    """In its own process (--warm-job): a session on local[cores], a first job to warm it, then the timed job."""
    from wheelstats.lake.spark import spark_session
    from wheelstats.lake.spark_ingest import ingest_on_spark

    session = spark_session(f"local[{cores}]", [SPARK_MEMORY])
    first = work / f"warm-up-{cores}.log"
    run("sample-log", "--lines", 20_000, "--seed", 99, "--out", first)
    ingest_on_spark(session, Lake.at(work / f"warm-up-lake-{cores}"), [str(first)])
    started = time.perf_counter()
    ingest_on_spark(session, Lake.at(work / f"warm-lake-{cores}"), paths)
    print(f"{time.perf_counter() - started:.3f}")
    session.stop()


def report_part(work: Path, downloads: int) -> None:
    lake = work / "big-lake"
    started = time.perf_counter()
    made = make_lake(work, lake, downloads)
    print(f"report for {QUARTER} over a lake of {made.downloads:,} downloads in it ({made.hits:,} hits in all, "
          f"{made.files:,} Parquet files, {made.gib:.1f} GiB; made in {time.perf_counter() - started:.0f} s)")
    seconds = {}
    for engine, extra in (("duckdb", ()), ("spark", ("--spark-master", "local[2]", "--conf", SPARK_MEMORY))):
        seconds[engine] = run("report", "--period", QUARTER, "--lake", lake, "--engine", engine, *extra,
                              "--out", work / f"report-{engine}")
        print(f"  {engine + (' local[2]' if extra else ''):15} {seconds[engine]:8.1f} s  "
              f"{made.downloads / seconds[engine]:13,.0f} downloads/s  {load()}", flush=True)
    print(f"  spark local[2] / duckdb: {seconds['spark'] / seconds['duckdb']:.2f}x the time "
          "(wall time of the whole command: start, every query, charts)")
    duckdb_json, spark_json = (json.loads((work / f"report-{engine}" / "report.json").read_text())
                               for engine in ("duckdb", "spark"))
    differing = sorted(key for key in duckdb_json.keys() | spark_json.keys()
                       if duckdb_json.get(key) != spark_json.get(key))
    same = filecmp.cmp(work / "report-duckdb" / "report.json", work / "report-spark" / "report.json", shallow=False)
    print(f"  same report.json: {same}" + (f" (differing: {', '.join(differing)})" if differing else ""))
    if not same:
        sys.exit("The two engines gave different reports.")


@dataclass(frozen=True, slots=True)
class MadeLake:
    downloads: int   # the generated downloads, all in QUARTER
    hits: int        # every hit the lake holds (the seed's history before QUARTER too)
    files: int       # Parquet files of hits
    gib: float       # the hits' size on disk


def make_lake(work: Path, lake: Path, downloads: int) -> MadeLake:
    """A lake holding a simulated piwheels' history (`import piwheels` of `simulate`'s dump, exported: its
    agents, files, builds, projects) and `downloads` more downloads over QUARTER, drawn from that history's
    downloads (so projects, files, agents and builds keep its Zipf-like mix), each with a new time and client.

    The downloads are written by DuckDB straight into Parquet partitions of the lake's layout, a day at a time
    (one statement for the whole quarter held it all in memory), and published by a job of the lake's own
    ledger, as any job's are, so every reader accepts them.
    """
    seed = work / "seed"
    run("simulate", "--scenario", "piwheels-2020q1", "--scale", SEED_SCALE, "--out", seed)
    run("import", "piwheels", "--dump", seed / "piwheels", "--db", work / "seed.duckdb")
    run("export", "--db", work / "seed.duckdb", "--lake", lake)
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.execute(f"SET memory_limit = '{GENERATOR_MEMORY}'")
    con.execute(f"SET temp_directory = {sql_literal(str(work / 'duckdb-spill'))}")
    history = parquet_files(Lake.at(lake), ledger.read_state(Lake.at(lake)).table_files(HITS))
    con.execute(f"""CREATE TABLE pattern AS SELECT * EXCLUDE (timestamp, date, client), row_number() OVER () - 1 AS n
                    FROM {history} WHERE kind = 'download'""")
    patterns = con.execute("SELECT count(*) FROM pattern").fetchall()[0][0]
    quarter = parse_period(QUARTER)
    clients = max(downloads // DOWNLOADS_PER_CLIENT, 1)
    with ledger.job(Lake.at(lake)) as job:
        for number in range(quarter.days):
            day = quarter.start + timedelta(days=number)
            first, last = downloads * number // quarter.days, downloads * (number + 1) // quarter.days
            folder = job.staged(HITS) / f"date={day}"
            folder.mkdir()
            # Column for column the lake's hits (export.HITS_TEMPLATE); `date` is the partition, the folder.
            con.execute(f"""COPY (
                SELECT TIMESTAMP '{day}' + to_seconds((i * 7919) % 86400) AS timestamp, p.kind, p.project, p.url,
                       p.file, p.details, printf('%016x', hash(i % {clients}, 'client')) AS client, p.agent_id,
                       p.bytes, p.referrer, p.source_id, p.line_no
                FROM range({first}, {last}) r(i) JOIN pattern p ON p.n = hash(i, 'pattern') % {patterns})
                TO {sql_literal(str(folder / f"{job.file_prefix()}-0.parquet"))} (FORMAT parquet)""")
    state = ledger.read_state(Lake.at(lake))
    hit_files = state.table_files(HITS)
    hits = con.execute(f"SELECT count(*) FROM {parquet_files(Lake.at(lake), hit_files)}").fetchall()[0][0]
    con.close()
    size = sum((lake / name).stat().st_size for name in hit_files)
    return MadeLake(downloads, hits, len(hit_files), size / 2**30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logs", type=int, default=8)
    parser.add_argument("--lines", type=int, default=250_000)
    parser.add_argument("--downloads", type=int, default=100_000_000)
    parser.add_argument("--part", choices=("ingest", "report"), action="append")
    parser.add_argument("--keep", type=Path, help="Write the logs, lakes and reports here and keep them "
                        "(a new or empty folder); default: a temporary folder, removed after.")
    parser.add_argument("--warm-job", nargs="+", help=argparse.SUPPRESS)  # CORES WORK LOG...: see run_warm_job
    args = parser.parse_args()
    if args.warm_job:
        cores, folder, *paths = args.warm_job
        run_warm_job(int(cores), Path(folder), paths)
        return
    with contextlib.ExitStack() as stack:
        if args.keep is None:
            work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="wheelstats-spark-")))
        elif args.keep.exists() and any(args.keep.iterdir()):
            sys.exit(f"--keep {args.keep}: the folder is not empty. Give a new or empty folder.")
        else:
            work = args.keep
            work.mkdir(parents=True, exist_ok=True)
        if not args.part or "ingest" in args.part:
            ingest_part(work, args.logs, args.lines)
        if not args.part or "report" in args.part:
            report_part(work, args.downloads)


if __name__ == "__main__":
    main()
