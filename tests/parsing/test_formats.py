"""Formats by name: HAProxy behind any syslog prefix, S3's records, and recorded formats read back."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest

from wheelstats.parsing.classify import parse_sql
from wheelstats.parsing.formats import JSON_PRESETS, REGEX_PRESETS, compile_format, compile_recorded
from wheelstats.parsing.logformat import PRESETS

HAPROXY_MESSAGE = ('192.0.2.7:50123 [05/Mar/2026:10:00:01.250] web~ pypi/s1 0/0/1/2/3 200 5120 - - ---- 1/1/0/0/0 0/0 '
                   '{pip/24.0 #7B#22python#22:#223.12.1#22#7D|https://x.example/a b} "GET /simple/numpy/ HTTP/1.1"')


def parsed(log_format: str, line: str) -> tuple:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.register("batch_lines", pa.table({"line_no": [1], "line": [line + "\n"]}))
    return con.execute(f"SELECT client, ts, bytes, referrer, logged_agent, path, early_outcome FROM "
                       f"({parse_sql(compile_format(log_format))})").fetchone()


@pytest.mark.parametrize("prefix", [
    "",                                                                 # log stdout format raw
    "<134>",                                                            # format short
    "<134>Mar  5 10:00:01 ",                                            # format timed
    "<134>Mar  5 10:00:01 haproxy[4242]: ",                             # format rfc3164 (no hostname)
    "Mar  5 10:00:01 index haproxy[4242]: ",                            # through rsyslog, traditional
    "2026-03-05T10:00:01.250311+00:00 index haproxy[4242]: ",           # through rsyslog, Debian's default
    "<134>1 2026-03-05T10:00:01.250311+00:00 index haproxy 4242 - - ",  # format rfc5424
])
def test_haproxy_reads_behind_any_syslog_prefix(prefix):
    from datetime import datetime

    assert parsed("haproxy", prefix + HAPROXY_MESSAGE) == (
        "192.0.2.7", datetime(2026, 3, 5, 10, 0, 1, 250000), 5120, "https://x.example/a b",
        "pip/24.0 #7B#22python#22:#223.12.1#22#7D", "/simple/numpy/", None,
    )


def test_haproxy_without_captured_headers_and_with_a_bad_request():
    line = HAPROXY_MESSAGE.replace(" {pip/24.0 #7B#22python#22:#223.12.1#22#7D|https://x.example/a b}", "")
    assert parsed("haproxy", line)[3:] == (None, None, "/simple/numpy/", None)
    bad = line.replace('"GET /simple/numpy/ HTTP/1.1"', '"<BADREQ>"').replace(" 200 ", " 400 ")
    assert parsed("haproxy", bad)[-1] == "ignore:malformed_request"


@pytest.mark.parametrize("name", [*PRESETS, *REGEX_PRESETS, *JSON_PRESETS])
def test_every_preset_is_recorded_as_its_name_and_read_back(name):
    pattern = compile_format(name)
    assert pattern.source_format == name
    assert compile_recorded(name) == pattern


def test_options_are_recorded_and_read_back():
    pattern = compile_format("caddy", client_from="x-forwarded-for")
    assert pattern.source_format == "caddy client=x-forwarded-for"
    assert compile_recorded(pattern.source_format) == pattern
    apache = compile_format("combined", escape="apache")
    assert compile_recorded(apache.source_format) == apache
