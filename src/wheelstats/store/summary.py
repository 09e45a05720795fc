"""What the store holds, in one small record: the `wheelstats summary` figures."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime

import duckdb

KIND_KEYS = {"download": "downloads", "search": "searches", "project_page": "project_pages", "json": "json", "page": "pages"}


@dataclass(frozen=True, slots=True)
class ProjectDownloads:
    project: str   # canonical (PEP 503)
    downloads: int


@dataclass(frozen=True, slots=True)
class Summary:
    """What the store holds. `lines` counts each line it holds once (hits, ignored, rejected);
    `already_ingested` counts the lines read again since, found to be held already."""

    lines: int
    downloads: int
    searches: int
    project_pages: int
    json: int
    pages: int
    ignored: int
    rejected: int
    already_ingested: int
    first_hit: datetime | None
    last_hit: datetime | None
    projects: int
    top_projects: list[ProjectDownloads]

    def as_json(self) -> dict:
        data = asdict(self)
        for key in ("first_hit", "last_hit"):
            data[key] = data[key].isoformat() + "Z" if data[key] else None
        return data


def summarise(con: duckdb.DuckDBPyConnection, top: int = 10) -> Summary:
    return summarise_with(lambda sql: con.execute(sql).fetchall(), top)


def summarise_with(rows: Callable[[str], list[tuple]], top: int = 10) -> Summary:
    """The summary from `rows` (SQL in, rows out) over tables named as the store's: written in SQL that DuckDB
    and Spark both read, so a store and a lake on either engine give it alike."""
    kinds = dict(rows("SELECT CAST(kind AS STRING), count(*) FROM hits GROUP BY kind"))
    counts = {key: int(kinds.get(kind, 0)) for kind, key in KIND_KEYS.items()}
    ignored, rejected, already = (int(rows(f"SELECT coalesce(sum(lines), 0) FROM {table}")[0][0])
                                  for table in ("ignored", "rejected", "already_ingested"))
    first, last, projects = rows(
        "SELECT min(ts), max(ts), count(DISTINCT project) FILTER (WHERE kind = 'download') FROM hits"
    )[0]
    top_projects = rows(
        "SELECT project, count(*) AS n FROM hits WHERE kind = 'download' "
        f"GROUP BY project ORDER BY n DESC, project LIMIT {int(top)}"
    )
    return Summary(
        lines=sum(counts.values()) + ignored + rejected,
        ignored=ignored,
        rejected=rejected,
        already_ingested=already,
        first_hit=first,
        last_hit=last,
        projects=int(projects),
        top_projects=[ProjectDownloads(p, int(n)) for p, n in top_projects],
        **counts,
    )


@dataclass(frozen=True, slots=True)
class RejectSample:
    """A kept rejected line: where it was read, and why it was rejected."""

    source: str    # the source's name
    reason: str
    line_no: int   # 1-based, in the source
    line: str      # cut to 1,000 characters, invalid bytes replaced


def reject_samples(con: duckdb.DuckDBPyConnection, reason: str | None = None, limit: int = 50) -> list[RejectSample]:
    """The kept rejected lines (all reasons, or one), in source and line order."""
    rows = con.execute(
        """SELECT s.name, r.reason, r.line_no, r.line FROM reject_samples r JOIN sources s USING (source_id)
           WHERE ? IS NULL OR r.reason = ? ORDER BY s.source_id, r.line_no LIMIT ?""",
        [reason, reason, limit],
    ).fetchall()
    return [RejectSample(*row) for row in rows]


def reject_counts(con: duckdb.DuckDBPyConnection) -> list[tuple[str, int]]:
    return con.execute("SELECT reason, sum(lines)::BIGINT AS n FROM rejected GROUP BY reason ORDER BY n DESC, reason").fetchall()
