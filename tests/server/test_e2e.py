"""End to end: real pip and uv install from `wheelstats serve`, and the store counts exactly what they did.

The expected figures are not taken from the server: they follow from what each
client was asked to do (which projects it had to look up, which files it had
to download), and the agent facts are checked against the clients' own
`--version` output and this machine's `platform`.
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from kit.servers import BIN, make_sdist, make_wheel, platform_tag, query, serving

PIP = [sys.executable, "-m", "pip"]
UV = str(BIN / "uv")


def run(command: list[str], **options) -> str:
    result = subprocess.run(command, capture_output=True, text=True, timeout=180, **options)
    assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def os_release() -> dict[str, str]:
    fields = {}
    for line in Path("/etc/os-release").read_text().splitlines():
        key, _, value = line.partition("=")
        fields[key] = value.strip('"')
    return fields


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    """Serve three projects, run the clients, stop the server (SIGTERM: flush and final ingest)."""
    tmp = tmp_path_factory.mktemp("e2e")
    wheels = tmp / "wheels"
    pure = make_wheel(wheels, "tinypure", "1.0", requires_python=">=3.8")
    plat = make_wheel(wheels / "tinyplat", "tinyplat", "2.0", platform_tag(), requires=["tinypure>=1.0"])
    sdist = make_sdist(wheels, "tinysrc", "0.5", requires_python=">=3.9")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    with serving(wheels, tmp) as server:
        index = server.url + "/simple/"
        pip_options = ["--no-cache-dir", "--disable-pip-version-check", "--index-url", index]
        run([*PIP, "download", *pip_options, "-d", str(tmp / "dl"), "tinypure==1.0"], env=env)
        run([*PIP, "download", *pip_options, "--no-deps", "--no-build-isolation", "-d", str(tmp / "dl"),
             "tinysrc"], env=env)
        run([*PIP, "install", *pip_options, "--target", str(tmp / "target"), "tinyplat"], env=env)
        run([UV, "venv", "--quiet", "--python", sys.executable, str(tmp / "uvenv")], env=env)
        run([UV, "pip", "install", "--no-cache", "--index-url", index, "--python", str(tmp / "uvenv/bin/python"),
             "tinyplat"], env=env)
        assert server.stopped_cleanly(), server.output.read_text()
    return {"tmp": tmp, "db": server.db, "server": server, "files": (pure, plat, sdist)}


def test_clients_really_installed(session):
    tmp = session["tmp"]
    assert sorted(p.name for p in (tmp / "dl").iterdir()) == ["tinypure-1.0-py3-none-any.whl", "tinysrc-0.5.tar.gz"]
    assert (tmp / "target/tinyplat/__init__.py").read_text() == "VERSION = '2.0'\n"
    assert (tmp / "target/tinypure/__init__.py").exists()
    check = run([str(tmp / "uvenv/bin/python"), "-c", "import tinyplat, tinypure; print(tinyplat.VERSION)"])
    assert check == "2.0\n"


def test_the_store_holds_exactly_those_downloads(session):
    pure, plat, sdist = (f.name for f in session["files"])
    rows = query(session["db"], """
        SELECT h.filename, a.installer_name, count(*) FROM hits h JOIN agents a USING (agent_id)
        WHERE h.kind = 'download' GROUP BY ALL""")
    assert Counter({(f, who): n for f, who, n in rows}) == Counter({
        (pure, "pip"): 2,   # pip download tinypure; pip install tinyplat pulls tinypure
        (sdist, "pip"): 1,
        (plat, "pip"): 1,
        (plat, "uv"): 1,
        (pure, "uv"): 1,
    })
    projects = dict(query(session["db"], "SELECT project, count(*) FROM hits WHERE kind = 'download' GROUP BY 1"))
    assert projects == {"tinypure": 3, "tinyplat": 2, "tinysrc": 1}


def test_the_store_holds_the_searches_they_made(session):
    rows = query(session["db"], """
        SELECT h.project, a.installer_name, count(*) FROM hits h JOIN agents a USING (agent_id)
        WHERE h.kind = 'search' GROUP BY ALL""")
    assert Counter({(p, who): n for p, who, n in rows}) == Counter({
        ("tinypure", "pip"): 2,
        ("tinysrc", "pip"): 1,
        ("tinyplat", "pip"): 1,
        ("tinyplat", "uv"): 1,
        ("tinypure", "uv"): 1,
    })


def test_agents_carry_what_the_clients_report(session):
    pip_version = re.match(r"pip (\S+) ", run([*PIP, "--version"])).group(1)
    uv_version = re.match(r"uv (\S+)", run([UV, "--version"])).group(1)
    rows = query(session["db"], """
        SELECT installer_name, installer_version, python_version, python_full, implementation_name,
               os_name, os_release, distro_name, distro_version, distro_id, cpu
        FROM agents WHERE agent_id IN (SELECT agent_id FROM hits WHERE kind = 'download') ORDER BY 1""")
    release = os_release()
    python = platform.python_version()
    machine = {"amd64": "x86_64", "arm64": "aarch64"}.get(platform.machine().lower(), platform.machine())
    common = (f"{sys.version_info.major}.{sys.version_info.minor}", python, platform.python_implementation(),
              platform.system(), platform.release(), release["NAME"], release["VERSION_ID"],
              release.get("VERSION_CODENAME"), machine)
    assert rows == [("pip", pip_version, *common), ("uv", uv_version, *common)]


def test_every_logged_line_was_ingested_once(session):
    log_lines = session["server"].access_log.read_bytes().count(b"\n")
    (lines,) = query(session["db"], "SELECT sum(lines) FROM sources")[0]
    assert lines == log_lines
    (hits,) = query(session["db"], "SELECT count(*) FROM hits")[0]
    (ignored,) = query(session["db"], "SELECT coalesce(sum(lines), 0) FROM ignored")[0]
    (rejected,) = query(session["db"], "SELECT coalesce(sum(lines), 0) FROM rejected")[0]
    assert hits + ignored == log_lines and rejected == 0
