"""A build catalogue checked in bulk: DuckDB reads the file and applies builds.py's rules as SQL.

builds.py's row-by-row check is the definition (and the only source of error
messages, with their line numbers). This module stages the same rows at a
tenth of its cost, but only where it can vouch for giving exactly what that
check gives: values in the plain forms most catalogues use are converted in
SQL (decimal seconds and integers, ISO timestamps without an offset, status
words, wheel names of parsing.filenames.PLAIN_WHEEL), and each distinct value
in any other form is passed through builds.py's own Python functions. Anything
it cannot vouch for (a bad row, a file DuckDB reads differently from Python's
csv and json) makes it stage nothing and say so, and the caller checks row by
row.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import duckdb
import pyarrow as pa

from wheelstats.imports import builds as rules
from wheelstats.parsing.classify import canonical_sql
from wheelstats.parsing.filenames import PLAIN_WHEEL, parse_filename

PLAIN_INTEGER = r"^[+-]?[0-9]{1,18}$"
PLAIN_SECONDS = r"^([0-9]{1,15}(\.[0-9]*)?|\.[0-9]+)$"
# PostgreSQL's interval text, as piwheels' database writes a build's duration: [N day[s] ]HH:MM:SS[.f]
PLAIN_INTERVAL = r"^(([0-9]{1,6}) days? )?([0-9]{1,6}):([0-5][0-9]):([0-5][0-9](\.[0-9]{1,6})?)$"
PLAIN_TIMESTAMP = r"^[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}([ T]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?)?$"
# A JSON value's text as DuckDB gives it is the text json.loads then str() give when the value is
# a string, an integer or null. Other values (true against "True") may differ, which matters only
# for the fields kept as text: the fields read as numbers, times and words come out alike or are
# refused alike.
JSON_TYPES_READ_ALIKE = ("VARCHAR", "BIGINT", "UBIGINT")
FIELDS_READ = ("size", "build_id", "built_at", "duration", "status")
FIELDS = tuple(rules.ALIASES)
FILENAME_FACTS = ("project", "version", "package_type", "python_tag", "abi_tag", "platform_tag")


class NotVouched(Exception):
    """The bulk check cannot promise the row-by-row result: check row by row."""


def stage_in_bulk(con: duckdb.DuckDBPyConnection, path: Path) -> bool:
    """Fill the temp table `catalogue` from `path` as builds.py would, row by row; False if it cannot vouch.

    On False, `catalogue` is left empty.
    """
    try:
        _read_fields(con, path)
        _convert_other_forms(con)
        _stage(con)
    except (NotVouched, duckdb.Error, UnicodeDecodeError, *rules.GZIP_ERRORS, csv.Error):
        rules.create_staging_table(con)
        return False
    finally:
        for name in ("catalogue_fields", "catalogue_filenames", "catalogue_durations", "catalogue_starts"):
            con.execute(f"DROP TABLE IF EXISTS {name}")
    return True


def _read_fields(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Temp table catalogue_fields: each of builds.ALIASES's columns as text, NULL where absent or empty."""
    name = path.name.removesuffix(".gz")
    if name.endswith(".csv"):
        header = _csv_header(path)
        if len(set(header)) != len(header):
            raise NotVouched  # csv.DictReader keeps the last of two like-named columns
        present = header
        source = (
            "(SELECT *, false AS read_otherwise FROM read_csv(?, header = true, all_varchar = true, delim = ',', "
            "quote = '\"', escape = '\"', auto_detect = false, null_padding = true, strict_mode = true, "
            f"columns = {_typed(header, 'VARCHAR')}))"
        )
    else:
        present = [key for field in FIELDS for key in rules.names_of(field)]
        source = _json_as_text(present)
    columns = []
    for field in FIELDS:
        values = [f"nullif({_quoted(name)}, '')" for name in rules.names_of(field) if name in present]
        columns.append(f"coalesce({', '.join([*values, 'NULL::VARCHAR'])}) AS {field}")
    con.execute(f"CREATE TEMP TABLE catalogue_fields AS SELECT {', '.join(columns)}, read_otherwise FROM {source}",
                [str(path)])
    if con.execute("SELECT count(*) FILTER (WHERE filename IS NULL OR read_otherwise) FROM catalogue_fields"
                   ).fetchone()[0]:
        raise NotVouched  # a row without a filename (an error, or a blank line csv skips), or a value read otherwise


def _csv_header(path: Path) -> list[str]:
    with rules.open_catalogue(path, "rt", encoding="utf-8-sig", newline="") as text:
        return next(csv.reader(text), [])


def _json_as_text(keys: list[str]) -> str:
    """A JSON-lines file's `keys` as the text builds.py reads, and whether a kept-as-text value reads otherwise.

    Each value's own JSON type decides (one pass over the file), not the type DuckDB would give its column.
    """
    read = {key for field in FIELDS_READ for key in rules.names_of(field)}
    texts = [f"CASE json_type({_quoted(key)}) WHEN 'VARCHAR' THEN {_quoted(key)} ->> '$' "
             f"ELSE {_quoted(key)}::VARCHAR END AS {_quoted(key)}" for key in keys]
    otherwise = [f"json_type({_quoted(key)}) NOT IN ({_words(JSON_TYPES_READ_ALIKE)})" for key in keys if key not in read]
    return (f"(SELECT {', '.join(texts)}, coalesce({' OR '.join(otherwise)}, false) AS read_otherwise "
            f"FROM read_json(?, format = 'newline_delimited', records = true, columns = {_typed(keys, 'JSON')}))")


def _convert_other_forms(con: duckdb.DuckDBPyConnection) -> None:
    """Tables of the distinct values SQL does not convert, converted by builds.py's and parsing's own code."""
    _convert_distinct(
        con, "catalogue_filenames", "filename",
        f"NOT regexp_matches(filename, '{PLAIN_WHEEL}')",
        _filename_facts, [("filename", pa.string()), *((fact, pa.string()) for fact in FILENAME_FACTS)],
    )
    _convert_distinct(
        con, "catalogue_durations", "duration",
        f"NOT regexp_matches(duration, '{PLAIN_SECONDS}') AND NOT regexp_matches(duration, '{PLAIN_INTERVAL}')",
        lambda text: {"duration": text, "seconds": _checked(rules.parse_duration, text)},
        [("duration", pa.string()), ("seconds", pa.float64())],
    )
    _convert_distinct(
        con, "catalogue_starts", "built_at", f"NOT regexp_matches(built_at, '{PLAIN_TIMESTAMP}')",
        lambda text: {"built_at": text, "moment": _checked(rules.parse_build_start, text)},
        [("built_at", pa.string()), ("moment", pa.timestamp("us"))],
    )


def _convert_distinct(con: duckdb.DuckDBPyConnection, table: str, column: str, condition: str,
                      convert: Callable[[str], dict], schema: list[tuple[str, pa.DataType]]) -> None:
    """Temp table `table`: each distinct `column` value meeting `condition`, with what `convert` makes of it."""
    values = con.execute(f"SELECT DISTINCT {column} FROM catalogue_fields WHERE {column} IS NOT NULL AND ({condition})")
    converted = pa.Table.from_pylist([convert(value) for (value,) in values.fetchall()], schema=pa.schema(schema))
    con.register("converted_values", converted)
    con.execute(f"CREATE TEMP TABLE {table} AS SELECT * FROM converted_values")
    con.unregister("converted_values")


def _checked(convert: Callable[[str], object], text: str) -> object:
    try:
        return convert(text)
    except ValueError:
        raise NotVouched from None


def _filename_facts(filename: str) -> dict:
    parsed = parse_filename(filename)
    return {"filename": filename, "project": parsed.project, "version": parsed.version,
            "package_type": parsed.package_type or "unknown", "python_tag": parsed.python_tag,
            "abi_tag": parsed.abi_tag, "platform_tag": parsed.platform_tag}


def _stage(con: duckdb.DuckDBPyConnection) -> None:
    """`catalogue` made of the records builds._record makes; NotVouched if one row would be refused."""
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE catalogue AS
        WITH named AS (
            SELECT f.*, string_split(f.filename[:-5], '-') AS parts, n.project AS n_project, n.version AS n_version,
                   n.package_type AS n_type, n.python_tag AS n_python, n.abi_tag AS n_abi, n.platform_tag AS n_platform,
                   n.filename IS NOT NULL AS parsed_in_python, d.seconds, s.moment
            FROM catalogue_fields f
            LEFT JOIN catalogue_filenames n USING (filename)
            LEFT JOIN catalogue_durations d USING (duration)
            LEFT JOIN catalogue_starts s USING (built_at)
        ), parsed AS (
            SELECT *,
                CASE WHEN parsed_in_python THEN n_project ELSE {canonical_sql('parts[1]')} END AS p_project,
                CASE WHEN parsed_in_python THEN n_version ELSE parts[2] END AS p_version,
                CASE WHEN parsed_in_python THEN n_type ELSE 'bdist_wheel' END AS p_type,
                CASE WHEN parsed_in_python THEN n_python ELSE {_tag_set('parts[3]')} END AS p_python,
                CASE WHEN parsed_in_python THEN n_abi ELSE {_tag_set('parts[4]')} END AS p_abi,
                CASE WHEN parsed_in_python THEN n_platform ELSE {_tag_set('parts[5]')} END AS p_platform
            FROM named
        ), typed AS (
            SELECT *,
                CASE WHEN project IS NULL THEN p_project ELSE {canonical_sql('project')} END AS project_value,
                coalesce(version, p_version) AS version_value,
                {_integer('size')} AS size_value,
                {_integer('build_id')} AS build_id_value,
                coalesce(moment, TRY_CAST(replace(built_at, 'T', ' ') AS TIMESTAMP)) AS start_value,
                coalesce(seconds, TRY_CAST(duration AS DOUBLE), {_interval_seconds('duration')}) AS seconds_value,
                CASE WHEN lower(trim(status, ' ')) IN ({_words(rules.TRUE_WORDS)}) THEN true
                     WHEN lower(trim(status, ' ')) IN ({_words(rules.FALSE_WORDS)}) THEN false END AS status_value
            FROM parsed
        )
        SELECT filename, project_value AS project, version_value AS version, p_type AS package_type,
               coalesce(python_tag, p_python) AS python_tag, coalesce(abi_tag, p_abi) AS abi_tag,
               coalesce(platform_tag, p_platform) AS platform_tag, size_value AS size, sha256, requires_python,
               built_by, start_value AS built_at, seconds_value AS duration_s, status_value AS status,
               CASE WHEN build_id IS NOT NULL THEN build_id_value
                    WHEN start_value IS NOT NULL OR seconds_value IS NOT NULL OR status_value IS NOT NULL THEN
                        (('0x' || sha256(concat_ws(chr(0), project_value, version_value, {_python_str('start_value')},
                                                   coalesce(built_by, ''), coalesce(abi_tag, p_abi, '')))[:16])::UBIGINT
                         >> 2)::BIGINT
               END AS build_id,
               (size IS NOT NULL AND size_value IS NULL) OR (build_id IS NOT NULL AND build_id_value IS NULL)
               OR (built_at IS NOT NULL AND start_value IS NULL) OR (duration IS NOT NULL AND seconds_value IS NULL)
               OR (status IS NOT NULL AND status_value IS NULL) OR project_value IS NULL OR version_value IS NULL
               AS refused
        FROM typed
    """)
    if con.execute("SELECT count(*) FROM catalogue WHERE refused").fetchone()[0]:
        raise NotVouched
    con.execute("ALTER TABLE catalogue DROP COLUMN refused")  # a column less costs nothing; a copy would


def _tag_set(expression: str) -> str:
    """A compressed tag set as parse_filename gives it: its components sorted, each once."""
    return (f"CASE WHEN contains({expression}, '.') "
            f"THEN array_to_string(list_sort(list_distinct(string_split({expression}, '.'))), '.') "
            f"ELSE {expression} END")


def _interval_seconds(column: str) -> str:
    """PLAIN_INTERVAL's seconds, added up in the order builds.parse_duration adds them (the same double)."""
    def part(group: int) -> str:
        return f"regexp_extract({column}, '{PLAIN_INTERVAL}', {group})"
    return (f"CASE WHEN regexp_matches({column}, '{PLAIN_INTERVAL}') THEN "
            f"coalesce(TRY_CAST({part(2)} AS BIGINT), 0) * 86400 + "
            f"((CAST({part(3)} AS BIGINT) * 3600 + CAST({part(4)} AS BIGINT) * 60) + CAST({part(5)} AS DOUBLE)) END")


def _integer(column: str) -> str:
    return f"CASE WHEN regexp_matches(trim({column}, ' '), '{PLAIN_INTEGER}') THEN CAST(trim({column}, ' ') AS BIGINT) END"


def _words(words) -> str:
    return ", ".join(_literal(word) for word in sorted(words))


def _python_str(column: str) -> str:
    """str() of the datetime builds._record makes: 'None' when absent, microseconds only when not zero."""
    return (f"CASE WHEN {column} IS NULL THEN 'None' WHEN microsecond({column}) % 1000000 = 0 "
            f"THEN strftime({column}, '%Y-%m-%d %H:%M:%S') ELSE strftime({column}, '%Y-%m-%d %H:%M:%S.%f') END")


def _typed(columns, type_name: str) -> str:
    """A DuckDB reader's `columns` argument reading each of `columns` as `type_name`."""
    return "{" + ", ".join(f"{_literal(column)}: '{type_name}'" for column in columns) + "}"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
