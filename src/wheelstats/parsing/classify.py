"""The rules that turn a parsed log line into a hit, an ignored line or a rejected one, as SQL.

Piwheels' rules: only GET with status 200 counts; a distribution file under
/simple/ is a download whatever the client; /simple/<project>/ from an
installer is a search; /project/<p>/json/ is a JSON hit; /project/<p>/ a
project page; / and /*.html a web page; anything else is ignored (counted).

Each outcome is a hit kind, `ignore:<reason>` or `reject:<reason>`.
"""

from __future__ import annotations

import re

from wheelstats.parsing import jsonformat
from wheelstats.parsing.escapes import AUTO, EscapeStyle, sql_literal
from wheelstats.parsing.logformat import LogPattern

# A distribution file ends in one of these (the SQL below and the kernel, program.py, both read them here).
DIST_SUFFIXES = (".whl", ".tar.gz", ".tar.bz2", ".tar.xz", ".tgz", ".zip", ".egg")
DIST_FILE = "(" + "|".join(re.escape(suffix) for suffix in DIST_SUFFIXES) + ")$"
NAME_SEPARATORS = "[-_.]+"  # PEP 503: runs of these become one "-"
FIELD_SEPARATOR = """'" "'"""  # SQL: the closing quote of one quoted field, a space, the opening one of the next
# An address in X-Forwarded-For: IPv4 or IPv6 (in brackets or not), with any port dropped.
FORWARDED_ADDRESS = r"^\[?([0-9]+[.][0-9]+[.][0-9]+[.][0-9]+|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*)(?:\]:[0-9]+|\]|:[0-9]+)?$"


def canonical_sql(expression: str) -> str:
    """PEP 503 name normalisation in SQL."""
    return f"lower(regexp_replace({expression}, '{NAME_SEPARATORS}', '-', 'g'))"


def canonical_name(name: str) -> str:
    """PEP 503 name normalisation in Python (as canonical_sql; the kernel gives only ASCII names)."""
    return re.sub(NAME_SEPARATORS, "-", name).lower()


def decoded_path_sql(expression: str) -> str:
    """A path's %-escapes decoded in SQL; a path they do not decode to UTF-8 stays as it is."""
    return f"coalesce(try(url_decode({expression})), {expression})"


def unescape_sql(expression: str, style: EscapeStyle = AUTO) -> str:
    """Undo the escaping of a quoted field in SQL, in the source's style (as `unescape` does in Python)."""
    return style.unescape_sql(expression)


def client_sql(pattern: LogPattern) -> str:
    """The client's address: the connecting one, or the last address of X-Forwarded-For.

    X-Forwarded-For is a list, each proxy appending the address it was
    reached from: the last is the one the proxy in front of this server saw
    (the rest came with the request, and anyone can send them). An address
    with a port (`1.2.3.4:5678`, `[2001:db8::1]:443`) loses the port; without
    a usable header (`-`, empty, `unknown`), the connecting address is taken.
    """
    if pattern.client_field == "client":
        return "client"
    last = "trim(split_part(forwarded_for, ',', -1))"
    address = f"nullif(regexp_extract({last}, {sql_literal(FORWARDED_ADDRESS)}, 1), '')"
    return f"coalesce({address}, client)"


def _fields_sql(pattern: LogPattern, struct: str) -> str:
    """The columns every parse yields, from a regexp_extract struct of `pattern.fields` (quoted fields as logged)."""
    has = set(pattern.fields)

    def field(name: str, default: str = "NULL") -> str:
        return f"{struct}.{name}" if name in has else default

    return f"""{struct}.status AS status, {field('time')} AS time_text, {field('method', "''")} AS method,
        {field('path', "''")} AS raw_path, {field('client')} AS client, {field('bytes')} AS bytes_text,
        {field('referrer')} AS logged_referrer, {field('agent')} AS logged_agent,
        {field('forwarded_for')} AS forwarded_for, NULL AS unparsed_outcome"""


def _tail_sql(pattern: LogPattern) -> tuple[str, str, str]:
    """How the fast path cuts the quoted headers after the prefix out of `line`.

    Returns the separator columns (over `line`, for the CTE that matches the
    prefix `h`), the field columns, and the condition for the cut to be sound.
    Inside an escaped field every quote is escaped, so '" "' only occurs
    between two fields: the first one in the line ends the first field (unless
    it lies in the prefix, which the condition sends to the full pattern), and
    each next one the next field (with escape=none, a field ends at the first
    '" "', as its lazy regex reads it). The last field ends before the line's
    closing quote and terminator (`cut`).
    """
    count = len(pattern.tail_fields)
    separators = [f"strpos(line, {FIELD_SEPARATOR}) AS sep0"] if count > 1 else []
    checks = ["sep0 > length(h.prefix)"] if count > 1 else []
    for index in range(1, count - 1):
        separators.append(
            f"sep{index - 1} + 2 + strpos(substr(line, sep{index - 1} + 3), {FIELD_SEPARATOR}) AS sep{index}"
        )
        checks.append(f"sep{index} >= sep{index - 1} + 3")
    starts = ["length(h.prefix) + 1"] + [f"sep{index} + 3" for index in range(count - 1)]
    ends = [f"sep{index}" for index in range(count - 1)] + ["length(line) - cut + 1"]
    fields = dict.fromkeys(("referrer", "agent", "forwarded_for"), "NULL")
    for name in fields:
        if name in pattern.prefix_fields:
            fields[name] = f"h.{name}"
    for name, start, end in zip(pattern.tail_fields, starts, ends):
        if name in fields:
            fields[name] = f"substr(line, {start}, {end} - ({start}))"
    selected = (f"{fields['referrer']} AS logged_referrer, {fields['agent']} AS logged_agent, "
                f"{fields['forwarded_for']} AS forwarded_for")
    checks.append(f"{ends[-1]} >= {starts[-1]}")
    return "".join(f"{column}, " for column in separators), selected, " AND ".join(checks)


def _extract_sql(pattern: LogPattern) -> str:
    """SELECT over `batch_lines`: the raw fields of each line (status '' if it does not match), and
    `unparsed_outcome`, the outcome of a line the format itself sets aside (a header, not JSON)."""
    if pattern.json_fields:
        return jsonformat.extract_sql(pattern.json_fields)
    if pattern.header_regex is not None:
        return f"""SELECT r.* EXCLUDE (unparsed_outcome),
            CASE WHEN regexp_matches(b.line, {sql_literal(pattern.header_regex)}) THEN 'ignore:header' END
                AS unparsed_outcome
            FROM ({_regex_extract_sql(pattern)}) r JOIN batch_lines b USING (line_no)"""
    return _regex_extract_sql(pattern)


def _regex_extract_sql(pattern: LogPattern) -> str:
    """_extract_sql for a format read by its regex."""
    full = f"regexp_extract(line, {sql_literal(pattern.regex)}, {_names(pattern.fields)})"
    if pattern.prefix_regex is None:
        return f"SELECT line_no, {_fields_sql(pattern, 'g')} FROM (SELECT line_no, {full} AS g FROM batch_lines)"
    # Fast path: match the prefix only, and cut the quoted headers after it
    # with string functions.
    separators, selected, cut_ok = _tail_sql(pattern)
    fast = f"h.status <> '' AND cut > 0 AND {cut_ok}"
    has = set(pattern.prefix_fields)

    def field(name: str, default: str = "NULL") -> str:
        return f"h.{name}" if name in has else default

    return f"""
    WITH m AS (
        SELECT line_no, line,
            regexp_extract(line, {sql_literal(pattern.prefix_regex)}, {_names(pattern.prefix_fields)}) AS h,
            {separators}
            CASE WHEN suffix(line, '"' || chr(13) || chr(10)) THEN 3 WHEN suffix(line, '"' || chr(10)) THEN 2
                 WHEN suffix(line, '"') THEN 1 ELSE 0 END AS cut
        FROM batch_lines
    )
    SELECT line_no, h.status AS status, {field('time')} AS time_text, {field('method', "''")} AS method,
        {field('path', "''")} AS raw_path, {field('client')} AS client, {field('bytes')} AS bytes_text, {selected},
        NULL AS unparsed_outcome
    FROM m WHERE {fast}
    UNION ALL
    SELECT line_no, {_fields_sql(pattern, 'g')}
    FROM (SELECT line_no, {full} AS g FROM m WHERE NOT ({fast}))
    """


def _logged_value(column: str) -> str:
    """A quoted field, NULL when it holds no value: "-" (Apache and nginx) or "" (nginx's escape=json)."""
    return f"CASE WHEN {column} <> '-' AND {column} <> '' THEN {column} END"


def _names(fields: tuple[str, ...]) -> str:
    return "[" + ", ".join(sql_literal(f) for f in fields) + "]"


def origin_form_sql(expression: str) -> str:
    """A request target as a path: the absolute form a proxy's log may hold ("http://host:port/simple/x/",
    varnishncsa's %r) without its scheme and host (RFC 9112 3.2.2), any other target as it is."""
    return (f"CASE WHEN starts_with({expression}, 'http://') OR starts_with({expression}, 'https://') "
            f"THEN coalesce(nullif(regexp_replace({expression}, '^https?://[^/?]*', ''), ''), '/') "
            f"ELSE {expression} END")


def parse_sql(pattern: LogPattern) -> str:
    """SELECT over `batch_lines` giving one row per line: fields, a base kind and any early outcome.

    The referrer is unescaped here, in the source's style; the agent is kept
    as logged (the join key of `agents`), and unescaped once per distinct agent.
    """
    return f"""
WITH raw AS ({_extract_sql(pattern)}
), decoded AS (
    SELECT
        line_no, status, method, time_text, unparsed_outcome,
        {pattern.time_style.timestamp_sql("time_text")} AS ts,
        nullif({client_sql(pattern)}, '') AS client,
        try_cast(nullif(bytes_text, '-') AS BIGINT) AS bytes,
        {unescape_sql(_logged_value("logged_referrer"), pattern.escape)} AS referrer,
        {_logged_value("logged_agent")} AS logged_agent,
        CASE WHEN contains(target, '%')
            THEN {decoded_path_sql("split_part(target, '?', 1)")}
            ELSE split_part(target, '?', 1) END AS path
    FROM (SELECT *, {origin_form_sql("raw_path")} AS target FROM raw)
), segments AS (  -- /<section>/<name>/<rest>, cut with string functions (cheaper than a regex)
    SELECT *,
        CASE WHEN starts_with(path, '/simple/') THEN 'simple'
             WHEN starts_with(path, '/project/') THEN 'project' ELSE '' END AS top,
        split_part(path, '/', 3) AS name
    FROM decoded
), sections AS (
    SELECT * EXCLUDE (top),
        CASE WHEN name <> '' THEN top ELSE '' END AS section,
        substr(path, length(top) + length(name) + 4) AS rest
    FROM segments
)
SELECT
    line_no, ts, time_text, client, bytes, referrer, logged_agent, path,
    CASE
        WHEN unparsed_outcome IS NOT NULL THEN unparsed_outcome
        WHEN status = '' THEN 'reject:unparseable'
        WHEN ts IS NULL THEN 'reject:bad_time'
        WHEN method = '' THEN 'ignore:malformed_request'
        WHEN method <> 'GET' THEN 'ignore:method'
        WHEN status <> '200' THEN 'ignore:status'
    END AS early_outcome,
    CASE
        WHEN section = 'simple' AND rest = '' THEN 'index'
        WHEN section = 'simple' AND regexp_matches(rest, '^[^/]+{DIST_FILE}') THEN 'download'
        WHEN section = 'project' AND rest = '' THEN 'project_page'
        WHEN section = 'project' AND rest IN ('json', 'json/') THEN 'json'
        WHEN path = '/' OR regexp_matches(path, '^/[^/]+[.]html$') THEN 'page'
        ELSE 'other'
    END AS base_kind,
    CASE WHEN section <> '' THEN {canonical_sql("name")} END AS project,
    CASE WHEN section = 'simple' AND regexp_matches(rest, '^[^/]+{DIST_FILE}') THEN rest END AS filename
FROM sections
"""


OTHER_PATH = "ignore:other_path"                # a GET 200 of no kind
NOT_INSTALLER = "ignore:index_not_installer"     # an index page fetched by something that is not an installer

# Over `parsed`: the outcome of each line, but for an index page, which its agent decides.
KNOWN_OUTCOME_SQL = f"""
CASE
    WHEN early_outcome IS NOT NULL THEN early_outcome
    WHEN base_kind = 'other' THEN '{OTHER_PATH}'
    ELSE base_kind
END
"""
# Over `parsed` LEFT JOIN agents: the final outcome of each line.
OUTCOME_SQL = f"""
CASE
    WHEN base_kind = 'index' AND early_outcome IS NULL AND coalesce(agents.is_installer, false) THEN 'search'
    WHEN base_kind = 'index' AND early_outcome IS NULL THEN '{NOT_INSTALLER}'
    ELSE {KNOWN_OUTCOME_SQL}
END
"""


def unescape(logged: str, style: EscapeStyle = AUTO) -> str:
    """Undo the escaping of a quoted field in Python, in the source's style (as unescape_sql does in SQL)."""
    return style.unescape(logged)
