"""The sandbox and its supervisor on real builds: the CPU time of all a build's processes is limited,
and nothing a build starts outlives it, not even a process that left its session."""

from __future__ import annotations

import gzip
import subprocess
import sys

from kit.builds import by_project, processes_alive, run_build
from kit.sdists import make_project


def test_a_build_burning_cpu_is_killed_at_the_cpu_time_limit(tmp_path):
    sources, db, wheels = tmp_path / "sources", tmp_path / "stats.duckdb", tmp_path / "wheels"
    make_project(sources, "spinner", "1.0", "cpu")
    result = run_build(db, sources, wheels, "--timeout", "2m", "--cpu-time", "2s")
    assert result.returncode == 0, result.stderr
    row = by_project(db)["spinner"]
    assert (row["status"], row["reason"], row["exit_code"]) == (False, "cpu", None)
    assert 2 <= row["duration_s"] < 60, "stopped at 2 s of CPU, long before the timeout"
    last = gzip.decompress((tmp_path / row["log_path"]).read_bytes()).decode().rstrip().splitlines()[-1]
    assert last.startswith("wheelstats: stopped at the CPU time limit (2s) after ")
    cpu = float(last.split("(CPU ")[1].split(" s)")[0])
    assert cpu >= 2, "the account counts the CPU of the process that was killed, not only pip's"


def test_a_process_a_build_leaves_running_is_killed_even_outside_its_session(tmp_path):
    sources, db, wheels = tmp_path / "sources", tmp_path / "stats.duckdb", tmp_path / "wheels"
    pid_file = tmp_path / "daemon.pid"
    make_project(sources, "leaver", "1.0", "daemon", pid_file=pid_file)
    result = run_build(db, sources, wheels)
    assert result.returncode == 0, result.stderr
    assert by_project(db)["leaver"]["status"] is True
    daemon = int(pid_file.read_text())
    assert processes_alive(daemon) == []


def test_the_sandbox_refuses_a_command_line_it_does_not_know():
    result = subprocess.run([sys.executable, "-m", "wheelstats.builder.sandbox", "--memory", "lots", "--", "wheel"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr == ("usage: python -m wheelstats.builder.sandbox [--memory BYTES] [--cpu SECONDS] -- "
                             "PIP ARGUMENTS (not '--memory' 'lots')\n")
