"""The builder's commands as a user types them: `build` (its errors, skips, retries), `builds`,
`builds log`, `skip` and `unskip`, with the exact text they print."""

from __future__ import annotations

import gzip
import json
import subprocess

import duckdb
import pytest

from kit.builds import builder_description, builds, by_project, run_build
from kit.processes import WHEELSTATS, free_port
from kit.sdists import make_project
from kit.servers import query


def wheelstats(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([WHEELSTATS, *args], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A store with one built release and one failed one, from a folder of sdists."""
    tmp = tmp_path_factory.mktemp("builder-cli")
    sources, db, wheels = tmp / "sources", tmp / "stats.duckdb", tmp / "wheels"
    make_project(sources, "good", "1.0", "pure")
    make_project(sources, "bad", "1.0", "fail")
    result = run_build(db, sources, wheels, "--timeout", "1m")
    assert result.returncode == 0, result.stderr
    return {"tmp": tmp, "sources": sources, "db": db, "wheels": wheels}


def test_builds_lists_each_build_newest_first(store):
    rows = sorted(builds(store["db"]), key=lambda row: row["built_at"], reverse=True)
    expected = []
    for row in rows:
        started = row["built_at"].isoformat(sep=" ", timespec="seconds")
        ending = (f"built in {row['duration_s']:.1f} s: good-1.0-py3-none-any.whl" if row["status"]
                  else f"failed after {row['duration_s']:.1f} s (error, exit code 1)")
        expected.append(f"{row['build_id']}  {started} UTC  {row['project']} 1.0 ({row['abi_tag']})  {ending}  "
                        f"log: stats.build-logs/{row['project']}/{row['build_id']}.log.gz")
    result = wheelstats("builds", "--db", str(store["db"]))
    assert (result.returncode, result.stdout) == (0, "\n".join(expected) + "\n")
    failed = wheelstats("builds", "--failed", "--db", str(store["db"]))
    assert failed.stdout == [line for line in expected if " bad 1.0 " in line][0] + "\n"
    assert wheelstats("builds", "--project", "GOOD", "--db", str(store["db"])).stdout == \
        [line for line in expected if " good 1.0 " in line][0] + "\n"
    assert wheelstats("builds", "--project", "nothing", "--db", str(store["db"])).stdout == "No builds match.\n"


def test_builds_as_json(store):
    result = wheelstats("builds", "--json", "--project", "good", "--db", str(store["db"]))
    (listed,) = json.loads(result.stdout)
    row = by_project(store["db"])["good"]
    digest, size = query(store["db"], "SELECT sha256, size FROM files WHERE build_id = ?", [row["build_id"]])[0]
    assert listed == {
        "build_id": row["build_id"], "project": "good", "version": "1.0", "abi_tag": row["abi_tag"],
        "platform_tag": row["platform_tag"], "built_by": row["built_by"],
        "built_at": row["built_at"].isoformat() + "Z", "duration_s": row["duration_s"], "status": True,
        "reason": None, "exit_code": 0, "log_path": row["log_path"],
        "files": [{"filename": "good-1.0-py3-none-any.whl", "size": size, "sha256": digest}],
    }


def test_builds_log_and_its_errors(store, tmp_path):
    db, bad = store["db"], by_project(store["db"])["bad"]
    printed = wheelstats("builds", "log", str(bad["build_id"]), "--db", str(db))
    assert printed.stdout == gzip.decompress((store["tmp"] / bad["log_path"]).read_bytes()).decode()
    missing = wheelstats("builds", "log", "42", "--db", str(db))
    assert (missing.returncode, missing.stdout) == (1, "")
    assert missing.stderr == "Error: No build 42 in the store. See `wheelstats builds` for the builds it holds.\n"
    copy = tmp_path / "copy.duckdb"
    copy.write_bytes(db.read_bytes())  # the same store moved without its logs
    moved = wheelstats("builds", "log", str(bad["build_id"]), "--db", str(copy))
    assert moved.returncode == 1
    assert moved.stderr == (f"Error: The log of build {bad['build_id']} at {str(tmp_path / bad['log_path'])!r} "
                            "cannot be read: it was moved or deleted.\n")


def test_a_release_built_or_failed_is_held_back_and_retry_failed_builds_it_again(tmp_path):
    sources, db, wheels = tmp_path / "sources", tmp_path / "stats.duckdb", tmp_path / "wheels"
    make_project(sources, "good", "1.0", "pure")
    make_project(sources, "bad", "1.0", "fail")  # the newer upload: first in the queue
    run_build(db, sources, wheels)
    rows = by_project(db)
    again = run_build(db, sources, wheels, "good", "bad==1.0")
    assert again.stdout == (
        f"Not building bad 1.0: it failed before (build {rows['bad']['build_id']}); pass --retry-failed to build "
        "it again.\n"
        f"Not building good 1.0: it was built already (build {rows['good']['build_id']}).\n"
        f"Nothing to build from {sources}.\n")
    retried = run_build(db, sources, wheels, "--retry-failed", "--timeout", "1m", "bad")
    latest = builds(db, "project = 'bad'")[-1]
    assert retried.stdout.splitlines() == [
        f"Building 1 release from {sources} for {builder_description()}, 1 at a time "
        "(timeout 1m, 2GiB, CPU time 1m).",
        f"Failed bad 1.0 after {latest['duration_s']:.1f} s: pip exited with 1 (build {latest['build_id']}; "
        f"its log: wheelstats builds log {latest['build_id']}).",
        f"Recorded 1 build: 0 succeeded, 1 failed (1 error). Wheels in {wheels}, logs in "
        f"{tmp_path / 'stats.build-logs'}.",
    ]
    assert len(builds(db, "project = 'bad'")) == 2


def test_a_failure_by_another_pip_is_retried_without_asking(tmp_path):
    sources, db, wheels = tmp_path / "sources", tmp_path / "stats.duckdb", tmp_path / "wheels"
    make_project(sources, "flaky", "1.0", "fail")
    run_build(db, sources, wheels)
    con = duckdb.connect(str(db))
    con.execute("UPDATE builds SET pip_version = '23.0'")  # as if pip was upgraded since it failed
    con.close()
    result = run_build(db, sources, wheels)
    assert result.stdout.startswith(f"Building 1 release from {sources} ")
    assert [row["pip_version"] for row in builds(db)][0] == "23.0" and len(builds(db)) == 2


def test_skip_and_unskip(tmp_path):
    sources, db, wheels = tmp_path / "sources", tmp_path / "stats.duckdb", tmp_path / "wheels"
    make_project(sources, "huge", "1.0", "pure")
    make_project(sources, "huge", "2.0", "pure")
    assert wheelstats("skip", "Huge", "--reason", "too big to build here", "--db", str(db)).stdout == \
        "Skipping huge (every version): too big to build here.\n"
    assert wheelstats("skip", "huge==2.0", "--reason", "broken sdist", "--db", str(db)).stdout == \
        "Skipping huge 2.0: broken sdist.\n"
    held = run_build(db, sources, wheels, "huge")
    assert held.stdout == ("Not building huge 2.0: it is skipped: the project (too big to build here).\n"
                           "Not building huge 1.0: it is skipped: the project (too big to build here).\n"
                           f"Nothing to build from {sources}.\n")
    assert run_build(db, sources, wheels).stdout == f"Nothing to build from {sources}.\n"
    assert wheelstats("unskip", "huge", "--db", str(db)).stdout == \
        "huge is built again (it was skipped: too big to build here).\n"
    assert wheelstats("unskip", "huge", "--db", str(db)).stdout == "huge was not skipped.\n"
    built = run_build(db, sources, wheels, "huge")
    assert built.stdout.splitlines()[0] == "Not building huge 2.0: it is skipped (broken sdist)."
    assert [row["version"] for row in builds(db)] == ["1.0"]
    assert wheelstats("unskip", "huge==2.0", "--db", str(db)).stdout == \
        "huge 2.0 is built again (it was skipped: broken sdist).\n"
    no_reason = wheelstats("skip", "huge", "--reason", " ", "--db", str(db))
    assert (no_reason.returncode, no_reason.stderr) == (
        1, "Error: Give a reason with --reason: it is shown whenever the skip holds a build back.\n")


@pytest.mark.parametrize(("args", "message"), [
    (("--timeout", "soon"), "Invalid --timeout: 'soon'. Give a duration like 90s, 30m, 2h or 1h30m."),
    (("--cpu-time", "0"), "Invalid --cpu-time: '0'. Give a duration like 90s, 30m, 2h or 1h30m."),
    (("--memory", "2"), "Invalid --memory: '2' (at least 64MiB: pip needs that much to start). "
                        "Give a size like 512MiB or 2GiB."),
    (("numpy>=2",), "Invalid build spec 'numpy>=2': 'numpy>=2' is not a project name. Give NAME or NAME==VERSION, "
                    "e.g. numpy==2.1.0."),
])
def test_bad_options_get_one_line(tmp_path, args, message):
    result = run_build(tmp_path / "s.duckdb", tmp_path, tmp_path / "wheels", *args)
    assert (result.returncode, result.stdout, result.stderr) == (1, "", f"Error: {message}\n")


def test_a_source_that_is_not_there(tmp_path):
    missing = run_build(tmp_path / "s.duckdb", tmp_path / "nowhere", tmp_path / "wheels")
    assert missing.stderr == (f"Error: The source folder {str(tmp_path / 'nowhere')!r} does not exist. "
                              "Pass a folder or an index URL.\n")
    url = f"http://127.0.0.1:{free_port()}/simple/"
    unreachable = run_build(tmp_path / "s.duckdb", url, tmp_path / "wheels")
    assert (unreachable.returncode, unreachable.stderr) == (
        1, f"Error: Cannot read the index {url}: [Errno 111] Connection refused. Check --source.\n")
    (tmp_path / "sdists").mkdir()
    make_project(tmp_path / "sdists", "here", "1.0")
    unknown = run_build(tmp_path / "s.duckdb", tmp_path / "sdists", tmp_path / "wheels", "there")
    assert unknown.stderr == f"Error: No project 'there' in the source {tmp_path / 'sdists'}. Check the name, or --source.\n"


def test_builds_merge_adds_another_builder_s_store_with_its_logs(tmp_path):
    first, second = tmp_path / "one", tmp_path / "two"
    make_project(first / "sources", "alpha", "1.0", "pure")
    make_project(second / "sources", "beta", "1.0", "pure", requires=["alpha>=1"])
    make_project(second / "sources", "gamma", "1.0", "fail")
    for folder in (first, second):
        assert run_build(folder / "stats.duckdb", folder / "sources", folder / "wheels").returncode == 0
    theirs = builds(second / "stats.duckdb")
    merged = wheelstats("builds", "merge", str(second / "stats.duckdb"), "--db", str(first / "stats.duckdb"))
    assert (merged.returncode, merged.stdout) == (
        0, f"Merged 2 builds with 1 file and 2 logs from {second / 'stats.duckdb'}.\n")
    ours = {row["build_id"]: row for row in builds(first / "stats.duckdb")}
    assert sorted(row["project"] for row in ours.values()) == ["alpha", "beta", "gamma"]
    for row in theirs:
        assert ours[row["build_id"]]["log_path"] == f"stats.build-logs/{row['project']}/{row['build_id']}.log.gz"
        assert {k: v for k, v in ours[row["build_id"]].items() if k != "log_path"} == \
            {k: v for k, v in row.items() if k != "log_path"}
        printed = wheelstats("builds", "log", str(row["build_id"]), "--db", str(first / "stats.duckdb"))
        assert printed.stdout == gzip.decompress((second / row["log_path"]).read_bytes()).decode()
    assert query(first / "stats.duckdb", "SELECT filename, requirement FROM file_requirements") == [
        ("beta-1.0-py3-none-any.whl", "alpha>=1")]
    again = wheelstats("builds", "merge", str(second / "stats.duckdb"), "--db", str(first / "stats.duckdb"))
    assert again.stdout == f"Merged 0 builds with 0 files and 0 logs from {second / 'stats.duckdb'}.\n"
    itself = wheelstats("builds", "merge", str(first / "stats.duckdb"), "--db", str(first / "stats.duckdb"))
    assert itself.stderr == f"Error: {str(first / 'stats.duckdb')!r} is this store. Give another builder's store.\n"


def test_a_wheels_folder_that_cannot_be_written_gets_one_line_and_nothing_is_recorded(tmp_path):
    sources, db, wheels = tmp_path / "sources", tmp_path / "stats.duckdb", tmp_path / "wheels"
    make_project(sources, "blocked", "1.0", "pure")
    wheels.mkdir()
    (wheels / ".staging").write_text("a file where the staging folder goes")
    result = run_build(db, sources, wheels)
    assert result.returncode == 1
    assert result.stderr.startswith(f"Error: Cannot write {wheels / '.staging'}/")
    assert result.stderr.endswith(": Not a directory. Make room or fix the permissions, then run again: what was not "
                                  "recorded is built again.\n")
    assert builds(db) == []
    (wheels / ".staging").unlink()
    again = run_build(db, sources, wheels)
    assert again.returncode == 0 and [row["project"] for row in builds(db)] == ["blocked"]
