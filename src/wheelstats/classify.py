"""The rules that turn a parsed log line into a hit, an ignored line or a rejected one, as SQL.

Piwheels' rules: only GET with status 200 counts; a distribution file under
/simple/ is a download whatever the client; /simple/<project>/ from an
installer is a search; /project/<p>/json/ is a JSON hit; /project/<p>/ a
project page; / and /*.html a web page; anything else is ignored (counted).

Each outcome is a hit kind, `ignore:<reason>` or `reject:<reason>`.
"""

from __future__ import annotations

from wheelstats.logformat import FIELDS, LogPattern

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


def parse_sql(pattern: LogPattern) -> str:
    """SELECT over `batch_lines` giving one row per line: fields, a base kind and any early outcome."""
    names = "[" + ", ".join(sql_literal(f) for f in pattern.fields) + "]"
    has = set(pattern.fields)

    def field(name: str, default: str = "NULL") -> str:
        return f"m.f.{name}" if name in has else default

    agent = f"nullif({unescape_sql(field('agent'))}, '-')" if "agent" in has else "NULL"
    referrer = f"nullif({unescape_sql(field('referrer'))}, '-')" if "referrer" in has else "NULL"
    bytes_sql = f"try_cast(nullif({field('bytes')}, '-') AS BIGINT)" if "bytes" in has else "NULL"
    client = f"nullif({field('client')}, '')" if "client" in has else "NULL"
    assert set(FIELDS) >= has
    return f"""
WITH m AS (
    SELECT line_no, regexp_extract(line, {sql_literal(pattern.regex)}, {names}) AS f
    FROM batch_lines
), raw AS (
    SELECT
        line_no,
        m.f.status AS status,
        try_strptime(m.f.time, '{TIME_FORMAT}')::TIMESTAMP AS ts,
        {field('method', "''")} AS method,
        split_part({field('path', "''")}, '?', 1) AS raw_path,
        {client} AS client,
        {bytes_sql} AS bytes,
        {referrer} AS referrer,
        {agent} AS agent
    FROM m
), decoded AS (
    SELECT *, coalesce(try(url_decode(raw_path)), raw_path) AS path FROM raw
)
SELECT
    line_no, ts, client, bytes, referrer, agent, path,
    CASE
        WHEN status = '' THEN 'reject:unparseable'
        WHEN ts IS NULL THEN 'reject:bad_time'
        WHEN method = '' THEN 'ignore:malformed_request'
        WHEN method <> 'GET' THEN 'ignore:method'
        WHEN status <> '200' THEN 'ignore:status'
    END AS early_outcome,
    CASE
        WHEN regexp_matches(path, '^/simple/[^/]+/[^/]+{DIST_FILE}') THEN 'download'
        WHEN regexp_matches(path, '^/simple/[^/]+/?$') THEN 'index'
        WHEN regexp_matches(path, '^/project/[^/]+/json/?$') THEN 'json'
        WHEN regexp_matches(path, '^/project/[^/]+/?$') THEN 'project_page'
        WHEN path = '/' OR regexp_matches(path, '^/[^/]+\\.html$') THEN 'page'
        ELSE 'other'
    END AS base_kind,
    CASE WHEN regexp_matches(path, '^/(simple|project)/[^/]+')
        THEN {canonical_sql("regexp_extract(path, '^/(?:simple|project)/([^/]+)', 1)")}
    END AS project,
    CASE WHEN regexp_matches(path, '^/simple/[^/]+/[^/]+{DIST_FILE}')
        THEN regexp_extract(path, '([^/]+)$', 1)
    END AS filename
FROM decoded
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
