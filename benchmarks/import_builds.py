"""Benchmark: `import builds` of a generated catalogue, checked in bulk against row by row.

    .venv/bin/python benchmarks/import_builds.py [--rows 1000000] [--rounds 2] [--workdir DIR]

DuckDB writes a catalogue of N wheel files (piwheels' forms: build ids, starts
as 'YYYY-MM-DD HH:MM:SS', a third of the durations as PostgreSQL intervals, the
rest in seconds) as CSV and as JSON lines. Each is imported into a new store
both ways, taking turns (the machine is shared: the best round of each counts),
and the script prints rows per second, the ratio, and that both stores hold the
same rows. It also times the check alone (the rows staged in a temp table, as
each import does first): the store's own write (its primary key on filename,
then the commit) costs both ways the same seconds, which bounds the ratio of
the whole imports.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import duckdb

from wheelstats import store
from wheelstats.imports.builds import create_staging_table, import_builds, stage_row_by_row
from wheelstats.imports.builds_in_bulk import stage_in_bulk


def write_catalogues(folder: Path, rows: int) -> list[Path]:
    con = duckdb.connect()
    con.execute(f"""CREATE TABLE catalogue AS SELECT
            'pkg' || (i // 6) || '-1.' || (i % 6 // 3) || '-cp3' || (7 + i % 3) || '-cp3' || (7 + i % 3)
                || '-linux_armv' || (6 + i % 2) || 'l.whl' AS filename,
            i // 3 AS build_id,
            'builder' || (i % 4) AS built_by,
            strftime(TIMESTAMP '2019-01-01' + to_seconds(i * 7), '%Y-%m-%d %H:%M:%S') AS built_at,
            CASE WHEN i % 3 = 0 THEN '00:0' || (i % 10) || ':' || lpad((i % 60)::VARCHAR, 2, '0') || '.5'
                 ELSE ((i * 37) % 6000 / 10)::VARCHAR END AS duration,
            CASE WHEN i % 50 = 0 THEN 'f' ELSE 't' END AS status,
            1000 + (i * 7919) % 10000000 AS size,
            sha256(i::VARCHAR) AS sha256
        FROM range({rows}) t(i)""")
    csv, jsonl = folder / "catalogue.csv", folder / "catalogue.jsonl"
    con.execute(f"COPY catalogue TO '{csv}' (HEADER)")
    con.execute(f"COPY catalogue TO '{jsonl}' (FORMAT JSON)")
    return [csv, jsonl]


def import_once(catalogue: Path, db: Path, in_bulk: bool) -> float:
    for leftover in (db, db.with_name(db.name + ".wal")):
        leftover.unlink(missing_ok=True)
    con = store.connect(db)
    started = time.perf_counter()
    import_builds(con, catalogue, in_bulk=in_bulk)
    seconds = time.perf_counter() - started
    con.close()
    return seconds


def check_once(catalogue: Path, in_bulk: bool) -> float:
    """Seconds to check the catalogue's rows into the staging table, as import_builds does first."""
    con = duckdb.connect()
    create_staging_table(con)
    started = time.perf_counter()
    if not (in_bulk and stage_in_bulk(con, catalogue)):
        assert not in_bulk, "the bulk check stood aside"
        stage_row_by_row(con, catalogue)
    seconds = time.perf_counter() - started
    con.close()
    return seconds


def rows_held(db: Path) -> tuple:
    con = store.connect(db, read_only=True)
    held = con.execute("SELECT count(*), sum(hash(filename, build_id, size, python_tag, platform_tag)) FROM files"
                       ).fetchone() + con.execute(
        "SELECT count(*), sum(hash(build_id, built_at, duration_s, status)) FROM builds").fetchone()
    con.close()
    return held


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workdir", type=Path, help="Keep the catalogues and stores here (default: a temporary folder).")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="wheelstats-bench-builds-") as scratch:
        folder = args.workdir or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        catalogues = write_catalogues(folder, args.rows)
        print(f"{args.rows:,} rows a catalogue; best of {args.rounds} rounds each, taking turns.")
        for catalogue in catalogues:
            best = {True: float("inf"), False: float("inf")}
            best_check = dict(best)
            held = {}
            for _ in range(args.rounds):
                for in_bulk in (False, True):
                    db = folder / f"{catalogue.suffix[1:]}-{'bulk' if in_bulk else 'rows'}.duckdb"
                    best[in_bulk] = min(best[in_bulk], import_once(catalogue, db, in_bulk))
                    held[in_bulk] = rows_held(db)
                    best_check[in_bulk] = min(best_check[in_bulk], check_once(catalogue, in_bulk))
            print(f"{catalogue.name}: row by row {args.rows / best[False]:,.0f} rows/s ({best[False]:.1f} s), "
                  f"in bulk {args.rows / best[True]:,.0f} rows/s ({best[True]:.1f} s): "
                  f"{best[False] / best[True]:.1f}x; same rows: {held[True] == held[False]}")
            print(f"  the check alone: row by row {best_check[False]:.1f} s, in bulk {best_check[True]:.1f} s: "
                  f"{best_check[False] / best_check[True]:.1f}x; the rest (the store's write) "
                  f"{best[False] - best_check[False]:.1f} s and {best[True] - best_check[True]:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
