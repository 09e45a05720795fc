"""The builds as the store holds them, read: each with its files and its log (for `wheelstats
builds` and the index's project pages), and the dashboard's build figures, straight from the
builds table: one row per build, small enough to need no rollup. Builds count by their start
(built_at, UTC) inside the period; CI and bot toggles are about downloads and do not apply.

    total time   the durations of every build, succeeded or failed (failures take time too)
    by day       builds started each day, and how many of them failed
    failures     by reason (timeout, memory, cpu, error; "unknown" for imported ones)
    slowest      the longest successful builds

and the platforms wheelstats' builder ran on, which choose the default time-saved
method (as the report's Ibis query of the same name does).

A build's log is gzipped beside the store (wheelstats.builder.logs writes it):

    <store folder>/<store stem>.build-logs/<project>/<build id>.log.gz

and the store records its path relative to its own folder, so a store moved with
its logs keeps finding them. Reading one streams it: a log may be large.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
from packaging.utils import canonicalize_name

from wheelstats.period import Period

SLOWEST = 10
READ_CHUNK = 64 * 1024


class NoSuchBuild(LookupError):
    def __init__(self, build_id: int) -> None:
        super().__init__(f"No build {build_id} in the store. See `wheelstats builds` for the builds it holds.")


class LogUnreadable(OSError):
    """A recorded log that is gone or damaged."""

    def __init__(self, build_id: int, path: Path, why: str) -> None:
        super().__init__(f"The log of build {build_id} at {str(path)!r} cannot be read: {why}.")


def logs_folder(db: Path) -> Path:
    return db.with_name(db.stem + ".build-logs")


def log_file(db: Path, log_path: str) -> Path:
    return db.parent / log_path


def read_log(db: Path, build_id: int, log_path: str) -> Iterator[bytes]:
    """The log's bytes, decompressed, in chunks."""
    path = log_file(db, log_path)
    try:
        with gzip.open(path, "rb") as stream:
            while chunk := stream.read(READ_CHUNK):
                yield chunk
    except FileNotFoundError:
        raise LogUnreadable(build_id, path, "it was moved or deleted") from None
    except (OSError, EOFError) as error:
        raise LogUnreadable(build_id, path, str(error) or type(error).__name__) from None


@dataclass(frozen=True, slots=True)
class BuiltFile:
    filename: str
    size: int | None
    sha256: str | None


@dataclass(frozen=True, slots=True)
class BuildRecord:
    """A build as the store holds it (the builder's, or an imported one)."""

    build_id: int
    project: str
    version: str
    abi_tag: str | None
    platform_tag: str | None
    built_by: str | None
    built_at: datetime | None
    duration_s: float | None
    succeeded: bool | None
    reason: str | None
    exit_code: int | None
    log_path: str | None
    files: tuple[BuiltFile, ...]

    def as_json(self) -> dict:
        return {
            "build_id": self.build_id, "project": self.project, "version": self.version,
            "abi_tag": self.abi_tag, "platform_tag": self.platform_tag, "built_by": self.built_by,
            "built_at": self.built_at.isoformat() + "Z" if self.built_at else None,
            "duration_s": self.duration_s, "status": self.succeeded, "reason": self.reason,
            "exit_code": self.exit_code, "log_path": self.log_path,
            "files": [{"filename": f.filename, "size": f.size, "sha256": f.sha256} for f in self.files],
        }


def read_builds(con: duckdb.DuckDBPyConnection, *, failed: bool = False, project: str | None = None,
                build_id: int | None = None, limit: int | None = None) -> list[BuildRecord]:
    """Builds, newest first, with their files."""
    conditions, params = ["true"], []
    if failed:
        conditions.append("NOT coalesce(b.status, false)")
    if project is not None:
        conditions.append("b.project = ?")
        params.append(canonicalize_name(project))
    if build_id is not None:
        conditions.append("b.build_id = ?")
        params.append(build_id)
    rows = con.execute(
        f"""SELECT b.build_id, b.project, b.version, b.abi_tag, b.platform_tag, b.built_by, b.built_at,
                   b.duration_s, b.status, b.reason, b.exit_code, b.log_path,
                   list((f.filename, f.size, f.sha256) ORDER BY f.filename) FILTER (WHERE f.filename IS NOT NULL)
            FROM builds b LEFT JOIN files f ON f.build_id = b.build_id
            WHERE {' AND '.join(conditions)}
            GROUP BY ALL ORDER BY b.built_at DESC NULLS LAST, b.build_id DESC
            {'LIMIT ' + str(int(limit)) if limit else ''}""",
        params,
    ).fetchall()
    return [BuildRecord(*row[:12], tuple(BuiltFile(*built) for built in row[12] or ())) for row in rows]


def read_build(con: duckdb.DuckDBPyConnection, build_id: int) -> BuildRecord:
    found = read_builds(con, build_id=build_id)
    if not found:
        raise NoSuchBuild(build_id)
    return found[0]


def _in(period: Period) -> tuple[str, list]:
    return "built_at >= ? AND built_at < ?", [period.start_ts, period.end_ts]


def build_figures(con: duckdb.DuckDBPyConnection, period: Period, slowest: int = SLOWEST) -> dict:
    """Builds started in the period: counts, total time, by day, failures by reason, the slowest."""
    where, params = _in(period)
    count, succeeded, total_s, succeeded_s = con.execute(
        f"""SELECT count(*), count(*) FILTER (WHERE status), coalesce(sum(duration_s), 0),
                   coalesce(sum(duration_s) FILTER (WHERE status), 0)
            FROM builds WHERE {where}""", params).fetchone()
    by_day = con.execute(
        f"""SELECT built_at::DATE AS day, count(*), count(*) FILTER (WHERE NOT coalesce(status, false)),
                   coalesce(sum(duration_s), 0)
            FROM builds WHERE {where} GROUP BY day ORDER BY day""", params).fetchall()
    reasons = con.execute(
        f"""SELECT coalesce(reason, 'unknown') AS why, count(*) FROM builds
            WHERE {where} AND NOT coalesce(status, false) GROUP BY why ORDER BY count(*) DESC, why""",
        params).fetchall()
    longest = con.execute(
        f"""SELECT build_id, project, version, abi_tag, built_at, duration_s FROM builds
            WHERE {where} AND status AND duration_s IS NOT NULL
            ORDER BY duration_s DESC, build_id LIMIT ?""", [*params, slowest]).fetchall()
    return {
        "builds": count,
        "succeeded": succeeded,
        "failed": count - succeeded,
        "total_seconds": total_s,
        "succeeded_seconds": succeeded_s,
        "by_day": [{"date": day.isoformat(), "builds": n, "failed": failed, "seconds": seconds}
                   for day, n, failed, seconds in by_day],
        "failures": [{"reason": why, "builds": n} for why, n in reasons],
        "slowest": [{"build_id": build_id, "project": project, "version": version, "abi_tag": abi,
                     "built_at": built_at.isoformat(timespec="seconds"), "duration_s": duration}
                    for build_id, project, version, abi, built_at, duration in longest],
    }


def builder_platforms(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The platforms wheelstats' builder ran on for the store's builds, sorted (imported builds do not say)."""
    return [platform for (platform,) in con.execute(
        "SELECT DISTINCT platform_tag FROM builds WHERE platform_tag IS NOT NULL ORDER BY platform_tag").fetchall()]
