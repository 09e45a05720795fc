"""Benchmark: `wheelstats build` against a plain loop of `pip wheel` over N small sdists, and --jobs 2 against 1.

    .venv/bin/python benchmarks/build.py [--sdists 20] [--kind pure|extension] [--rounds 3] [--workdir DIR]

The sdists are the tests' own (tests/kit/sdists.py: an in-tree backend, nothing to
download), in a folder used as the source. The plain loop runs, one after another,
the very `pip wheel` command the builder runs for each sdist (output to a log file);
`wheelstats build` runs as a user runs it, start to end: its start-up, the queue,
the sandbox and its watchdog, staging, recording each build in the store,
publishing, and refreshing the live figures. Each is timed over whole rounds (a
fresh store and wheels folder each; the loop and the builder take turns going
first), and the fastest and the median rounds are reported: on a shared machine
the fastest is the least disturbed.

The overhead target is at most 10% over the plain loop. It also prints the mean
duration the builder recorded for a build, which for a pure project (a build that
compiles nothing) is the `native` time-saved method's overhead on this machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from kit.sdists import make_project  # noqa: E402  (the same real sdists the tests build)

WHEELSTATS = str(Path(sys.executable).with_name("wheelstats"))


def make_sdists(folder: Path, count: int, kind: str) -> list[tuple[str, str]]:
    releases = []
    for number in range(count):
        name = f"bench{number:03d}"
        make_project(folder, name, "1.0", kind, compile_functions=100 if kind == "extension" else 0)
        releases.append((name, "1.0"))
    return releases


def plain_loop(sources: Path, releases: list[tuple[str, str]], out: Path) -> float:
    """`pip wheel` for each release, one after another, as the builder runs it."""
    out.mkdir(parents=True)
    started = time.perf_counter()
    for name, version in releases:
        with open(out / f"{name}.log", "wb") as log:
            subprocess.run(
                [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-binary", name, "--no-cache-dir",
                 "--prefer-binary", "--no-input", "--disable-pip-version-check", "--progress-bar", "off", "--verbose",
                 "--wheel-dir", str(out), "--no-index", "--find-links", str(sources), f"{name}=={version}"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, check=True)
    return time.perf_counter() - started


def builder_run(sources: Path, out: Path, jobs: int) -> tuple[float, list[float]]:
    """`wheelstats build` over the folder: its wall time, and the durations it recorded."""
    out.mkdir(parents=True)
    db = out / "stats.duckdb"
    started = time.perf_counter()
    subprocess.run([WHEELSTATS, "build", "--db", str(db), "--source", str(sources), "--wheels", str(out / "wheels"),
                    "--jobs", str(jobs)], check=True, stdout=subprocess.DEVNULL)
    elapsed = time.perf_counter() - started
    con = duckdb.connect(str(db), read_only=True)
    durations = [row[0] for row in con.execute("SELECT duration_s FROM builds WHERE status").fetchall()]
    con.close()
    return elapsed, durations


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sdists", type=int, default=20, help="How many sdists to build (default 20).")
    parser.add_argument("--kind", choices=("pure", "extension"), default="pure",
                        help="Pure Python (a build that compiles nothing), or a small C extension gcc compiles.")
    parser.add_argument("--rounds", type=int, default=3, help="Rounds of each measurement; the median is shown.")
    parser.add_argument("--workdir", type=Path,
                        help="Keep the sdists, stores and wheels here (default: a temporary folder).")
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="wheelstats-build-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        sources = work / "sources"
        if sources.exists():
            shutil.rmtree(sources)
        releases = make_sdists(sources, args.sdists, args.kind)
        loops, ones, twos, durations = [], [], [], []
        for round_number in range(args.rounds):
            folder = work / f"round-{round_number}"
            if folder.exists():
                shutil.rmtree(folder)

            def builder_jobs_1(folder: Path = folder) -> None:
                elapsed, recorded = builder_run(sources, folder / "jobs1", 1)
                ones.append(elapsed)
                durations.extend(recorded)

            def loop(folder: Path = folder) -> None:
                loops.append(plain_loop(sources, releases, folder / "loop"))
            for measure in ((loop, builder_jobs_1) if round_number % 2 == 0 else (builder_jobs_1, loop)):
                measure()  # in turns, so that a change of the machine's load falls on both
            twos.append(builder_run(sources, folder / "jobs2", 2)[0])
        print(f"{args.sdists} {args.kind} sdists, {args.rounds} rounds each, {os.cpu_count()} CPUs, "
              f"load average {os.getloadavg()[0]:.1f}; the fastest round and the median:")
        for label, times in (("plain loop of pip wheel", loops), ("wheelstats build --jobs 1", ones),
                             ("wheelstats build --jobs 2", twos)):
            print(f"  {label + ':':28s} {min(times):6.2f} s, median {statistics.median(times):6.2f} s "
                  f"({min(times) / args.sdists:.2f} s a build)")
        for label, pick in (("fastest", min), ("median", statistics.median)):
            print(f"  overhead of the builder ({label}): {100 * (pick(ones) - pick(loops)) / pick(loops):+.1f}% "
                  "(target at most +10%)")
        print(f"  --jobs 2 against --jobs 1: {min(ones) / min(twos):.2f}x faster")
        print(f"  duration the builder recorded per build: mean {statistics.mean(durations):.2f} s, "
              f"median {statistics.median(durations):.2f} s, fastest {min(durations):.2f} s")
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
