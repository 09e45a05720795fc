"""Apache LogFormat strings turned into one RE2 pattern for DuckDB: how a source's lines are parsed.

Only the fields wheelstats uses are captured; every other directive is matched
and skipped. The pattern is anchored and ends with an optional CR LF so that
lines can be matched with their terminator still attached. A pattern also
carries the escape style of its quoted fields (escapes.py) and which field
holds the client's address.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from wheelstats.parsing.escapes import AUTO, EscapeStyle, escape_style
from wheelstats.parsing.jsonformat import JsonField
from wheelstats.parsing.times import CLF, TimeStyle

PRESETS = {
    "combined": r'%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-agent}i\"',
    "common": r'%h %l %u %t \"%r\" %>s %b',
    "vhost_combined": r'%v:%p %h %l %u %t \"%r\" %>s %O \"%{Referer}i\" \"%{User-Agent}i\"',
}
PRESETS["nginx"] = PRESETS["combined"]  # nginx's predefined "combined" is Apache's
# lighttpd's default accesslog.format, and varnishncsa's default: combined's shape (%V and %l are both a token).
PRESETS["lighttpd"] = r'%h %V %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-Agent}i\"'
PRESETS["varnishncsa"] = r'%h %l %u %t \"%r\" %s %b \"%{Referer}i\" \"%{User-agent}i\"'
# The `main` format of nginx's sample nginx.conf and its Docker image: combined
# plus "$http_x_forwarded_for".
PRESETS["nginx_main"] = PRESETS["combined"] + r' \"%{X-Forwarded-For}i\"'

# The fields a parsed line can have; `status` is always captured and is
# never empty on a match, which is how a non-matching line is told apart.
FIELDS = (
    "client", "time", "method", "path", "request", "status", "bytes", "referrer", "agent", "vhost", "forwarded_for",
)
REQUIRED = {"time", "status"}
# The request headers (%{...}i) kept, by lowercased name.
HEADER_FIELDS = {
    "referer": "referrer", "referrer": "referrer", "user-agent": "agent", "x-forwarded-for": "forwarded_for",
}

# Where the client's address comes from: the address that connected (%h,
# nginx's $remote_addr), or, behind a proxy, the X-Forwarded-For header.
CLIENT_FROM = {"remote-addr": "client", "x-forwarded-for": "forwarded_for"}
DIRECTIVE = re.compile(r"%(?:[!\d,]*)(?:\{([^}]*)\})?([<>]?)([a-zA-Z%])")
REGEX_SPECIAL = set(r"\.^$|?*+()[]{}")


class LogFormatError(ValueError):
    def __init__(self, log_format: str, why: str):
        super().__init__(f"Invalid log format {log_format!r}: {why}")


class ClientFromError(ValueError):
    def __init__(self, client_from: str, log_format: str | None = None):
        if log_format is None:
            why = f"Unknown --client-from {client_from!r}. Use one of: {', '.join(CLIENT_FROM)}."
        else:
            why = (f"--client-from {client_from} needs a format that logs that header, such as nginx_main; "
                   f"{log_format!r} does not.")
        super().__init__(why)


@dataclass(frozen=True, slots=True)
class LogPattern:
    name: str        # preset name or the format string itself
    regex: str       # RE2 pattern, one capturing group per entry of `fields`
    fields: tuple[str, ...]
    # For formats ending in quoted request headers ("%{Referer}i"
    # "%{User-agent}i", as combined and its kin): the pattern of everything
    # before the first of them, with a first group `prefix` around the whole
    # match, and the field each of those quoted headers holds (None: not kept).
    # Matching only that much and cutting the quoted fields off with string
    # functions is about twice as fast.
    prefix_regex: str | None = None
    prefix_fields: tuple[str, ...] = ()
    tail_fields: tuple[str | None, ...] = ()
    escape: EscapeStyle = AUTO     # how the quoted fields are escaped
    client_field: str = "client"   # the field that holds the client's address
    # The Apache LogFormat this pattern was compiled from (the kernel's program is compiled from it
    # too); None for a format that is not one (JSON lines, a header's field list, a regex preset).
    logformat: str | None = None
    time_style: TimeStyle = CLF    # how the `time` field is written
    # For JSON lines: the fields' JSON paths (jsonformat.JsonField); `regex` is then unused.
    json_fields: tuple[JsonField, ...] = ()
    # Lines of the format's own header (W3C's #Fields:, a CSV header row): ignored as `header`.
    header_regex: str | None = None
    default_escape: EscapeStyle = AUTO  # the escape style the format has unless told otherwise

    @property
    def source_format(self) -> str:
        """How a source read with this pattern is parsed, as recorded with it (the name, plus any options)."""
        options = [f"escape={self.escape.name}"] if self.escape is not self.default_escape else []
        if self.client_field != "client":
            options.append("client=" + next(k for k, v in CLIENT_FROM.items() if v == self.client_field))
        return " ".join([self.name, *options])


def _escape(literal: str) -> str:
    return "".join("\\" + c if c in REGEX_SPECIAL else c for c in literal)


def _directive_regex(arg: str | None, letter: str, quoted: str | None) -> tuple[str, tuple[str, ...]]:
    """The regex for one directive and the fields it captures (`quoted`: the pattern inside quotes, if quoted)."""
    loose = quoted or r"\S*"
    any_quoted = quoted or AUTO.quoted_regex
    if letter in "ha":
        return r"(\S+)", ("client",)
    if letter == "t":
        if arg:
            raise ValueError("custom time formats (%{...}t) are not supported; use %t")
        return r"\[([^\]]+)\]", ("time",)
    if letter == "r":
        # A well-formed request line, or anything at all (then method is empty
        # and the line is counted as ignored, not rejected).
        return (
            r'(?:([A-Z]+) ([^ "\\]*)(?: [^"\\]*)?|(' + any_quoted + r"))",
            ("method", "path", "request"),
        )
    if letter == "s":
        return r"(\d{3})", ("status",)
    if letter in "bBO":  # bytes sent (%O includes headers; vhost_combined has only it)
        return r"(-|\d+)", ("bytes",)
    if letter in "IS":
        return r"(?:-|\d+)", ()
    if letter == "i":
        field = HEADER_FIELDS.get((arg or "").lower())
        return (f"({loose})", (field,)) if field else (loose, ())
    if letter == "m":
        return r"([A-Z]+)", ("method",)
    if letter == "U":
        return r"(\S+)", ("path",)
    if letter in "vV":
        return r"(\S+)", ("vhost",)
    if letter in "lupqHDTkLPXRefnoCe":
        return loose, ()
    raise ValueError(f"unsupported directive %{letter}")


# A format that ends in quoted request headers, one space apart: "%{Referer}i" "%{User-agent}i"
QUOTED_HEADERS_TAIL = re.compile(r'"%\{[^}]*\}i"(?: "%\{[^}]*\}i")*$')
QUOTED_HEADER = re.compile(r"%\{([^}]*)\}i")


def compile_log_format(
    log_format: str, *, escape: str | EscapeStyle = AUTO, client_from: str = "remote-addr"
) -> LogPattern:
    """Turn a preset name or an Apache LogFormat string into a LogPattern.

    `escape` names how its quoted fields are escaped (escapes.ESCAPE_STYLES);
    `client_from` where the client's address is (CLIENT_FROM).
    """
    style = escape_style(escape)
    if client_from not in CLIENT_FROM:
        raise ClientFromError(client_from)
    text = PRESETS.get(log_format, log_format)
    # Apache configs write quotes inside a LogFormat as \" ; they are plain quotes.
    text = text.replace('\\"', '"')
    regex, fields = _compile(log_format, text, style)
    client_field = CLIENT_FROM[client_from]
    if client_field != "client" and client_field not in fields:
        raise ClientFromError(client_from, log_format)
    options = {"escape": style, "client_field": client_field, "logformat": text}
    tail = QUOTED_HEADERS_TAIL.search(text)
    if not tail:
        return LogPattern(log_format, regex, fields, **options)
    head_regex, head_fields = _compile(log_format, text[: tail.start()] + '"', style, anchored_end=False, check=False)
    tail_fields = tuple(HEADER_FIELDS.get(header.lower()) for header in QUOTED_HEADER.findall(tail.group()))
    return LogPattern(
        log_format, regex, fields, "^(" + head_regex[1:] + ")", ("prefix",) + head_fields, tail_fields, **options
    )


def _compile(
    log_format: str, text: str, style: EscapeStyle, *, anchored_end: bool = True, check: bool = True
) -> tuple[str, tuple[str, ...]]:
    parts, fields, position = ["^"], [], 0
    for match in DIRECTIVE.finditer(text):
        literal = text[position : match.start()]
        parts.append(_escape(literal))
        arg, _, letter = match.groups()
        if letter == "%":
            parts.append("%")
        else:
            quoted = style.quoted_regex if literal.endswith('"') else None
            try:
                regex, captured = _directive_regex(arg, letter, quoted)
            except ValueError as error:
                raise LogFormatError(log_format, str(error)) from None
            if set(captured) & set(fields):
                raise LogFormatError(log_format, f"{match.group(0)} repeats a field")
            parts.append(regex)
            fields.extend(captured)
        position = match.end()
    parts.append(_escape(text[position:]) + (r"\r?\n?$" if anchored_end else ""))
    missing = (REQUIRED | {"path"}) - set(fields)
    if check and missing:
        raise LogFormatError(
            log_format,
            f"it has no {', '.join(sorted(missing))} field; a download log needs %t, %r and %>s",
        )
    return "".join(parts), tuple(fields)
