"""Apache LogFormat strings turned into one RE2 pattern for DuckDB.

Only the fields wheelstats uses are captured; every other directive is matched
and skipped. The pattern is anchored and ends with an optional CR LF so that
lines can be matched with their terminator still attached.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PRESETS = {
    "combined": r'%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-agent}i\"',
    "common": r'%h %l %u %t \"%r\" %>s %b',
    "vhost_combined": r'%v:%p %h %l %u %t \"%r\" %>s %O \"%{Referer}i\" \"%{User-Agent}i\"',
}
PRESETS["nginx"] = PRESETS["combined"]  # nginx's predefined "combined" is Apache's

# The fields a parsed line can have; `status` is always captured and is
# never empty on a match, which is how a non-matching line is told apart.
FIELDS = ("client", "time", "method", "path", "request", "status", "bytes", "referrer", "agent", "vhost")
REQUIRED = {"time", "status"}

QUOTED = r'(?:[^"\\]|\\.)*'  # the inside of a quoted field, with Apache's \" and \\ escapes
DIRECTIVE = re.compile(r"%(?:[!\d,]*)(?:\{([^}]*)\})?([<>]?)([a-zA-Z%])")
REGEX_SPECIAL = set(r"\.^$|?*+()[]{}")


class LogFormatError(ValueError):
    def __init__(self, log_format: str, why: str):
        super().__init__(f"Invalid log format {log_format!r}: {why}")


@dataclass(frozen=True, slots=True)
class LogPattern:
    name: str        # preset name or the format string itself
    regex: str       # RE2 pattern, one capturing group per entry of `fields`
    fields: tuple[str, ...]
    # For formats ending in "%{Referer}i" "%{User-agent}i" (combined and its
    # kin): the pattern of everything before the referrer, with a first group
    # `prefix` around the whole match. Matching only that much and cutting the
    # two quoted fields off with string functions is about twice as fast.
    prefix_regex: str | None = None
    prefix_fields: tuple[str, ...] = ()


def _escape(literal: str) -> str:
    return "".join("\\" + c if c in REGEX_SPECIAL else c for c in literal)


def _directive_regex(arg: str | None, letter: str, quoted: bool) -> tuple[str, tuple[str, ...]]:
    """The regex for one directive and the fields it captures."""
    loose = QUOTED if quoted else r"\S*"
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
            r'(?:([A-Z]+) ([^ "\\]*)(?: [^"\\]*)?|(' + QUOTED + r"))",
            ("method", "path", "request"),
        )
    if letter == "s":
        return r"(\d{3})", ("status",)
    if letter in "bBO":  # bytes sent (%O includes headers; vhost_combined has only it)
        return r"(-|\d+)", ("bytes",)
    if letter in "IS":
        return r"(?:-|\d+)", ()
    if letter == "i":
        header = (arg or "").lower()
        if header in ("referer", "referrer"):
            return f"({loose})", ("referrer",)
        if header == "user-agent":
            return f"({loose})", ("agent",)
        return loose, ()
    if letter == "m":
        return r"([A-Z]+)", ("method",)
    if letter == "U":
        return r"(\S+)", ("path",)
    if letter in "vV":
        return r"(\S+)", ("vhost",)
    if letter in "lupqHDTkLPXRefnoCe":
        return loose, ()
    raise ValueError(f"unsupported directive %{letter}")


REFERRER_AGENT_TAIL = re.compile(r'"%\{Referr?er\}i" "%\{User-agent\}i"$', re.IGNORECASE)


def compile_log_format(log_format: str) -> LogPattern:
    """Turn a preset name or an Apache LogFormat string into a LogPattern."""
    text = PRESETS.get(log_format, log_format)
    # Apache configs write quotes inside a LogFormat as \" ; they are plain quotes.
    text = text.replace('\\"', '"')
    regex, fields = _compile(log_format, text)
    tail = REFERRER_AGENT_TAIL.search(text)
    if not tail:
        return LogPattern(log_format, regex, fields)
    head_regex, head_fields = _compile(log_format, text[: tail.start()] + '"', anchored_end=False, check=False)
    return LogPattern(
        log_format, regex, fields, "^(" + head_regex[1:] + ")", ("prefix",) + head_fields
    )


def _compile(log_format: str, text: str, *, anchored_end: bool = True, check: bool = True) -> tuple[str, tuple[str, ...]]:
    parts, fields, position = ["^"], [], 0
    for match in DIRECTIVE.finditer(text):
        literal = text[position : match.start()]
        parts.append(_escape(literal))
        arg, _, letter = match.groups()
        if letter == "%":
            parts.append("%")
        else:
            quoted = literal.endswith('"')
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
