"""Benchmark: import a synthetic piwheels dump of N downloads with `wheelstats import piwheels --dump`.

    .venv/bin/python benchmarks/import_piwheels.py [--downloads 1000000] [--workdir DIR]

DuckDB writes the dump (5,000 files and builds, N downloads with agent columns,
N/4 searches) into a temporary folder; the import runs as a user runs it, and the
script prints its time, rows per second and peak memory. A scale-1.0 piwheels
history has about 14.7 million downloads.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

WHEELSTATS = str(Path(sys.executable).with_name("wheelstats"))
FILES = 5000


def write_dump(folder: Path, downloads: int) -> None:
    con = duckdb.connect()
    con.execute(f"""CREATE TABLE f AS
        SELECT i AS build_id, 'pkg' || (i % 2000) AS package, '1.' || (i // 2000) AS version,
               'pkg' || (i % 2000) || '-1.' || (i // 2000) || '-cp37-cp37m-linux_armv7l.whl' AS filename
        FROM range({FILES}) t(i)""")
    con.execute(f"COPY (SELECT DISTINCT package, 'x' AS skip FROM f) TO '{folder}/packages.csv' (HEADER)")
    con.execute(f"""COPY (SELECT build_id, package, version, 1 AS built_by,
            TIMESTAMP '2019-01-01' + to_seconds(build_id) AS built_at,
            CASE WHEN build_id % 3 = 0 THEN '1 day 00:00:0' || (build_id % 10)
                 ELSE '00:0' || (build_id % 10) || ':12.5' END AS duration,
            't' AS status, 'cp37m' AS abi_tag FROM f) TO '{folder}/builds.csv' (HEADER)""")
    con.execute(f"""COPY (SELECT filename, build_id, 1000 AS filesize, sha256(filename) AS filehash,
            package AS package_tag, version AS package_version_tag, 'cp37' AS py_version_tag,
            'cp37m' AS abi_tag, 'linux_armv7l' AS platform_tag, NULL AS requires_python FROM f)
        TO '{folder}/files.csv' (HEADER)""")
    agent = """CASE i % 3 WHEN 0 THEN 'armv7l' WHEN 1 THEN 'armv6l' ELSE 'x86_64' END AS arch,
            'Raspbian GNU/Linux' AS distro_name, (9 + i % 2)::VARCHAR AS distro_version, 'Linux' AS os_name,
            '4.19.' || (i % 40) || '-v7+' AS os_version, 'CPython' AS py_name, '3.7.' || (i % 5) AS py_version,
            'pip' AS installer_name, '20.0.' || (i % 3) AS installer_version, '44.0.0' AS setuptools_version"""
    con.execute(f"""COPY (SELECT 'pkg' || (i * 7 % 2000) || '-1.' || (i % 2) || '-cp37-cp37m-linux_armv7l.whl'
                AS filename,
            '10.' || (i % 200) || '.' || (i * 13 % 250) || '.' || (i % 7) AS accessed_by,
            strftime(TIMESTAMP '2019-01-01' + to_seconds(i * 3), '%Y-%m-%d %H:%M:%S') AS accessed_at, {agent}
        FROM range({downloads}) t(i)) TO '{folder}/downloads.csv' (HEADER)""")
    con.execute(f"""COPY (SELECT 'pkg' || (i * 7 % 2000) AS package, '10.' || (i % 200) || '.1.1' AS accessed_by,
            strftime(TIMESTAMP '2019-01-01' + to_seconds(i * 10), '%Y-%m-%d %H:%M:%S') AS accessed_at, {agent}
        FROM range({downloads // 4}) t(i)) TO '{folder}/searches.csv' (HEADER)""")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--downloads", type=int, default=1_000_000)
    parser.add_argument("--workdir", type=Path, help="Keep the dump and store here (default: a temporary folder).")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="wheelstats-bench-import-") as temporary:
        work = args.workdir or Path(temporary)
        dump, db = work / "dump", work / "store.duckdb"
        dump.mkdir(parents=True, exist_ok=True)
        db.unlink(missing_ok=True)
        started = time.perf_counter()
        write_dump(dump, args.downloads)
        size = sum(p.stat().st_size for p in dump.iterdir())
        print(f"{'write dump':<14} {time.perf_counter() - started:8.2f} s  ({size / 1e6:,.0f} MB)")
        started = time.perf_counter()
        subprocess.run([WHEELSTATS, "import", "piwheels", "--dump", str(dump), "--db", str(db), "--ip", "hash"],
                       check=True)
        took = time.perf_counter() - started
        rows = args.downloads + args.downloads // 4
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"{'import':<14} {took:8.2f} s  ({rows / took:,.0f} hits/s, peak memory {peak:,.0f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
