"""The builder end to end, on real things: sdists made here, served by a real `wheelstats serve` on
loopback, built by `wheelstats build` with real pip and gcc, then installed by real pip from a
`wheelstats serve` over the published wheels, downloaded, and priced by `wheelstats report`.

Five projects: pure Python (with Requires-Dist and Requires-Python), a C extension that gcc
compiles for about three seconds, one whose build raises, one that hangs (and forks a child that
hangs too) until the timeout kills both, and one that allocates past the memory limit.
"""

from __future__ import annotations

import email.parser
import gzip
import json
import subprocess
import sys
import time
import zipfile
from datetime import datetime, timezone

import pytest

from kit.builds import builder_description, by_project, processes_alive, run_build, sha256
from kit.processes import WHEELSTATS
from kit.sdists import FAILURE_MESSAGE, make_project
from kit.servers import BIN, query, serving

TIMEOUT_S = 12  # the C extension builds in about 3 s; long enough for it on a loaded machine too
MEMORY = "384MiB"
WANTED = {"tinypure": ("1.0", "pure"), "tinyext": ("2.0", "extension"), "tinyfail": ("1.0", "fail"),
          "tinyhang": ("1.0", "hang"), "tinymem": ("1.0", "memory")}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("builder")
    sources, wheels, db = tmp / "sources", tmp / "wheels", tmp / "stats.duckdb"
    pids = tmp / "hang.pids"
    make_project(sources, "tinypure", "1.0", "pure", requires=["tinyext>=2.0", 'pytest>=8; extra == "test"'],
                 requires_python=">=3.8")
    make_project(sources, "tinyext", "2.0", "extension", compile_functions=1000)  # 500 took 1.48 s on a quiet machine
    make_project(sources, "tinyfail", "1.0", "fail")
    make_project(sources, "tinyhang", "1.0", "hang", pid_file=pids)
    make_project(sources, "tinymem", "1.0", "memory", allocate=1 << 30)
    with serving(sources, tmp, "--no-record", db=tmp / "source.duckdb") as source:
        started = datetime.now(timezone.utc).replace(tzinfo=None)
        result = run_build(db, source.url + "/simple/", wheels, "--timeout", f"{TIMEOUT_S}s", "--memory", MEMORY)
        finished = datetime.now(timezone.utc).replace(tzinfo=None)
    return {"tmp": tmp, "db": db, "wheels": wheels, "source": source.url + "/simple/", "result": result,
            "started": started, "finished": finished, "pids": pids}


def test_every_release_is_built_once_and_the_run_says_so(built):
    result = built["result"]
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    rows = sorted(by_project(built["db"]).values(), key=lambda row: row["built_at"])
    assert sorted(row["project"] for row in rows) == sorted(WANTED)
    lines = [f"Building 5 releases from {built['source']} for {builder_description()}, 1 at a time "
             f"(timeout {TIMEOUT_S}s, {MEMORY}, CPU time {TIMEOUT_S}s)."]
    for row in rows:
        name, took, build = f"{row['project']} {row['version']}", f"{row['duration_s']:.1f} s", row["build_id"]
        why = {"tinyfail": "pip exited with 1", "tinyhang": f"killed at the timeout ({TIMEOUT_S}s)",
               "tinymem": f"out of memory (limit {MEMORY})"}.get(row["project"])
        wheel = {"tinypure": "tinypure-1.0-py3-none-any.whl",
                 "tinyext": f"tinyext-2.0-cp311-cp311-{row['platform_tag']}.whl"}.get(row["project"])
        lines.append(f"Built {name} in {took}: {wheel} (build {build})." if wheel else
                     f"Failed {name} after {took}: {why} (build {build}; its log: wheelstats builds log {build}).")
    lines.append(f"Recorded 5 builds: 2 succeeded, 3 failed (1 error, 1 memory, 1 timeout). "
                 f"Wheels in {built['wheels']}, logs in {built['tmp'] / 'stats.build-logs'}.")
    assert result.stdout == "\n".join(lines) + "\n"


def test_each_build_records_its_status_reason_and_builder(built):
    rows = by_project(built["db"])
    assert {project: (row["status"], row["reason"], row["exit_code"]) for project, row in rows.items()} == {
        "tinypure": (True, None, 0), "tinyext": (True, None, 0), "tinyfail": (False, "error", 1),
        "tinyhang": (False, "timeout", None), "tinymem": (False, "memory", 1),
    }
    description = builder_description()
    for row in rows.values():
        assert (row["abi_tag"], row["platform_tag"]) == tuple(description.split(" (")[0].split(" on "))
        assert f"Python {row['python_version']}, pip {row['pip_version']}, {row['built_by']})" in description
        assert row["version"] == WANTED[row["project"]][0]


def test_durations_are_the_builds_own_and_plausible(built):
    rows = by_project(built["db"])
    for row in rows.values():  # each build lies inside the run
        assert built["started"] <= row["built_at"]
        assert (row["built_at"] - built["started"]).total_seconds() + row["duration_s"] <= \
            (built["finished"] - built["started"]).total_seconds()
    hang = rows["tinyhang"]["duration_s"]
    assert TIMEOUT_S <= hang < TIMEOUT_S + 2, "killed at the timeout, not long after"
    assert rows["tinyext"]["duration_s"] > 1.5, "gcc compiles 1,000 functions at -O2: seconds, not less"
    assert rows["tinypure"]["duration_s"] < rows["tinyext"]["duration_s"]
    for project in ("tinypure", "tinyfail", "tinymem"):
        assert 0.1 < rows[project]["duration_s"] < TIMEOUT_S


def test_the_hanging_build_and_the_child_it_forked_are_killed(built):
    build_pid, child_pid = (int(pid) for pid in built["pids"].read_text().split())
    assert processes_alive(build_pid, child_pid) == []


def test_wheels_are_published_whole_with_their_hashes_and_metadata(built):
    wheels, db = built["wheels"], built["db"]
    published = sorted(p.relative_to(wheels).as_posix() for p in wheels.rglob("*") if p.is_file())
    ext = query(db, "SELECT filename FROM files WHERE project = 'tinyext'")[0][0]
    assert published == sorted([f"tinyext/{ext}", f"tinyext/{ext}.metadata", "tinypure/tinypure-1.0-py3-none-any.whl",
                                "tinypure/tinypure-1.0-py3-none-any.whl.metadata"])
    assert not (wheels / ".staging").exists() or not any((wheels / ".staging").iterdir())
    rows = query(db, """SELECT f.filename, f.project, f.version, f.python_tag, f.abi_tag, f.platform_tag, f.size,
                               f.sha256, f.requires_python, b.project
                        FROM files f JOIN builds b USING (build_id) ORDER BY f.filename""")
    assert len(rows) == 2
    for filename, project, version, python_tag, abi_tag, platform_tag, size, digest, requires_python, built_as in rows:
        path = wheels / project / filename
        assert (size, digest) == (path.stat().st_size, sha256(path))
        assert built_as == project and filename == f"{project}-{version}-{python_tag}-{abi_tag}-{platform_tag}.whl"
        with zipfile.ZipFile(path) as archive:
            metadata = archive.read(f"{project}-{version}.dist-info/METADATA")
        assert (wheels / project / (filename + ".metadata")).read_bytes() == metadata
        headers = email.parser.BytesHeaderParser().parsebytes(metadata)
        assert requires_python == headers.get("Requires-Python")
    assert query(db, "SELECT filename, requirement, project, marker FROM file_requirements ORDER BY requirement") == [
        ("tinypure-1.0-py3-none-any.whl", 'pytest>=8; extra == "test"', "pytest", 'extra == "test"'),
        ("tinypure-1.0-py3-none-any.whl", "tinyext>=2.0", "tinyext", None),
    ]
    assert [row[8] for row in rows] == [None, ">=3.8"]


def test_each_build_has_its_log_beside_the_store_and_builds_log_prints_it(built):
    db = built["db"]
    for project, row in by_project(db).items():
        assert row["log_path"] == f"stats.build-logs/{project}/{row['build_id']}.log.gz"
        stored = gzip.decompress((db.parent / row["log_path"]).read_bytes()).decode()
        printed = subprocess.run([WHEELSTATS, "builds", "log", str(row["build_id"]), "--db", str(db)],
                                 capture_output=True, text=True, timeout=60)
        assert printed.returncode == 0 and printed.stdout == stored
        assert stored.startswith(f"wheelstats: build {row['build_id']} of {project} {row['version']} by ")
        assert f"pip wheel --no-deps --no-binary {project} --no-cache-dir" in stored
        assert f"building {project} as {WANTED[project][1]}" in stored  # the backend's own output
    logs = {project: gzip.decompress((db.parent / row["log_path"]).read_bytes()).decode()
            for project, row in by_project(db).items()}
    assert FAILURE_MESSAGE in logs["tinyfail"] and "MemoryError" in logs["tinymem"]
    assert "gcc -shared -fPIC -O2" in logs["tinyext"]
    assert logs["tinyhang"].rstrip().splitlines()[-1].startswith(f"wheelstats: killed at the timeout ({TIMEOUT_S}s) after ")


def test_pip_installs_the_wheels_from_wheelstats_serve_and_report_prices_their_downloads(built, tmp_path):
    db, wheels = built["db"], built["wheels"]
    target = tmp_path / "installed"
    with serving(wheels, tmp_path, db=db) as server:
        installed = subprocess.run(
            [str(BIN / "python"), "-m", "pip", "install", "--no-cache-dir", "--disable-pip-version-check",
             "--only-binary", ":all:", "--index-url", server.url + "/simple/", "--target", str(target), "tinypure"],
            capture_output=True, text=True, timeout=300)
        assert installed.returncode == 0, installed.stdout + installed.stderr
        assert server.stopped_cleanly()  # its access log is drained into the store on the way out
    assert query(db, "SELECT filename FROM hits WHERE kind = 'download' ORDER BY filename") == [
        (f"tinyext-2.0-cp311-cp311-{by_project(db)['tinyext']['platform_tag']}.whl",),
        ("tinypure-1.0-py3-none-any.whl",)]
    used = subprocess.run([sys.executable, "-c", "import tinyext, tinypure; print(tinyext.add(2, 3), tinypure.VERSION)"],
                          capture_output=True, text=True, env={"PYTHONPATH": str(target)}, timeout=60)
    assert used.stdout == "5 1.0\n", used.stderr
    month = time.strftime("%Y-%m", time.gmtime())
    out = tmp_path / "report"
    reported = subprocess.run([WHEELSTATS, "report", "--period", month, "--db", str(db), "--out", str(out)],
                              capture_output=True, text=True, timeout=300)
    assert reported.returncode == 0, reported.stderr
    report = json.loads((out / "report.json").read_text())
    rows = by_project(db)
    # the native method: a platform wheel saves its build's duration less 1 s; a pure wheel saves nothing
    expected = max(rows["tinyext"]["duration_s"] - 1.0, 0.0)
    assert expected > 0.5
    assert report["time_saved_seconds"] == pytest.approx(expected, abs=1e-6)  # reported to the microsecond
    method = report["time_saved_method"]
    assert (method["name"], method["chosen"], method["builder_platforms"]) == (
        "native", "by the store's builds", [rows["tinyext"]["platform_tag"]])
    assert ("The *native* method (version 1) multiplies each build's duration, less 1 s, by: x6 on linux_armv6l, "
            "x1 on other platforms, x0 for pure wheels. It was chosen because the store's builds were made on "
            f"{rows['tinyext']['platform_tag']}.") in (out / "report.md").read_text()
