"""JSON field mappings: paths as users write them, and lines as Caddy, Traefik and nginx write them."""

from __future__ import annotations

import json

import duckdb
import pyarrow as pa
import pytest

from wheelstats.parsing.classify import parse_sql
from wheelstats.parsing.formats import compile_format
from wheelstats.parsing.jsonformat import JsonFieldError, json_path, parse_field


@pytest.mark.parametrize("path, duckdb_path", [
    ("ts", '$."ts"'),
    ("request.remote_ip", '$."request"."remote_ip"'),
    ('request.headers["User-Agent"][0]', '$."request"."headers"."User-Agent"[0]'),
    ("request.headers.User-Agent[0]", '$."request"."headers"."User-Agent"[0]'),
    ("request_User-Agent", '$."request_User-Agent"'),
    ('["a.b"].c', '$."a.b"."c"'),
    ('["say \\"hi\\""]', '$."say \\"hi\\""'),
])
def test_paths_become_duckdb_json_paths(path, duckdb_path):
    assert json_path(path) == duckdb_path


@pytest.mark.parametrize("text, message", [
    ("[0]", "Invalid --field '[0]': the path '[0]' must start with a key"),
    ('agent=a["b', "Invalid --field 'agent=a[\"b': cannot read the path 'a[\"b' from '[\"b' on"),
    ('ip=r[""]', "Invalid --field 'ip=r[\"\"]': the path 'r[\"\"]' has an empty key, which cannot be read"),
])
def test_a_path_that_does_not_read_is_refused(text, message):
    with pytest.raises(JsonFieldError) as error:
        parse_field(text) if "=" in text else json_path(text)
    assert str(error.value) == message


def test_keys_have_aliases_and_paths_alternatives():
    field = parse_field("User_Agent=request.headers.User-Agent[0]|ua")
    assert (field.key, field.paths, field.spec) == ("agent", ("request.headers.User-Agent[0]", "ua"),
                                                     "agent=request.headers.User-Agent[0]|ua")


def parsed(log_format: str, lines: list[str], **options) -> list[tuple]:
    pattern = compile_format(log_format, **options)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.register("batch_lines", pa.table({"line_no": list(range(1, len(lines) + 1)), "line": lines}))
    return con.execute(f"""SELECT client, bytes, referrer, logged_agent, path, early_outcome, base_kind
                           FROM ({parse_sql(pattern)}) ORDER BY line_no""").fetchall()


def test_caddy_lines_with_missing_and_odd_values():
    base = {"ts": 1772704801.25, "status": 200, "size": 10,
            "request": {"remote_ip": "10.0.0.1", "method": "GET", "uri": "/simple/a/", "headers": {}}}
    with_client_ip = json.loads(json.dumps(base))
    with_client_ip["request"]["client_ip"] = "203.0.113.5"  # behind trusted proxies: the client
    empty_header = json.loads(json.dumps(base))
    empty_header["request"]["headers"] = {"User-Agent": [], "Referer": ["https://x.example/"]}
    null_status = {**base, "status": None}
    lines = [json.dumps(line) + "\n" for line in (base, with_client_ip, empty_header, null_status)]
    lines += ["[1, 2]\n", "{truncated\n", "\n"]
    assert parsed("caddy", lines) == [
        ("10.0.0.1", 10, None, None, "/simple/a/", None, "index"),
        ("203.0.113.5", 10, None, None, "/simple/a/", None, "index"),
        ("10.0.0.1", 10, "https://x.example/", None, "/simple/a/", None, "index"),
        ("10.0.0.1", 10, None, None, "/simple/a/", "reject:missing_field", "index"),  # no status
        (None, None, None, None, "", "reject:missing_field", "other"),
        (None, None, None, None, "", "reject:not_json", "other"),
        (None, None, None, None, "", "reject:not_json", "other"),
    ]


def test_nginx_json_reads_its_request_line_and_unset_variables():
    line = {"time_iso8601": "2026-03-05T10:00:01+00:00", "remote_addr": "10.0.0.1", "request": "GET /simple/a/?x=1 HTTP/1.1",
            "status": "200", "body_bytes_sent": "0", "http_referer": "", "http_user_agent": ""}
    bad_request = {**line, "request": "\\x16\\x03\\x01", "status": "400"}
    assert parsed("nginx_json", [json.dumps(line), json.dumps(bad_request)]) == [
        ("10.0.0.1", 0, None, None, "/simple/a/", None, "index"),
        ("10.0.0.1", 0, None, None, "", "reject:missing_field", "other"),  # no path in it to read
    ]


def test_client_from_x_forwarded_for_takes_the_mapped_header():
    line = {"ts": 1772704801, "status": 200, "size": 1,
            "request": {"remote_ip": "10.0.0.1", "method": "GET", "uri": "/",
                        "headers": {"X-Forwarded-For": ["198.51.100.1, 203.0.113.9"]}}}
    assert parsed("caddy", [json.dumps(line)], client_from="x-forwarded-for")[0][0] == "203.0.113.9"
