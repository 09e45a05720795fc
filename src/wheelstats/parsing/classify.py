"""The rules that turn a parsed log line into a hit, an ignored line or a rejected one, as SQL.

Piwheels' rules: only GET with status 200 counts; a distribution file under
/simple/ is a download whatever the client; /simple/<project>/ from an
installer is a search; /project/<p>/json/ is a JSON hit; /project/<p>/ a
project page; / and /*.html a web page; anything else is ignored (counted).

Each outcome is a hit kind, `ignore:<reason>` or `reject:<reason>`.
"""

from __future__ import annotations

from wheelstats.parsing.logformat import LogPattern

DIST_FILE = r"\.(whl|tar\.gz|tar\.bz2|tar\.xz|tgz|zip|egg)$"
TIME_FORMAT = "%d/%b/%Y:%H:%M:%S %z"


def sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def canonical_sql(expression: str) -> str:
    """PEP 503 name normalisation in SQL."""
    return f"lower(regexp_replace({expression}, '[-_.]+', '-', 'g'))"


def unescape_sql(expression: str) -> str:
    """Undo Apache's escaping of quotes and backslashes in a quoted field."""
    return f"replace(replace({expression}, '\\\"', '\"'), '\\\\', '\\')"


def _fields_sql(pattern: LogPattern, struct: str) -> str:
    """The columns every parse yields, from a regexp_extract struct of `pattern.fields`."""
    has = set(pattern.fields)

    def field(name: str, default: str = "NULL") -> str:
        return f"{struct}.{name}" if name in has else default

    def quoted(name: str) -> str:  # a quoted field, unescaped; "-" means none
        return f"nullif({unescape_sql(field(name))}, '-')" if name in has else "NULL"

    return f"""{struct}.status AS status, {field('time')} AS time_text, {field('method', "''")} AS method,
        {field('path', "''")} AS raw_path, {field('client')} AS client, {field('bytes')} AS bytes_text,
        {quoted('referrer')} AS referrer, {field('agent')} AS logged_agent"""


def _extract_sql(pattern: LogPattern) -> str:
    """SELECT over `batch_lines`: the raw fields of each line (status '' if it does not match)."""
    full = f"regexp_extract(line, {sql_literal(pattern.regex)}, {_names(pattern.fields)})"
    if pattern.prefix_regex is None:
        return f"SELECT line_no, {_fields_sql(pattern, 'g')} FROM (SELECT line_no, {full} AS g FROM batch_lines)"
    # Fast path: match the prefix only; the referrer and agent are the two
    # quoted fields after it, split at the first '" "' (inside a field every
    # quote is escaped, so that sequence only occurs between the two).
    fast = "h.status <> '' AND cut > 0 AND sep > length(h.prefix)"
    return f"""
    WITH m AS (
        SELECT line_no, line,
            regexp_extract(line, {sql_literal(pattern.prefix_regex)}, {_names(pattern.prefix_fields)}) AS h,
            strpos(line, '" "') AS sep,
            CASE WHEN suffix(line, '"' || chr(13) || chr(10)) THEN 3 WHEN suffix(line, '"' || chr(10)) THEN 2
                 WHEN suffix(line, '"') THEN 1 ELSE 0 END AS cut
        FROM batch_lines
    )
    SELECT line_no, h.status AS status, h.time AS time_text, h.method AS method, h.path AS raw_path,
        h.client AS client, h.bytes AS bytes_text,
        nullif({unescape_sql("substr(line, length(h.prefix) + 1, sep - length(h.prefix) - 1)")}, '-') AS referrer,
        substr(line, sep + 3, length(line) - cut - sep - 2) AS logged_agent
    FROM m WHERE {fast}
    UNION ALL
    SELECT line_no, {_fields_sql(pattern, 'g')}
    FROM (SELECT line_no, {full} AS g FROM m WHERE NOT ({fast}))
    """


def _names(fields: tuple[str, ...]) -> str:
    return "[" + ", ".join(sql_literal(f) for f in fields) + "]"


def parse_sql(pattern: LogPattern) -> str:
    """SELECT over `batch_lines` giving one row per line: fields, a base kind and any early outcome."""
    return f"""
WITH raw AS ({_extract_sql(pattern)}
), decoded AS (
    SELECT
        line_no, status, method, time_text,
        try_strptime(time_text, '{TIME_FORMAT}')::TIMESTAMP AS ts,
        nullif(client, '') AS client,
        try_cast(nullif(bytes_text, '-') AS BIGINT) AS bytes,
        referrer,
        nullif(logged_agent, '-') AS logged_agent,
        CASE WHEN contains(raw_path, '%')
            THEN coalesce(try(url_decode(split_part(raw_path, '?', 1))), split_part(raw_path, '?', 1))
            ELSE split_part(raw_path, '?', 1) END AS path
    FROM raw
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


# Over `parsed` LEFT JOIN agents: the final outcome of each line.
OUTCOME_SQL = """
CASE
    WHEN early_outcome IS NOT NULL THEN early_outcome
    WHEN base_kind = 'index' AND coalesce(agents.is_installer, false) THEN 'search'
    WHEN base_kind = 'index' THEN 'ignore:index_not_installer'
    WHEN base_kind = 'other' THEN 'ignore:other_path'
    ELSE base_kind
END
"""


def unescape(logged: str) -> str:
    """Undo Apache's escaping of a quoted field in Python (as unescape_sql does in SQL)."""
    return logged.replace('\\"', '"').replace("\\\\", "\\")
