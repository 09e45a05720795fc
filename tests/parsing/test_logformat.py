"""Log formats: presets and Apache LogFormat strings become patterns; bad ones are refused clearly."""

from __future__ import annotations

import re

import pytest

from wheelstats.parsing.escapes import EscapeStyleError
from wheelstats.parsing.logformat import ClientFromError, LogFormatError, compile_log_format

from kit.logs import log_line


@pytest.mark.parametrize("name", ["combined", "common", "vhost_combined", "nginx", "nginx_main"])
def test_presets_compile_with_the_fields_ingest_needs(name):
    pattern = compile_log_format(name)
    assert {"time", "status", "path", "method"} <= set(pattern.fields)


def test_combined_matches_a_real_line_and_captures_its_fields():
    pattern = compile_log_format("combined")
    match = re.match(pattern.regex, log_line(3))
    fields = dict(zip(pattern.fields, match.groups()))
    assert fields["client"] == "10.0.3.0"
    assert fields["status"] == "200" and fields["method"] == "GET"
    assert fields["path"].startswith("/simple/proj3/")


def test_formats_ending_in_referrer_and_agent_get_the_fast_prefix_pattern():
    assert compile_log_format("combined").prefix_regex is not None
    assert compile_log_format("common").prefix_regex is None


@pytest.mark.parametrize(
    "log_format, tail",
    [
        ("combined", ("referrer", "agent")),
        ("nginx_main", ("referrer", "agent", "forwarded_for")),
        ('%t %h "%r" %>s "%{User-Agent}i"', ("agent",)),
        ('%h %t "%r" %>s %b "%{Referer}i" "%{User-agent}i" "%{Cookie}i"', ("referrer", "agent", None)),
    ],
)
def test_the_fast_path_cuts_every_quoted_header_at_the_end(log_format, tail):
    assert compile_log_format(log_format).tail_fields == tail


def test_nginx_main_is_combined_plus_x_forwarded_for():
    line = log_line(3).rstrip("\n") + ' "203.0.113.9, 10.0.0.1"\n'
    pattern = compile_log_format("nginx_main")
    fields = dict(zip(pattern.fields, re.match(pattern.regex, line).groups()))
    assert fields["forwarded_for"] == "203.0.113.9, 10.0.0.1" and fields["client"] == "10.0.3.0"


@pytest.mark.parametrize(
    "options, recorded",
    [
        ({}, "combined"),
        ({"escape": "nginx"}, "combined escape=nginx"),
        ({"log_format": "nginx_main", "client_from": "x-forwarded-for"}, "nginx_main client=x-forwarded-for"),
    ],
)
def test_a_source_records_how_it_was_read(options, recorded):
    assert compile_log_format(options.pop("log_format", "combined"), **options).source_format == recorded


@pytest.mark.parametrize(
    "options, error, message",
    [
        ({"escape": "default"}, EscapeStyleError,
         "Unknown escape style 'default'. Use one of: auto, apache, nginx, json, none, haproxy, url, plus, csv "
         "(nginx's escape=default is nginx)."),
        ({"client_from": "x-real-ip"}, ClientFromError,
         "Unknown --client-from 'x-real-ip'. Use one of: remote-addr, x-forwarded-for."),
        ({"client_from": "x-forwarded-for"}, ClientFromError,
         "--client-from x-forwarded-for needs a format that logs that header, such as nginx_main; "
         "'combined' does not."),
    ],
)
def test_bad_options_say_what_is_wrong(options, error, message):
    with pytest.raises(error) as raised:
        compile_log_format("combined", **options)
    assert str(raised.value) == message


@pytest.mark.parametrize(
    "log_format, message",
    [
        ("%h %Q", "Invalid log format '%h %Q': unsupported directive %Q"),
        ("%h %u", "Invalid log format '%h %u': it has no path, status, time field; a download log needs %t, %r and %>s"),
        ("%{%Y}t %r %s", "Invalid log format '%{%Y}t %r %s': custom time formats (%{...}t) are not supported; use %t"),
        ("%t %r %s %s", "Invalid log format '%t %r %s %s': %s repeats a field"),
    ],
)
def test_bad_formats_say_what_is_wrong(log_format, message):
    with pytest.raises(LogFormatError) as error:
        compile_log_format(log_format)
    assert str(error.value) == message
