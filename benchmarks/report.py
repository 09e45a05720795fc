"""Benchmark: simulate piwheels Q1 2020, ingest, import, report; time each stage, check the seed.

    .venv/bin/python benchmarks/report.py [--scale 1.0] [--workdir DIR] [--seed-figures FILE]

At scale 1.0 the store holds about 18 million downloads. Targets: the report's
queries under 2 s, the whole report (charts included) under 10 s. At scale 1.0 the
headline and the top 10 must equal the seed's (seed-2020q1.json).

It prints each spike's sentences (its cause and what it left behind, as the report
says them) and how much explaining the spikes adds to the report (wall and CPU
time of stats.explain_spikes); the spike at the simulated upgrade must name the
cause the manifest recorded.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from wheelstats import stats
from wheelstats.period import parse_period
from wheelstats.report import build_report, headline, write_report
from wheelstats.report.spikes import after_sentence, cause_sentences, spike_days

ROOT = Path(__file__).resolve().parents[1]
WHEELSTATS = str(Path(sys.executable).with_name("wheelstats"))
QUERY_TARGET_S, REPORT_TARGET_S = 2.0, 10.0


def stage(name: str, command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    elapsed = time.perf_counter() - started
    print(f"{name:<22} {elapsed:8.2f} s", flush=True)
    return elapsed


def expected_headline(seed: dict) -> str:
    return (
        "In the period of January — March 2020, "
        f"**{seed['downloads_in_period']:,}** packages were downloaded from {seed['site']}, "
        f"bringing the total to **{seed['downloads_all_time_at_period_end']:,}**. This has saved "
        f"nearly **60 years** in the period, and **232 years** in total!"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--workdir", type=Path, help="Keep the data here (default: a temporary folder).")
    parser.add_argument("--seed-figures", type=Path, default=ROOT.parent / "shared" / "seed-2020q1.json")
    parser.add_argument("--reuse", action="store_true",
                        help="Reuse the store already in --workdir: only time the report.")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="wheelstats-bench-") as temporary:
        work = args.workdir or Path(temporary)
        work.mkdir(parents=True, exist_ok=True)
        sim, db, out = work / "sim", work / "store.duckdb", work / "report"
        if not (args.reuse and db.exists()):
            db.unlink(missing_ok=True)
            stage("simulate", [WHEELSTATS, "simulate", "--scenario", "piwheels-2020q1",
                               "--scale", str(args.scale), "--out", str(sim)])
            stage("import piwheels", [WHEELSTATS, "import", "piwheels", "--dump", str(sim / "piwheels"),
                                      "--db", str(db)])
            stage("ingest", [WHEELSTATS, "ingest", *sorted(glob.glob(str(sim / "logs" / "*"))),
                             "--db", str(db)])
        stage("report (command)", [WHEELSTATS, "report", "--period", "2020-Q1", "--db", str(db),
                                   "--out", str(out)])

        period = parse_period("2020-Q1")
        tables = stats.open_tables(db)
        build_report(tables, period)  # warm the file cache, as a second run would find it
        timings: dict[str, float] = {}
        started, cpu_started = time.perf_counter(), time.process_time()
        report = build_report(tables, period, timings=timings)
        queries, queries_cpu = time.perf_counter() - started, time.process_time() - cpu_started
        for name, seconds in timings.items():
            print(f"  {name:<22} {seconds:6.3f} s")
        started, cpu_started = time.perf_counter(), time.process_time()
        write_report(tables, period, work / "report-timed")
        whole, whole_cpu = time.perf_counter() - started, time.process_time() - cpu_started
        # CPU time (all threads) does not grow when other work shares the machine; wall time does.
        print(f"{'report queries':<22} {queries:8.2f} s  (CPU {queries_cpu:.2f} s; target < {QUERY_TARGET_S:g} s)")
        print(f"{'whole report':<22} {whole:8.2f} s  (CPU {whole_cpu:.2f} s; target < {REPORT_TARGET_S:g} s)")
        print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
        print(f"downloads: {report['downloads']:,} in the period, {report['downloads_all_time']:,} in all")
        found = stats.spikes(tables, period)
        started, cpu_started = time.perf_counter(), time.process_time()
        stats.explain_spikes(tables, period, found)
        attribution, attribution_cpu = time.perf_counter() - started, time.process_time() - cpu_started
        print(f"{'spike attribution':<22} {attribution:8.2f} s  (CPU {attribution_cpu:.2f} s) of the report queries' "
              f"{queries:.2f} s, for {len(found)} spike{'s' if len(found) != 1 else ''}")
        for spike in report["spikes"]:
            story = " ".join(t for t in (cause_sentences(spike), after_sentence(spike)) if t)
            print(f"spike of {spike_days(spike)}: {story}")

        failures = []
        text = (out / "report.md").read_text(encoding="utf-8")
        print("headline:", headline(report))
        manifest = json.loads((sim / "manifest.json").read_text(encoding="utf-8"))
        peak, written = manifest["days"]["peak"]["date"], manifest["cause"]
        at_peak = [s["cause"] for s in report["spikes"] if s["start"] <= peak <= s["end"]]
        if [(c["kind"], c["project"]) for c in at_peak] != [(written["kind"], written.get("project"))]:
            failures.append(f"the spike of {peak} was not put down to {written['kind']} {written.get('project')}: "
                            f"{at_peak}")
        if args.scale == 1.0:
            seed = json.loads(args.seed_figures.read_text(encoding="utf-8"))
            if expected_headline(seed) not in text:
                failures.append("the headline differs from the seed's")
            top = [[p["name"], p["downloads"]] for p in report["top"]]
            if top != seed["top_in_period"]:
                failures.append(f"the top 10 differs from the seed's: {top}")
        if queries > QUERY_TARGET_S:
            failures.append(f"report queries took {queries:.2f} s")
        if whole > REPORT_TARGET_S:
            failures.append(f"the whole report took {whole:.2f} s")
        for failure in failures:
            print("FAIL:", failure)
        if not failures:
            print("OK")
        return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
