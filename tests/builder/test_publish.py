"""Publishing into a folder a `wheelstats serve` is serving: each wheel appears as soon as it is
recorded, and what the index lists is always whole (every download matches the hash it is listed
with), while builds run two at a time."""

from __future__ import annotations

import gzip
import hashlib
import subprocess
import threading

import httpx

from kit.builds import build_command, builds, kill_builds_of, run_build, sha256
from kit.processes import stop, wait_until
from kit.sdists import make_project
from kit.servers import query, serving

PROJECTS = ("first", "second", "third", "fourth")


def test_a_served_folder_shows_each_wheel_whole_as_soon_as_it_is_published(tmp_path):
    sources, db, wheels = tmp_path / "sources", tmp_path / "stats.duckdb", tmp_path / "wheels"
    for name in PROJECTS:
        make_project(sources, name, "1.0", "extension", compile_functions=60)
    wheels.mkdir()
    checked: dict[str, str] = {}  # filename -> the sha256 it was listed with and downloaded as
    problems: list[str] = []
    done = threading.Event()
    with serving(wheels, tmp_path, "--no-record", db=tmp_path / "serve.duckdb") as index, \
            httpx.Client(base_url=index.url, timeout=10) as client:
        def poll() -> None:  # what a client sees while the builder publishes
            while not done.is_set():
                for name in PROJECTS:
                    answer = client.get(f"/simple/{name}/", headers={"Accept": "application/vnd.pypi.simple.v1+json"})
                    if answer.status_code == 404:
                        continue
                    for listed in answer.json()["files"]:
                        data = client.get(listed["url"]).content
                        metadata = client.get(listed["url"] + ".metadata").content
                        if hashlib.sha256(data).hexdigest() != listed["hashes"]["sha256"]:
                            problems.append(f"{listed['filename']}: the download does not match its listed hash")
                        if hashlib.sha256(metadata).hexdigest() != listed["core-metadata"]["sha256"]:
                            problems.append(f"{listed['filename']}: its metadata does not match its listed hash")
                        checked[listed["filename"]] = listed["hashes"]["sha256"]
        poller = threading.Thread(target=poll)
        poller.start()
        try:
            result = run_build(db, sources, wheels, "--jobs", "2")
        finally:
            done.set()
            poller.join(timeout=60)
        assert result.returncode == 0, result.stderr

        def all_listed() -> dict | None:  # the index rescans its folder every second
            answers = {name: client.get(f"/simple/{name}/", headers={"Accept": "application/vnd.pypi.simple.v1+json"})
                       for name in PROJECTS}
            return answers if all(a.status_code == 200 for a in answers.values()) else None
        listed = wait_until(all_listed, timeout=10, what="every wheel to be listed")
    assert problems == []
    assert checked, "the poller saw wheels while the builder was still publishing"
    recorded = {row["project"]: row for row in builds(db)}
    assert sorted(recorded) == sorted(PROJECTS) and all(row["status"] for row in recorded.values())
    for answer in listed.values():
        (wheel,) = answer.json()["files"]
        assert checked.get(wheel["filename"], wheel["hashes"]["sha256"]) == wheel["hashes"]["sha256"]


def test_two_builders_racing_for_the_same_wheel_record_it_once(tmp_path):
    """Two runs on one store plan the same release before either records it: the first to record
    publishes its wheel, the second records a failure that says why and publishes nothing."""
    sources, db, wheels = tmp_path / "sources", tmp_path / "stats.duckdb", tmp_path / "wheels"
    gate = tmp_path / "gate"  # both builds wait here, so both runs have planned before either records
    make_project(sources, "racer", "1.0", "extension", compile_functions=20, gate=gate)
    waiting = gate.with_name(gate.name + ".waiting")
    runs = [subprocess.Popen(build_command(db, sources, wheels), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True) for _ in range(2)]
    try:
        wait_until(lambda: waiting.exists() and len(waiting.read_text().splitlines()) == 2, timeout=300,
                   what="both runs building racer")
        gate.touch()
        outputs = [run.communicate(timeout=300) for run in runs]
    finally:
        for run in runs:
            stop(run)
            kill_builds_of(run.pid)
    assert [run.returncode for run in runs] == [0, 0], outputs
    (first,) = [row for row in builds(db) if row["status"]]  # the first to record
    (second,) = [row for row in builds(db) if not row["status"]]
    assert second["reason"] == "error" and second["exit_code"] == 0
    (filename, digest), = query(db, "SELECT filename, sha256 FROM files")
    assert sha256(wheels / "racer" / filename) == digest
    assert [p.name for p in (wheels / "racer").iterdir() if p.suffix == ".whl"] == [filename]
    conflict = f"{filename} is already recorded as made by build {first['build_id']}"
    said = [line for out, _err in outputs for line in out.splitlines() if line.startswith("Failed racer 1.0 ")]
    assert said == [f"Failed racer 1.0 after {second['duration_s']:.1f} s: {conflict} (build {second['build_id']}; "
                    f"its log: wheelstats builds log {second['build_id']})."]
    log = gzip.decompress((tmp_path / second["log_path"]).read_bytes()).decode()
    assert f"wheelstats: not published: {conflict}." in log
