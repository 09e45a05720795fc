"""Build logs: gzipped on disk beside the store, one file per build, their path recorded.

    <store folder>/<store stem>.build-logs/<project>/<build id>.log.gz

The store records the path relative to its own folder, so a store moved with
its logs keeps finding them. A log is staged (wheelstats.builder.staging)
before its build is recorded and moved into place after, like the wheels.
Reading one streams it: a log may be large.
"""

from __future__ import annotations

import gzip
import shutil
from collections.abc import Iterator
from pathlib import Path

from wheelstats.builder.staging import Stage, sync_file

READ_CHUNK = 64 * 1024


class LogUnreadable(OSError):
    """A recorded log that is gone or damaged."""

    def __init__(self, build_id: int, path: Path, why: str) -> None:
        super().__init__(f"The log of build {build_id} at {str(path)!r} cannot be read: {why}.")


def logs_folder(db: Path) -> Path:
    return db.with_name(db.stem + ".build-logs")


def log_name(build_id: int) -> str:
    return f"{build_id}.log.gz"


def recorded_path(db: Path, project: str, build_id: int) -> str:
    """The path the store records for a build's log: relative to the store's folder."""
    return f"{logs_folder(db).name}/{project}/{log_name(build_id)}"


def stage_log(stage: Stage, plain_log: Path) -> Path:
    """Compress the build's plain log into its stage, synced."""
    staged = stage.path(log_name(stage.build_id))
    with open(plain_log, "rb") as source, gzip.open(staged, "wb", compresslevel=6) as out:
        shutil.copyfileobj(source, out, READ_CHUNK)
    sync_file(staged)
    return staged


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
