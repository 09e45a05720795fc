"""Faults: a report's --out that cannot take it.

Issue 8: a full disk during `report --out` (OSError 28), an --out in /proc, onto an existing file, /dev/null or
a read-only folder gave tracebacks. Now each is one line, and the folder is as it was: an earlier report in
it untouched, a folder made for the report removed again. The disks are real: a small tmpfs, and a read-only
bind mount, each in a mount namespace of its own.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from kit.faults import cli_line, in_private_mounts, wheelstats
from kit.reports import build_store

PERIOD = "2020-Q1"
FIX = {
    "full": "Free some space, or choose another folder for --out (nothing was written).",
    "other": "Choose a writable folder for --out (nothing was written).",
}


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("store") / "s.duckdb"
    build_store(path)
    return path


def report_in_private_mounts(tmp_path: Path, mount: str, out: Path, db: Path) -> tuple[int, str, list[str]]:
    """Mount, write the report into `out`, then list what the mounted folder holds: (exit, stderr, listing)."""
    disk = tmp_path / "disk"
    disk.mkdir(exist_ok=True)
    work = tmp_path / "work"
    work.mkdir()
    script = f"""
        {mount.format(disk=shlex.quote(str(disk)))} || exit 99
        {cli_line("report", "--period", PERIOD, "--db", db, "--out", out, "--site", "piwheels")} \
            > {work}/stdout 2> {work}/stderr
        echo $? > {work}/code
        ls -A {shlex.quote(str(disk))} > {work}/listing
    """
    outcome = in_private_mounts(script)
    assert outcome.code == 0, outcome.stderr
    return (int((work / "code").read_text()), (work / "stderr").read_text(),
            (work / "listing").read_text().split())


def test_a_full_disk_is_one_line_and_leaves_nothing(tmp_path, db):
    out = tmp_path / "disk" / "report"
    code, stderr, listing = report_in_private_mounts(tmp_path, "mount -t tmpfs -o size=96k tmpfs {disk}", out, db)
    assert (code, stderr) == (1, f"Error: Cannot write the report into {str(out)!r}: No space left on device. {FIX['full']}\n")
    assert listing == []  # the folder made for the report is gone, and its staging folder with it


def test_a_full_disk_leaves_an_earlier_report_as_it_was(tmp_path, db):
    out = tmp_path / "disk" / "report"
    earlier = "mount -t tmpfs -o size=96k tmpfs {disk} && mkdir {disk}/report && echo earlier > {disk}/report/report.md"
    code, stderr, listing = report_in_private_mounts(tmp_path, earlier + " && cat {disk}/report/report.md > "
                                                     + shlex.quote(str(tmp_path / "before.md")), out, db)
    assert (code, stderr) == (1, f"Error: Cannot write the report into {str(out)!r}: No space left on device. {FIX['full']}\n")
    assert listing == ["report"]
    assert (tmp_path / "before.md").read_text() == "earlier\n"


def test_a_read_only_folder_is_one_line(tmp_path, db):
    out = tmp_path / "disk" / "report"
    code, stderr, listing = report_in_private_mounts(
        tmp_path, "mount --bind {disk} {disk} && mount -o remount,bind,ro {disk}", out, db)
    assert (code, stderr) == (1, f"Error: Cannot write the report into {str(out)!r}: Read-only file system. {FIX['other']}\n")
    assert listing == []


@pytest.mark.parametrize(("out", "message"), [
    ("/proc/wheelstats-report", "Cannot write the report into '/proc/wheelstats-report': No such file or directory. "
                                + FIX["other"]),
    ("/proc", "Cannot write the report into '/proc': No such file or directory. " + FIX["other"]),
    ("/dev/null", "'/dev/null' is not a folder. Choose a folder for --out: the report writes report.md, report.html, "
                  "report.json and charts/ into it."),
    ("{tmp}/notes.txt", "'{tmp}/notes.txt' is not a folder. Choose a folder for --out: the report writes report.md, "
                        "report.html, report.json and charts/ into it."),
], ids=["in /proc", "/proc", "/dev/null", "a file"])
def test_an_out_that_is_no_writable_folder_is_one_line(tmp_path, db, out, message):
    (tmp_path / "notes.txt").write_text("mine")
    outcome = wheelstats("report", "--period", PERIOD, "--db", db, "--out", out.format(tmp=tmp_path))
    assert (outcome.code, outcome.stderr) == (1, f"Error: {message.format(tmp=tmp_path)}\n")
    assert (tmp_path / "notes.txt").read_text() == "mine"
    assert not Path("/proc/wheelstats-report").exists()
