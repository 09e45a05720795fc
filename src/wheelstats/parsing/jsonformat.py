"""JSON-lines access logs: a field mapping from JSON paths to the fields every format gives.

Caddy, Traefik, Cloudflare Logpush, Fastly and nginx (`log_format ... escape=json`)
write one JSON object per line. A mapping names, for each field wheelstats
reads (FIELD_KEYS), the JSON path holding it: dotted keys
(`request.remote_ip`), a key in brackets when it holds a dot or a bracket
(`request.headers["User-Agent"][0]`, a header array's first value), and, after
`|`, paths to try in turn when the first is missing (`request.client_ip|request.remote_ip`).
Times may be epoch numbers (seconds, milliseconds, microseconds or nanoseconds),
ISO 8601 text or CLF (times.ANY_TIME).

The extraction is DuckDB's JSON functions over `line`, every path of a line in
one parse. A line that is not JSON is rejected as `not_json`; one without a
time, a status or a path (the request's URI, or its request line) as
`missing_field`. Values come out decoded (JSON escapes undone), so the
pattern's escape style is `none`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from wheelstats.parsing.escapes import sql_literal

# The fields of a mapping (the keys of --field) and what they hold.
FIELD_KEYS = {
    "ts": "the time of the request",
    "ip": "the client's address",
    "method": "the request's method",
    "uri": "the request's path and query",
    "request": "the request line (method, URI, protocol), when method and uri are not logged apart",
    "status": "the response's status",
    "bytes": "the response's size",
    "agent": "the User-Agent header",
    "referrer": "the Referer header",
    "forwarded_for": "the X-Forwarded-For header",
}
KEY_ALIASES = {
    "time": "ts", "timestamp": "ts", "client": "ip", "remote_addr": "ip", "path": "uri", "url": "uri",
    "size": "bytes", "user_agent": "agent", "ua": "agent", "referer": "referrer", "xff": "forwarded_for",
}
REQUIRED_KEYS = ("ts", "status")
PATH_STEP = re.compile(r'\["((?:[^"\\]|\\.)*)"\]|\[(\d+)\]|\.?([^.\[\]"]+)')


class JsonFieldError(ValueError):
    def __init__(self, text: str, why: str):
        super().__init__(f"Invalid --field {text!r}: {why}")


@dataclass(frozen=True, slots=True)
class JsonField:
    """One field of a mapping: its key (FIELD_KEYS) and the JSON paths tried in turn, as written."""

    key: str
    paths: tuple[str, ...]

    @property
    def spec(self) -> str:
        return f"{self.key}={'|'.join(self.paths)}"


def parse_field(text: str) -> JsonField:
    """A `key=path` option (`ts=time_iso8601`, `agent=request.headers["User-Agent"][0]`)."""
    key, equals, paths = text.partition("=")
    key = KEY_ALIASES.get(key.strip().lower(), key.strip().lower())
    if not equals or not paths.strip():
        raise JsonFieldError(text, "write it as KEY=PATH, e.g. ts=time_iso8601")
    if key not in FIELD_KEYS:
        raise JsonFieldError(text, f"{key!r} is not a field; use one of: {', '.join(FIELD_KEYS)}")
    field = JsonField(key, tuple(path.strip() for path in paths.split("|")))
    for path in field.paths:
        json_path(path, text)
    return field


def path_steps(path: str, spec: str = "") -> tuple[str | int, ...]:
    """A mapping's path (`request.headers["User-Agent"][0]`) as its steps: keys and array indexes
    (`("request", "headers", "User-Agent", 0)`)."""
    steps: list[str | int] = []
    position = 0
    while position < len(path):
        match = PATH_STEP.match(path, position)
        if match is None or match.end() == position:
            raise JsonFieldError(spec or path, f"cannot read the path {path!r} from {path[position:]!r} on")
        quoted, index, plain = match.groups()
        if index is not None:
            steps.append(int(index))
        else:
            steps.append(plain if plain is not None else re.sub(r"\\(.)", r"\1", quoted))
        position = match.end()
    if not steps or isinstance(steps[0], int):
        raise JsonFieldError(spec or path, f"the path {path!r} must start with a key")
    if "" in steps:  # JSON allows it; DuckDB's JSON paths cannot name it
        raise JsonFieldError(spec or path, f"the path {path!r} has an empty key, which cannot be read")
    return tuple(steps)


def json_path(path: str, spec: str = "") -> str:
    """A mapping's path (`request.headers["User-Agent"][0]`) as a DuckDB JSON path (`$."request"."headers"...`)."""
    return "$" + "".join(
        f"[{step}]" if isinstance(step, int) else "." + '"' + step.replace('"', '\\"') + '"'
        for step in path_steps(path, spec)
    )


def check_mapping(fields: tuple[JsonField, ...], name: str) -> None:
    """Raise JsonFieldError unless the mapping has a time, a status and a path (uri or request)."""
    keys = {field.key for field in fields}
    missing = [key for key in REQUIRED_KEYS if key not in keys]
    if "uri" not in keys and "request" not in keys:
        missing.append("uri (or request)")
    if missing:
        raise JsonFieldError(name, f"the mapping has no {', '.join(missing)}; add --field {missing[0].split()[0]}=PATH")
    repeated = sorted({field.key for field in fields if sum(f.key == field.key for f in fields) > 1})
    if repeated:
        raise JsonFieldError(name, f"{', '.join(repeated)} is mapped twice")


def extract_sql(fields: tuple[JsonField, ...], time_text: str = "time_text") -> str:
    """SELECT over `batch_lines`: each line's raw fields, as classify's extraction gives them, plus
    `unparsed_outcome` (reject:not_json, reject:missing_field)."""
    paths = [json_path(path) for field in fields for path in field.paths]
    slot = {path: index + 1 for index, path in enumerate(dict.fromkeys(paths))}
    listed = "[" + ", ".join(sql_literal(path) for path in slot) + "]"

    def value(key: str) -> str:
        field = next((f for f in fields if f.key == key), None)
        if field is None:
            return "NULL"
        tried = [f"v[{slot[json_path(path)]}]" for path in field.paths]
        return tried[0] if len(tried) == 1 else f"coalesce({', '.join(tried)})"

    request = value("request")
    method, uri = value("method"), value("uri")
    if request != "NULL":  # a request line fills in what is not logged apart
        from_request = (f"nullif(regexp_extract({request}, '^([A-Z]+) ', 1), '')",
                        f"nullif(regexp_extract({request}, '^[A-Z]+ ([^ ]*)', 1), '')")
        method, uri = (derived if own == "NULL" else f"coalesce({own}, {derived})"
                       for own, derived in zip((method, uri), from_request))
    complete = f"{value('ts')} IS NOT NULL AND {value('status')} IS NOT NULL AND raw_uri IS NOT NULL"
    return f"""
    SELECT line_no,
        CASE WHEN v IS NOT NULL AND {complete} THEN {value('status')} ELSE '' END AS status,
        {value('ts')} AS {time_text}, coalesce({method}, '') AS method, coalesce(raw_uri, '') AS raw_path,
        {value('ip')} AS client, {value('bytes')} AS bytes_text, {value('referrer')} AS logged_referrer,
        {value('agent')} AS logged_agent, {value('forwarded_for')} AS forwarded_for,
        CASE WHEN v IS NULL THEN 'reject:not_json' WHEN NOT ({complete}) THEN 'reject:missing_field' END
            AS unparsed_outcome
    FROM (SELECT *, {uri} AS raw_uri FROM (
        SELECT line_no, try(json_extract_string(line, {listed}::VARCHAR[])) AS v FROM batch_lines))"""
