"""Header formats: the columns a W3C or CloudFront `#Fields:` line, or a Cloud Storage CSV header, names."""

from __future__ import annotations

import pytest

from wheelstats.parsing.formats import compile_format, compile_recorded
from wheelstats.parsing.w3c import HeaderFormatError, header_columns, header_kind

IIS_HEAD = b"#Software: Microsoft IIS 10.0\r\n#Version: 1.0\r\n#Fields: date time c-ip cs-method cs-uri-stem sc-status\r\n"
CLOUDFRONT_HEAD = b"#Version: 1.0\n#Fields: date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status\n"
GCS_HEAD = b'"time_micros","c_ip","cs_method","cs_uri","sc_status","cs_user_agent"\n'


@pytest.mark.parametrize("head, kind", [
    (IIS_HEAD + b"2026-03-05 10:00:01 192.0.2.1 GET / 200\r\n", "w3c"),
    (CLOUDFRONT_HEAD + b"2026-03-05\t10:00:01\tCDG50\t10\t192.0.2.1\tGET\td.net\t/\t200\n", "cloudfront"),
    (GCS_HEAD, "gcs"),
    (b'192.0.2.1 - - [05/Mar/2026:10:00:01 +0000] "GET / HTTP/1.1" 200 1\n', None),
    (b"# a comment, not a header\n", None),
])
def test_the_header_says_the_kind(head, kind):
    assert header_kind(head) == kind


def test_the_columns_are_recorded_and_read_back():
    pattern = compile_format("w3c", head=IIS_HEAD)
    assert pattern.source_format == "w3c date time c-ip cs-method cs-uri-stem sc-status"
    assert compile_recorded(pattern.source_format) == pattern
    assert header_columns("gcs", GCS_HEAD) == ("time_micros", "c_ip", "cs_method", "cs_uri", "sc_status",
                                               "cs_user_agent")


@pytest.mark.parametrize("log_format, head, message", [
    ("w3c", b"2026-03-05 10:00:01 192.0.2.1 GET / 200\n",
     "Invalid log format 'w3c': its head has no #Fields: line naming its columns"),
    ("w3c", b"#Fields: date time c-ip cs-method\n",
     "Invalid log format 'w3c date time c-ip cs-method': its columns have no path, status"),
    ("gcs", b"time,ip\n", "Invalid log format 'gcs': its first line is not a usage log's header (\"time_micros\",...)"),
])
def test_a_header_that_lacks_what_a_download_log_needs_is_refused(log_format, head, message):
    with pytest.raises(HeaderFormatError) as error:
        compile_format(log_format, head=head)
    assert str(error.value) == message
