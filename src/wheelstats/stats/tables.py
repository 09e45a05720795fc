"""Binding the store's tables to Ibis, and the row sets every query starts from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import ibis
import ibis.expr.types as ir
from ibis import _

from wheelstats.store import StoreError


class EmptyStore(ValueError):
    """The store holds no downloads at all."""

    def __init__(self, path: str) -> None:
        super().__init__(
            f"The store {path!r} holds no downloads. Run `wheelstats ingest LOGS` or "
            "`wheelstats import piwheels --dump DIR` first, or pass --db."
        )


@dataclass(frozen=True, slots=True)
class Tables:
    """The store's tables as Ibis table expressions, on any backend."""

    hits: ir.Table
    agents: ir.Table
    files: ir.Table
    builds: ir.Table


def open_tables(db_path: str | Path) -> Tables:
    """Connect Ibis to the DuckDB store at `db_path`, read-only."""
    path = Path(db_path)
    if not path.exists():
        raise StoreError(f"No store at {str(path)!r}. Run `wheelstats ingest` first, or pass --db.")
    backend = ibis.duckdb.connect(str(path), read_only=True)
    # Connection setup, not queries: UTC dates, and no progress bar on the terminal.
    backend.raw_sql("SET TimeZone = 'UTC'")
    backend.raw_sql("SET enable_progress_bar = false")
    return Tables(
        hits=backend.table("hits"),
        agents=backend.table("agents"),
        files=backend.table("files"),
        builds=backend.table("builds"),
    )


def download_rows(
    tables: Tables, start: datetime | None = None, end: datetime | None = None
) -> ir.Table:
    """Download hits with `start <= ts < end` (either bound may be open)."""
    rows = tables.hits.filter(_.kind == "download")
    if start is not None:
        rows = rows.filter(_.ts >= start)
    if end is not None:
        rows = rows.filter(_.ts < end)
    return rows


def downloads_with_builds(
    tables: Tables,
    start: datetime | None = None,
    end: datetime | None = None,
    **keys: ir.Value,
) -> ir.Table:
    """Downloads counted per file (and per `keys`, e.g. month=month_number(_.ts)),
    joined to the file's tags and build duration.

    Columns: the keys, filename, downloads, platform_tag, abi_tag, duration_s. A file
    whose tags or build are unknown keeps NULLs (its downloads saved nothing).
    Counting before joining keeps the join small: a time-saved method depends only
    on the file, so the seconds saved by a group are method(row) x downloads.
    """
    downloads = download_rows(tables, start, end)
    counts = downloads.group_by(filename=downloads.filename, **keys).agg(downloads=_.count())
    files = tables.files.select(
        file_key=_.filename, platform_tag=_.platform_tag, abi_tag=_.abi_tag, build_id=_.build_id
    )
    builds = tables.builds.select(build_key=_.build_id, duration_s=_.duration_s)
    with_files = counts.left_join(files, counts.filename == files.file_key)
    joined = with_files.left_join(builds, with_files.build_id == builds.build_key)
    return joined.select(
        *keys, "filename", "downloads", "platform_tag", "abi_tag", "duration_s"
    )
