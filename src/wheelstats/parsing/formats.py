"""Every log format wheelstats reads, by name: how `--format` (and a source's recorded format) becomes a LogPattern.

    Apache LogFormat strings and their presets   logformat.PRESETS (combined, common, lighttpd, varnishncsa ...)
    text formats that are no LogFormat           REGEX_PRESETS (haproxy, s3)
    JSON lines with a field mapping              JSON_PRESETS (caddy, traefik, cloudflare, fastly, nginx_json),
                                                 or `json` with --field KEY=PATH (jsonformat)
    logs whose header names their columns        w3c (IIS), cloudfront, gcs (w3c.py): the columns come from
                                                 the source's head

A pattern's `source_format` is recorded with each source; `compile_recorded`
reads it back, so a source that grows is read as it was first read.
"""

from __future__ import annotations

from dataclasses import replace

from wheelstats.parsing import w3c
from wheelstats.parsing.escapes import AUTO, HAPROXY, NONE, EscapeStyle, escape_style
from wheelstats.parsing.jsonformat import JsonField, check_mapping, parse_field
from wheelstats.parsing.logformat import (
    CLIENT_FROM, PRESETS, ClientFromError, LogFormatError, LogPattern, compile_log_format,
)
from wheelstats.parsing.times import ANY_TIME, CLF_MILLISECONDS

AUTO_FORMAT = "auto"
JSON_FORMAT = "json"


def _mapping(**paths: str) -> tuple[JsonField, ...]:
    return tuple(JsonField(key, tuple(path.split("|"))) for key, path in paths.items())


JSON_PRESETS = {
    # Caddy 2's default access log (its `log` directive, format json).
    "caddy": _mapping(
        ts="ts", ip="request.client_ip|request.remote_ip", method="request.method", uri="request.uri",
        status="status", bytes="size", agent='request.headers["User-Agent"][0]',
        referrer='request.headers["Referer"][0]', forwarded_for='request.headers["X-Forwarded-For"][0]',
    ),
    # Traefik's access log with format json (headers kept: accessLog.fields.headers.names.User-Agent=keep).
    "traefik": _mapping(
        ts="StartUTC|time", ip="ClientHost", method="RequestMethod", uri="RequestPath", status="DownstreamStatus",
        bytes="DownstreamContentSize", agent="request_User-Agent", referrer="request_Referer",
        forwarded_for="request_X-Forwarded-For",
    ),
    # Cloudflare Logpush, HTTP requests dataset (timestamps in any of its formats: unixnano, unix, rfc3339).
    "cloudflare": _mapping(
        ts="EdgeStartTimestamp", ip="ClientIP", method="ClientRequestMethod", uri="ClientRequestURI|ClientRequestPath",
        status="EdgeResponseStatus", bytes="EdgeResponseBytes", agent="ClientRequestUserAgent",
        referrer="ClientRequestReferer",
    ),
    # Fastly's JSON logging, with the keys of its documented example.
    "fastly": _mapping(
        ts="timestamp|time_start", ip="client_ip", method="request_method|request", uri="url",
        status="response_status|status", bytes="response_body_size|resp_body_size", agent="request_user_agent",
        referrer="request_referer",
    ),
    # nginx's `log_format ... escape=json` with each key named after its variable.
    "nginx_json": _mapping(
        ts="time_iso8601|msec|time_local", ip="remote_addr", method="request_method", uri="request_uri",
        request="request", status="status", bytes="body_bytes_sent|bytes_sent", agent="http_user_agent",
        referrer="http_referer", forwarded_for="http_x_forwarded_for",
    ),
}

# Whatever a syslog daemon or HAProxy's own `log ... format` (raw, short, timed, rfc3164, rfc5424)
# writes before the message: the shortest run of words that lets the rest read.
SYSLOG_PREFIX = r"(?:<\d+>)?(?:.*? )??"
REGEX_PRESETS = {
    # HAProxy's `option httplog`: %ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc
    # %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r, where %hr is {User-Agent|Referer} when captured in that order.
    "haproxy": LogPattern(
        "haproxy",
        "^" + SYSLOG_PREFIX + r"(\S+):\d+ \[([^\]]+)\] \S+ \S+ \S+ (\d{3}) \+?(\d+) \S+ \S+ \S+ \S+ \S+"
        r"(?: \{([^|}]*)(?:\|([^|}]*))?[^}]*\})?(?: \{[^}]*\})? "
        r'"(?:([A-Z]+) ([^ "]*)(?: [^"]*)?|([^"]*))"\r?\n?$',
        ("client", "time", "status", "bytes", "agent", "referrer", "method", "path", "request"),
        escape=HAPROXY, default_escape=HAPROXY, time_style=CLF_MILLISECONDS,
    ),
    # Amazon S3 server access logs: bucket owner, bucket, [time], remote IP, requester, request id,
    # operation, key, "request-URI", status, error code, bytes sent, object size, total time,
    # turn-around time, "referer", "user-agent", then fields AWS adds over time.
    "s3": LogPattern(
        "s3",
        r'^\S+ \S+ \[([^\]]+)\] (\S+) \S+ \S+ \S+ \S+ "(?:([A-Z]+) ([^ "\\]*)(?: [^"\\]*)?|((?:[^"\\]|\\.)*))" '
        r'(\d{3}) \S+ (-|\d+) \S+ \S+ \S+ "((?:[^"\\]|\\.)*)" "(.*)"(?: [^"]*)?\r?\n?$',
        ("time", "client", "method", "path", "request", "status", "bytes", "referrer", "agent"),
    ),
}
HEADER_FORMATS = tuple(w3c.KINDS)
NAMES = (*PRESETS, *REGEX_PRESETS, *JSON_PRESETS, JSON_FORMAT, *HEADER_FORMATS)  # every format by its name


class FormatNeedsHead(LogFormatError):
    """A header format named without its columns, which only a source's head gives."""


def needs_head(log_format: str) -> bool:
    """Whether the format's columns come from each source's head (a header format named alone)."""
    return log_format in HEADER_FORMATS


def compile_format(
    log_format: str, *, escape: str | EscapeStyle | None = None, client_from: str = "remote-addr",
    fields: tuple[str, ...] = (), head: bytes | None = None,
) -> LogPattern:
    """The pattern of a format name, a LogFormat string, `json` (with `fields`, KEY=PATH each) or a
    header format (its columns from `head`, or listed after its name as recorded)."""
    if client_from not in CLIENT_FROM:
        raise ClientFromError(client_from)
    words = log_format.split()
    kind = words[0] if words else log_format
    if fields or kind == JSON_FORMAT or log_format in JSON_PRESETS:
        mapping = dict((field.key, field) for field in JSON_PRESETS.get(log_format, ()))
        listed = [*words[1:], *fields] if kind == JSON_FORMAT else list(fields)
        mapping.update((field.key, field) for field in map(parse_field, listed))
        pattern = _json_pattern(log_format if not fields and kind != JSON_FORMAT else None, tuple(mapping.values()))
    elif kind in HEADER_FORMATS:
        columns = tuple(words[1:]) or (w3c.header_columns(kind, head) if head is not None else None)
        if columns is None:
            raise FormatNeedsHead(log_format, "its columns come from a log's header")
        pattern = w3c.compile_header_format(kind, columns)
    elif log_format in REGEX_PRESETS:
        pattern = REGEX_PRESETS[log_format]
    elif "%" not in log_format and len(words) == 1 and log_format not in PRESETS:
        raise LogFormatError(log_format, f"there is no such preset; use auto, one of {', '.join(NAMES)}, "
                                         "or an Apache LogFormat string.")
    else:
        return compile_log_format(log_format, escape=AUTO if escape is None else escape, client_from=client_from)
    return _with_options(pattern, escape, client_from)


def _json_pattern(preset: str | None, mapping: tuple[JsonField, ...]) -> LogPattern:
    name = preset or " ".join((JSON_FORMAT, *(field.spec for field in mapping)))
    check_mapping(mapping, name)
    fields = tuple(dict.fromkeys(
        {"ts": "time", "ip": "client", "uri": "path", "agent": "agent", "referrer": "referrer"}.get(f.key, f.key)
        for f in mapping
    ))
    return LogPattern(name, "", fields, escape=NONE, default_escape=NONE, time_style=ANY_TIME, json_fields=mapping)


def _with_options(pattern: LogPattern, escape: str | EscapeStyle | None, client_from: str) -> LogPattern:
    client_field = CLIENT_FROM[client_from]
    if client_field != "client" and client_field not in pattern.fields:
        raise ClientFromError(client_from, pattern.name)
    style = pattern.default_escape if escape is None else escape_style(escape)
    if style is AUTO and pattern.default_escape is not AUTO:
        style = pattern.default_escape  # auto means the format's own escapes
    return replace(pattern, escape=style, client_field=client_field)


def compile_recorded(recorded: str) -> LogPattern:
    """The pattern a source was read with, from its recorded format (LogPattern.source_format)."""
    words = recorded.split(" ")
    options = {}
    while words and words[-1].partition("=")[0] in ("escape", "client") and len(words) > 1:
        key, _, value = words.pop().partition("=")
        options[key] = value
    client_from = next((name for name, field in CLIENT_FROM.items() if name == options.get("client")), "remote-addr")
    return compile_format(" ".join(words), escape=options.get("escape"), client_from=client_from)
