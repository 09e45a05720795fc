"""Benchmark: the dashboard, API and badges on a store of 18 million downloads; p50/p95 per page and endpoint.

    .venv/bin/python benchmarks/dashboard.py [--downloads 18000000] [--workdir DIR] [--repeat 20] [--days 60]

Builds the store once (kept in --workdir if given, reused when it already holds
enough downloads): a small simulated piwheels (files, builds, real agents) and
then downloads generated with DuckDB SQL up to --downloads, spread over the
simulated history with a rising rate, skewed over files, agents and clients (each
client in one of 50 countries, skewed too).
It times a full rollup build (from empty rollups) and incremental refreshes (1,000 downloads on a new day,
then 1,000 into that day, as the server's feeder mostly refreshes), then each page and
endpoint through the ASGI app: cold (no answer cache: every request queries the
rollups) and warm (the answer cache on). Target: every answer under 200 ms at p95.
Then the answers that count distinct clients from the client sets and, on a copy of
the store without them, from rollup_clients' rows (as before the sets), side by side.
Then, on a copy of the store, --days daily refreshes (each a day of downloads more) that
append their rows at the end of the rollups sorted by project, as a store fed every day
is left: a project's answers for those days on it, the refreshes that write those rollups
in order again (compaction, one a refresh), and the same answers after them.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from starlette.testclient import TestClient

from wheelstats import store
from wheelstats.store import dimensions
from wheelstats.rollups.reader import CachedReader
from wheelstats.dashboard.routes import create_dashboard_app
from wheelstats.rollups import ROLLUP_TABLES, refresh, refresh_rollups

WHEELSTATS = str(Path(sys.executable).with_name("wheelstats"))
TARGET_P95_MS = 200.0
CLIENTS = 400_000
# The generated clients' countries, most downloads from the first (skewed as the clients are).
COUNTRIES = ("GB", "US", "DE", "FR", "NL", "IT", "ES", "JP", "CN", "IN", "AU", "CA", "BR", "PL", "SE", "CH", "RU",
             "KR", "TW", "SG", "XL", "ZZ", "BE", "AT", "DK", "FI", "NO", "IE", "PT", "CZ", "HU", "RO", "UA", "TR",
             "IL", "ZA", "MX", "AR", "NZ", "ID", "TH", "VN", "MY", "PH", "HK", "GR", "SK", "BG", "HR", "SI")


def run(command: list[str]) -> None:
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)


def build_store(work: Path, downloads: int) -> Path:
    db = work / "dashboard-bench.duckdb"
    if db.exists():
        con = store.connect(db)
        have = con.execute("SELECT count(*) FROM hits WHERE kind = 'download'").fetchone()[0]
        con.close()
        if have >= downloads:
            print(f"reusing {db}: {have:,} downloads", flush=True)
            return db
        db.unlink()
    sim = work / "sim"
    started = time.perf_counter()
    if not (sim / "manifest.json").exists():
        run([WHEELSTATS, "simulate", "--scenario", "piwheels-2020q1", "--scale", "0.01", "--out", str(sim)])
    run([WHEELSTATS, "import", "piwheels", "--dump", str(sim / "piwheels"), "--db", str(db)])
    run([WHEELSTATS, "ingest", *sorted(str(p) for p in (sim / "logs").glob("*.gz")), "--db", str(db)])
    print(f"simulated base store     {time.perf_counter() - started:8.1f} s", flush=True)
    con = store.connect(db)
    have = con.execute("SELECT count(*) FROM hits WHERE kind = 'download'").fetchone()[0]
    first, last = con.execute("SELECT min(ts), max(ts) FROM hits WHERE kind = 'download'").fetchone()
    started = time.perf_counter()
    con.execute("SET preserve_insertion_order = true")
    con.execute("CREATE TEMP TABLE pick_files AS SELECT row_number() OVER (ORDER BY hash(filename)) - 1 AS i, filename, project FROM files WHERE project IS NOT NULL")
    con.execute("""CREATE TEMP TABLE pick_agents AS SELECT row_number() OVER (ORDER BY n DESC) - 1 AS i, agent_id FROM
                   (SELECT agent_id, count(*) AS n FROM hits WHERE kind = 'download' AND agent_id IS NOT NULL GROUP BY agent_id)""")
    files_n = con.execute("SELECT count(*) FROM pick_files").fetchone()[0]
    agents_n = con.execute("SELECT count(*) FROM pick_agents").fetchone()[0]
    span_s = (last - first).total_seconds()
    extra = downloads - have
    # Time rises with sqrt(i / n): a growing daily rate, rows appended in time order like a log.
    dimensions.add_wide_hits(con, f"""
        SELECT TIMESTAMP '{first}' + to_microseconds(CAST(sqrt(g.i / {extra}) * {span_s} * 1e6 AS BIGINT)) AS ts,
               'download' AS kind, f.project, f.filename, '/simple/' || f.project || '/' || f.filename AS path,
               'c' || g.ci AS client, a.agent_id, 100000 AS bytes, 1 AS source_id,
               {list(COUNTRIES)!r}[1 + CAST(floor(pow((hash(g.ci) % 1000) / 1000.0, 3) * {len(COUNTRIES)}) AS BIGINT)]
                   AS country
        FROM (SELECT range AS i, floor(pow(random(), 3) * {files_n}) AS fi, floor(pow(random(), 4) * {agents_n}) AS ai,
                     CAST(floor(pow(random(), 2.5) * {CLIENTS}) AS BIGINT) AS ci
              FROM range({extra})) g
        JOIN pick_files f ON f.i = g.fi JOIN pick_agents a ON a.i = g.ai
        ORDER BY g.i
    """)
    total = con.execute("SELECT count(*) FROM hits WHERE kind = 'download'").fetchone()[0]
    print(f"generated downloads      {time.perf_counter() - started:8.1f} s  ({total:,} downloads in the store)", flush=True)
    con.close()
    return db


def time_rollups(db: Path) -> None:
    con = store.connect(db)
    for table in (*ROLLUP_TABLES, "rollup_saved", "rollup_state"):  # time a build from nothing
        con.execute(f"DELETE FROM {table}")
    con.execute("CHECKPOINT")
    started = time.perf_counter()
    report = refresh_rollups(con)
    print(f"rollups: full build      {time.perf_counter() - started:8.1f} s  ({report.new_downloads:,} downloads, {report.days} days)", flush=True)
    for table in (*ROLLUP_TABLES, "rollup_saved"):
        print(f"  {table:<22} {con.execute(f'SELECT count(*) FROM {table}').fetchone()[0]:>12,} rows")
    # Incremental refreshes: a batch of 1,000 new downloads, as the server's feeder writes them, on a new day, then
    # on the day the rollups hold already (the last downloads again, as if their clients fetched them again).
    for label, when in (("refresh 1,000", "ts + INTERVAL 1 DAY"), ("same day, 1,000", "ts")):
        dimensions.add_wide_hits(con, f"""SELECT {when} AS ts, kind, project, filename, path, client, agent_id,
                                             bytes, source_id, 'GB' AS country
                                      FROM hits WHERE kind = 'download' ORDER BY ts DESC LIMIT 1000""")
        started = time.perf_counter()
        report = refresh_rollups(con)
        print(f"rollups: {label:<16}{(time.perf_counter() - started) * 1000:8.0f} ms ({report.days} days merged)",
              flush=True)
    started = time.perf_counter()
    refresh_rollups(con)
    print(f"rollups: nothing new     {(time.perf_counter() - started) * 1000:8.0f} ms", flush=True)
    con.close()


def endpoints(project: str, other: str) -> list[tuple[str, str]]:
    return [
        ("home page", "/stats/"),
        ("home page, 2020-Q1", "/stats/?period=2020-Q1"),
        ("home, no CI/bots", "/stats/?period=2020-Q1&exclude_ci=true&exclude_bots=true"),
        ("home, unique clients *", "/stats/?period=2020-Q1&unique=true"),
        ("api top, unique, 30 days *", "/api/top?period=last-30-days&unique=true"),
        ("project page", f"/stats/project/{project}"),
        ("project page, 2020-Q1", f"/stats/project/{project}?period=2020-Q1"),
        ("compare page", f"/stats/compare?projects={project},{other}&period=2020"),
        ("chart: by month", "/stats/chart/home/downloads-by-month.json"),
        ("chart: python shares", "/stats/chart/home/py-vers.json?period=2020-Q1"),
        ("api overview", "/api/overview?period=2020-Q1"),
        ("api downloads by day", "/api/downloads?period=2020&granularity=day"),
        ("api downloads csv", "/api/downloads?granularity=month&format=csv"),
        ("api top 100", "/api/top?limit=100"),
        ("api shares arch", "/api/shares/arch?period=last-30-days"),
        ("api project", f"/api/projects/{project}?period=2020-Q1"),
        ("api project files", f"/api/projects/{project}/files"),
        ("api compare", f"/api/compare?projects={project},{other}&granularity=week"),
        ("pypistats recent", f"/api/packages/{project}/recent"),
        ("pypistats overall", f"/api/packages/{project}/overall"),
        ("pypistats python_major", f"/api/packages/{project}/python_major"),
        ("pypistats python_minor", f"/api/packages/{project}/python_minor"),
        ("pypistats system", f"/api/packages/{project}/system"),
        ("pypistats country", f"/api/packages/{project}/country"),
        ("home page, GB", "/stats/?period=2020-Q1&country=GB"),
        ("project page, US", f"/stats/project/{project}?country=US"),
        ("chart: world map", "/stats/chart/home/world-map.json?period=2020-Q1"),
        ("api shares country", "/api/shares/country?period=2020-Q1"),
        ("api top, DE", "/api/top?period=2020&country=DE"),
        ("badge month", f"/badge/{project}/month.svg"),
        ("badge total", f"/badge/{project}/total.svg"),
    ]


def measure(db: Path, repeat: int, cache: bool, urls: list[tuple[str, str]]) -> list[float]:
    app = create_dashboard_app(db, reader=CachedReader(db, cache=cache))
    p95s = []
    with TestClient(app, base_url="http://bench") as client:
        for name, url in urls:
            response = client.get(url)  # first call: connection setup, chart specs, bundle
            assert response.status_code == 200, (url, response.status_code, response.text[:300])
            times = []
            # Unique-client answers (marked *) scan the distinct-client rollup: fewer repeats.
            for _ in range(3 if name.endswith("*") else repeat):
                started = time.perf_counter()
                response = client.get(url)
                times.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200
            times.sort()
            p50 = statistics.median(times)
            p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
            p95s.append(p95)
            flag = "" if p95 <= TARGET_P95_MS else "  over target"
            print(f"  {name:<26} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms{flag}", flush=True)
    return p95s


def copy_store(db: Path, copy: Path) -> Path:
    """`copy`: a copy of the store `db`, with its IP key."""
    shutil.copy(db, copy)
    shutil.copy(f"{db}.key", f"{copy}.key")
    return copy


def remove_store(db: Path) -> None:
    for path in (db, Path(f"{db}.key"), Path(f"{db}.wal")):
        path.unlink(missing_ok=True)


def time_client_sets(work: Path, db: Path, project: str) -> None:
    """The answers that count distinct clients, from the client sets and, on a copy without them, from
    rollup_clients' rows (how they were all counted before the sets): p50 of each, and the ratio."""
    urls = [(name, url) for name, url in endpoints(project, project) if name.endswith("*")] + [
        ("api overview, unique *", "/api/overview?period=2020-Q1&unique=true"),
        ("api shares python, unique *", "/api/shares/python?period=2020&unique=true"),
        ("api downloads, unique *", "/api/downloads?period=2020&granularity=week&unique=true"),
        ("home, unique, all time *", "/stats/?period=all&unique=true"),
    ]
    without = copy_store(db, work / "without-sets.duckdb")
    con = store.connect(without)
    con.execute("DELETE FROM rollup_client_sets")
    con.close()
    try:
        print("  from rollup_clients' rows (the sets emptied):")
        rows = measure(without, 3, False, urls)
        print("  from the client sets:")
        sets = measure(db, 3, False, urls)
    finally:
        remove_store(without)
    for (name, _), before, after in zip(urls, rows, sets):
        print(f"  {name:<30} {before:8.1f} -> {after:7.1f} ms at p95: {before / after:5.1f}x")


def time_compaction(work: Path, db: Path, project: str, days: int, repeat: int) -> None:
    """A copy of the store fed `days` more days, each refreshed, with compaction held off; then a day more at a
    time, each refresh compacting one rollup, until each kept out of its time's order has been: a project's
    answers for the `days` days before and after."""
    appended = copy_store(db, work / "appended.duckdb")
    con = store.connect(appended)
    last = con.execute("SELECT max(ts)::DATE FROM hits WHERE kind = 'download'").fetchone()[0]
    out_of_time_order = [rollup.table for rollup in refresh.ROLLUPS if not rollup.sorted_by_time]
    period = f"{last + timedelta(days=1)}..{last + timedelta(days=days)}"
    urls = [(f"{name}, the days fed", url) for name, url in (
        ("project page", f"/stats/project/{project}?period={period}"),
        ("api project", f"/api/projects/{project}?period={period}"),
        ("api project files", f"/api/projects/{project}/files?period={period}"))]
    limit, fraction = refresh.MIN_ROWS_TO_COMPACT, refresh.COMPACT_FRACTION
    try:
        refresh.MIN_ROWS_TO_COMPACT = 1 << 62  # held off while the days are fed
        seconds = [feed_day(con, last, n, days) for n in range(1, days + 1)]
        out_of_order, rows = con.execute("""SELECT count(*) FILTER (WHERE day >= o.touched_since), count(*)
            FROM rollup_projects, (SELECT touched_since FROM rollup_order WHERE rollup = 'rollup_projects') o""").fetchone()
        print(f"  {days} days fed, a refresh each ({statistics.median(seconds):.2f} s median): "
              f"{out_of_order:,} of rollup_projects' {rows:,} rows out of order", flush=True)
        con.close()
        measure(appended, repeat, False, urls)
        con = store.connect(appended)
        refresh.MIN_ROWS_TO_COMPACT, refresh.COMPACT_FRACTION = limit, 1 << 62  # each refresh compacts one
        # A table smaller than MIN_ROWS_TO_COMPACT is never compacted (its zone maps hardly matter).
        waiting = {table for table in out_of_time_order
                   if con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] >= limit}
        n = days
        while waiting and n < days + 3 * len(out_of_time_order):  # the one most out of order first
            n += 1
            took = feed_day(con, last, n, days)
            compacted = set(out_of_time_order) - {table for (table,) in con.execute(
                "SELECT rollup FROM rollup_order").fetchall()}
            waiting -= compacted
            print(f"  a day more, whose refresh compacts {', '.join(sorted(compacted)) or 'none'}: {took:.1f} s",
                  flush=True)
        con.close()
        measure(appended, repeat, False, urls)
    finally:
        refresh.MIN_ROWS_TO_COMPACT, refresh.COMPACT_FRACTION = limit, fraction
        remove_store(appended)


def feed_day(con, last: date, n: int, days: int) -> float:
    """Day `last` + n gets the downloads of `days` days before it, then a refresh: its seconds."""
    dimensions.add_wide_hits(con, f"""
        SELECT ts + INTERVAL {days} DAY AS ts, kind, project, filename, path, client, agent_id, bytes, source_id,
               country
        FROM hits WHERE kind = 'download' AND ts::DATE = DATE '{last}' + {n - days}""")
    started = time.perf_counter()
    refresh_rollups(con)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--downloads", type=int, default=18_000_000)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--days", type=int, default=60,
                        help="days fed one by one before compaction (0: no compaction run)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="wheelstats-dash-") as temporary:
        work = args.workdir or Path(temporary)
        work.mkdir(parents=True, exist_ok=True)
        db = build_store(work, args.downloads)
        time_rollups(db)
        con = store.connect(db)
        project, other = [r[0] for r in con.execute(
            "SELECT project FROM rollup_projects GROUP BY project ORDER BY sum(downloads) DESC LIMIT 2").fetchall()]
        con.close()
        print(f"cold: no answer cache, every request queries the rollups ({args.repeat} requests each)")
        cold = measure(db, args.repeat, False, endpoints(project, other))
        print(f"warm: answer cache on ({args.repeat} requests each)")
        measure(db, args.repeat, True, endpoints(project, other))
        over = sum(p > TARGET_P95_MS for p in cold)
        print(f"cold p95 over {TARGET_P95_MS:.0f} ms: {over} of {len(cold)}; worst {max(cold):.1f} ms")
        print("distinct clients (*), no answer cache, p50 and p95 of 3:")
        time_client_sets(work, db, project)
        if args.days > 0:
            print(f"a store fed day by day: {project}'s answers, cold, before and after compaction")
            time_compaction(work, db, project, args.days, args.repeat)
        with open("/proc/loadavg") as load:
            print(f"load average at the end: {load.read().split()[0]} (2 cores shared with other work)")
        return 0


if __name__ == "__main__":
    sys.exit(main())
