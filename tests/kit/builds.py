"""Running `wheelstats build` as a user does, and reading back what it recorded and published."""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import platform
import signal
import socket
import subprocess
from pathlib import Path

from packaging.tags import sys_tags

from kit.processes import WHEELSTATS, stop
from kit.servers import query

BUILD_COLUMNS = ("build_id", "project", "version", "abi_tag", "platform_tag", "built_by", "built_at", "duration_s",
                 "status", "reason", "exit_code", "log_path", "python_version", "pip_version")


def build_command(db: Path, source: str | Path, wheels: Path, *args: str) -> list[str]:
    return [WHEELSTATS, "build", "--db", str(db), "--source", str(source), "--wheels", str(wheels), *args]


def run_build(db: Path, source: str | Path, wheels: Path, *args: str, timeout: float = 600,
              env: dict | None = None) -> subprocess.CompletedProcess:
    """Run `wheelstats build` to its end; whatever it left running is killed afterwards, pass or fail."""
    command = build_command(db, source, wheels, *args)
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, **(env or {})})
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    finally:
        stop(process)
        kill_builds_of(process.pid)
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def builds(db: Path, where: str = "true", params=()) -> list[dict]:
    """The builds rows, oldest first, as dicts."""
    rows = query(db, f"SELECT {', '.join(BUILD_COLUMNS)} FROM builds WHERE {where} ORDER BY built_at, build_id",
                 params)
    return [dict(zip(BUILD_COLUMNS, row, strict=True)) for row in rows]


def by_project(db: Path) -> dict[str, dict]:
    return {row["project"]: row for row in builds(db)}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def builder_description() -> str:
    """How `wheelstats build` names this machine's builder (written out here, not taken from the code)."""
    tag = next(iter(sys_tags()))
    return (f"{tag.abi} on {tag.platform} (Python {platform.python_version()}, pip {importlib.metadata.version('pip')}, "
            f"{socket.gethostname()})")


def processes_alive(*pids: int) -> list[int]:
    """The ones among `pids` that still run (zombies count as gone)."""
    alive = []
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            continue
        if state != "Z":
            alive.append(pid)
    return alive


def builds_started_by(builder_pid: int) -> list[int]:
    """The build processes a `wheelstats build` started (WHEELSTATS_BUILD="<its pid> <build id>" in their
    environment), wherever they went."""
    prefix = f"WHEELSTATS_BUILD={builder_pid} ".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environment = (entry / "environ").read_bytes()
        except OSError:
            continue
        if any(item.startswith(prefix) for item in environment.split(b"\0")) and processes_alive(int(entry.name)):
            found.append(int(entry.name))
    return found


def kill_builds_of(builder_pid: int) -> None:
    """A test's cleanup, pass or fail: kill what a `wheelstats build` started, if anything is left."""
    for pid in builds_started_by(builder_pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
