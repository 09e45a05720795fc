"""`wheelstats serve` as a user starts it: the exact messages, and refusals of bad options."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import httpx
import pytest

from kit.processes import wait_until
from kit.servers import WHEELSTATS, children, make_wheel, query, serving


def test_startup_message_names_what_is_served(tmp_path):
    wheels = tmp_path / "wheels"
    make_wheel(wheels, "alpha", "1.0")
    make_wheel(wheels / "beta", "beta", "1.0")
    make_wheel(wheels / "beta", "beta", "1.1")
    with serving(wheels, tmp_path) as server:
        assert httpx.get(server.url + "/simple/beta/").status_code == 200
    first_line = server.output.read_text().splitlines()[0]
    assert first_line == (
        f"Serving 2 projects (3 files) from {wheels} at http://127.0.0.1:{server.port}/simple/ "
        f"(access log {server.access_log}, store {server.db})."
    )


def test_without_recording_it_says_so(tmp_path):
    wheels = tmp_path / "wheels"
    make_wheel(wheels, "alpha", "1.0")
    with serving(wheels, tmp_path, "--no-record") as server:
        pass
    assert server.output.read_text().splitlines()[0] == (
        f"Serving 1 project (1 file) from {wheels} at http://127.0.0.1:{server.port}/simple/ (not recording)."
    )


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([WHEELSTATS, "serve", *args], capture_output=True, text=True, timeout=60)


def test_a_missing_wheels_folder_is_refused(tmp_path):
    result = run("--wheels", str(tmp_path / "nowhere"), "--db", str(tmp_path / "s.duckdb"))
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"Error: The wheels folder '{tmp_path / 'nowhere'}' does not exist. Create it or pass --wheels."
    )


def test_an_unknown_ip_mode_is_refused(tmp_path):
    result = run("--wheels", str(tmp_path), "--ip", "plain")
    assert result.returncode == 1
    assert result.stderr.strip() == "Error: Invalid --ip mode: 'plain' (choose one of hash, raw, none)"


@pytest.mark.parametrize(("sig", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_ctrl_c_or_sigterm_to_the_whole_job_stops_it_cleanly(tmp_path, sig, status):
    """A terminal's Ctrl-C reaches the server's process group, a service manager's SIGTERM every process
    of the service: the feeder ignores it and feeds the last lines when the server closes its pipe, and
    the server says so in one line and exits 130 or 143."""
    wheels = tmp_path / "wheels"
    make_wheel(wheels, "alpha", "1.0")
    with serving(wheels, tmp_path, own_session=True) as server:
        wait_until(server.db.exists, timeout=30, what="the feeder's first round")  # it runs, signals ignored
        for _ in range(3):
            assert httpx.get(server.url + "/simple/alpha/alpha-1.0-py3-none-any.whl").status_code == 200
        (feeder,) = children(server.process.pid)
        os.killpg(server.process.pid, sig)
        os.kill(feeder, sig)
        assert server.process.wait(timeout=60) == status
    assert not Path(f"/proc/{feeder}").exists()  # waited for by the server before it exited
    assert query(server.db, "SELECT count(*) FROM hits WHERE kind = 'download'") == [(3,)]
    output = server.output.read_text()
    assert "Traceback" not in output and "Aborted" not in output
    assert output.splitlines()[-1] == (f"Stopped by {signal.Signals(sig).name}: every request served is in the access "
                                       "log, and the store holds what was fed to it (the rest is read at the next start).")
