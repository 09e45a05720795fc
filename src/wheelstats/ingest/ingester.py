"""Ingest: log sources into the store, block by block, each block one transaction.

For each source: recognise it by its head and resume from its checkpoint
(checkpoints), read it in blocks of whole lines (sources; while following,
wait for growth and notice rotation: follow), store each block with the
checkpoint (writer), and count every line in the source's account (account).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import BinaryIO

import duckdb

from wheelstats.ingest import checkpoints, follow as following
from wheelstats.ingest.account import SourceReport
from wheelstats.ingest.sources import LineReader, is_stdin, open_source, read_ahead
from wheelstats.ingest.writer import BlockWriter
from wheelstats.rollups import refresh_rollups
from wheelstats.store import privacy

INGEST_MEMORY_LIMIT = "512MB"
FOLLOW_LOCK_WAIT_SECONDS = 3600.0  # a follower waits out any reader rather than stop


class Ingester:
    """Ingests sources into one open store with one log format and IP policy."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        *,
        log_format: str = "combined",
        ip_mode: str = "hash",
        key: bytes | None = None,
        on_progress: Callable[[str, int], None] | None = None,
        reopen: Callable[[], duckdb.DuckDBPyConnection] | None = None,
    ):
        self._con: duckdb.DuckDBPyConnection | None = con
        self._reopen = reopen  # given: while following, let go of the store between commits
        self.log_format = log_format
        self.writer = BlockWriter(log_format=log_format, ip_mode=ip_mode, key=key)
        self.on_progress = on_progress

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            self._con = self._reopen()
        return self._con

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    def release(self) -> None:
        """Close the store if it can be reopened, so other processes may use it meanwhile."""
        if self._reopen is not None:
            self.close()

    def ingest(self, name: str | os.PathLike, *, follow: bool = False) -> SourceReport:
        """Ingest one source from its checkpoint to its end.

        With `follow`, keep reading as it grows until interrupted; when the file
        is rotated (renamed away, a new one in its place), finish the old one and
        go on with the new one.
        """
        name = str(name)
        report = SourceReport(name=name)
        while True:
            stream = open_source(name)
            try:
                rotated = self._ingest_stream(name, stream, follow, report)
            finally:
                if not is_stdin(name):
                    stream.close()
            if not rotated:
                return report

    def _ingest_stream(self, name: str, stream: BinaryIO, follow: bool, report: SourceReport) -> bool:
        """Ingest one open stream; True if it was rotated away while followed."""
        head = following.read_head(stream, follow)
        if not head:
            return False
        checkpoint = checkpoints.open_source(self.con, name, head, self.log_format)
        report.source_id, report.resumed_at = checkpoint.source_id, checkpoint.offset
        reader = LineReader(stream, follow=follow, prefix=head)
        reader.skip_to(checkpoint.offset)
        next_line = checkpoint.lines + 1
        rotated = fresh_hits = False
        known_head = checkpoints.GrowingHead(head)
        # A followed stream is read on this thread: rotation checks look at it between blocks.
        for block in reader.blocks() if follow else read_ahead(reader.blocks()):
            if block is None:  # following, and nothing more to read for now
                if fresh_hits:
                    refresh_rollups(self.con)  # keep the dashboard current while tailing
                    fresh_hits = False
                    self.release()
                if rotated:
                    return True  # drained what was written before the rotation
                rotated = following.rotated(name, stream)
                continue
            written = self.writer.write(self.con, checkpoint.source_id, block, next_line)
            report.tally(written.outcomes, written.lines)
            if block.broken_tail is not None:
                report.broken = block.broken_tail
            next_line += written.lines
            fresh_hits = True
            longer_head = known_head.grow(block.data, block.end_offset)
            if longer_head is not None:
                checkpoints.extend_head(self.con, checkpoint.source_id, longer_head)
            if self.on_progress:
                self.on_progress(name, block.end_offset)
        report.held_back_bytes = reader.held_back
        return False


def ingest_paths(
    con: duckdb.DuckDBPyConnection,
    paths: Iterable[str | os.PathLike],
    *,
    log_format: str = "combined",
    ip_mode: str = "hash",
    key: bytes | None = None,
    follow: bool = False,
    on_progress: Callable[[str, int], None] | None = None,
) -> list[SourceReport]:
    """Ingest each path (or "-" for standard input) from its checkpoint; one report each."""
    ingester = Ingester(con, log_format=log_format, ip_mode=ip_mode, key=key, on_progress=on_progress)
    return [ingester.ingest(path, follow=follow) for path in paths]


def ingest_files(
    db_path: str | Path,
    paths: Iterable[str | os.PathLike],
    *,
    log_format: str = "combined",
    ip_mode: str = "hash",
    follow: bool = False,
    on_progress: Callable[[str, int], None] | None = None,
) -> list[SourceReport]:
    """Open the store at `db_path` (with its IP key) and ingest `paths` into it.

    While following, the store is held only while a block is written, so that
    `summary`, `report` and the dashboard can read it in between.
    """
    from wheelstats import store

    def open_store() -> duckdb.DuckDBPyConnection:
        con = store.connect(db_path, wait_seconds=FOLLOW_LOCK_WAIT_SECONDS if follow else store.LOCK_WAIT_SECONDS)
        # DuckDB's buffer pool would otherwise grow with the store; hits stream to disk.
        con.execute(f"SET memory_limit = '{INGEST_MEMORY_LIMIT}'")
        return con

    key = privacy.load_key(db_path) if ip_mode == "hash" else None
    ingester = Ingester(
        open_store(), log_format=log_format, ip_mode=ip_mode, key=key, on_progress=on_progress,
        reopen=open_store if follow else None,
    )
    try:
        reports = [ingester.ingest(path, follow=follow) for path in paths]
        refresh_rollups(ingester.con)  # the dashboard's rollups, from the new hits only
        return reports
    finally:
        ingester.close()


__all__ = ["Ingester", "SourceReport", "ingest_files", "ingest_paths"]
