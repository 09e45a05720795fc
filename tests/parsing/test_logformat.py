"""Log formats: presets and Apache LogFormat strings become patterns; bad ones are refused clearly."""

from __future__ import annotations

import re

import pytest

from wheelstats.parsing.logformat import LogFormatError, compile_log_format

from kit.logs import log_line


@pytest.mark.parametrize("name", ["combined", "common", "vhost_combined", "nginx"])
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
