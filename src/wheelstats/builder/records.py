"""The builder's side of the store: recording builds with their files, skips, merging another store.

A build is recorded in one transaction with everything it made: its `builds`
row (project, version, the builder's ABI and platform, Python and pip, host,
start, duration, status, reason, exit code, log path), a `files` row per wheel
(size, sha256, tags, Requires-Python) and a `file_requirements` row per
Requires-Dist. A wheel already in `files` only from downloads (ingest adds
every downloaded name) gets the build's facts; one that another build made is a
conflict, and nothing is recorded. Reading them back is wheelstats.rollups.builds's (the
index's pages, the dashboard and `wheelstats builds` read them there).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb

from wheelstats import store
from wheelstats.builder.build import BuildOutcome
from wheelstats.builder.identity import BuilderIdentity
from wheelstats.builder.logs import recorded_path
from wheelstats.rollups.builds import log_file, logs_folder


class FileConflict(RuntimeError):
    def __init__(self, filename: str, build_id: int) -> None:
        super().__init__(f"{filename} is already recorded as made by build {build_id}")
        self.filename = filename
        self.build_id = build_id


def record_build(con: duckdb.DuckDBPyConnection, outcome: BuildOutcome, builder: BuilderIdentity,
                 log_path: str) -> None:
    """Record the build and its files in one transaction (FileConflict: nothing recorded)."""
    release = outcome.release
    with store.transaction(con):
        for wheel in outcome.wheels:
            owner = con.execute("SELECT build_id FROM files WHERE filename = ? AND build_id IS NOT NULL",
                                [wheel.filename]).fetchone()
            if owner is not None and owner[0] != outcome.build_id:
                raise FileConflict(wheel.filename, owner[0])
        con.execute(
            """INSERT INTO builds (build_id, project, version, abi_tag, built_by, built_at, duration_s, status,
                                   platform_tag, python_version, pip_version, reason, exit_code, log_path)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            [outcome.build_id, release.project, release.version, builder.abi_tag, builder.host, outcome.started_at,
             outcome.duration_s, outcome.succeeded, builder.platform_tag, builder.python_version,
             builder.pip_version, outcome.reason, outcome.exit_code, log_path],
        )
        for wheel in outcome.wheels:
            con.execute(
                """INSERT INTO files (filename, project, version, package_type, python_tag, abi_tag, platform_tag,
                                      valid, size, sha256, requires_python, build_id)
                VALUES (?, ?, ?, 'bdist_wheel', ?, ?, ?, true, ?, ?, ?, ?)
                ON CONFLICT (filename) DO UPDATE SET
                    project = excluded.project, version = excluded.version, package_type = excluded.package_type,
                    python_tag = excluded.python_tag, abi_tag = excluded.abi_tag,
                    platform_tag = excluded.platform_tag, valid = true, size = excluded.size,
                    sha256 = excluded.sha256, requires_python = excluded.requires_python,
                    build_id = excluded.build_id""",
                [wheel.filename, wheel.project, wheel.version, wheel.python_tag, wheel.abi_tag, wheel.platform_tag,
                 wheel.size, wheel.sha256, wheel.requires_python, outcome.build_id],
            )
            con.execute("DELETE FROM file_requirements WHERE filename = ?", [wheel.filename])
            if wheel.requires_dist:
                con.executemany(
                    "INSERT INTO file_requirements VALUES (?, ?, ?, ?)",
                    [[wheel.filename, r.requirement, r.project, r.marker] for r in wheel.requires_dist],
                )


def recorded_projects(con: duckdb.DuckDBPyConnection, build_ids: list[int]) -> dict[int, str]:
    """The project of each of these builds that the store holds."""
    if not build_ids:
        return {}
    return dict(con.execute("SELECT build_id, project FROM builds WHERE build_id IN (SELECT unnest(?))",
                            [build_ids]).fetchall())


def skip(con: duckdb.DuckDBPyConnection, project: str, version: str | None, reason: str) -> None:
    """Never build this project (version None) or this version of it."""
    with store.transaction(con):
        if version is None:
            con.execute("INSERT INTO projects (project, skip) VALUES (?, ?) "
                        "ON CONFLICT (project) DO UPDATE SET skip = excluded.skip", [project, reason])
        else:
            con.execute("INSERT INTO project_versions (project, version, skip) VALUES (?, ?, ?) "
                        "ON CONFLICT (project, version) DO UPDATE SET skip = excluded.skip",
                        [project, version, reason])


def unskip(con: duckdb.DuckDBPyConnection, project: str, version: str | None) -> str | None:
    """Build it again; returns the reason it was skipped for, or None if it was not skipped."""
    with store.transaction(con):
        if version is None:
            row = con.execute("SELECT skip FROM projects WHERE project = ?", [project]).fetchone()
            con.execute("UPDATE projects SET skip = NULL WHERE project = ?", [project])
        else:
            row = con.execute("SELECT skip FROM project_versions WHERE project = ? AND version = ?",
                              [project, version]).fetchone()
            con.execute("UPDATE project_versions SET skip = NULL WHERE project = ? AND version = ?",
                        [project, version])
    return row[0] if row else None


@dataclass(frozen=True, slots=True)
class Merged:
    builds: int  # new to this store
    files: int
    logs: int  # log files copied beside this store


def merge_store(con: duckdb.DuckDBPyConnection, db: Path, other: Path) -> Merged:
    """Add the builds, files and requirements of the store at `other` that this one lacks, in one
    transaction, and copy their logs beside this store. Merging the same store again adds nothing."""
    con.execute("ATTACH ? AS other (READ_ONLY)", [str(other)])
    try:
        with store.transaction(con):
            new = con.execute("""SELECT o.build_id, o.project, o.log_path FROM other.builds o
                                 WHERE o.build_id NOT IN (SELECT build_id FROM builds)""").fetchall()
            con.execute("CREATE OR REPLACE TEMP TABLE merged_builds AS SELECT unnest(?::BIGINT[]) AS build_id",
                        [[build_id for build_id, _project, _log in new]])
            columns = [name for (name,) in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_catalog = 'other' "
                "AND table_name = 'builds' ORDER BY ordinal_position").fetchall()]
            listed = ", ".join(f'"{name}"' for name in columns if name != "log_path")
            con.execute(f"""INSERT INTO builds ({listed}, log_path)
                SELECT {listed}, CASE WHEN log_path IS NULL THEN NULL ELSE ? || '/' || project || '/'
                                      || build_id || '.log.gz' END
                FROM other.builds WHERE build_id IN (SELECT build_id FROM merged_builds)""",
                        [logs_folder(db).name])
            files = con.execute("""SELECT count(*) FROM other.files o
                WHERE o.build_id IN (SELECT build_id FROM merged_builds)""").fetchone()[0]
            con.execute("""INSERT INTO files BY NAME
                SELECT * FROM other.files WHERE build_id IN (SELECT build_id FROM merged_builds)
                ON CONFLICT (filename) DO UPDATE SET
                    size = excluded.size, sha256 = excluded.sha256, requires_python = excluded.requires_python,
                    build_id = excluded.build_id, valid = true
                WHERE files.build_id IS NULL""")
            con.execute("""INSERT INTO file_requirements BY NAME
                SELECT r.* FROM other.file_requirements r JOIN other.files f USING (filename)
                WHERE f.build_id IN (SELECT build_id FROM merged_builds)
                ON CONFLICT DO NOTHING""")
            copied = 0
            for build_id, project, log_path in new:
                if log_path is None:
                    continue
                source = log_file(other, log_path)
                target = log_file(db, recorded_path(db, project, build_id))
                if source.is_file():
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(source, target)
                    copied += 1
            con.execute("DROP TABLE merged_builds")
    finally:
        con.execute("DETACH other")
    return Merged(len(new), files, copied)
