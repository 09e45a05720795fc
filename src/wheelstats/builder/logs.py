"""Writing build logs: gzipped on disk beside the store, one file per build, their path recorded.

A log is staged (wheelstats.builder.staging) before its build is recorded and
moved into place after, like the wheels. Where the logs are, and reading one,
is wheelstats.rollups.builds's (the index serves them too).
"""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

from wheelstats.builder.staging import Stage, sync_file
from wheelstats.rollups.builds import READ_CHUNK, logs_folder


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
