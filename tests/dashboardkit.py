"""Fixtures for the dashboard tests: one simulated store per session, and a real `wheelstats dashboard`.

The store is built once per test session (simulate at a small scale, import the
piwheels dump, ingest the logs) and copied for tests that change it.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

WHEELSTATS = str(Path(sys.executable).with_name("wheelstats"))
SCALE = "0.003"
PERIOD = "2020-Q1"
_built: dict[str, Path] = {}


def _run(*args: str) -> None:
    subprocess.run([WHEELSTATS, *args], check=True, stdout=subprocess.DEVNULL)


def build_store(folder: Path) -> Path:
    """simulate + import piwheels + ingest: a store like a small piwheels (no rollups yet)."""
    if "store" in _built:
        return _built["store"]
    sim, db = folder / "sim", folder / "store.duckdb"
    _run("simulate", "--scenario", "piwheels-2020q1", "--scale", SCALE, "--out", str(sim))
    _run("import", "piwheels", "--dump", str(sim / "piwheels"), "--db", str(db))
    _run("ingest", *sorted(str(p) for p in (sim / "logs").glob("*.gz")), "--db", str(db))
    _built["store"] = db
    _built["sim"] = sim
    return db


@pytest.fixture(scope="session")
def simulated_store(tmp_path_factory) -> Path:
    return build_store(tmp_path_factory.mktemp("dashboard-store"))


@pytest.fixture(scope="session")
def simulated_logs(simulated_store) -> list[Path]:
    return sorted((_built["sim"] / "logs").glob("*.gz"))


@pytest.fixture()
def store_copy(simulated_store, tmp_path) -> Path:
    """A copy of the session's store that a test may change."""
    copy = tmp_path / "store.duckdb"
    shutil.copy(simulated_store, copy)
    return copy


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def running_dashboard(db: Path, log: Path):
    """`wheelstats dashboard` in a subprocess on a free loopback port; yields its base URL."""
    port = free_port()
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [WHEELSTATS, "dashboard", "--db", str(db), "--host", "127.0.0.1", "--port", str(port)],
            stdout=output, stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/api/openapi.json", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the dashboard did not start: {log.read_text()[-2000:]}")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def dashboard_url(simulated_store, tmp_path_factory):
    folder = tmp_path_factory.mktemp("dashboard-server")
    db = folder / "store.duckdb"
    shutil.copy(simulated_store, db)
    with running_dashboard(db, folder / "dashboard.log") as base:
        yield base
