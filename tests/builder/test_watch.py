"""`wheelstats build --watch`: new sdists dropped into a served folder are built as they appear, the
index is polled with conditional requests (304s in its access log), and SIGTERM stops the watch,
killing the build in progress without recording it."""

from __future__ import annotations

import signal
import subprocess

from kit.builds import build_command, builder_description, builds, kill_builds_of, processes_alive
from kit.processes import free_port, stop, wait_until
from kit.sdists import make_project
from kit.servers import serving


def test_watch_builds_what_appears_and_stops_cleanly_on_sigterm(tmp_path):
    sources, db, wheels = tmp_path / "sources", tmp_path / "stats.duckdb", tmp_path / "wheels"
    pids = tmp_path / "stuck.pids"
    output = tmp_path / "watch.out"
    make_project(sources, "first", "1.0")
    with serving(sources, tmp_path, db=tmp_path / "source.duckdb") as index:
        url = index.url + "/simple/"
        with open(output, "w") as out:
            watcher = subprocess.Popen(build_command(db, url, wheels, "--watch", "--every", "1s", "--timeout", "2m"),
                                       stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_until(lambda: "Built first 1.0 " in output.read_text(), timeout=120, what="first to be built")
            make_project(sources, "second", "1.0")
            wait_until(lambda: "Built second 1.0 " in output.read_text(), timeout=120, what="second to be built")
            make_project(sources, "stuck", "1.0", "hang", pid_file=pids)
            wait_until(lambda: pids.exists() and len(pids.read_text().split()) == 2, timeout=120,
                       what="stuck's build to start")
            hanging = [int(pid) for pid in pids.read_text().split()]
            watcher.send_signal(signal.SIGTERM)
            assert watcher.wait(timeout=60) == 143
        finally:
            stop(watcher)
            kill_builds_of(watcher.pid)
        log = index.access_log.read_text()
    assert processes_alive(*hanging) == []
    rows = builds(db)
    assert [(row["project"], row["status"]) for row in rows] == [("first", True), ("second", True)]
    lines = output.read_text().splitlines()
    assert lines[0] == (f"Watching {url} every 1s for {builder_description()} (timeout 2m, 2GiB, CPU time 2m, "
                        "1 at a time).")
    assert lines[1:] == [
        f"Built first 1.0 in {rows[0]['duration_s']:.1f} s: first-1.0-py3-none-any.whl (build {rows[0]['build_id']}).",
        f"Built second 1.0 in {rows[1]['duration_s']:.1f} s: second-1.0-py3-none-any.whl "
        f"(build {rows[1]['build_id']}).",
        "Stopped by SIGTERM: recorded 2 builds: 2 succeeded, 0 failed; any build in progress is killed and not "
        "recorded (the next run builds it).",
    ]
    polls = [line for line in log.splitlines() if '"GET /simple/first/ HTTP/1.1" ' in line and "wheelstats-builder" in line]
    assert any('" 304 ' in line for line in polls), "an unchanged project page is answered 304"
    assert list((tmp_path / "stats.build-logs").glob("stuck/*")) == []


def test_watch_says_when_the_index_is_down_and_keeps_trying(tmp_path):
    url = f"http://127.0.0.1:{free_port()}/simple/"
    output, errors = tmp_path / "watch.out", tmp_path / "watch.err"
    with open(output, "w") as out, open(errors, "w") as err:
        watcher = subprocess.Popen(build_command(tmp_path / "s.duckdb", url, tmp_path / "wheels", "--watch", "--every",
                                                 "1s"), stdout=out, stderr=err)
    try:
        warning = (f"Warning: Cannot read the index {url}: [Errno 111] Connection refused. Check --source. "
                   "Trying again in 1s.")
        wait_until(lambda: errors.read_text().count(warning) >= 2, timeout=60, what="two rounds of warnings")
        watcher.send_signal(signal.SIGTERM)
        assert watcher.wait(timeout=60) == 143
    finally:
        stop(watcher)
    said = errors.read_text().splitlines()
    assert set(said[:-1]) == {warning}
    assert said[-1] == ("Stopped by SIGTERM: recorded 0 builds: 0 succeeded, 0 failed; any build in progress is killed "
                        "and not recorded (the next run builds it).")
    assert len(output.read_text().splitlines()) == 1  # "Watching ..."
