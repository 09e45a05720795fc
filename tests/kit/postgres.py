"""A throwaway PostgreSQL 15 cluster for tests: initdb and pg_ctl on a loopback port.

PostgreSQL refuses to run as root, and CI runs as root: then the cluster is
made and run as the `postgres` user (runuser), in a temporary folder that user
owns. The session fixture `postgres_server` starts one cluster for the whole
test session and stops and deletes it at the end, whatever the tests did;
`postgres_database` gives each test its own empty database on it.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from kit.processes import free_port

POSTGRES_BIN = Path(os.environ.get("WHEELSTATS_PG_BIN", "/usr/lib/postgresql/15/bin"))
SERVICE_USER = "postgres"
SUPERUSER = "wheelstats"


@dataclass(frozen=True, slots=True)
class PostgresServer:
    host: str
    port: int
    user: str

    def dsn(self, dbname: str = "postgres") -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{dbname}"

    def create_database(self) -> str:
        """A new empty database; returns its DSN."""
        name = f"test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.dsn(), autocommit=True) as con:
            con.execute(f'CREATE DATABASE "{name}"')
        return self.dsn(name)



def _as_service_user(command: list[str]) -> list[str]:
    """Run as the postgres user when we are root (PostgreSQL refuses root)."""
    if os.geteuid() != 0:
        return command
    runuser = shutil.which("runuser")
    if runuser:
        return [runuser, "-u", SERVICE_USER, "--", *command]
    return ["su", SERVICE_USER, "-s", "/bin/sh", "-c", " ".join(_quote(part) for part in command)]


def _quote(part: str) -> str:
    return "'" + part.replace("'", "'\\''") + "'"


def _run(command: list[str]) -> None:
    result = subprocess.run(_as_service_user(command), capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} failed ({result.returncode}): {result.stderr.strip() or result.stdout.strip()}"
        )


def start_cluster(folder: Path) -> PostgresServer:
    """initdb a cluster in `folder` (which the service user owns) and start it."""
    if not (POSTGRES_BIN / "initdb").exists():
        raise RuntimeError(
            f"No PostgreSQL server binaries in {POSTGRES_BIN}: install the Debian package "
            "postgresql (or set WHEELSTATS_PG_BIN)."
        )
    data = folder / "data"
    _run([str(POSTGRES_BIN / "initdb"), "-D", str(data), "-U", SUPERUSER, "--auth=trust",
          "-E", "UTF8", "--no-locale", "--no-sync"])
    port = free_port()
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
    _run([str(POSTGRES_BIN / "pg_ctl"), "-D", str(data), "-l", str(folder / "server.log"),
          "-o", options, "-w", "-t", "60", "start"])
    return PostgresServer("127.0.0.1", port, SUPERUSER)


def stop_cluster(folder: Path) -> None:
    data = folder / "data"
    if (data / "postmaster.pid").exists():
        _run([str(POSTGRES_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"])


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    folder = Path(tempfile.mkdtemp(prefix="wheelstats-pg-"))
    try:
        if os.geteuid() == 0:
            service = pwd.getpwnam(SERVICE_USER)
            os.chown(folder, service.pw_uid, service.pw_gid)
        yield start_cluster(folder)
    finally:
        try:
            stop_cluster(folder)
        finally:
            shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def postgres_database(postgres_server: PostgresServer) -> str:
    """The DSN of a fresh, empty database on the session's cluster."""
    return postgres_server.create_database()
