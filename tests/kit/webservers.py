"""Real web servers from Debian in front of a static simple index: Caddy, Apache, lighttpd, HAProxy and Varnish.

Each session fixture starts one server for the whole test session, on free
loopback ports, with its config, prefix and logs in a temporary folder, and
stops it at the end, pass or fail. Each logs the way a new user's install of
it does:

    caddy_server     Caddy 2.6 `file_server`, `log { output file ... }`: its default JSON access log
    apache_server    Apache 2.4, `CustomLog ... combined` with Debian's `LogFormat ... combined`
    lighttpd_server  lighttpd 1.4, mod_accesslog with no `accesslog.format` (its default)
    haproxy_server   HAProxy 2.6 in front of Apache, `option httplog` with `capture request header
                     User-Agent len 1024` then `capture request header Referer len 1024`, logging
                     `log stdout len 4096 format raw local0` (the way of its container image) with
                     its standard output sent to the log file
    varnish_server   varnishd (with `-p vsl_reclen=2048`) in front of Apache, varnishncsa (its
                     default format) writing the file, and a second varnishncsa -F VARNISHNCSA_PATHS
                     (the request line as sent)

The static servers (Caddy, Apache, lighttpd) serve one folder, `static_site`,
which a test fills with kit.nginx.write_simple_index. HAProxy and Varnish pass
every request on to a second virtual host of Apache, `apache_server.behind`,
which logs combined plus `"%{X-Forwarded-For}i"` (the shape of nginx's `main`)
in behind.log; HAProxy connects to it from PROXY_SOURCE_ADDRESS and sets
X-Forwarded-For (`option forwardfor`), Varnish adds the client to it by itself.

Run as root (as CI does), Apache's children and lighttpd switch to `nobody`,
varnishd to Debian's `varnish` and `vcache` users: what they read and write is
made for them. Every test shares the logs: `log_offset()` before a test's
requests and `log_since()` after give the lines that test caused.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import subprocess
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest

from kit.nginx import PROXY_SOURCE_ADDRESS, WORKER_USER, _listening, _open_to_workers
from kit.processes import POLL_SECONDS, free_port, stop, wait_until

CADDY = Path(os.environ.get("WHEELSTATS_CADDY", "/usr/bin/caddy"))
APACHE = Path(os.environ.get("WHEELSTATS_APACHE", "/usr/sbin/apache2"))
APACHE_MODULES = Path("/usr/lib/apache2/modules")
LIGHTTPD = Path(os.environ.get("WHEELSTATS_LIGHTTPD", "/usr/sbin/lighttpd"))
HAPROXY = Path(os.environ.get("WHEELSTATS_HAPROXY", "/usr/sbin/haproxy"))
VARNISHD = Path(os.environ.get("WHEELSTATS_VARNISHD", "/usr/sbin/varnishd"))
VARNISHNCSA = Path(os.environ.get("WHEELSTATS_VARNISHNCSA", "/usr/bin/varnishncsa"))
# The page each server is asked for once it listens, so that its log is known to be written to.
PROBE_PATH = "/probe.html"


@dataclass(frozen=True, slots=True)
class WebServer:
    name: str   # the server, as docs/ingest.md names it
    port: int   # where a client reaches it, on 127.0.0.1
    log: Path   # the access log it writes

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_offset(self) -> int:
        return self.log.stat().st_size if self.log.exists() else 0

    def log_since(self, offset: int, folder: Path, *, last: bytes) -> Path:
        """A copy of what the access log gained since `offset`, in `folder`, named after the server, once it
        holds `last` (something of the last request made): a server may write its log a moment after it
        answered (lighttpd buffers it)."""
        def gained() -> bytes:
            with open(self.log, "rb") as log:
                log.seek(offset)
                lines = log.read()
            return lines if last in lines and lines.endswith(b"\n") else b""

        folder.mkdir(parents=True, exist_ok=True)
        copy = folder / f"{self.name}.log"
        copy.write_bytes(wait_until(gained, timeout=30, what=f"{self.name} to log {last!r}"))
        return copy


@dataclass(frozen=True, slots=True)
class Apache:
    server: WebServer   # the direct virtual host and its combined log
    behind: WebServer   # the virtual host behind the proxies, logging X-Forwarded-For too


@dataclass(frozen=True, slots=True)
class Varnish:
    server: WebServer   # varnishd, and varnishncsa's default format in its access.log
    paths: WebServer    # the same varnishd, logged by a second varnishncsa -F VARNISHNCSA_PATHS in paths.log


class ServerFailed(RuntimeError):
    """A server exited or never answered; the message quotes what it wrote."""


def _require(binary: Path, package: str) -> None:
    if not binary.exists():
        raise ServerFailed(f"No {binary.name} at {binary}: install the Debian package {package} "
                           "(scripts/system-packages).")


def _as_root() -> bool:
    return os.geteuid() == 0


def _worker_group() -> str:
    return grp.getgrgid(pwd.getpwnam(WORKER_USER).pw_gid).gr_name


def _logs_folder(prefix: Path) -> Path:
    """A folder the server's workers (another user when run as root) may create their logs in."""
    logs = prefix / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    logs.chmod(0o777)
    return logs


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


def _start(command: list[str], prefix: Path, name: str, ready: Callable[[], bool], *,
           stdout: Path | None = None, env: dict[str, str] | None = None) -> subprocess.Popen:
    """Start `command`, its output in prefix/<name>.out (or its standard output in `stdout`), and wait
    until `ready()`; stopped again if it never is."""
    output = prefix / f"{name}.out"
    with open(output, "wb") as errors, open(stdout or output, "ab") as out:
        process = subprocess.Popen(command, stdout=out, stderr=errors, env=env, cwd=prefix)

    def started() -> bool:
        if process.poll() is not None:
            raise ServerFailed(f"{name} exited ({process.returncode}): {output.read_text(errors='replace')}")
        return ready()

    try:
        wait_until(started, timeout=60, what=f"{name} to answer")
    except BaseException:
        stop(process)
        raise
    return process


def _prefix(stack: ExitStack, name: str) -> Path:
    """A temporary folder for one server's config, logs and state, removed when `stack` closes."""
    path = Path(tempfile.mkdtemp(prefix=f"wheelstats-{name}-"))
    path.chmod(0o755)
    stack.callback(shutil.rmtree, path, ignore_errors=True)
    return path


def _new_server(stack: ExitStack, name: str) -> tuple[Path, WebServer]:
    """A prefix for server `name` and where it is to listen and log (prefix/logs/access.log)."""
    prefix = _prefix(stack, name)
    server = WebServer(name, free_port(), _logs_folder(prefix) / "access.log")
    return prefix, server


def _running(stack: ExitStack, command: list[str], prefix: Path, server: WebServer, **options) -> None:
    """Start `command` for `server` (stopped when `stack` closes), and wait until it logs a request."""
    stack.callback(stop, _start(command, prefix, server.name, lambda: _listening(server.port), **options))
    _probe(server.url, server.log)


def _probe(url: str, *logs: Path) -> None:
    """Ask for the probe page (each time with a query of its own) until each of the logs holds the request asked
    last: a log is written to from now on (varnishncsa logs only what comes after it attached), and holds every
    probe it will ever hold (lighttpd writes its buffered lines in order; Apache behind a proxy logs a request
    after the proxy has)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        target = f"{PROBE_PATH}?{uuid.uuid4().hex}"
        if _answers(url + target) and all(_logged(log, target.encode(), seconds=2) for log in logs):
            return
    raise ServerFailed(f"{url} answers, but its logs {', '.join(map(str, logs))} never held a request after 60 s")


def _logged(log: Path, what: bytes, *, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if log.exists() and what in log.read_bytes():
            return True
        time.sleep(POLL_SECONDS)
    return False


@pytest.fixture(scope="session")
def static_site() -> Iterator[Path]:
    """The folder the static servers serve: a test writes its simple index here (kit.nginx.write_simple_index)."""
    site = Path(tempfile.mkdtemp(prefix="wheelstats-site-"))
    (site / PROBE_PATH.lstrip("/")).write_text("<!DOCTYPE html><title>probe</title>\n")
    _open_to_workers(site)
    try:
        yield site
    finally:
        shutil.rmtree(site, ignore_errors=True)


# --- Caddy -----------------------------------------------------------------------------------------------------

CADDYFILE = """{{
    admin off
    auto_https off
    storage file_system {prefix}/data
}}
http://127.0.0.1:{port} {{
    root * {root}
    file_server
    log {{
        output file {log}
    }}
}}
"""


@pytest.fixture(scope="session")
def caddy_server(static_site) -> Iterator[WebServer]:
    _require(CADDY, "caddy")
    with ExitStack() as stack:
        prefix, server = _new_server(stack, "caddy")
        config = prefix / "Caddyfile"
        config.write_text(CADDYFILE.format(prefix=prefix, port=server.port, root=static_site, log=server.log))
        env = {**os.environ, "HOME": str(prefix), "XDG_DATA_HOME": str(prefix / "data"),
               "XDG_CONFIG_HOME": str(prefix / "config")}
        _running(stack, [str(CADDY), "run", "--adapter", "caddyfile", "--config", str(config)], prefix, server,
                 env=env)
        yield server


# --- Apache ----------------------------------------------------------------------------------------------------

# The LogFormat lines are Debian's (/etc/apache2/apache2.conf), plus one for the virtual host behind a proxy.
APACHE_CONF = """
ServerRoot {prefix}
ServerName 127.0.0.1
{user}
PidFile {prefix}/apache2.pid
DefaultRuntimeDir {prefix}/run
Mutex file:{prefix}/run default
ErrorLog {prefix}/logs/error.log
LogLevel warn
LoadModule mpm_event_module {modules}/mod_mpm_event.so
LoadModule authz_core_module {modules}/mod_authz_core.so
LoadModule mime_module {modules}/mod_mime.so
LoadModule dir_module {modules}/mod_dir.so
TypesConfig {prefix}/mime.types
StartServers 1
ServerLimit 1
ThreadsPerChild 16
MaxRequestWorkers 16
DirectoryIndex index.html
LogFormat "%h %l %u %t \\"%r\\" %>s %O \\"%{{Referer}}i\\" \\"%{{User-Agent}}i\\"" combined
LogFormat "%h %l %u %t \\"%r\\" %>s %O \\"%{{Referer}}i\\" \\"%{{User-Agent}}i\\" \\"%{{X-Forwarded-For}}i\\"" proxied
<Directory {root}>
    Require all granted
</Directory>
Listen 127.0.0.1:{direct_port}
Listen 127.0.0.1:{behind_port}
<VirtualHost 127.0.0.1:{direct_port}>
    DocumentRoot {root}
    CustomLog {prefix}/logs/access.log combined
</VirtualHost>
<VirtualHost 127.0.0.1:{behind_port}>
    DocumentRoot {root}
    CustomLog {prefix}/logs/behind.log proxied
</VirtualHost>
"""


@pytest.fixture(scope="session")
def apache_server(static_site) -> Iterator[Apache]:
    _require(APACHE, "apache2")
    with ExitStack() as stack:
        prefix = _prefix(stack, "apache")
        logs = _logs_folder(prefix)
        (prefix / "run").mkdir()
        (prefix / "run").chmod(0o777)
        direct_port, behind_port = free_port(), free_port()
        apache = Apache(WebServer("apache", direct_port, logs / "access.log"),
                        WebServer("apache-behind", behind_port, logs / "behind.log"))
        user = f"User {WORKER_USER}\nGroup {_worker_group()}" if _as_root() else ""
        (prefix / "mime.types").write_text("text/html html\napplication/octet-stream whl\napplication/gzip gz\n")
        config = prefix / "apache2.conf"
        config.write_text(APACHE_CONF.format(prefix=prefix, user=user, modules=APACHE_MODULES, root=static_site,
                                             direct_port=direct_port, behind_port=behind_port))

        def ready() -> bool:
            return _listening(direct_port) and _listening(behind_port)

        stack.callback(stop, _start([str(APACHE), "-f", str(config), "-DFOREGROUND"], prefix, "apache", ready))
        _probe(apache.server.url, apache.server.log)
        _probe(apache.behind.url, apache.behind.log)
        yield apache


# --- lighttpd --------------------------------------------------------------------------------------------------

LIGHTTPD_CONF = """
server.modules = ("mod_accesslog")
server.document-root = "{root}"
server.bind = "127.0.0.1"
server.port = {port}
{user}
index-file.names = ("index.html")
mimetype.assign = (".html" => "text/html", ".whl" => "application/octet-stream", ".gz" => "application/gzip")
accesslog.filename = "{log}"
"""


@pytest.fixture(scope="session")
def lighttpd_server(static_site) -> Iterator[WebServer]:
    _require(LIGHTTPD, "lighttpd")
    with ExitStack() as stack:
        prefix, server = _new_server(stack, "lighttpd")
        user = f'server.username = "{WORKER_USER}"\nserver.groupname = "{_worker_group()}"' if _as_root() else ""
        config = prefix / "lighttpd.conf"
        config.write_text(LIGHTTPD_CONF.format(root=static_site, port=server.port, log=server.log, user=user))
        _running(stack, [str(LIGHTTPD), "-D", "-f", str(config)], prefix, server)
        yield server


# --- HAProxy ---------------------------------------------------------------------------------------------------

# Debian's /etc/haproxy/haproxy.cfg defaults (httplog, dontlognull), logging to standard output. pip's agent is
# about 480 characters, more once HAProxy writes each quote as #22: captured with `len 256` it is cut (and no
# longer parses), and a log line is cut at 1024 bytes unless the `log` line gives a longer `len`.
HAPROXY_CFG = """
global
    log stdout len 4096 format raw local0
defaults
    mode http
    log global
    option httplog
    option dontlognull
    timeout connect 5s
    timeout client 50s
    timeout server 50s
frontend index
    bind 127.0.0.1:{port}
    capture request header User-Agent len 1024
    capture request header Referer len 1024
    default_backend site
backend site
    option forwardfor
    server apache {backend} source {source}
"""


@pytest.fixture(scope="session")
def haproxy_server(apache_server) -> Iterator[WebServer]:
    _require(HAPROXY, "haproxy")
    with ExitStack() as stack:
        prefix, server = _new_server(stack, "haproxy")
        config = prefix / "haproxy.cfg"
        backend = f"127.0.0.1:{apache_server.behind.port}"
        config.write_text(HAPROXY_CFG.format(port=server.port, backend=backend, source=PROXY_SOURCE_ADDRESS))
        # HAProxy logs its host's local time without an offset, which wheelstats reads as UTC.
        env = {**os.environ, "TZ": "UTC"}
        _running(stack, [str(HAPROXY), "-db", "-f", str(config)], prefix, server, stdout=server.log, env=env)
        # A test takes the offsets of both logs: the last probe through HAProxy must be in both by then.
        _probe(server.url, server.log, apache_server.behind.log)
        yield server


# --- Varnish ---------------------------------------------------------------------------------------------------

# varnishncsa's default format with the request line as the client sent it (`%m %U%q %H`) where its default `%r`
# makes it absolute (`GET http://host:port/path HTTP/1.1`).
VARNISHNCSA_PATHS = '%h %l %u %t "%m %U%q %H" %s %b "%{Referer}i" "%{User-agent}i"'


@pytest.fixture(scope="session")
def varnish_server(apache_server) -> Iterator[Varnish]:
    _require(VARNISHD, "varnish")
    with ExitStack() as stack:
        prefix, server = _new_server(stack, "varnish")
        varnish = Varnish(server, WebServer("varnish-paths", server.port, server.log.with_name("paths.log")))
        workdir = prefix / "varnishd"
        backend = f"127.0.0.1:{apache_server.behind.port}"
        # vsl_reclen: a record of varnishd's shared log (a header among them) is cut at 255 bytes by default, and
        # varnishncsa logs what is there: pip's and uv's agents (about 420 characters) would no longer parse.
        varnishd = [str(VARNISHD), "-F", "-n", str(workdir), "-a", f"127.0.0.1:{server.port}", "-b", backend,
                    "-s", "malloc,32m", "-T", "none", "-p", "vsl_space=16m", "-p", "vsl_reclen=2048"]
        stack.callback(stop, _start(varnishd, prefix, "varnishd", lambda: _listening(server.port)))
        # varnishncsa reads varnishd's shared log from the requests after it attached: the probe waits for that.
        _running(stack, [str(VARNISHNCSA), "-n", str(workdir), "-w", str(server.log)], prefix, server)
        _running(stack, [str(VARNISHNCSA), "-n", str(workdir), "-F", VARNISHNCSA_PATHS, "-w", str(varnish.paths.log)],
                 prefix, varnish.paths)
        # The second one's probes went through the same varnishd: wait until the first log holds them too (each
        # varnishncsa writes when it will), so that none of them lands in a test's part of it.
        _probe(server.url, server.log, varnish.paths.log)
        yield varnish
