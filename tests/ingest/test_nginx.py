"""Logs written by a real nginx, with real pip and uv as clients: the store holds exactly what they did.

nginx (tests/kit/nginx.py) serves a static simple index. It writes each
request made to it directly in three logs, combined with escape=default, with
escape=json and with escape=none, and each request made through its proxy
(which sets X-Forwarded-For) in the `main` format. The expected figures
follow from what each client was asked to do; the agents are checked against
the very strings the clients send, caught by a tiny local echo server (not by
nginx), and parsed by linehaul.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from dataclasses import asdict
from pathlib import Path

import duckdb
import pytest

from wheelstats import store
from wheelstats.ingest import ingest_files, ingest_paths
from wheelstats.parsing.agents import AGENT_COLUMNS, parse_agent

from kit.clients import agents_the_clients_send, counted, get, pip, run, uv_install
from kit.logs import account_text
from kit.nginx import LOGS, PROXY_SOURCE_ADDRESS, write_simple_index
from kit.processes import WHEELSTATS
from kit.servers import make_sdist, make_wheel, platform_tag

# Another browser-like client, with a quote, a backslash and non-ASCII in its agent and referrer.
ODD_AGENT = 'Mozilla/5.0 (X11; Linux x86_64) "quoted" back\\slash café ☃'
ODD_REFERRER = 'https://example.org/café?q="a\\b"'
FORGED_AGENT = "curl/8.5.0"
FORGED_ADDRESS = "198.51.100.7"  # what a client claims in its own X-Forwarded-For
FORGER = "127.0.0.3"             # where that client really connected from


@pytest.fixture(scope="module")
def traffic(nginx_server, tmp_path_factory):
    """The clients' requests, straight to nginx and through its proxy, and the logs nginx wrote of them."""
    tmp = tmp_path_factory.mktemp("nginx")
    wheels = tmp / "wheels"
    pure = make_wheel(wheels, "tinypure", "1.0", requires_python=">=3.8")
    plat = make_wheel(wheels, "tinyplat", "2.0", platform_tag(), requires=["tinypure>=1.0"])
    sdist = make_sdist(wheels, "tinysrc", "0.5", requires_python=">=3.9")
    write_simple_index(nginx_server.root, [pure, plat, sdist])
    sent = agents_the_clients_send(tmp)
    offsets = nginx_server.log_offsets()

    direct = nginx_server.direct_url + "/simple/"
    pip(direct, "download", "-d", str(tmp / "dl"), "tinypure==1.0")
    pip(direct, "download", "--no-deps", "--no-build-isolation", "-d", str(tmp / "dl"), "tinysrc")
    uv_install(direct, tmp / "venv-direct", "tinyplat")
    odd = {"User-Agent": ODD_AGENT, "Referer": ODD_REFERRER}
    assert get(nginx_server.direct_url, f"/simple/tinypure/{pure.name}", odd) == 200

    proxied = nginx_server.proxy_url + "/simple/"
    pip(proxied, "install", "--target", str(tmp / "target"), "tinyplat")
    uv_install(proxied, tmp / "venv-proxied", "tinyplat")
    forged = {"User-Agent": FORGED_AGENT, "X-Forwarded-For": FORGED_ADDRESS}
    assert get(nginx_server.proxy_url, f"/simple/tinysrc/{sdist.name}", forged, source_address=FORGER) == 200

    logs = nginx_server.logs_since(offsets, tmp / "logs")
    return {"tmp": tmp, "files": (pure.name, plat.name, sdist.name), "sent": sent, "logs": logs}


def expected(traffic, log: str) -> tuple[Counter, Counter]:
    """(searches by project and client, downloads by file and client) that the log must hold."""
    pure, plat, sdist = traffic["files"]
    if log == "main.log":  # pip install tinyplat (and so tinypure), uv the same, the forger one file
        searches = Counter({("tinyplat", "pip"): 1, ("tinypure", "pip"): 1, ("tinyplat", "uv"): 1, ("tinypure", "uv"): 1})
        downloads = Counter({(plat, "pip"): 1, (pure, "pip"): 1, (plat, "uv"): 1, (pure, "uv"): 1, (sdist, "curl"): 1})
        return searches, downloads
    # pip download tinypure, pip download tinysrc, uv install tinyplat (and so tinypure), the odd client one file
    searches = Counter({("tinypure", "pip"): 1, ("tinysrc", "pip"): 1, ("tinyplat", "uv"): 1, ("tinypure", "uv"): 1})
    downloads = Counter({(pure, "pip"): 1, (sdist, "pip"): 1, (plat, "uv"): 1, (pure, "uv"): 1, (pure, "Mozilla"): 1})
    return searches, downloads


def ingested(traffic, log: str, tmp_path: Path, *, escape: str | None = None, **options) -> duckdb.DuckDBPyConnection:
    """A new store with `log` ingested as the user would (its format, and its escape style unless told)."""
    log_format, style = LOGS[log]
    if log == "main.log":
        options.setdefault("client_from", "x-forwarded-for")
    con = store.connect(tmp_path / "s.duckdb")
    [report] = ingest_paths(con, [traffic["logs"][log]], log_format=log_format, escape=escape or style,
                            ip_mode="raw", **options)
    assert report.balanced and not report.rejected, report
    return con


def test_the_clients_got_their_files(traffic):
    tmp = traffic["tmp"]
    assert sorted(p.name for p in (tmp / "dl").iterdir()) == ["tinypure-1.0-py3-none-any.whl", "tinysrc-0.5.tar.gz"]
    assert (tmp / "target/tinyplat/__init__.py").read_text() == "VERSION = '2.0'\n"
    for venv in ("venv-direct", "venv-proxied"):
        assert run([str(tmp / venv / "bin/python"), "-c", "import tinyplat; print(tinyplat.VERSION)"]) == "2.0\n"


# Each log read with its own style, and with the default (auto), which reads all but escape=none's.
READINGS = [(log, style) for log, (_, style) in LOGS.items()] + [(log, "auto") for log in LOGS if LOGS[log][1] != "none"]


@pytest.mark.parametrize("log, escape", READINGS)
def test_the_store_holds_exactly_their_searches_and_downloads(traffic, tmp_path, log, escape):
    con = ingested(traffic, log, tmp_path, escape=escape)
    searches, downloads = expected(traffic, log)
    assert counted(con, "search", "project") == searches
    assert counted(con, "download", "filename") == downloads


@pytest.mark.parametrize("log", LOGS)
def test_agents_are_the_strings_the_clients_sent(traffic, tmp_path, log):
    con = ingested(traffic, log, tmp_path)
    columns = ", ".join(AGENT_COLUMNS)
    for installer, sent in traffic["sent"].items():
        rows = con.execute(f"""SELECT {columns} FROM agents WHERE installer_name = ?
                               AND agent_id IN (SELECT agent_id FROM hits)""", [installer]).fetchall()
        assert [dict(zip(AGENT_COLUMNS, row)) for row in rows] == [asdict(parse_agent(sent))]
        [(python, cpu)] = con.execute("SELECT python_version, cpu FROM agents WHERE agent = ?", [sent]).fetchall()
        assert python == f"{sys.version_info.major}.{sys.version_info.minor}" and cpu  # linehaul really parsed it


@pytest.mark.parametrize("log", ["combined.log", "json.log", "none.log"])
def test_quotes_backslashes_and_non_ascii_come_back_whole(traffic, tmp_path, log):
    con = ingested(traffic, log, tmp_path)
    rows = con.execute("SELECT a.agent, h.referrer FROM hits h JOIN agents a USING (agent_id) "
                       "WHERE a.product = 'Mozilla'").fetchall()
    assert rows == [(ODD_AGENT, ODD_REFERRER)]


def test_behind_the_proxy_the_client_is_the_address_the_proxy_saw(traffic, tmp_path):
    con = ingested(traffic, "main.log", tmp_path)
    clients = dict(con.execute("""SELECT coalesce(a.installer_name, a.product), list(DISTINCT h.client)
                                  FROM hits h JOIN agents a USING (agent_id) GROUP BY ALL""").fetchall())
    # The forger's own X-Forwarded-For comes first in the list: the last address is the one the proxy added.
    assert clients == {"pip": ["127.0.0.1"], "uv": ["127.0.0.1"], "curl": [FORGER]}


def test_without_client_from_the_client_is_the_proxy(traffic, tmp_path):
    con = ingested(traffic, "main.log", tmp_path, client_from="remote-addr")
    assert con.execute("SELECT DISTINCT client FROM hits").fetchall() == [(PROXY_SOURCE_ADDRESS,)]


def test_one_agent_logged_three_ways_is_one_agents_row(traffic, tmp_path):
    """The same requests, in three escape styles, in one store: each agent has one row, joined by every hit."""
    db = tmp_path / "s.duckdb"
    for log in ("combined.log", "json.log", "none.log"):
        ingest_files(db, [traffic["logs"][log]], log_format="nginx", escape=LOGS[log][1], ip_mode="raw")
    con = duckdb.connect(str(db), read_only=True)
    searches, downloads = expected(traffic, "combined.log")
    assert counted(con, "search", "project") == Counter({key: 3 * n for key, n in searches.items()})
    assert counted(con, "download", "filename") == Counter({key: 3 * n for key, n in downloads.items()})
    agents = {agent for (agent,) in con.execute("SELECT agent FROM agents").fetchall()}
    assert agents == {*traffic["sent"].values(), ODD_AGENT}


def test_the_cli_reads_an_nginx_log(traffic, tmp_path):
    db = tmp_path / "s.duckdb"
    log = traffic["logs"]["main.log"]
    result = subprocess.run([WHEELSTATS, "ingest", "--db", str(db), "--format", "nginx_main", "--escape", "nginx",
                             "--client-from", "x-forwarded-for", str(log)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    lines = log.read_bytes().count(b"\n")
    searches, downloads = expected(traffic, "main.log")
    hits = sum(searches.values()) + sum(downloads.values())
    assert result.stdout == account_text({
        "lines": lines, "download": sum(downloads.values()), "search": sum(searches.values()), "project_page": 0,
        "json": 0, "page": 0, "ignored": lines - hits, "rejected": 0,
    })
    [(recorded,)] = duckdb.connect(str(db), read_only=True).execute("SELECT log_format FROM sources").fetchall()
    assert recorded == "nginx_main escape=nginx client=x-forwarded-for"


@pytest.mark.parametrize(
    "options, message",
    [
        (["--escape", "default"],
         "Error: Unknown escape style 'default'. Use one of: auto, apache, nginx, json, none, haproxy, url, plus, csv "
         "(nginx's escape=default is nginx).\n"),
        (["--format", "combined", "--client-from", "x-forwarded-for"],
         "Error: --client-from x-forwarded-for needs a format that logs that header, such as nginx_main; 'combined' "
         "does not.\n"),
    ],
)
def test_the_cli_refuses_bad_options_in_one_line(tmp_path, options, message):
    result = subprocess.run([WHEELSTATS, "ingest", "--db", str(tmp_path / "s.duckdb"), *options, "access.log"],
                            capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"})
    assert (result.returncode, result.stdout, result.stderr) == (1, "", message)
    assert not (tmp_path / "s.duckdb").exists()
