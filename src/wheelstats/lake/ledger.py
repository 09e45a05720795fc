"""Explicit commits for plain Parquet: stage, rename into place, then list in the ledger.

A job writes its files under _staging/<job>/, renames them into their tables'
folders when it has written them all, and commits by adding one entry to
_ledger/ (written whole, then renamed): the files it added to each table and
the sources it covers with their checkpoints. Readers read only the files the
ledger lists (`LedgerState`), so a job killed at any moment is invisible, and
the next job removes what it left behind (`recover`). One job writes at a time
(a lock on the lake); readers need no lock.

The hits table grows by each job's files; every other table is held whole by
the last job that wrote it. Files a later job superseded are removed once two
later jobs have committed, so a reader that opened the state before stays
able to read it for the length of a job.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from wheelstats.lake.layout import HITS, TABLES, Lake, LakeError, write_atomically

LOCK = "_lake.lock"


@dataclass(frozen=True, slots=True)
class SourceMark:
    """How much of a store's source the lake holds: its identity and its checkpoint then."""

    name: str
    head_hash: str
    lines: int


@dataclass(frozen=True, slots=True)
class LedgerState:
    """What the committed jobs hold: the files of each table (relative to the lake) and the sources' marks."""

    entries: int = 0
    files: dict[str, tuple[str, ...]] = field(default_factory=dict)
    sources: dict[int, SourceMark] = field(default_factory=dict)

    def table_files(self, table: str) -> tuple[str, ...]:
        return self.files.get(table, ())


def read_state(lake: Lake, entries: int | None = None) -> LedgerState:
    """The lake's committed state (after its first `entries` ledger entries, or all of them)."""
    lake.check()
    paths = sorted(lake.ledger.glob("*.json"))[:entries]
    files: dict[str, tuple[str, ...]] = {}
    sources: dict[int, SourceMark] = {}
    for path in paths:
        try:
            entry = json.loads(path.read_text())
        except (OSError, ValueError) as error:
            raise LakeError(f"The ledger entry {str(path)!r} cannot be read ({error}); the lake is damaged.") from None
        for table, added in entry["files"].items():
            files[table] = (*files.get(table, ()), *added) if table == HITS else tuple(added)
        for source_id, mark in entry["sources"].items():
            sources[int(source_id)] = SourceMark(**mark)
    return LedgerState(len(paths), files, sources)


def committed_state(lake: Lake) -> LedgerState:
    """The committed state of a lake some job has written; LakeError, saying what to do, if none has."""
    state = read_state(lake)
    if not state.entries:
        raise LakeError(f"The lake {str(lake.root)!r} holds nothing yet. Export a store into it first.")
    return state


@dataclass(slots=True)
class Job:
    """One job writing into the lake: where to stage each table's files, and what it adds."""

    lake: Lake
    job_id: str
    sources: dict[int, SourceMark] = field(default_factory=dict)
    abandoned: bool = False

    def abandon(self) -> None:
        """Commit nothing: the job found nothing to add."""
        self.abandoned = True

    def staged(self, table: str) -> Path:
        folder = self.lake.staging / self.job_id / table
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def file_prefix(self) -> str:
        return f"part-{self.job_id}"


@contextmanager
def job(lake: Lake) -> Iterator[Job]:
    """Run a job on `lake`, alone: what the body stages is published when it returns, nothing if it raises."""
    lake.create()
    with _locked(lake):
        lake.upgrade()
        recover(lake)
        started = Job(lake, datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8])
        try:
            yield started
            if not started.abandoned:
                _publish(started)
        finally:
            shutil.rmtree(lake.staging, ignore_errors=True)


def recover(lake: Lake) -> None:
    """Remove what killed jobs left (staged files, files renamed into place but never committed) and the
    files superseded two jobs ago."""
    shutil.rmtree(lake.staging, ignore_errors=True)
    state = read_state(lake)
    kept = _listed(state) | _listed(read_state(lake, max(state.entries - 1, 0)))
    for table in TABLES:
        folder = lake.root / table
        for path in folder.rglob("*.parquet") if folder.is_dir() else ():
            if path.relative_to(lake.root).as_posix() not in kept:
                path.unlink()


def _listed(state: LedgerState) -> set[str]:
    return {name for files in state.files.values() for name in files}


def _publish(job: Job) -> None:
    staged_root = job.lake.staging / job.job_id
    added: dict[str, list[str]] = {}
    for table in TABLES:
        folder = staged_root / table
        if not folder.is_dir():
            continue
        added[table] = []
        for path in sorted(folder.rglob("*.parquet")):
            relative = Path(table) / path.relative_to(folder)
            (job.lake.root / relative).parent.mkdir(parents=True, exist_ok=True)
            os.rename(path, job.lake.root / relative)
            added[table].append(relative.as_posix())
    entries = sorted(job.lake.ledger.glob("*.json"))
    number = int(entries[-1].stem) + 1 if entries else 1
    write_atomically(job.lake.ledger / f"{number:08d}.json", {
        "job": job.job_id,
        "committed_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "files": added,
        "sources": {str(source_id): {"name": mark.name, "head_hash": mark.head_hash, "lines": mark.lines}
                    for source_id, mark in job.sources.items()},
    })


@contextmanager
def _locked(lake: Lake) -> Iterator[None]:
    with open(lake.root / LOCK, "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LakeError(f"Another job is writing the lake {str(lake.root)!r}; run again when it is done.") from None
        yield
