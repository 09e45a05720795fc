"""Fixtures for the dashboard tests: one simulated store per session, and a real `wheelstats dashboard`.

The store is built once per test session (simulate at a small scale, import the
piwheels dump, ingest the logs) and copied for tests that change it.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from kit.processes import WHEELSTATS, free_port, stop, wait_until

SCALE = "0.003"
PERIOD = "2020-Q1"
_built: dict[str, Path] = {}
_logs: dict[str, Path] = {}  # each running dashboard's output, by its base URL


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
    extra = folder / "mirrors-ci-crawlers.log"
    extra.write_text(mirror_ci_crawler_lines(db))
    _run("ingest", str(extra), "--db", str(db))
    _built["store"] = db
    _built["sim"] = sim
    return db


# Agents the simulation does not send downloads from: a mirror, a CI run and a crawler.
EXTRA_AGENTS = {
    "bandersnatch/4.2.0 (cpython 3.8.1-final0, Linux x86_64)": 30,
    'pip/20.0.2 {"ci":true,"cpu":"x86_64","implementation":{"name":"CPython","version":"3.8.1"},'
    '"installer":{"name":"pip","version":"20.0.2"},"python":"3.8.1","system":{"name":"Linux","release":"5.4.0"}}': 20,
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)": 10,
}


def mirror_ci_crawler_lines(db: Path) -> str:
    """Apache combined lines downloading the period's most downloaded files from EXTRA_AGENTS, in February 2020."""
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    files = con.execute("""SELECT h.project, h.filename FROM hits h WHERE h.kind = 'download'
        AND h.ts >= '2020-01-01' AND h.ts < '2020-04-01' AND h.project IS NOT NULL
        GROUP BY ALL ORDER BY count(*) DESC, h.filename LIMIT 5""").fetchall()
    con.close()
    lines = []
    for number, (agent, count) in enumerate(EXTRA_AGENTS.items()):
        for i in range(count):
            project, filename = files[i % len(files)]
            client = f"10.9.{number}.{i % 7 + 1}"
            lines.append(
                f'{client} - - [{10 + i % 15:02d}/Feb/2020:{i % 24:02d}:{i % 60:02d}:00 +0000] '
                f'"GET /simple/{project}/{filename} HTTP/1.1" 200 4096 "-" "{agent.replace(chr(34), chr(92) + chr(34))}"'
            )
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="session")
def simulated_store(tmp_path_factory) -> Path:
    return build_store(tmp_path_factory.mktemp("dashboard-store"))


@pytest.fixture(scope="session")
def simulated_logs(simulated_store) -> list[Path]:
    return sorted((_built["sim"] / "logs").glob("*.gz"))


def copy_store(db: Path, copy: Path) -> Path:
    """`copy`: a copy of the store `db`, with its IP key (which later ingests need)."""
    shutil.copy(db, copy)
    shutil.copy(f"{db}.key", f"{copy}.key")
    return copy


@pytest.fixture()
def store_copy(simulated_store, tmp_path) -> Path:
    """A copy of the session's store that a test may change."""
    return copy_store(simulated_store, tmp_path / "store.duckdb")



@contextlib.contextmanager
def running_dashboard(db: Path, log: Path, *, source: str = "--db"):
    """`wheelstats dashboard` of the store `db` (or, with source="--lake", of a lake) in a subprocess on a free
    loopback port; yields its base URL."""
    port = free_port()
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [WHEELSTATS, "dashboard", source, str(db), "--host", "127.0.0.1", "--port", str(port)],
            stdout=output, stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    _logs[base] = log

    def answers() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"the dashboard exited: {log.read_text()[-2000:]}")
        try:
            return httpx.get(f"{base}/api/openapi.json", timeout=2).status_code == 200
        except httpx.TransportError:
            return False
    try:
        wait_until(answers, timeout=60, what="the dashboard to answer")
        yield base
    finally:
        stop(process)  # SIGTERM, killed if it does not stop: pass or fail


def server_log_tail(base: str, characters: int = 6000) -> str:
    """The end of the output of the dashboard at `base` (its tracebacks, after a 500)."""
    return _logs[base].read_text(errors="replace")[-characters:]


@pytest.fixture(scope="session")
def dashboard_url(simulated_store, tmp_path_factory):
    folder = tmp_path_factory.mktemp("dashboard-server")
    db = folder / "store.duckdb"
    shutil.copy(simulated_store, db)
    with running_dashboard(db, folder / "dashboard.log") as base:
        yield base
