"""A real nginx for tests: Debian's /usr/sbin/nginx with its own config and prefix in a temporary folder.

The session fixture `nginx_server` starts one nginx for the whole test session,
on free loopback ports, serving a static PEP 503 simple index (pages written
by `write_simple_index` from the wheels and sdists a test makes), and stops it
at the end, pass or fail. It writes one access log per way of logging:

    direct  (port `direct_url`)  combined.log  nginx's predefined combined (escape=default)
                                 json.log      the same fields with escape=json
                                 none.log      the same fields with escape=none
    proxied (port `proxy_url`)   main.log      the `main` format of nginx's sample config,
                                               behind a proxy (another server of this
                                               nginx, connecting from 127.0.0.2) that sets
                                               X-Forwarded-For, as a load balancer does

Run as root (as CI does), nginx's workers switch to `nobody`: the folder it
serves and the folders it writes are made for that user. Every test shares the
logs: `log_offsets()` before a test's requests and `logs_since()` after give
the lines that test caused.
"""

from __future__ import annotations

import grp
import hashlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename

from kit.processes import free_port, stop, wait_until

NGINX = Path(os.environ.get("WHEELSTATS_NGINX", "/usr/sbin/nginx"))
WORKER_USER = "nobody"
PROXY_SOURCE_ADDRESS = "127.0.0.2"  # the proxy connects from here, so its address differs from the clients'

COMBINED = (
    '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"'
)
# The log files and the wheelstats --format and --escape that read each.
LOGS = {
    "combined.log": ("nginx", "nginx"),
    "json.log": ("nginx", "json"),
    "none.log": ("nginx", "none"),
    "main.log": ("nginx_main", "nginx"),
}

CONFIG = """
{user}
daemon off;
master_process on;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/logs/error.log warn;
events {{ worker_connections 64; }}
http {{
    types {{ text/html html; application/octet-stream whl; application/gzip gz; }}
    default_type application/octet-stream;
    client_body_temp_path {prefix}/temp/body;
    proxy_temp_path {prefix}/temp/proxy;
    fastcgi_temp_path {prefix}/temp/fastcgi;
    uwsgi_temp_path {prefix}/temp/uwsgi;
    scgi_temp_path {prefix}/temp/scgi;
    log_format combined_json escape=json '{combined}';
    log_format combined_none escape=none '{combined}';
    log_format main '{combined} "$http_x_forwarded_for"';
    server {{
        listen 127.0.0.1:{direct_port};
        root {root};
        access_log {prefix}/logs/combined.log combined;
        access_log {prefix}/logs/json.log combined_json;
        access_log {prefix}/logs/none.log combined_none;
    }}
    server {{
        listen 127.0.0.1:{behind_port};
        root {root};
        access_log {prefix}/logs/main.log main;
    }}
    server {{
        listen 127.0.0.1:{proxy_port};
        access_log off;
        location / {{
            proxy_pass http://127.0.0.1:{behind_port};
            proxy_bind {proxy_source};
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        }}
    }}
}}
"""


@dataclass(frozen=True, slots=True)
class Nginx:
    direct_url: str
    proxy_url: str
    root: Path   # the static site: simple/<project>/index.html and the files beside it
    logs: Path   # the folder of the access logs (see LOGS)

    def log_offsets(self) -> dict[str, int]:
        return {name: _size(self.logs / name) for name in LOGS}

    def logs_since(self, offsets: dict[str, int], folder: Path) -> dict[str, Path]:
        """Copies of what each access log gained since `offsets`, in `folder`."""
        folder.mkdir(parents=True, exist_ok=True)
        copies = {}
        for name, offset in offsets.items():
            with open(self.logs / name, "rb") as log:
                log.seek(offset)
                (folder / name).write_bytes(log.read())
            copies[name] = folder / name
        return copies


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def write_simple_index(root: Path, files: Iterable[Path]) -> None:
    """A static PEP 503 simple index under root/simple/ holding `files` (wheels and sdists)."""
    projects: dict[str, list[Path]] = {}
    for path in files:
        name = parse_wheel_filename(path.name)[0] if path.name.endswith(".whl") else parse_sdist_filename(path.name)[0]
        projects.setdefault(canonicalize_name(name), []).append(path)
    simple = root / "simple"
    for project, paths in projects.items():
        folder = simple / project
        folder.mkdir(parents=True, exist_ok=True)
        links = []
        for path in sorted(paths):
            shutil.copyfile(path, folder / path.name)
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            links.append(f'<a href="{path.name}#sha256={digest}">{path.name}</a><br>')
        (folder / "index.html").write_text(_page(f"Links for {project}", links))
    anchors = [f'<a href="{project}/">{project}</a><br>' for project in sorted(projects)]
    simple.mkdir(parents=True, exist_ok=True)
    (simple / "index.html").write_text(_page("Simple index", anchors))
    _open_to_workers(root)


def _page(title: str, lines: list[str]) -> str:
    body = "\n".join(lines)
    return f"<!DOCTYPE html>\n<html><head><title>{title}</title></head><body>\n{body}\n</body></html>\n"


def _open_to_workers(folder: Path) -> None:
    """Let nginx's workers (another user when run as root) read what is served."""
    folder.chmod(0o755)
    for path in folder.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True  # a connection without a request is not logged
    except OSError:
        return False


def start_nginx(prefix: Path) -> tuple[subprocess.Popen, Nginx]:
    """Start nginx in `prefix` (config, logs, temp files, and the site under prefix/site)."""
    if not NGINX.exists():
        raise RuntimeError(f"No nginx at {NGINX}: install the Debian package nginx (scripts/system-packages).")
    root, logs = prefix / "site", prefix / "logs"
    for folder in (root, logs, prefix / "temp"):
        folder.mkdir(parents=True, exist_ok=True)
    _open_to_workers(prefix)
    ports = {"direct_port": free_port(), "behind_port": free_port(), "proxy_port": free_port()}
    worker = pwd.getpwnam(WORKER_USER)
    user = f"user {WORKER_USER} {grp.getgrgid(worker.pw_gid).gr_name};" if os.geteuid() == 0 else ""
    config = prefix / "nginx.conf"
    config.write_text(CONFIG.format(
        user=user, prefix=prefix, root=root, combined=COMBINED, proxy_source=PROXY_SOURCE_ADDRESS, **ports,
    ))
    output = open(prefix / "nginx.out", "wb")
    process = subprocess.Popen(
        [str(NGINX), "-p", str(prefix), "-c", str(config), "-e", str(logs / "error.log")],
        stdout=output, stderr=subprocess.STDOUT,
    )
    output.close()

    def ready() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"nginx exited: {(prefix / 'nginx.out').read_text()}{(logs / 'error.log').read_text()}")
        return all(_listening(port) for port in ports.values())

    try:
        wait_until(ready, timeout=30, what="nginx to listen")
    except BaseException:
        stop(process)
        raise
    server = Nginx(f"http://127.0.0.1:{ports['direct_port']}", f"http://127.0.0.1:{ports['proxy_port']}", root, logs)
    return process, server


@pytest.fixture(scope="session")
def nginx_server() -> Iterator[Nginx]:
    prefix = Path(tempfile.mkdtemp(prefix="wheelstats-nginx-"))
    process = None
    try:
        process, server = start_nginx(prefix)
        yield server
    finally:
        if process is not None:
            stop(process)
        shutil.rmtree(prefix, ignore_errors=True)
