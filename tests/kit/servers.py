"""Helpers for the server tests: real wheels and sdists, and a real `wheelstats serve`."""

from __future__ import annotations

import atexit
import base64
import contextlib
import hashlib
import io
import os
import signal
import socket
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import duckdb
import httpx
from packaging.tags import sys_tags

from kit.processes import WHEELSTATS, ctrl_c_restored, free_port, stop, wait_until

BIN = Path(sys.executable).parent


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def metadata_text(name: str, version: str, requires_python: str | None = None, requires=(), metadata_version="2.1",
                  dynamic=()) -> str:
    lines = [f"Metadata-Version: {metadata_version}", f"Name: {name}", f"Version: {version}"]
    lines += [f"Dynamic: {field}" for field in dynamic]
    if requires_python:
        lines.append(f"Requires-Python: {requires_python}")
    lines += [f"Requires-Dist: {requirement}" for requirement in requires]
    return "\n".join(lines) + "\n\n"


def make_wheel(folder: Path, name: str, version: str, tag: str = "py3-none-any", *,
               requires_python: str | None = None, requires=()) -> Path:
    """A valid, installable wheel with one module `name` whose VERSION is `version`."""
    folder.mkdir(parents=True, exist_ok=True)
    dist_info = f"{name}-{version}.dist-info"
    pure = tag.endswith("-none-any")
    files = {
        f"{name}/__init__.py": f"VERSION = {version!r}\n".encode(),
        f"{dist_info}/METADATA": metadata_text(name, version, requires_python, requires).encode(),
        f"{dist_info}/WHEEL": (
            f"Wheel-Version: 1.0\nGenerator: wheelstats-tests\nRoot-Is-Purelib: {str(pure).lower()}\nTag: {tag}\n"
        ).encode(),
    }
    record = "".join(f"{path},{_record_hash(data)},{len(data)}\n" for path, data in files.items())
    files[f"{dist_info}/RECORD"] = (record + f"{dist_info}/RECORD,,\n").encode()
    path = folder / f"{name}-{version}-{tag}.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, data in files.items():
            archive.writestr(member, data)
    return path


def platform_tag() -> str:
    """The most specific tag this interpreter installs: a platform wheel pip and uv accept here."""
    tag = next(iter(sys_tags()))
    return f"{tag.interpreter}-{tag.abi}-{tag.platform}"


# A PEP 517 backend that needs nothing installed: enough for pip to read the metadata.
IN_TREE_BACKEND = """import os

def get_requires_for_build_wheel(config_settings=None):
    return []

def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    os.makedirs(os.path.join(metadata_directory, "DIST_INFO"))
    with open("PKG-INFO") as source, open(os.path.join(metadata_directory, "DIST_INFO", "METADATA"), "w") as out:
        out.write(source.read())
    return "DIST_INFO"

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    raise NotImplementedError("this test sdist is only downloaded")
"""


def make_sdist(folder: Path, name: str, version: str, *, requires_python: str | None = None,
               metadata_version: str = "2.2", dynamic=()) -> Path:
    """An sdist with PKG-INFO and an in-tree build backend (static metadata: 2.2+, nothing dynamic)."""
    folder.mkdir(parents=True, exist_ok=True)
    top = f"{name}-{version}"
    pkg_info = metadata_text(name, version, requires_python, metadata_version=metadata_version, dynamic=dynamic)
    files = {
        f"{top}/PKG-INFO": pkg_info.encode(),
        f"{top}/pyproject.toml": (
            b'[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n'
        ),
        f"{top}/backend.py": IN_TREE_BACKEND.replace("DIST_INFO", f"{name}-{version}.dist-info").encode(),
    }
    path = folder / f"{top}.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        for member, data in files.items():
            info = tarfile.TarInfo(member)
            info.size = len(data)
            info.mtime = 1_700_000_000
            archive.addfile(info, io.BytesIO(data))
    return path



@dataclass
class Server:
    url: str
    port: int
    process: subprocess.Popen
    db: Path
    access_log: Path
    output: Path

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        """Signal the server and wait (killing it if it does not stop in time); uvicorn re-raises
        SIGTERM after a graceful shutdown."""
        return stop(self.process, sig, timeout)

    def stopped_cleanly(self) -> bool:
        code = self.stop()
        return code in (0, 143, -signal.SIGTERM) and b"Traceback" not in self.output.read_bytes()  # 143: stopped by SIGTERM


def _stop_if_running(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def start_server(wheels: Path, tmp: Path, *extra: str, db: Path | None = None, access_log: Path | None = None,
                 env: dict | None = None, own_session: bool = False) -> Server:
    """`wheelstats serve` on a free port, once it answers. With `own_session`, the server and its
    feeder are a process group of their own, as a terminal's job is (Ctrl-C reaches both)."""
    db = db or tmp / "stats.duckdb"
    access_log = access_log or tmp / "access.log"
    port = free_port()
    output = tmp / f"serve-{port}.out"
    command = [WHEELSTATS, "serve", "--wheels", str(wheels), "--db", str(db), "--port", str(port),
               "--access-log", str(access_log), "--feed-every", "0.5", *extra]  # tests wait less
    with open(output, "wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
                                   start_new_session=own_session, preexec_fn=ctrl_c_restored)
    atexit.register(_stop_if_running, process)  # a failed test must not leave a server behind
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"wheelstats serve exited: {output.read_text()}")
        try:
            return httpx.get(url + "/simple/", timeout=1).status_code == 200
        except httpx.TransportError:
            return False
    try:
        wait_until(answers, timeout=30, what="wheelstats serve to answer")
    except AssertionError:
        stop(process)
        raise RuntimeError(f"wheelstats serve did not start: {output.read_text()}") from None
    return Server(url, port, process, db, access_log, output)


@contextlib.contextmanager
def serving(wheels: Path, tmp: Path, *extra: str, **options):
    """A running server, stopped with SIGTERM at the end (killed if it does not stop), pass or fail."""
    server = start_server(wheels, tmp, *extra, **options)
    try:
        yield server
    finally:
        stop(server.process)


def raw_request(port: int, data: bytes, timeout: float = 5) -> bytes:
    """Send bytes as they are (no client-side normalisation) and read the whole answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
        connection.sendall(data)
        chunks = []
        with contextlib.suppress(ConnectionResetError):
            while chunk := connection.recv(65536):
                chunks.append(chunk)
    return b"".join(chunks)


def raw_get(port: int, target: bytes, headers: bytes = b"") -> tuple[int, bytes]:
    answer = raw_request(port, b"GET " + target + b" HTTP/1.1\r\nHost: t\r\nConnection: close\r\n" + headers + b"\r\n")
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0
    return status, answer


def children(pid: int) -> list[int]:
    """The process ids of a process's children (a server's feeder)."""
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def query(db: Path, sql: str, params=()) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()
