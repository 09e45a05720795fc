"""The piwheels CSV dump: which files and columns it has, and how to read them.

A dump is a folder with one `<table>.csv` (or `<table>.csv.gz`) per table of a
piwheels PostgreSQL database, as `COPY <table> TO STDOUT WITH (FORMAT csv,
HEADER)` writes them (docs/piwheels-dump.md). Reading is left to DuckDB's
`read_csv`; this module says what to read and checks headers before any row.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

# How many leading bytes of each table file go into the dump's fingerprint.
FINGERPRINT_HEAD = 1 << 16
# Prefix of the DuckDB error() message raised by a bad value inside a query.
BAD_VALUE_MARK = "wheelstats-bad-value:"

AGENT_COLUMNS = (
    "arch", "distro_name", "distro_version", "os_name", "os_version", "py_name",
    "py_version", "installer_name", "installer_version", "setuptools_version",
)
ACCESS = ("accessed_by", "accessed_at")
# What reading a .gz file that is not whole gzip raises (not gzip; cut short; damaged).
GZIP_ERRORS = (gzip.BadGzipFile, EOFError, zlib.error)


@dataclass(frozen=True, slots=True)
class TableSpec:
    name: str
    columns: tuple[str, ...]  # all the columns the import reads, in the documented order
    required: tuple[str, ...]  # those a file must have


def _spec(name: str, *columns: str) -> TableSpec:
    """Columns ending in '?' are optional."""
    return TableSpec(name, tuple(c.rstrip("?") for c in columns), tuple(c for c in columns if not c.endswith("?")))


_AGENT = tuple(f"{c}?" for c in AGENT_COLUMNS)
TABLES = {
    spec.name: spec
    for spec in (
        _spec("packages", "package", "skip?", "description?"),
        _spec("versions", "package", "version", "released?", "skip?", "yanked?"),
        _spec("builds", "build_id", "package", "version", "built_by?", "built_at", "duration", "status",
              "abi_tag?"),
        _spec("files", "filename", "build_id", "filesize?", "filehash?", "package_tag?", "package_version_tag?",
              "py_version_tag?", "abi_tag?", "platform_tag?", "requires_python?"),
        _spec("dependencies", "filename", "tool", "dependency"),
        _spec("downloads", "filename", *ACCESS, *_AGENT),
        _spec("searches", "package", *ACCESS, *_AGENT),
        _spec("project_page_hits", "package", *ACCESS, "user_agent?", "bot?"),
        _spec("project_json_downloads", "package", *ACCESS, "user_agent?"),
        _spec("web_page_hits", "page", *ACCESS, "user_agent?", "bot?"),
    )
}


class DumpError(ValueError):
    """A piwheels dump that cannot be imported as it is."""


@dataclass(frozen=True, slots=True)
class TableFile:
    spec: TableSpec
    path: Path
    header: tuple[str, ...]

    def select(self, column: str) -> str:
        """SQL for `column` as text: the file's column, or NULL if it lacks it."""
        return f'"{column}"' if column in self.header else "NULL::VARCHAR"

    def relation(self) -> str:
        """A DuckDB table expression reading every column of the file as text."""
        types = ", ".join(f"'{_sql_text(name)}': 'VARCHAR'" for name in self.header)
        return (
            f"read_csv('{_sql_text(str(self.path))}', header = true, auto_detect = false, "
            f"delim = ',', quote = '\"', escape = '\"', allow_quoted_nulls = false, "
            f"columns = {{{types}}})"
        )


@dataclass(frozen=True, slots=True)
class Dump:
    folder: Path
    tables: dict[str, TableFile]  # only the tables the folder has
    fingerprint: str
    total_bytes: int


def open_dump(folder: str | Path) -> Dump:
    """Find the table files of the dump in `folder` and check their headers."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DumpError(f"No piwheels dump at {str(folder)!r}: not a folder.")
    tables: dict[str, TableFile] = {}
    for name, spec in TABLES.items():
        path = _table_path(folder, name)
        if path is None:
            continue
        header = _read_header(path)
        missing = [column for column in spec.required if column not in header]
        if missing:
            raise DumpError(
                f"{path.name} lacks the column{'s' if len(missing) > 1 else ''} "
                f"{', '.join(missing)} (its header: {', '.join(header)}). "
                f"A piwheels dump's {name} table needs {', '.join(spec.required)}."
            )
        tables[name] = TableFile(spec, path, header)
    if not tables:
        raise DumpError(
            f"No piwheels tables in {str(folder)!r}: expected files such as downloads.csv "
            "or builds.csv (see docs/piwheels-dump.md)."
        )
    fingerprint, total = _fingerprint(tables)
    return Dump(folder, tables, fingerprint, total)


def _table_path(folder: Path, name: str) -> Path | None:
    for candidate in (folder / f"{name}.csv", folder / f"{name}.csv.gz"):
        if candidate.is_file():
            return candidate
    return None


def _open_text(path: Path) -> io.TextIOBase:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def _read_header(path: Path) -> tuple[str, ...]:
    """The column names on a table file's first line (the rows are read, and checked, by DuckDB)."""
    try:
        with gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb") as raw:
            first_line = raw.readline().decode("utf-8-sig")
        header = next(csv.reader([first_line]), None)
    except UnicodeDecodeError as error:
        raise DumpError(
            f"{path.name}, line 1: not UTF-8 (byte 0x{error.object[error.start]:02x} at column {error.start + 1}). "
            "Save the dump's tables as UTF-8 (docs/piwheels-dump.md); nothing was imported."
        ) from None
    except GZIP_ERRORS as error:
        raise not_whole_gzip(path, error) from None
    except (OSError, csv.Error) as error:
        raise DumpError(f"Cannot read the header of {str(path)!r}: {error}") from None
    if not header:
        raise DumpError(f"{path.name} is empty: a dump table needs at least its header row.")
    return tuple(column.strip() for column in header)


def not_whole_gzip(path: Path, reason: object) -> DumpError:
    return DumpError(
        f"{path.name} is not a whole gzip file ({reason}). Compress it again with gzip, or name it without .gz "
        "if it is plain text; nothing was imported."
    )


def explain_read_error(dump: Dump, message: str) -> DumpError | None:
    """Turn DuckDB's error reading a .csv.gz table that is not whole gzip into a one-line DumpError, or None."""
    if "gzip" not in message.lower():
        return None
    for table in dump.tables.values():
        if str(table.path) in message:
            reason = message.split("Error: ", 1)[-1].splitlines()[0].replace(f": {table.path}", "")
            return not_whole_gzip(table.path, reason)
    return None


def _fingerprint(tables: dict[str, TableFile]) -> tuple[str, int]:
    """Hash of each table's name, size and first bytes: the same dump, the same hash."""
    digest = hashlib.sha256()
    total = 0
    for name in sorted(tables):
        path = tables[name].path
        size = path.stat().st_size
        total += size
        with open(path, "rb") as raw:
            head = raw.read(FINGERPRINT_HEAD)
        digest.update(f"{name}\0{size}\0".encode())
        digest.update(head)
    return digest.hexdigest(), total


def bad_value_sql(table: str, column: str, raw: str, what: str) -> str:
    """SQL that raises a marked error naming the bad value, for `CASE ... THEN`."""
    prefix = json.dumps({"table": table, "column": column, "what": what})[:-1]
    value = f"coalesce(to_json({raw}), 'null')"
    return f"error('{BAD_VALUE_MARK}' || '{_sql_text(prefix)}, \"value\": ' || {value} || '}}')"


def explain_bad_value(dump: Dump, message: str) -> DumpError | None:
    """Turn a marked DuckDB error into a DumpError quoting the row and its line."""
    start = message.find(BAD_VALUE_MARK)
    if start < 0:
        return None
    detail = json.loads(message[start + len(BAD_VALUE_MARK):].splitlines()[0])
    table, column, value = detail["table"], detail["column"], detail["value"]
    path = dump.tables[table].path
    line_no, row = _find_row(path, column, value)
    where = f"{path.name}, line {line_no}" if line_no else path.name
    quoted = f": {row}" if row else ""
    what = detail["what"]
    fact = f"{column} is empty, not {what}" if value is None else f"{column} {value!r} is not {what}"
    return DumpError(
        f"{where}: {fact}{quoted}. "
        "Fix or remove that row and import again; nothing was imported."
    )


CSV_ERROR = re.compile(r"CSV Error on Line: (?P<line>\d+)\s*\n(?:Original Line: (?P<row>.*)\n)?\s*(?P<problem>[^\n]+)")
CSV_FILE = re.compile(r"^\s*file = (?P<file>.+)$", re.MULTILINE)


def explain_csv_error(message: str) -> DumpError | None:
    """Turn DuckDB's multi-line CSV error into a one-line DumpError, or None if it is not one."""
    error = CSV_ERROR.search(message)
    if not error:
        return None
    file = CSV_FILE.search(message)
    name = Path(file["file"].strip()).name if file else "a dump file"
    row = f": {error['row'][:300]}" if error["row"] else ""
    return DumpError(
        f"{name}, line {error['line']}: {error['problem'].strip().rstrip('.')}{row}. "
        "Fix or remove that row and import again; nothing was imported."
    )


def _find_row(path: Path, column: str, value: str | None) -> tuple[int | None, str | None]:
    """The first line whose `column` holds `value` (a slow scan, on errors only)."""
    with _open_text(path) as text:
        reader = csv.reader(text)
        header = next(reader)
        index = header.index(column)
        for row in reader:
            if row[index] == (value or ""):
                return reader.line_num, ",".join(row)[:300]
    return None, None


def _sql_text(text: str) -> str:
    return text.replace("'", "''")
