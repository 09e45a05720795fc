"""Fault injection for tests/faults: the CLI as a process, signals at observed moments, small or read-only disks,
and what a store holds, to compare with a clean run.

The CLI runs as `python -m wheelstats`, so that the suite runs the code on PYTHONPATH (e.g. main's, to see
each case fail there). Disks are tmpfs mounts made in a private mount namespace (`unshare -m` as root,
`unshare -rm` otherwise), invisible to other processes and gone with the command.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb

from kit.processes import ctrl_c_restored

CLI = [sys.executable, "-m", "wheelstats"]
UNSHARE = ["unshare", "-m"] if os.geteuid() == 0 else ["unshare", "-rm"]
# Root reads any file: a command prefix that takes that power away (util-linux's setpriv), to meet "Permission denied".
WITHOUT_ROOT_READS = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--"] if os.geteuid() == 0 else []
TIMEOUT = 300


@dataclass(frozen=True, slots=True)
class Outcome:
    code: int
    stdout: str
    stderr: str


def wheelstats(*args: str | os.PathLike, env: dict | None = None) -> Outcome:
    """Run the CLI to its end."""
    done = subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, timeout=TIMEOUT,
                          env={**os.environ, **(env or {})})
    return Outcome(done.returncode, done.stdout, done.stderr)


def start_wheelstats(*args: str | os.PathLike, folder: Path, ctrl_c: bool = False) -> subprocess.Popen:
    """Start the CLI; with `ctrl_c`, with SIGINT restored (it is ignored when the tests run in the background).

    Its output goes to files in `folder` (a pipe could fill up and stall it); see `finish`.
    """
    with open(folder / "stdout", "wb") as out, open(folder / "stderr", "wb") as err:
        return subprocess.Popen([*CLI, *map(str, args)], stdout=out, stderr=err,
                                preexec_fn=ctrl_c_restored if ctrl_c else None)


def finish(process: subprocess.Popen, folder: Path) -> Outcome:
    """Wait for a started CLI (killing it if it hangs) and read its output."""
    try:
        process.wait(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    return Outcome(process.returncode, (folder / "stdout").read_text(), (folder / "stderr").read_text())


def catches(pid: int, signum: int) -> bool:
    """Whether the process has a handler for `signum` (its SigCgt mask in /proc)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    caught = int(next(line for line in status.splitlines() if line.startswith("SigCgt:")).split()[1], 16)
    return bool(caught >> (signum - 1) & 1)


def busy(db: Path) -> bool:
    """Whether a writer holds the store now."""
    try:
        duckdb.connect(str(db), read_only=True).close()
    except duckdb.IOException as error:
        return "lock" in str(error).lower()
    return False


def read(db: Path, sql: str):
    """The first row of `sql` on the store, or None while a writer holds it or before it exists."""
    try:
        con = duckdb.connect(str(db), read_only=True)
    except duckdb.Error:
        return None
    try:
        return con.execute(sql).fetchone()
    except duckdb.CatalogException:  # not made yet
        return None
    finally:
        con.close()


def committed_lines(db: Path) -> int:
    row = read(db, "SELECT coalesce(sum(lines), 0) FROM sources")
    return row[0] if row else 0


def totals(db: Path) -> dict[str, int]:
    """What the store holds, in the figures a clean run must match: hits by kind, ignored and rejected lines,
    lines checkpointed, distinct clients, downloads rolled up."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        figures = dict(con.execute("SELECT kind::VARCHAR, count(*) FROM hits GROUP BY ALL").fetchall())
        for name, sql in {
            "ignored": "SELECT coalesce(sum(lines), 0) FROM ignored",
            "rejected": "SELECT coalesce(sum(lines), 0) FROM rejected",
            "lines": "SELECT coalesce(sum(lines), 0) FROM sources",
            "clients": "SELECT count(DISTINCT client) FROM hits",
            "rolled_up": "SELECT coalesce(sum(downloads), 0) FROM rollup_totals",
            "files": "SELECT count(*) FROM files",
            "builds": "SELECT count(*) FROM builds",
        }.items():
            figures[name] = con.execute(sql).fetchone()[0]
        return figures
    finally:
        con.close()


def in_private_mounts(script: str) -> Outcome:
    """Run a shell script in a mount namespace of its own (for tmpfs and read-only mounts)."""
    done = subprocess.run([*UNSHARE, "sh", "-c", script], capture_output=True, text=True, timeout=TIMEOUT)
    return Outcome(done.returncode, done.stdout, done.stderr)


def cli_line(*args: str | os.PathLike) -> str:
    """The CLI's command line for a shell script."""
    return shlex.join([*CLI, *map(str, args)])
