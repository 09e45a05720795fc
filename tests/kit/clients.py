"""Real pip and uv as clients of a test's servers, and what a store counted of them.

`pip` and `uv_install` run the clients as a user would, without this machine's own
index settings; `agents_the_clients_send` catches the exact User-Agent each sends
(with a tiny local echo server, not through the server under test); `counted`
tallies a store's hits of one kind by project or file and by client.
"""

from __future__ import annotations

import http.client
import http.server
import os
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

from kit.servers import BIN

PIP = [sys.executable, "-m", "pip"]
UV = str(BIN / "uv")


def run(command: list[str], *, check: bool = True, **options) -> str:
    result = subprocess.run(command, capture_output=True, text=True, timeout=180, **options)
    if check:
        assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def client_env() -> dict[str, str]:
    """This machine's environment without pip's and uv's settings (its own indexes and links)."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}


def pip(index: str, *args: str, check: bool = True) -> str:
    options = ["--isolated", "--no-cache-dir", "--disable-pip-version-check", "--index-url", index]
    return run([*PIP, args[0], *options, *args[1:]], check=check, env=client_env())


def uv_install(index: str, venv: Path, project: str, *, check: bool = True) -> str:
    if not venv.exists():
        run([UV, "venv", "--no-config", "--quiet", "--python", sys.executable, str(venv)], env=client_env())
    command = [UV, "pip", "install", "--no-config", "--no-cache", "--index-url", index, "--python",
               str(venv / "bin/python"), project]
    return run(command, check=check, env=client_env())


def get(url: str, path: str, headers: dict[str, str], source_address: str = "127.0.0.1") -> int:
    """One GET with these headers, sent as UTF-8 bytes, from `source_address`."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30,
                                            source_address=(source_address, 0))
    try:
        connection.putrequest("GET", path, skip_accept_encoding=True)
        for name, value in headers.items():
            connection.putheader(name, value.encode())
        connection.endheaders()
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


class AgentEcho(http.server.ThreadingHTTPServer):
    """Answers 404 to everything and keeps each User-Agent it was sent, as sent."""

    def __init__(self):
        self.agents: set[str] = set()
        echo = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                echo.agents.add(self.headers["User-Agent"])
                self.send_error(404)

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)

    def __enter__(self):
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.shutdown()
        self.server_close()


def agents_the_clients_send(tmp: Path) -> dict[str, str]:
    """The User-Agent pip and uv send, run as the tests run them, against the echo."""
    with AgentEcho() as echo:
        index = f"http://127.0.0.1:{echo.server_address[1]}/simple/"
        pip(index, "download", "--no-deps", "-d", str(tmp / "echo"), "tinypure", check=False)
        pip_agents, echo.agents = echo.agents, set()
        uv_install(index, tmp / "echo-venv", "tinyplat", check=False)
        uv_agents = echo.agents
    [pip_agent], [uv_agent] = pip_agents, uv_agents
    return {"pip": pip_agent, "uv": uv_agent}


def counted(con, kind: str, what: str) -> Counter:
    rows = con.execute(f"""
        SELECT h.{what}, coalesce(a.installer_name, a.product), count(*) FROM hits h JOIN agents a USING (agent_id)
        WHERE h.kind = '{kind}' GROUP BY ALL""").fetchall()
    return Counter({(value, who): n for value, who, n in rows})
