"""Load a catalogue of builds and files (CSV or JSON lines) into the store.

One row per file; the build facts on the row (start, duration, status) make
the file's build. The rules are written here, row by row: the first bad row
stops the import with its line number, and nothing is imported. A catalogue
is first checked in bulk (builds_in_bulk: the same rules as SQL, ten times
faster); only when that cannot vouch for a row is it checked here, row by row.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import math
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa
from packaging.utils import canonicalize_name

from wheelstats import store
from wheelstats.parsing.filenames import parse_filename
from wheelstats.rollups import refresh_rollups

BATCH_ROWS = 50_000
# Column names a catalogue may use, and the other names accepted for them.
ALIASES = {
    "project": ("package", "package_tag"),
    "version": ("package_version_tag",),
    "filename": (),
    "python_tag": ("py_version_tag",),
    "abi_tag": (),
    "platform_tag": (),
    "size": ("filesize",),
    "sha256": ("filehash",),
    "requires_python": (),
    "build_id": (),
    "built_by": (),
    "built_at": ("build_start",),
    "duration": ("duration_s",),
    "status": (),
}
COLUMN_HELP = (
    "filename (required); project, version, python_tag, abi_tag, platform_tag (parsed from the "
    "filename when absent); size, sha256, requires_python; build_id, built_by, built_at (build "
    "start, ISO 8601 in UTC), duration (seconds, ISO 8601 like PT1M23.5S, or PostgreSQL like "
    "'2 days 03:04:05'), status (true/false, t/f, 1/0, success/failed)"
)
TRUE_WORDS = {"true", "t", "1", "yes", "success", "succeeded", "ok"}
FALSE_WORDS = {"false", "f", "0", "no", "failed", "failure", "fail"}
ISO_DURATION = re.compile(
    r"^P(?:(?P<weeks>\d+(?:\.\d+)?)W)?(?:(?P<days>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<hours>\d+(?:\.\d+)?)H)?(?:(?P<minutes>\d+(?:\.\d+)?)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)
PG_UNIT = re.compile(r"(-?\d+)\s+(years?|mons?|days?)\b")
PG_CLOCK = re.compile(r"(-?)(\d+):(\d{2}):(\d{2}(?:\.\d+)?)$")
PG_UNIT_SECONDS = {"year": 365.25 * 86400, "mon": 30 * 86400, "day": 86400}
# What reading a .gz file that is not whole gzip raises (not gzip; cut short; damaged).
GZIP_ERRORS = (gzip.BadGzipFile, EOFError, zlib.error)


class CatalogueError(ValueError):
    """A catalogue file or row that cannot be imported."""


class InvalidDuration(ValueError):
    def __init__(self, text: str, reason: str = ""):
        super().__init__(f"Invalid duration: {text!r}" + (f" ({reason})" if reason else ""))


@dataclass(frozen=True, slots=True)
class CatalogueSummary:
    files: int
    builds: int
    path: str

    def describe(self) -> str:
        return f"Imported {self.files:,} files and {self.builds:,} builds from {self.path}."


def parse_duration(text: str) -> float:
    """Seconds from '83.5', 'PT1M23.5S' or PostgreSQL's '2 days 03:04:05'; never negative."""
    seconds = _duration_seconds(text.strip())
    if seconds < 0:
        raise InvalidDuration(text.strip(), "a build cannot take negative time")
    return seconds


def _duration_seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        if math.isfinite(seconds):
            return seconds
        raise InvalidDuration(text)
    iso = ISO_DURATION.match(text)
    if iso and text not in ("P", "PT") and not text.endswith("T"):
        scale = {"weeks": 604800, "days": 86400, "hours": 3600, "minutes": 60, "seconds": 1}
        return sum(float(iso[unit] or 0) * factor for unit, factor in scale.items())
    total = 0.0
    for amount, unit in PG_UNIT.findall(text):
        total += int(amount) * PG_UNIT_SECONDS[unit.rstrip("s")]
    rest = PG_UNIT.sub("", text).strip()
    if rest:
        clock = PG_CLOCK.match(rest)
        if not clock:
            raise InvalidDuration(text)
        sign = -1 if clock[1] else 1
        total += sign * (int(clock[2]) * 3600 + int(clock[3]) * 60 + float(clock[4]))
    elif not PG_UNIT.search(text):
        raise InvalidDuration(text)
    return total


def _status(text: str) -> bool:
    word = text.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"Invalid status: {text!r} (use true or false)")


def parse_build_start(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip().replace(" UTC", "+00:00"))
    except ValueError:
        raise ValueError(f"Invalid build start: {text!r} (use ISO 8601, e.g. 2020-01-02 03:04:05)") from None
    if moment.tzinfo is not None:
        moment = (moment - moment.utcoffset()).replace(tzinfo=None)
    return moment


def _int(text: str, what: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise ValueError(f"Invalid {what}: {text!r} (a whole number)") from None


def open_catalogue(path: Path, mode: str = "rb", **text_options):
    """The catalogue file at `path`, decompressed if it is named .gz."""
    return (gzip.open if path.name.endswith(".gz") else open)(path, mode, **text_options)


def check_catalogue(path: Path) -> Path:
    """`path`, if it names a catalogue file of a known format; else CatalogueError."""
    if not path.is_file():
        raise CatalogueError(f"No catalogue at {str(path)!r}.")
    name = path.name.removesuffix(".gz")
    if not name.endswith((".csv", ".jsonl", ".json")):
        raise CatalogueError(
            f"Cannot tell the format of {str(path)!r}: name it .csv, .jsonl or .json (optionally .gz)."
        )
    return path


def _read_rows(path: Path) -> Iterator[tuple[int, dict, str]]:
    """(line number, row as a dict, the line as read) for each row of a .csv or .jsonl file.

    Text that is not UTF-8 and a .gz file that is not whole gzip stop with a CatalogueError.
    """
    try:
        yield from _rows(path)
    except UnicodeDecodeError as error:
        raise _not_utf8(path, error) from None
    except GZIP_ERRORS as error:
        raise CatalogueError(
            f"{str(path)!r} is not a whole gzip file ({error}). Compress it again with gzip, or name it "
            "without .gz if it is plain text; nothing was imported."
        ) from None


def _not_utf8(path: Path, error: UnicodeDecodeError) -> CatalogueError:
    """Where the catalogue stops being UTF-8: its first such line, found by reading it again."""
    fix = "Save the catalogue as UTF-8 and import it again; nothing was imported."
    with open_catalogue(path) as raw:
        for line_no, line in enumerate(raw, 1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as bad:
                shown = line.decode("utf-8", "replace").rstrip("\r\n")[:300]
                return CatalogueError(
                    f"{path}, line {line_no}: not UTF-8 (byte 0x{line[bad.start]:02x} at column {bad.start + 1}): "
                    f"{shown}. {fix}"
                )
    return CatalogueError(f"{path} is not UTF-8 ({error.reason}). {fix}")


def _rows(path: Path) -> Iterator[tuple[int, dict, str]]:
    name = path.name.removesuffix(".gz")
    if name.endswith(".csv"):
        with open_catalogue(path, "rt", encoding="utf-8-sig", newline="") as text:
            reader = csv.DictReader(text)
            header = reader.fieldnames or []
            if "filename" not in header:
                raise CatalogueError(
                    f"{path} has no filename column (its header: {', '.join(header) or 'none'}). "
                    "A catalogue has one row per file; see `wheelstats import builds --help`."
                )
            for row in reader:
                extra = row.pop(None, None)
                line = ",".join(v or "" for v in row.values() if isinstance(v, str))
                if extra:
                    raise CatalogueError(
                        f"{path}, line {reader.line_num}: {len(header) + len(extra)} fields, "
                        f"but the header has {len(header)}: {(line + ',' + ','.join(extra))[:300]}"
                    )
                yield reader.line_num, row, line
    else:  # .jsonl or .json (check_catalogue let nothing else through)
        with open_catalogue(path, "rt", encoding="utf-8") as text:
            for line_no, line in enumerate(text, 1):
                if not line.strip():
                    continue
                if line_no == 1 and line.lstrip().startswith("["):
                    raise CatalogueError(
                        f"{path} holds a JSON array: write one JSON object a line (JSON lines) instead."
                    )
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as error:
                    raise CatalogueError(
                        f"{path}, line {line_no}: not JSON ({error.msg}): {line.strip()[:300]}"
                    ) from None
                if not isinstance(row, dict):
                    raise CatalogueError(f"{path}, line {line_no}: not a JSON object: {line.strip()[:300]}")
                yield line_no, row, line.strip()


def names_of(column: str) -> tuple[str, ...]:
    """The names a catalogue may give `column`: its own, then its aliases, in order of preference."""
    return (column, *ALIASES[column])


def _field(row: dict, column: str) -> str | None:
    for name in names_of(column):
        value = row.get(name)
        if value is not None and value != "":
            return str(value)
    return None


def _build_id(project: str, version: str, built_at: datetime | None, built_by: str | None, abi: str | None) -> int:
    """A stable id for a build given without one (62 bits of a hash of what identifies it)."""
    key = "\0".join([project, version, str(built_at), built_by or "", abi or ""])
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") >> 2


def _record(row: dict) -> dict:
    filename = _field(row, "filename")
    if filename is None:
        raise ValueError("no filename")
    parsed = parse_filename(filename)
    project = _field(row, "project") or parsed.project
    version = _field(row, "version") or parsed.version
    if project is None or version is None:
        raise ValueError(f"no project or version, and none in the filename {filename!r}")
    project = canonicalize_name(project)
    duration, status, built_at = _field(row, "duration"), _field(row, "status"), _field(row, "built_at")
    size, build_id = _field(row, "size"), _field(row, "build_id")
    record = {
        "filename": filename, "project": project, "version": version,
        "package_type": parsed.package_type or "unknown",
        "python_tag": _field(row, "python_tag") or parsed.python_tag,
        "abi_tag": _field(row, "abi_tag") or parsed.abi_tag,
        "platform_tag": _field(row, "platform_tag") or parsed.platform_tag,
        "size": _int(size, "size") if size else None,
        "sha256": _field(row, "sha256"), "requires_python": _field(row, "requires_python"),
        "built_by": _field(row, "built_by"),
        "built_at": parse_build_start(built_at) if built_at else None,
        "duration_s": parse_duration(duration) if duration else None,
        "status": _status(status) if status else None,
    }
    has_build = build_id or any(record[c] is not None for c in ("built_at", "duration_s", "status"))
    record["build_id"] = (
        _int(build_id, "build_id") if build_id
        else _build_id(project, version, record["built_at"], record["built_by"], record["abi_tag"])
        if has_build else None
    )
    return record


SCHEMA = pa.schema([
    ("filename", pa.string()), ("project", pa.string()), ("version", pa.string()),
    ("package_type", pa.string()), ("python_tag", pa.string()), ("abi_tag", pa.string()),
    ("platform_tag", pa.string()), ("size", pa.int64()), ("sha256", pa.string()),
    ("requires_python", pa.string()), ("built_by", pa.string()), ("built_at", pa.timestamp("us")),
    ("duration_s", pa.float64()), ("status", pa.bool_()), ("build_id", pa.int64()),
])


def import_builds(con: duckdb.DuckDBPyConnection, path: str | Path, *, in_bulk: bool = True) -> CatalogueSummary:
    """Upsert the catalogue at `path`: importing it twice changes nothing.

    `in_bulk=False` checks every row here, row by row (the bulk check's reference).
    """
    from wheelstats.imports.builds_in_bulk import (
        stage_in_bulk,  # it reads this module's rules
    )

    path = check_catalogue(Path(path))
    # The rows are checked into a temp table first, outside the store's transaction (a refusal in
    # bulk aborts what it runs in); the store changes in one transaction, once every row is good.
    create_staging_table(con)
    try:
        if not (in_bulk and stage_in_bulk(con, path)):
            stage_row_by_row(con, path)
        with store.transaction(con):
            builds, files = _upsert(con)
    finally:
        con.execute("DROP TABLE IF EXISTS catalogue")
    refresh_rollups(con)  # time saved depends on the catalogue: the live figures are re-priced
    return CatalogueSummary(files, builds, str(path))


def stage_row_by_row(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Fill the staging table `catalogue` from `path`, each row checked here; the first bad one raises CatalogueError."""
    batch: list[dict] = []
    for line_no, row, line in _read_rows(path):
        try:
            batch.append(_record(row))
        except ValueError as error:
            raise CatalogueError(f"{path}, line {line_no}: {error}: {line[:300]}") from None
        if len(batch) >= BATCH_ROWS:
            _stage(con, batch)
            batch = []
    _stage(con, batch)


def create_staging_table(con: duckdb.DuckDBPyConnection) -> None:
    """The empty temp table `catalogue`, of SCHEMA's columns, that checked rows are staged in."""
    types = {pa.string(): "VARCHAR", pa.int64(): "BIGINT", pa.float64(): "DOUBLE", pa.bool_(): "BOOLEAN",
             pa.timestamp("us"): "TIMESTAMP"}
    columns = ", ".join(f"{field.name} {types[field.type]}" for field in SCHEMA)
    con.execute(f"CREATE OR REPLACE TEMP TABLE catalogue ({columns})")


def _stage(con: duckdb.DuckDBPyConnection, batch: list[dict]) -> None:
    if not batch:
        return
    con.register("catalogue_batch", pa.Table.from_pylist(batch, schema=SCHEMA))
    con.execute("INSERT INTO catalogue SELECT * FROM catalogue_batch")
    con.unregister("catalogue_batch")


def _upsert(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    """Builds and files from `catalogue` into the store, one row per key (a build's from its first file by
    name, a file's with its newest build): keys the store holds are updated, the others inserted (cheaper
    than INSERT ... ON CONFLICT, which checks each row against the index one at a time).

    Returns the numbers of builds and files. A catalogue naming each file once (the usual case) has its
    files read as they are, with no window over them.
    """
    con.execute("""
        CREATE OR REPLACE TEMP TABLE catalogue_builds AS
        SELECT build_id, project, version, abi_tag, built_by, built_at, duration_s, status
        FROM catalogue WHERE build_id IS NOT NULL
        QUALIFY row_number() OVER (PARTITION BY build_id ORDER BY filename) = 1
    """)
    con.execute("""
        UPDATE builds SET project = n.project, version = n.version, abi_tag = n.abi_tag, built_by = n.built_by,
                          built_at = n.built_at, duration_s = n.duration_s, status = n.status
        FROM catalogue_builds n WHERE builds.build_id = n.build_id
    """)
    con.execute("INSERT INTO builds BY NAME SELECT * FROM catalogue_builds ANTI JOIN builds USING (build_id)")
    files, rows = con.execute("SELECT count(DISTINCT filename), count(*) FROM catalogue").fetchone()
    newest_build_only = (
        "" if files == rows else "QUALIFY row_number() OVER (PARTITION BY filename ORDER BY build_id DESC NULLS LAST) = 1"
    )
    con.execute(f"""
        CREATE OR REPLACE TEMP VIEW catalogue_files AS
        SELECT filename, project, version, nullif(package_type, 'unknown') AS package_type, python_tag, abi_tag,
               platform_tag, true AS valid, size, sha256, requires_python, build_id
        FROM catalogue {newest_build_only}
    """)
    con.execute("""
        UPDATE files SET
            project = n.project, version = n.version, package_type = coalesce(n.package_type, files.package_type),
            python_tag = n.python_tag, abi_tag = n.abi_tag, platform_tag = n.platform_tag, valid = true,
            size = coalesce(n.size, files.size), sha256 = coalesce(n.sha256, files.sha256),
            requires_python = coalesce(n.requires_python, files.requires_python),
            build_id = coalesce(n.build_id, files.build_id)
        FROM catalogue_files n WHERE files.filename = n.filename
    """)
    con.execute("INSERT INTO files BY NAME SELECT * FROM catalogue_files ANTI JOIN files USING (filename)")
    builds = con.execute("SELECT count(*) FROM catalogue_builds").fetchall()[0][0]
    con.execute("DROP TABLE catalogue_builds")
    con.execute("DROP VIEW catalogue_files")
    return builds, files
