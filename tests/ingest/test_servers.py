"""Logs written by real servers from Debian, with real pip and uv as clients, ingested with no --format.

Caddy, Apache and lighttpd serve one static simple index; HAProxy and Varnish
pass each request on to Apache (tests/kit/webservers.py says how each logs).
Through each server, pip downloads a pure wheel and an sdist, uv installs a
platform wheel and its dependency, a browser-like client with odd characters
in its agent and referrer asks for the wheel, and a client from another
address asks for the sdist with a forged X-Forwarded-For. The log that server
wrote is then ingested without a format: the store must hold exactly those
searches and downloads, with the agents the clients really sent (caught by a
local echo server, parsed by linehaul), the address each client connected
from, the time of each request, and the format the log was detected as.
Varnish's log is read twice: in varnishncsa's default format (the request line
in absolute form) and with the request line as sent (-F).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from wheelstats import store
from wheelstats.ingest import ingest_paths
from wheelstats.parsing.agents import AGENT_COLUMNS, parse_agent

from kit.clients import agents_the_clients_send, counted, get, pip, run, uv_install
from kit.logs import account_text
from kit.nginx import PROXY_SOURCE_ADDRESS, write_simple_index
from kit.processes import WHEELSTATS
from kit.servers import make_sdist, make_wheel, platform_tag
from kit.webservers import WebServer

# A browser-like client whose agent and referrer hold what each server escapes its own way: quotes, a backslash,
# non-ASCII, and HAProxy's own specials (#, {, |, }).
ODD_AGENT = 'Mozilla/5.0 (Windows NT 10.0) "quoted" back\\slash ünïcødé ☃ {braces|pipe} #hash'
ODD_REFERRER = 'https://example.org/naïve?q="x\\y"&p={1|2}#frag'
FORGED_AGENT = "curl/8.5.0"
FORGED_ADDRESS = "198.51.100.7"  # what a client claims in its own X-Forwarded-For
FORGER = "127.0.0.3"             # where that client really connected from



@dataclass(frozen=True, slots=True)
class Logged:
    fixture: str        # the server's session fixture (tests/kit/webservers.py)
    part: str | None    # which of its WebServers, for a fixture that logs two ways
    detected_as: str    # the format its log must be recorded with when read with no --format


# lighttpd's and varnishncsa's default formats have combined's shape: detection reads them as combined.
SERVERS = {
    "caddy": Logged("caddy_server", None, "caddy"),
    "apache": Logged("apache_server", "server", "combined"),
    "lighttpd": Logged("lighttpd_server", None, "combined"),
    "haproxy": Logged("haproxy_server", None, "haproxy"),
    "varnish": Logged("varnish_server", "server", "combined"),
    "varnish-paths": Logged("varnish_server", "paths", "combined"),
}
# Servers whose log wheelstats does not read right yet, and why: what their log holds fails, strictly, until it does.
@dataclass(frozen=True, slots=True)
class Files:
    pure: str   # a pure wheel, tinypure 1.0
    plat: str   # a platform wheel, tinyplat 2.0, which requires tinypure
    sdist: str  # an sdist, tinysrc 0.5


@dataclass(frozen=True, slots=True)
class Traffic:
    server: str
    started: datetime       # in UTC, just before the first request (whole seconds: some logs have no fraction)
    ended: datetime         # in UTC, just after the last
    log: Path               # what the server logged of the clients' requests
    behind_log: Path | None  # what Apache behind the proxy logged of them (HAProxy only)
    files: Files
    sent: dict[str, str]    # installer -> the User-Agent it sends


@pytest.fixture(scope="module")
def site(static_site, tmp_path_factory) -> tuple[Files, dict[str, str]]:
    """The index every server serves, and the agents pip and uv send."""
    tmp = tmp_path_factory.mktemp("site")
    wheels = tmp / "wheels"
    pure = make_wheel(wheels, "tinypure", "1.0", requires_python=">=3.8")
    plat = make_wheel(wheels, "tinyplat", "2.0", platform_tag(), requires=["tinypure>=1.0"])
    sdist = make_sdist(wheels, "tinysrc", "0.5", requires_python=">=3.9")
    write_simple_index(static_site, [pure, plat, sdist])
    return Files(pure.name, plat.name, sdist.name), agents_the_clients_send(tmp)


@pytest.fixture(scope="module", params=SERVERS)
def traffic(request, site, tmp_path_factory) -> Traffic:
    """The clients' requests through one server, and the log lines that server wrote of them."""
    name = request.param
    tmp = tmp_path_factory.mktemp(name)
    files, sent = site
    logged = SERVERS[name]
    server: WebServer = request.getfixturevalue(logged.fixture)
    if logged.part:
        server = getattr(server, logged.part)
    behind = request.getfixturevalue("apache_server").behind if name == "haproxy" else None
    offset = server.log_offset()
    behind_offset = behind.log_offset() if behind else 0
    started = datetime.now(UTC).replace(tzinfo=None, microsecond=0)

    index = server.url + "/simple/"
    pip(index, "download", "--no-deps", "--no-build-isolation", "-d", str(tmp / "dl"), "tinypure==1.0", "tinysrc")
    uv_install(index, tmp / "venv", "tinyplat")
    odd = {"User-Agent": ODD_AGENT, "Referer": ODD_REFERRER}
    assert get(server.url, f"/simple/tinypure/{files.pure}", odd) == 200
    forged = {"User-Agent": FORGED_AGENT, "X-Forwarded-For": FORGED_ADDRESS}
    assert get(server.url, f"/simple/tinysrc/{files.sdist}", forged, source_address=FORGER) == 200

    # The clients got what they asked for, whole.
    assert sorted(path.name for path in (tmp / "dl").iterdir()) == sorted([files.pure, files.sdist])
    assert run([str(tmp / "venv/bin/python"), "-c", "import tinyplat; print(tinyplat.VERSION)"]) == "2.0\n"
    ended = datetime.now(UTC).replace(tzinfo=None)
    last = FORGED_AGENT.encode()
    return Traffic(name, started, ended, server.log_since(offset, tmp / "logs", last=last),
                   behind.log_since(behind_offset, tmp / "behind", last=last) if behind else None, files, sent)


def expected(traffic: Traffic) -> tuple[Counter, Counter]:
    """(searches by project and client, downloads by file and client) that each server's log must hold."""
    files = traffic.files
    searches = Counter({("tinypure", "pip"): 1, ("tinysrc", "pip"): 1, ("tinyplat", "uv"): 1, ("tinypure", "uv"): 1})
    downloads = Counter({(files.pure, "pip"): 1, (files.sdist, "pip"): 1, (files.plat, "uv"): 1,
                         (files.pure, "uv"): 1, (files.pure, "Mozilla"): 1, (files.sdist, "curl"): 1})
    return searches, downloads


def ingested(log: Path, tmp_path: Path, **options) -> duckdb.DuckDBPyConnection:
    """A new store with `log` ingested as a new user would (no format given, unless `options` give one), client
    addresses kept."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    con = store.connect(tmp_path / "s.duckdb")
    [report] = ingest_paths(con, [log], ip_mode="raw", **options)
    assert report.balanced and not report.rejected, report
    return con


def clients(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    return dict(con.execute("""SELECT coalesce(a.installer_name, a.product), list(DISTINCT h.client ORDER BY h.client)
                               FROM hits h JOIN agents a USING (agent_id) GROUP BY ALL""").fetchall())


def test_the_store_holds_exactly_their_searches_and_downloads(traffic, tmp_path):
    con = ingested(traffic.log, tmp_path)
    searches, downloads = expected(traffic)
    assert counted(con, "search", "project") == searches
    assert counted(con, "download", "filename") == downloads


def test_the_source_records_the_format_it_was_detected_as(traffic, tmp_path):
    con = ingested(traffic.log, tmp_path)
    assert con.execute("SELECT log_format FROM sources").fetchall() == [(SERVERS[traffic.server].detected_as,)]


def test_agents_are_the_strings_the_clients_sent(traffic, tmp_path):
    con = ingested(traffic.log, tmp_path)
    columns = ", ".join(AGENT_COLUMNS)
    for installer, sent in traffic.sent.items():
        rows = con.execute(f"""SELECT {columns} FROM agents WHERE installer_name = ?
                               AND agent_id IN (SELECT agent_id FROM hits)""", [installer]).fetchall()
        assert [dict(zip(AGENT_COLUMNS, row)) for row in rows] == [asdict(parse_agent(sent))]
        [(python, cpu)] = con.execute("SELECT python_version, cpu FROM agents WHERE agent = ?", [sent]).fetchall()
        assert python == f"{sys.version_info.major}.{sys.version_info.minor}" and cpu  # linehaul really parsed it


def test_each_hit_is_at_the_time_it_was_made(traffic, tmp_path):
    """Every server's times (Caddy's epoch seconds, HAProxy's local time without an offset) read as UTC. A
    server may stamp a request with the second its event loop last read the clock: lighttpd logged 11:57:17 for
    a request made after 11:57:18 had begun."""
    con = ingested(traffic.log, tmp_path)
    [(first, last, hits)] = con.execute("SELECT min(ts), max(ts), count(*) FROM hits").fetchall()
    assert hits and traffic.started - timedelta(seconds=1) <= first <= last <= traffic.ended


def test_the_client_is_the_address_that_connected(traffic, tmp_path):
    """Each server logs the address that connected to it (HAProxy and Varnish: the client's, not the header's)."""
    con = ingested(traffic.log, tmp_path)
    assert clients(con) == {"pip": ["127.0.0.1"], "uv": ["127.0.0.1"], "Mozilla": ["127.0.0.1"], "curl": [FORGER]}


def test_quotes_backslashes_and_non_ascii_come_back_whole(traffic, tmp_path):
    con = ingested(traffic.log, tmp_path)
    rows = con.execute("SELECT a.agent, h.referrer FROM hits h JOIN agents a USING (agent_id) "
                       "WHERE a.product = 'Mozilla'").fetchall()
    assert rows == [(ODD_AGENT, ODD_REFERRER)]


def test_the_cli_reads_the_log_and_names_its_format(traffic, tmp_path):
    log = traffic.log
    result = subprocess.run([WHEELSTATS, "ingest", "--db", str(tmp_path / "s.duckdb"), str(log)],
                            capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"})
    assert result.returncode == 0, result.stderr
    lines = log.read_bytes().count(b"\n")
    searches, downloads = expected(traffic)
    hits = sum(searches.values()) + sum(downloads.values())
    assert result.stdout == account_text({
        "lines": lines, "download": sum(downloads.values()), "search": sum(searches.values()), "project_page": 0,
        "json": 0, "page": 0, "ignored": lines - hits, "rejected": 0,
    }) + f"formats: {SERVERS[traffic.server].detected_as} ({log.name})\n"


@pytest.mark.parametrize("traffic", ["haproxy"], indirect=True)
def test_behind_haproxy_the_client_comes_from_x_forwarded_for(traffic, tmp_path):
    """Apache behind HAProxy sees every request from the proxy. Its log, with `"%{X-Forwarded-For}i"` last, read as
    docs/ingest.md says (no --format, --client-from x-forwarded-for), gives each client the last X-Forwarded-For
    address: the one HAProxy added, whatever the client wrote there itself."""
    con = ingested(traffic.behind_log, tmp_path, client_from="x-forwarded-for")
    assert con.execute("SELECT log_format FROM sources").fetchall() == [("nginx_main client=x-forwarded-for",)]
    assert clients(con) == {"pip": ["127.0.0.1"], "uv": ["127.0.0.1"], "Mozilla": ["127.0.0.1"], "curl": [FORGER]}
    searches, downloads = expected(traffic)
    assert counted(con, "search", "project") == searches
    assert counted(con, "download", "filename") == downloads
    without = ingested(traffic.behind_log, tmp_path / "without")
    assert without.execute("SELECT DISTINCT client FROM hits").fetchall() == [(PROXY_SOURCE_ADDRESS,)]
