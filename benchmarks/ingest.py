"""Ingest speed and memory: `wheelstats ingest` against GoAccess, side by side, on the same log.

    .venv/bin/python benchmarks/ingest.py [--lines 1000000] [--keep DIR]

Writes a realistic log (pip and uv JSON agents, about 500 bytes a line, a real
index's mix of kinds) with `wheelstats sample-log`, then, for the plain and the
gzip copy, times end to end (read, parse, classify, agents, store) a fresh
`wheelstats ingest` and GoAccess (`--log-format=COMBINED`, JSON output), each in
its own process, and prints lines/s, the ratio, and peak RSS of each.
GoAccess comes from the Debian package `goaccess`.
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
WHEELSTATS = [sys.executable, "-m", "wheelstats"]


def child_peak(command: list[str]) -> tuple[float, float]:
    """Run through /usr/bin/time to read this child's own peak RSS."""
    start = time.perf_counter()
    result = subprocess.run(
        ["/usr/bin/time", "-f", "%M", *command], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    seconds = time.perf_counter() - start
    return seconds, int(result.stderr.strip().splitlines()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="write the logs and stores here and keep them")
    args = parser.parse_args()
    if not shutil.which("goaccess"):
        sys.exit("GoAccess is not installed: apt-get install goaccess")
    if not Path("/usr/bin/time").exists():
        sys.exit("/usr/bin/time is not installed: apt-get install time")
    work = args.keep or Path(tempfile.mkdtemp(prefix="wheelstats-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    plain = work / "access.log"
    start = time.perf_counter()
    subprocess.run([*WHEELSTATS, "sample-log", "--lines", str(args.lines), "--out", str(plain)], check=True,
                   stdout=subprocess.DEVNULL)
    compressed = work / "access.log.gz"
    with open(plain, "rb") as source, gzip.open(compressed, "wb", compresslevel=6) as target:
        shutil.copyfileobj(source, target, 16 << 20)
    size = plain.stat().st_size
    print(f"log: {args.lines:,} lines, {size / 1e6:,.0f} MB ({size / args.lines:.0f} bytes a line), "
          f"gzip {compressed.stat().st_size / 1e6:,.0f} MB; written in {time.perf_counter() - start:.1f} s")
    print(f"{'input':<6} {'tool':<11} {'seconds':>8} {'lines/s':>11} {'peak RSS':>10}")
    for log in (plain, compressed):
        label = "gzip" if log.suffix == ".gz" else "plain"
        db = work / f"bench-{label}.duckdb"
        for leftover in (db, Path(f"{db}.wal"), Path(f"{db}.key")):
            leftover.unlink(missing_ok=True)
        ours, our_rss = child_peak([*WHEELSTATS, "ingest", "--db", str(db), str(log)])
        report = work / "goaccess.json"
        if label == "gzip":
            command = ["sh", "-c", f"zcat {log} | goaccess - --log-format=COMBINED -o {report} --no-progress"]
        else:
            command = ["goaccess", str(log), "--log-format=COMBINED", "-o", str(report), "--no-progress"]
        theirs, their_rss = child_peak(command)
        print(f"{label:<6} {'wheelstats':<11} {ours:8.1f} {args.lines / ours:11,.0f} {our_rss:8,.0f} MiB")
        print(f"{label:<6} {'goaccess':<11} {theirs:8.1f} {args.lines / theirs:11,.0f} {their_rss:8,.0f} MiB")
        print(f"{label:<6} ratio wheelstats/goaccess (lines/s): {theirs / ours:.2f}x")
    if not args.keep:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
