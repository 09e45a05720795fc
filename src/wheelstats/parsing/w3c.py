"""Logs whose columns a header names: W3C extended (IIS), AWS CloudFront and Google Cloud Storage usage logs.

A W3C extended log (IIS writes it space-separated, CloudFront's standard logs
tab-separated) starts with `#Version:` and `#Fields: date time c-ip ...`
lines; a Cloud Storage usage log is CSV whose first row names its columns
(`"time_micros","c_ip",...`). The columns wheelstats reads are taken by name
(W3C_FIELDS, GCS_FIELDS) and the rest skipped, so any selection and order of
fields reads. The header's own lines are ignored (as `header`), wherever
they come: IIS repeats them when it restarts.

The format recorded with a source names its columns (`w3c date time c-ip ...`),
so a source that grows is read with the columns it was first read with.
"""

from __future__ import annotations

import re

from wheelstats.parsing.escapes import CSV, DOUBLED_QUOTED, PLUS, URL
from wheelstats.parsing.logformat import LogFormatError, LogPattern
from wheelstats.parsing.times import EPOCH, TimeStyle

# W3C field names and the fields they hold (date and time, next to each other, make `time`).
W3C_FIELDS = {
    "c-ip": "client", "cs-method": "method", "cs-uri-stem": "path", "sc-status": "status", "sc-bytes": "bytes",
    "cs(user-agent)": "agent", "cs(referer)": "referrer", "cs(referrer)": "referrer",
    "x-forwarded-for": "forwarded_for",
}
GCS_FIELDS = {
    "time_micros": "time", "c_ip": "client", "cs_method": "method", "cs_uri": "path", "sc_status": "status",
    "sc_bytes": "bytes", "cs_referer": "referrer", "cs_user_agent": "agent",
}
FIELDS_LINE = re.compile(r"^#Fields:[ \t]*(.*?)\s*$", re.MULTILINE)
GCS_HEADER = '"time_micros",'
# How the header's own lines start, by kind.
HEADER_START = {"w3c": "#", "cloudfront": "#", "gcs": GCS_HEADER}
# W3C's date and time, in UTC, joined by the separator (a tab in CloudFront's logs).
W3C_TIME = TimeStyle("w3c", "try_cast(replace({t}, chr(9), ' ') AS TIMESTAMPTZ)::TIMESTAMP")
# The kinds of header format: the separator of their columns and how their fields are escaped.
KINDS = {"w3c": (" ", PLUS), "cloudfront": ("\t", URL), "gcs": (",", CSV)}
SEPARATOR_REGEX = {" ": " ", "\t": r"\t", ",": ","}


class HeaderFormatError(LogFormatError):
    """A log said to be in a header format, whose head has no such header."""


def header_kind(head: bytes) -> str | None:
    """The header format `head` (a source's first bytes) starts with, if any."""
    text = head[:65536].decode("utf-8", "replace")
    if text.startswith(GCS_HEADER):
        return "gcs"
    fields = FIELDS_LINE.search(text)
    if not text.startswith("#") or fields is None:
        return None
    after = text[fields.end() :].lstrip("\r\n").split("\n", 1)[0]
    return "cloudfront" if "\t" in after or "\t" in fields.group(1) else "w3c"


def header_columns(kind: str, head: bytes) -> tuple[str, ...]:
    """The column names the header in `head` gives, for a format of `kind`."""
    text = head[:65536].decode("utf-8", "replace")
    if kind == "gcs":
        first = text.split("\n", 1)[0].rstrip("\r")
        if not first.startswith(GCS_HEADER):
            raise HeaderFormatError(kind, 'its first line is not a usage log\'s header ("time_micros",...)')
        return tuple(name.strip('"') for name in first.split(","))
    fields = FIELDS_LINE.search(text)
    if fields is None:
        raise HeaderFormatError(kind, "its head has no #Fields: line naming its columns")
    return tuple(fields.group(1).split())


def column_fields(kind: str, columns: tuple[str, ...]) -> tuple[tuple[str | None, int], ...]:
    """What each run of columns of a `kind` log holds: the field read from it (None: skipped) and its
    number of columns (2 for W3C's date and time, which make `time`); a field only from its first run."""
    names = GCS_FIELDS if kind == "gcs" else W3C_FIELDS
    lowered = [column.lower() for column in columns]
    runs, seen = [], set()
    index = 0
    while index < len(lowered):
        column = lowered[index]
        width = 2 if column == "date" and lowered[index + 1 : index + 2] == ["time"] else 1
        field = "time" if width == 2 else names.get(column)
        runs.append((field if field not in seen else None, width))
        seen.add(field)
        index += width
    return tuple(runs)


def compile_header_format(kind: str, columns: tuple[str, ...]) -> LogPattern:
    """The pattern of a `kind` log (KINDS) with these columns, in the kind's own escapes."""
    separator, default_escape = KINDS[kind]
    parts, fields = [], []
    for field, width in column_fields(kind, columns):
        if kind == "gcs":
            part = '"' + DOUBLED_QUOTED + '"'
        else:
            part = SEPARATOR_REGEX[separator].join(["[^" + SEPARATOR_REGEX[separator] + r"\r\n]*"] * width)
        if field is not None:
            part = f'"({DOUBLED_QUOTED})"' if kind == "gcs" else f"({part})"
            fields.append(field)
        parts.append(part)
    name = " ".join((kind, *columns))
    missing = {"time", "status", "path"} - set(fields)
    if missing:
        raise HeaderFormatError(name, f"its columns have no {', '.join(sorted(missing))}")
    regex = "^" + SEPARATOR_REGEX[separator].join(parts) + r"\r?\n?$"
    header = "^" + re.escape(HEADER_START[kind])
    return LogPattern(
        name, regex, tuple(fields), escape=default_escape, default_escape=default_escape,
        time_style=EPOCH if kind == "gcs" else W3C_TIME, header_regex=header,
    )
