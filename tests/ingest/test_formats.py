"""Every log format reads the same requests into the same hits, detected with no --format.

Each format's lines are written here from its documented field list (Caddy's,
Traefik's, Cloudflare Logpush's and Fastly's JSON keys, HAProxy's httplog
fields, W3C/IIS, CloudFront's tab-separated standard log, S3 server access
logs, Cloud Storage usage logs), with their own escapes and their own way of
writing a missing value, for one list of requests; each log is then ingested
with `--format auto` and must give exactly the hits the requests make.
"""

from __future__ import annotations

import csv
import io
import json
import urllib.parse
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from wheelstats import store
from wheelstats.ingest import ingest_paths

START = datetime(2026, 3, 5, 10, 0, 0, tzinfo=UTC)
PIP = ('pip/24.0 {"ci":null,"cpu":"x86_64","distro":{"name":"Debian GNU/Linux","version":"12"},'
       '"implementation":{"name":"CPython","version":"3.11.2"},"installer":{"name":"pip","version":"24.0"},'
       '"python":"3.11.2","system":{"name":"Linux","release":"6.1.0"}}')
UV = ('uv/0.4.18 {"installer":{"name":"uv","version":"0.4.18","subcommand":["pip","install"]},"python":"3.12.3",'
      '"implementation":{"name":"CPython","version":"3.12.3"},"cpu":"aarch64","system":{"name":"Linux"}}')
BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
WHEEL = "/simple/numpy/numpy-2.1.0-cp311-cp311-manylinux_2_17_x86_64.whl"


@dataclass(frozen=True, slots=True)
class Request:
    at: datetime
    client: str
    method: str
    path: str
    status: int
    size: int | None
    agent: str | None
    referrer: str | None


REQUESTS = [
    Request(START, "192.0.2.10", "GET", "/simple/numpy/", 200, 5120, PIP, None),
    Request(START + timedelta(seconds=1, milliseconds=250), "192.0.2.10", "GET", WHEEL, 200, 18_000_000, PIP,
            "https://example.org/caf\u00e9?q=1"),
    Request(START + timedelta(seconds=2), "2001:db8::7", "GET", "/simple/Django_Rest/", 200, 900, UV, None),
    Request(START + timedelta(seconds=3), "198.51.100.4", "GET", "/simple/numpy/", 200, 5120, BROWSER, None),
    Request(START + timedelta(seconds=4), "198.51.100.4", "POST", "/simple/numpy/", 200, 0, PIP, None),
    Request(START + timedelta(seconds=5), "192.0.2.11", "GET", "/simple/nothere/", 404, None, PIP, None),
    Request(START + timedelta(minutes=1), "192.0.2.12", "GET", "/project/numpy/", 200, 300, BROWSER,
            "https://pypi.example/search?q=num"),
]
# What the store must hold: (time, kind, project, filename, client, agent, bytes, referrer).
EXPECTED_HITS = [
    (START.replace(tzinfo=None), "search", "numpy", None, "192.0.2.10", PIP, 5120, None),
    ((START + timedelta(seconds=1, milliseconds=250)).replace(tzinfo=None), "download", "numpy",
     WHEEL.rsplit("/", 1)[1], "192.0.2.10", PIP, 18_000_000, "https://example.org/caf\u00e9?q=1"),
    ((START + timedelta(seconds=2)).replace(tzinfo=None), "search", "django-rest", None, "2001:db8::7", UV, 900, None),
    ((START + timedelta(minutes=1)).replace(tzinfo=None), "project_page", "numpy", None, "192.0.2.12", BROWSER, 300,
     "https://pypi.example/search?q=num"),
]
EXPECTED_IGNORED = {"index_not_installer": 1, "method": 1, "status": 1}


def whole_seconds(hits):
    """The expected hits as the store keeps them: times cut to the second."""
    return [(at.replace(microsecond=0), *rest) for at, *rest in hits]


def apache_quoted(value: str | None) -> str:
    if value is None:
        return '"-"'
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + "".join(c if ord(c) < 128 else "".join(f"\\x{b:02x}" for b in c.encode()) for c in escaped) + '"'


def clf(at: datetime) -> str:
    return at.strftime("%d/%b/%Y:%H:%M:%S +0000")


def combined(requests: list[Request]) -> str:
    return "".join(
        f'{r.client} - - [{clf(r.at)}] "{r.method} {r.path} HTTP/1.1" {r.status} {r.size if r.size is not None else "-"} '
        f"{apache_quoted(r.referrer)} {apache_quoted(r.agent)}\n"
        for r in requests
    )


def lighttpd(requests: list[Request]) -> str:  # %h %V %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i"
    return "".join(
        f'{r.client} index.example - [{clf(r.at)}] "{r.method} {r.path} HTTP/1.1" {r.status} '
        f"{r.size if r.size is not None else '-'} {apache_quoted(r.referrer)} {apache_quoted(r.agent)}\n"
        for r in requests
    )


def caddy(requests: list[Request]) -> str:
    """Caddy 2.6's default access log: JSON, ts in epoch seconds, headers as arrays."""
    lines = []
    for r in requests:
        headers = {"Accept": ["*/*"]}
        if r.agent is not None:
            headers["User-Agent"] = [r.agent]
        if r.referrer is not None:
            headers["Referer"] = [r.referrer]
        lines.append(json.dumps({
            "level": "info", "ts": r.at.timestamp(), "logger": "http.log.access.log0", "msg": "handled request",
            "request": {"remote_ip": r.client, "remote_port": "51234", "client_ip": r.client, "proto": "HTTP/1.1",
                        "method": r.method, "host": "localhost:8080", "uri": r.path, "headers": headers},
            "bytes_read": 0, "user_id": "", "duration": 0.0011, "size": r.size or 0, "status": r.status,
            "resp_headers": {"Server": ["Caddy"]},
        }))
    return "\n".join(lines) + "\n"


def traefik(requests: list[Request]) -> str:
    return "".join(json.dumps({
        "ClientAddr": f"{r.client}:4711", "ClientHost": r.client, "ClientPort": "4711", "DownstreamContentSize": r.size,
        "DownstreamStatus": r.status, "Duration": 1200, "RequestMethod": r.method, "RequestPath": r.path,
        "RequestProtocol": "HTTP/1.1", "RouterName": "index@file", "StartUTC": r.at.strftime("%Y-%m-%dT%H:%M:%S.%f000Z"),
        "entryPointName": "web", "level": "info", "msg": "", "time": r.at.isoformat(),
        **({"request_User-Agent": r.agent} if r.agent else {}), **({"request_Referer": r.referrer} if r.referrer else {}),
    }) + "\n" for r in requests)


def cloudflare(requests: list[Request]) -> str:
    """Logpush's http_requests dataset with its default timestamps (unixnano)."""
    return "".join(json.dumps({
        "ClientIP": r.client, "ClientRequestHost": "index.example", "ClientRequestMethod": r.method,
        "ClientRequestURI": r.path, "ClientRequestUserAgent": r.agent or "", "ClientRequestReferer": r.referrer or "",
        "EdgeEndTimestamp": int(r.at.timestamp() * 1e9) + 5_000_000, "EdgeResponseBytes": r.size or 0,
        "EdgeResponseStatus": r.status, "EdgeStartTimestamp": int(round(r.at.timestamp() * 1000)) * 1_000_000,
        "RayID": "7d1c2b3a4f5e6d7c",
    }) + "\n" for r in requests)


def fastly(requests: list[Request]) -> str:
    """Fastly's documented JSON logging example (timestamp with %z, status and size as numbers)."""
    return "".join(json.dumps({
        "timestamp": r.at.strftime("%Y-%m-%dT%H:%M:%S%z"), "client_ip": r.client, "geo_country": "france",
        "host": "index.example", "url": r.path, "request_method": r.method, "request_protocol": "HTTP/1.1",
        "request_referer": r.referrer or "", "request_user_agent": r.agent or "", "response_state": "HIT",
        "response_status": r.status, "response_reason": None, "response_body_size": r.size or 0,
        "fastly_server": "cache-cdg1234", "fastly_is_edge": True,
    }) + "\n" for r in requests)


def nginx_json(requests: list[Request]) -> str:
    """log_format ... escape=json with keys named after nginx's variables: an unset variable is ""."""
    return "".join(json.dumps({
        "time_iso8601": r.at.strftime("%Y-%m-%dT%H:%M:%S+00:00"), "remote_addr": r.client,
        "request": f"{r.method} {r.path} HTTP/1.1", "status": str(r.status),
        "body_bytes_sent": str(r.size or 0), "http_referer": r.referrer or "", "http_user_agent": r.agent or "",
    }) + "\n" for r in requests)


def haproxy_escaped(value: str | None) -> str:
    if value is None:
        return ""
    return "".join(c if 32 < ord(c) < 127 and c not in '#"{|}' or c == " " else
                   "".join(f"#{b:02X}" for b in c.encode()) for c in value)


def haproxy(requests: list[Request]) -> str:
    """option httplog through syslog, with `capture request header User-Agent` then `Referer`."""
    return "".join(
        f"{r.at:%b %d %H:%M:%S} index haproxy[4242]: {r.client}:50123 [{r.at:%d/%b/%Y:%H:%M:%S}.{r.at.microsecond // 1000:03d}] "
        f"web~ pypi/s1 0/0/1/2/3 {r.status} {r.size or 0} - - ---- 1/1/0/0/0 0/0 "
        f'{{{haproxy_escaped(r.agent)}|{haproxy_escaped(r.referrer)}}} "{r.method} {r.path} HTTP/1.1"\n'
        for r in requests
    )


def iis(requests: list[Request]) -> str:
    """IIS's default W3C fields: no bytes sent; a space in a field written as '+'."""
    head = ("#Software: Microsoft Internet Information Services 10.0\n#Version: 1.0\n#Date: 2026-03-05 10:00:00\n"
            "#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) "
            "cs(Referer) sc-status sc-substatus sc-win32-status time-taken\n")
    return head + "".join(
        f"{r.at:%Y-%m-%d %H:%M:%S} 10.0.0.1 {r.method} {r.path} - 443 - {r.client} "
        f"{(r.agent or '-').replace(' ', '+')} {(r.referrer or '-').replace(' ', '+')} {r.status} 0 0 15\n"
        for r in requests
    )


CLOUDFRONT_FIELDS = (
    "date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) cs(User-Agent) "
    "cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id x-host-header cs-protocol cs-bytes time-taken "
    "x-forwarded-for ssl-protocol ssl-cipher x-edge-response-result-type cs-protocol-version fle-status "
    "fle-encrypted-fields c-port time-to-first-byte x-edge-detailed-result-type sc-content-type sc-content-len "
    "sc-range-start sc-range-end"
)


def cloudfront(requests: list[Request]) -> str:
    """A CloudFront standard log: tab-separated, agent and referrer URL-encoded, '-' for no value."""
    def encoded(value: str | None) -> str:
        return urllib.parse.quote(value, safe="/:;,()=?&") if value else "-"

    head = f"#Version: 1.0\n#Fields: {CLOUDFRONT_FIELDS}\n"
    rows = []
    for r in requests:
        values = dict.fromkeys(CLOUDFRONT_FIELDS.split(), "-")
        values.update({
            "date": f"{r.at:%Y-%m-%d}", "time": f"{r.at:%H:%M:%S}", "x-edge-location": "CDG50-C1",
            "sc-bytes": str(r.size or 0), "c-ip": r.client, "cs-method": r.method, "cs(Host)": "d111.cloudfront.net",
            "cs-uri-stem": r.path, "sc-status": str(r.status), "cs(Referer)": encoded(r.referrer),
            "cs(User-Agent)": encoded(r.agent), "x-edge-result-type": "Hit", "cs-protocol": "https",
        })
        rows.append("\t".join(values.values()) + "\n")
    return head + "".join(rows)


def s3(requests: list[Request]) -> str:
    """S3 server access log records (the agent as the client sent it, quotes and all)."""
    owner = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"
    return "".join(
        f"{owner} pypi-bucket [{clf(r.at)}] {r.client} - 3E57427F3EXAMPLE REST.{r.method}.OBJECT "
        f'simple/x "{r.method} {r.path} HTTP/1.1" {r.status} - {r.size if r.size is not None else "-"} 1234 7 - '
        f'"{r.referrer or "-"}" "{r.agent or "-"}" - s9lzHYrFp76ZVxRcpX9+5cjAnEH2ROuNkd2BHfIa6UkFVdtjf5mKR3= SigV4 '
        "ECDHE-RSA-AES128-GCM-SHA256 AuthHeader pypi-bucket.s3.eu-west-3.amazonaws.com TLSv1.2 - -\n"
        for r in requests
    )


def gcs(requests: list[Request]) -> str:
    """A Cloud Storage usage log: CSV, every field quoted, a header row."""
    columns = ["time_micros", "c_ip", "c_ip_type", "c_ip_region", "cs_method", "cs_uri", "sc_status", "cs_bytes",
               "sc_bytes", "time_taken_micros", "cs_host", "cs_referer", "cs_user_agent", "s_request_id",
               "cs_operation", "cs_bucket", "cs_object"]
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(columns)
    for r in requests:
        writer.writerow([
            int(r.at.timestamp() * 1_000_000), r.client, "1", "", r.method, r.path, r.status, 0, r.size or 0, 5000,
            "storage.googleapis.com", r.referrer or "", r.agent or "", "ADPycds", "GET_Object", "pypi", r.path[1:],
        ])
    return out.getvalue()


# The header lines of each format that has them: ignored, as `header`.
HEADER_LINES = {"iis": 4, "cloudfront": 2, "gcs": 1}
FORMATS = {
    # name: (writer, the format recorded (its start), bytes logged)
    "combined": (combined, "combined", True),
    "lighttpd": (lighttpd, "combined", True),
    "caddy": (caddy, "caddy", True),
    "traefik": (traefik, "traefik", True),
    "cloudflare": (cloudflare, "cloudflare", True),
    "fastly": (fastly, "fastly", True),
    "nginx_json": (nginx_json, "nginx_json", True),
    "haproxy": (haproxy, "haproxy", True),
    "iis": (iis, "w3c date time s-ip", False),
    "cloudfront": (cloudfront, "cloudfront date time x-edge-location", True),
    "s3": (s3, "s3", True),
    "gcs": (gcs, "gcs time_micros c_ip", True),
}


def stored(con):
    hits = con.execute("""
        SELECT h.ts, h.kind, h.project, h.filename, h.client, a.agent, h.bytes, h.referrer
        FROM hits h LEFT JOIN agents a USING (agent_id) ORDER BY h.ts""").fetchall()
    ignored = dict(con.execute("SELECT reason, sum(lines)::INT FROM ignored GROUP BY ALL").fetchall())
    [(recorded,)] = con.execute("SELECT log_format FROM sources").fetchall()
    return hits, ignored, recorded


@pytest.mark.parametrize("name", FORMATS)
def test_each_format_is_detected_and_gives_the_same_hits(tmp_path, name):
    write, recorded_as, logs_bytes = FORMATS[name]
    log = tmp_path / f"{name}.log"
    log.write_text(write(REQUESTS))
    con = store.connect(":memory:")
    [report] = ingest_paths(con, [log], ip_mode="raw")
    hits, ignored, recorded = stored(con)
    # The store keeps times to the second (schema version 12), whether the format logs milliseconds or not.
    expected = whole_seconds(EXPECTED_HITS)
    if not logs_bytes:
        expected = [(*hit[:6], None, hit[7]) for hit in expected]
    assert hits == expected
    assert ignored == EXPECTED_IGNORED | ({"header": HEADER_LINES[name]} if name in HEADER_LINES else {})
    assert recorded.startswith(recorded_as) and report.log_format == recorded and report.format_detected
    assert report.balanced and sum(report.rejected.values()) == 0


def test_a_folder_mixing_formats_reads_each_file_in_its_own(tmp_path):
    for name, (write, *_) in FORMATS.items():
        (tmp_path / f"{name}.log").write_text(write(REQUESTS))
    con = store.connect(":memory:")
    reports = ingest_paths(con, sorted(tmp_path.glob("*.log")), ip_mode="raw")
    assert [sum(report.hits.values()) for report in reports] == [len(EXPECTED_HITS)] * len(FORMATS)
    formats = dict(con.execute("SELECT name, split_part(log_format, ' ', 1) FROM sources").fetchall())
    assert formats == {
        str(tmp_path / f"{name}.log"): {"lighttpd": "combined", "iis": "w3c"}.get(name, name) for name in FORMATS
    }
