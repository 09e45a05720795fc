"""`wheelstats serve` as a user starts it: the exact messages, and refusals of bad options."""

from __future__ import annotations

import subprocess

import httpx

from kit.servers import WHEELSTATS, make_wheel, serving


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
