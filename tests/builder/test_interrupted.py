"""A `wheelstats build` killed with SIGKILL, then run again: exactly one build row per attempted
release, every recorded wheel published whole, nothing published unrecorded, no stage, work folder
or build process left behind.

The kills are real (a running `wheelstats build --jobs 2` over a real index); the window between
a build's commit and its renames is too short to hit on purpose, so the settling of stages is
also shown on stages written as a killed run leaves them.
"""

from __future__ import annotations

import gzip
import os
import signal
import socket
import subprocess
from pathlib import Path

import pytest

from kit.builds import build_command, builds, builds_started_by, kill_builds_of, processes_alive, run_build, sha256
from kit.processes import stop, wait_until
from kit.sdists import make_project
from kit.servers import make_wheel, query, serving

PROJECTS = [("alpha", "extension"), ("beta", "pure"), ("gamma", "extension"), ("delta", "pure"),
            ("epsilon", "pure"), ("zeta", "extension")]


def served_wheels(wheels: Path) -> list[Path]:
    """The wheels served: those outside the builder's .staging, whose folders a running build removes under a
    walk (os.walk skips what vanishes; Path.rglob raised)."""
    found = []
    for folder, subfolders, files in os.walk(wheels):
        subfolders[:] = [name for name in subfolders if name != ".staging"]
        found += [Path(folder) / name for name in files if name.endswith(".whl")]
    return found


def consistent(db, wheels) -> None:
    """What must hold at any moment: a successful build has its files rows; every wheel where it is
    served is recorded with its hash; each release has one build at most."""
    recorded = {filename: digest for filename, digest in query(db, "SELECT filename, sha256 FROM files")}
    for path in served_wheels(wheels):
        assert recorded.get(path.name) == sha256(path), f"{path} is served but not recorded as it is"
    assert query(db, """SELECT b.project FROM builds b WHERE b.status
                        AND NOT EXISTS (SELECT 1 FROM files f WHERE f.build_id = b.build_id)""") == []
    assert query(db, "SELECT project, version FROM builds GROUP BY ALL HAVING count(*) > 1") == []


def kill_while_building(command: list[str], env: dict, also=lambda: True) -> None:
    """Start `wheelstats build`, and SIGKILL it while builds of its run (and `also`) are under way."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        wait_until(lambda: builds_started_by(process.pid) and also(), timeout=120, what="the run to be building")
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    finally:
        stop(process)


def dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


@pytest.fixture
def index(tmp_path):
    sources = tmp_path / "sources"
    for name, kind in PROJECTS:
        make_project(sources, name, "1.0", kind, compile_functions=150)
    with serving(sources, tmp_path, "--no-record", db=tmp_path / "source.duckdb") as server:
        yield server.url + "/simple/"


def test_killed_while_building_then_run_again_builds_exactly_what_was_not_recorded(index, tmp_path):
    db, wheels, work = tmp_path / "stats.duckdb", tmp_path / "wheels", tmp_path / "work"
    work.mkdir()
    env = {**os.environ, "TMPDIR": str(work)}
    def published() -> int:
        return len(served_wheels(wheels))

    command = build_command(db, index, wheels, "--jobs", "2")
    kill_while_building(command, env)  # while its first builds run
    consistent(db, wheels)
    before = published()
    kill_while_building(command, env, lambda: published() > before)  # once it has published more
    consistent(db, wheels)
    assert 0 < len(builds(db)) < len(PROJECTS), "the killed runs recorded some builds, not all"
    assert any(work.iterdir()), "a killed run leaves its work folders"
    result = run_build(db, index, wheels, "--jobs", "2", env={"TMPDIR": str(work)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("A run was interrupted before this one: ")
    consistent(db, wheels)
    assert sorted(row["project"] for row in builds(db)) == sorted(name for name, _kind in PROJECTS)
    assert all(row["status"] for row in builds(db))
    served = sorted(path.name for path in served_wheels(wheels))
    assert served == sorted(filename for (filename,) in query(db, "SELECT filename FROM files"))
    assert len(served) == len(PROJECTS)
    assert not any((wheels / ".staging").iterdir()) and not any((tmp_path / "stats.build-logs" / ".staging").iterdir())
    assert list(work.iterdir()) == []
    for row in builds(db):
        assert (tmp_path / row["log_path"]).is_file()
    again = run_build(db, index, wheels)
    assert again.stdout == f"Nothing to build from {index}.\n"


def test_a_build_left_running_by_a_killed_run_is_killed_by_the_next(tmp_path):
    sources, db, wheels = tmp_path / "sources", tmp_path / "stats.duckdb", tmp_path / "wheels"
    pids = tmp_path / "hang.pids"
    make_project(sources, "stuck", "1.0", "hang", pid_file=pids)
    process = subprocess.Popen(build_command(db, sources, wheels, "--timeout", "10m"), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: pids.exists() and len(pids.read_text().split()) == 2, timeout=60, what="the build to hang")
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        hanging = [int(pid) for pid in pids.read_text().split()]
        assert processes_alive(*hanging) == hanging, "a SIGKILL leaves the build's own session running"
        pids.unlink()
        result = run_build(db, sources, wheels, "--timeout", "2s")
        assert result.stdout.splitlines()[0] == (
            "A run was interrupted before this one: killed 1 build left running; removed 1 work folder.")
        assert processes_alive(*hanging) == []
        assert [(row["project"], row["reason"]) for row in builds(db)] == [("stuck", "timeout")]
    finally:
        stop(process)
        kill_builds_of(process.pid)


def test_stages_of_a_dead_run_are_published_if_recorded_and_deleted_if_not(tmp_path):
    """As a run killed between a commit and its renames leaves them, and one killed before its commit."""
    sources, db, wheels = tmp_path / "sources", tmp_path / "stats.duckdb", tmp_path / "wheels"
    make_project(sources, "kept", "1.0", "pure")
    make_project(sources, "lost", "1.0", "pure")
    first = run_build(db, sources, wheels, "kept")
    assert first.returncode == 0, first.stderr
    (row,) = builds(db)
    host, pid = socket.gethostname(), dead_pid()
    # undo the renames of `kept`'s build: back into a stage named after a dead run
    wheel_stage = wheels / ".staging" / f"{host}-{pid}-{row['build_id']}"
    log_stage = tmp_path / "stats.build-logs" / ".staging" / f"{host}-{pid}-{row['build_id']}"
    wheel_stage.mkdir(parents=True)
    log_stage.mkdir(parents=True)
    for path in (wheels / "kept").iterdir():
        path.rename(wheel_stage / path.name)
    (tmp_path / row["log_path"]).rename(log_stage / f"{row['build_id']}.log.gz")
    # and a stage of a build that was never recorded
    unrecorded = wheels / ".staging" / f"{host}-{pid}-12345"
    make_wheel(unrecorded, "lost", "1.0")
    (tmp_path / "stats.build-logs" / ".staging" / f"{host}-{pid}-12345").mkdir()
    (tmp_path / "stats.build-logs" / ".staging" / f"{host}-{pid}-12345" / "12345.log.gz").write_bytes(
        gzip.compress(b"a log\n"))
    # a stage of a run that is still alive is not touched
    alive = wheels / ".staging" / f"{host}-{os.getppid()}-777"
    make_wheel(alive, "other", "1.0")
    result = run_build(db, sources, wheels, "kept")
    assert result.stdout.splitlines() == [
        "A run was interrupted before this one: published the files of 1 recorded build; "
        "deleted the files of 1 unrecorded build (to build again).",
        f"Not building kept 1.0: it was built already (build {row['build_id']}).",
        f"Nothing to build from {sources}.",
    ]
    assert sorted(p.name for p in (wheels / "kept").iterdir()) == [
        "kept-1.0-py3-none-any.whl", "kept-1.0-py3-none-any.whl.metadata"]
    assert sha256(wheels / "kept" / "kept-1.0-py3-none-any.whl") == query(db, "SELECT sha256 FROM files")[0][0]
    assert (tmp_path / row["log_path"]).is_file()
    assert sorted(p.name for p in (wheels / ".staging").iterdir()) == [alive.name]
    assert not (wheels / "lost").exists()


def test_sigterm_kills_the_build_in_progress_and_records_nothing_of_it(tmp_path):
    sources, db, wheels, work = tmp_path / "sources", tmp_path / "stats.duckdb", tmp_path / "wheels", tmp_path / "work"
    pids = tmp_path / "stuck.pids"
    work.mkdir()
    make_project(sources, "done", "1.0", "pure")
    make_project(sources, "stuck", "1.0", "hang", pid_file=pids)  # newer: built first
    first = run_build(db, sources, wheels, "done")
    assert first.returncode == 0
    process = subprocess.Popen(build_command(db, sources, wheels, "--timeout", "10m"), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env={**os.environ, "TMPDIR": str(work)})
    try:
        wait_until(lambda: pids.exists() and len(pids.read_text().split()) == 2, timeout=60, what="the build to hang")
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    finally:
        stop(process)
        kill_builds_of(process.pid)
    assert process.returncode == 143
    assert err == ("Stopped by SIGTERM: recorded 0 builds: 0 succeeded, 0 failed; any build in progress is killed and "
                   "not recorded (the next run builds it).\n")
    assert out.splitlines()[-1].startswith(f"Building 1 release from {sources} ")
    assert processes_alive(*(int(pid) for pid in pids.read_text().split())) == []
    assert [row["project"] for row in builds(db)] == ["done"]
    assert list(work.iterdir()) == [], "the killed build's fresh folder is removed"
