"""Publishing into a folder a `wheelstats serve` is serving: each wheel appears as soon as it is
recorded, and what the index lists is always whole (every download matches the hash it is listed
with), while builds run two at a time."""

from __future__ import annotations

import hashlib
import threading

import httpx

from kit.builds import builds, run_build
from kit.processes import wait_until
from kit.sdists import make_project
from kit.servers import serving

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
    for name, answer in listed.items():
        (wheel,) = answer.json()["files"]
        assert checked.get(wheel["filename"], wheel["hashes"]["sha256"]) == wheel["hashes"]["sha256"]
