"""Ingest: log sources into the store, batch by batch, each committed with its checkpoint.

For each source: recognise it by its head and resume from its checkpoint
(checkpoints), read it in blocks of whole lines (sources; while following,
wait for growth and notice rotation: follow), cut the lines into chunks and
recognise those the store holds already (cursor, chunks, recognise), store
each batch with the checkpoint (writer; commits), and count every line in the source's
account (account).
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import duckdb

from wheelstats.ingest import checkpoints, chunks, cursor, detect, follow as following, formats
from wheelstats.ingest.account import RunAccount, SourceReport, WrittenBlock
from wheelstats.ingest.commits import BatchTransaction
from wheelstats.ingest.cursor import Batch, ChunkCutter, SourceCursor
from wheelstats.ingest.forget import forget_files
from wheelstats.ingest.recognise import StoredChunks
from wheelstats.ingest.sources import (
    LineReader, SourceError, is_stdin, open_source, read_ahead, reader_finishes, unreadable,
)
from wheelstats.ingest.writer import BlockWriter
from wheelstats.parsing.formats import AUTO_FORMAT, compile_format, compile_recorded, needs_head
from wheelstats.parsing.logformat import LogFormatError, LogPattern
from wheelstats.rollups import refresh_rollups
from wheelstats.store import ROW_GROUP_ROWS, StoreError, privacy

# DuckDB's share of a run's memory: with Python's (the interpreter and its libraries, the blocks read ahead, what a
# run remembers: resolve, recognise) a run stays under 1 GiB however long the log (10 million lines of many
# clients and agents peaked at 1,035-1,049 MiB with 512 MB, 958-971 with this).
INGEST_MEMORY_LIMIT = "384MB"
# Hits are compressed into the file when this much log has been committed (and at the end), not
# after every few batches: fewer rewrites of half-filled row groups, a smaller file.
CHECKPOINT_EVERY = "256MB"
# DuckDB's threads while blocks are written: a batch's statements are small, and the reading thread (the kernel)
# has the other core; a second DuckDB thread cost more than it gave (5 million pip-heavy lines: 7.2-7.5 s with
# two, 6.6-6.8 s with one). What works on the whole store (forgetting sources, the rollups' refresh at the end,
# the last checkpoint) and a batch's lines read by the SQL definition use every core (store.all_threads).
INGEST_THREADS = 1
# DuckDB writes a transaction's new rows straight into the file, compressed, when they fill a row group
# (ROW_GROUP_ROWS); fewer go to the write-ahead log first, then are written again by the checkpoint. So a block
# (after the first: sources.LineReader.block_bytes) holds about BLOCK_HITS hits, as many lines as the share of hits
# of the head (BlockWriter.head_hits), then of the last batch, says (10 million lines: 5-17% less
# time than blocks of 100,000 lines, logs of half and three quarters hits). Its last row group is then about 70%
# full: a batch's hits that left one 20% or 90% full made the store's file 58% and 25% bigger (DuckDB's checkpoint
# merged those row groups, leaving free blocks). A block that cannot hold so many lines holds fewer than a row
# group of hits (UNDER_A_ROW_GROUP), and waits for the next to be committed with it (commits).
BLOCK_HITS = 17 * ROW_GROUP_ROWS // 10
UNDER_A_ROW_GROUP = 9 * ROW_GROUP_ROWS // 10
FOLLOW_LOCK_WAIT_SECONDS = 3600.0  # a follower waits out any reader rather than stop


class UnreadableRecordedFormat(SourceError):
    """A source in the store was read with a format this version cannot compile any more."""

    def __init__(self, name: str, recorded: str, error: ValueError):
        super().__init__(
            f"{name!r} was first read as {recorded!r}, which does not compile ({error}). "
            "Give its format with --format."
        )


class NoHeader(SourceError):
    """A log given a header format (--format w3c, cloudfront, gcs) that starts with no such header."""

    def __init__(self, name: str, log_format: str, error: LogFormatError):
        why = str(error).partition(": ")[2]
        super().__init__(
            f"{name!r} does not read as --format {log_format}: {why}. Leave --format out to detect its format. "
            "Nothing was stored from it."
        )


class Ingester:
    """Ingests sources into one open store with one IP policy, each source in its own log format.

    With `log_format` "auto" (the default) a new source's format is detected from
    its head (detect), and a source already in the store is read as it was
    recorded; any other `log_format` (with `fields` for json) reads every source.
    """

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        *,
        log_format: str = AUTO_FORMAT,
        escape: str = "auto",
        client_from: str = "remote-addr",
        fields: tuple[str, ...] = (),
        ip_mode: str = "hash",
        key: bytes | None = None,
        countries: bool = True,
        on_progress: Callable[[str, int], None] | None = None,
        reopen: Callable[[], duckdb.DuckDBPyConnection] | None = None,
    ):
        self._con: duckdb.DuckDBPyConnection | None = con
        self._reopen = reopen  # given: while following, let go of the store between commits
        self.log_format, self.escape, self.client_from, self.fields = log_format, escape, client_from, fields
        # The one pattern every source is read with, when it does not depend on the source.
        self.pattern: LogPattern | None = None
        if log_format != AUTO_FORMAT and not needs_head(log_format):
            self.pattern = compile_format(log_format, escape=escape, client_from=client_from, fields=fields)
        self.ip_mode, self.key, self.countries = ip_mode, key, countries
        self.writers: dict[str, BlockWriter] = {}  # by the format they write (LogPattern.source_format)
        self.on_progress = on_progress
        self.notices: list[str] = []  # things the user should know about the store, said once
        self._hashes_checked = False
        self.stored_chunks = StoredChunks()  # forgotten whenever the store is let go of
        self.transaction = BatchTransaction(self._forget_unsaved)

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            self._con = self._reopen()
        return self._con

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None
        self.stored_chunks.forget()  # another process may write the store meanwhile

    def _forget_unsaved(self) -> None:
        """After a rollback: ids and chunks learnt in it may not be in the store."""
        for writer in self.writers.values():
            writer.ids.forget_unsaved()
        self.stored_chunks.forget()

    def release(self) -> None:
        """Close the store if it can be reopened, so other processes may use it meanwhile."""
        if self._reopen is not None:
            self.close()

    def ingest(
        self, name: str | os.PathLike, *, follow: bool = False, report: SourceReport | None = None
    ) -> SourceReport:
        """Ingest one source from its checkpoint to its end; its account (`report`, if given, is filled).

        With `follow`, keep reading as it grows until interrupted; when the file
        is rotated (renamed away, a new one in its place), finish the old one and
        go on with the new one. The account grows batch by batch, as each is
        committed, so after an interrupt it says what was stored.
        """
        name = str(name)
        report = report if report is not None else SourceReport(name=name)
        if not self._hashes_checked:
            self.notices += chunks.make_comparable(self.con)
            self._hashes_checked = True
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
        """Ingest one open stream, all of it committed at the end; True if it was rotated away while followed."""
        try:
            rotated = self._read_stream(name, stream, follow, report)
        except BaseException:
            self.transaction.roll_back()
            raise
        self.transaction.commit()
        return rotated

    def _read_stream(self, name: str, stream: BinaryIO, follow: bool, report: SourceReport) -> bool:
        head = following.read_head(stream, follow)
        if head.broken is not None and b"\n" not in head.data:
            raise unreadable(name, stream, head.broken)
        if b"\n" not in head.data and not reader_finishes(stream):
            report.held_back_bytes = len(head.data)  # not even one whole line yet: nothing to know it by
            return False
        checkpoint = checkpoints.find_source(self.con, head.data)
        if checkpoint is None:
            pattern = self._new_source_pattern(name, head.data)  # before anything is stored
            checkpoint = checkpoints.add_source(self.con, name, head.data, pattern.source_format)
        else:
            pattern = self._known_source_pattern(name, checkpoint.log_format)
            if checkpoint.head_len < len(head.data):
                checkpoints.extend_head(self.con, checkpoint.source_id, head.data)
        writer = self._writer(pattern)
        report.source_id, report.resumed_at = checkpoint.source_id, checkpoint.offset
        report.log_format, report.format_detected = pattern.source_format, self.log_format == AUTO_FORMAT
        start = cursor.open_chunk(self.con, checkpoint)
        cutter = ChunkCutter(start, writer.parse)
        position = SourceCursor(checkpoint.source_id, cutter, self.stored_chunks)
        reader = LineReader(stream, follow=follow, prefix=head.data, broken=head.broken)
        reader.size_blocks(block_lines(*writer.head_hits(head.data), reader.most_lines()))
        reader.skip_to(start.offset)
        rotated = fresh_hits = False
        known_head = checkpoints.GrowingHead(head.data)
        # A followed stream is read on this thread: rotation checks look at it between blocks.
        for block in map(cutter.cut, reader.blocks()) if follow else read_ahead(reader.blocks(), cutter.cut):
            if block is None:  # following, and nothing more to read for now: count what waits
                if position.waiting:  # (the store is opened only then)
                    fresh_hits |= self._write(writer, position.finish(self.con), report) is not None
                self.transaction.commit()  # nothing waits for a next block while following
                if fresh_hits:
                    refresh_rollups(self.con)  # keep the dashboard current while tailing
                    fresh_hits = False
                    self.release()
                if rotated:
                    return True  # drained what was written before the rotation
                rotated = following.rotated(name, stream)
                continue
            if block.broken_tail is not None:
                report.broken = block.broken_tail
                continue
            # A source's first batch in a run commits alone: the writing thread waited for its block alone,
            # and the account shows progress soon.
            written = self._write(writer, position.take(self.con, block.cut), report, may_wait=report.lines > 0)
            if written is not None:
                fresh_hits = True
                reader.size_blocks(block_lines(written.lines, written.hits, reader.most_lines()))
            longer_head = known_head.grow(block.data, block.end_offset)
            if longer_head is not None:
                checkpoints.extend_head(self.con, checkpoint.source_id, longer_head)
            if self.on_progress:
                self.on_progress(name, block.end_offset)
        if position.waiting:
            self._write(writer, position.finish(self.con), report)
        report.held_back_bytes = reader.held_back
        return False

    def _new_source_pattern(self, name: str, head: bytes) -> LogPattern:
        """The pattern a new source is read with: detected, or the one given (checked against its head)."""
        options = {"escape": self.escape, "client_from": self.client_from}
        if self.log_format == AUTO_FORMAT:
            return detect.detect(self.con, name, head, **options)
        try:
            pattern = self.pattern or compile_format(self.log_format, head=head, fields=self.fields, **options)
        except LogFormatError as error:  # a header format whose header this log lacks
            raise NoHeader(name, self.log_format, error) from None
        formats.check(self.con, name, head, pattern)
        return pattern

    def _known_source_pattern(self, name: str, recorded: str) -> LogPattern:
        """The pattern a source already in the store is read with: the one given, else its recorded one."""
        if self.pattern is not None:
            return self.pattern
        try:
            return compile_recorded(recorded)
        except ValueError as error:  # LogFormatError and its kin
            raise UnreadableRecordedFormat(name, recorded, error) from None

    def _writer(self, pattern: LogPattern) -> BlockWriter:
        """The writer of `pattern`'s format (one per format: each keeps what it learnt between batches)."""
        writer = self.writers.get(pattern.source_format)
        if writer is None:
            writer = self.writers[pattern.source_format] = BlockWriter(
                pattern, ip_mode=self.ip_mode, key=self.key, countries=self.countries)
        return writer

    def _write(self, writer: BlockWriter, batch: Batch | None, report: SourceReport, *,
               may_wait: bool = True) -> WrittenBlock | None:
        """Store a batch, if any, and count it in `report` (as one) once committed: at once, or with the next
        batch if it `may_wait` and holds under a row group of hits (commits)."""
        if batch is None:
            return None
        written = self.transaction.store(self.con, lambda: writer.store(self.con, report.source_id, batch),
                                         report.count, may_wait=may_wait)
        self.stored_chunks.stored(report.source_id, batch.chunk_rows, batch.replaces)
        return written


def block_lines(lines: int, hits: int, most: int) -> int:
    """How many lines the next blocks should hold: BLOCK_HITS hits at the share of hits these `lines` had, or if a
    block cannot hold so many (`most` lines), UNDER_A_ROW_GROUP."""
    lines_a_hit = lines / max(hits, 1)
    wanted = BLOCK_HITS * lines_a_hit
    return int(wanted if wanted <= most else min(most, UNDER_A_ROW_GROUP * lines_a_hit))


def ingest_paths(
    con: duckdb.DuckDBPyConnection,
    paths: Iterable[str | os.PathLike],
    *,
    log_format: str = AUTO_FORMAT,
    escape: str = "auto",
    client_from: str = "remote-addr",
    fields: tuple[str, ...] = (),
    ip_mode: str = "hash",
    key: bytes | None = None,
    countries: bool = True,
    follow: bool = False,
    on_progress: Callable[[str, int], None] | None = None,
    run: RunAccount | None = None,
) -> list[SourceReport]:
    """Ingest each path (or "-" for standard input) from its checkpoint; one report each.

    Each source's report joins `run.reports` (if given) as its ingest starts,
    and counts what is committed as it is: after an interrupt or an error, `run`
    says what the store holds from this run.
    """
    run = run if run is not None else RunAccount()
    ingester = Ingester(con, log_format=log_format, escape=escape, client_from=client_from, fields=fields,
                        ip_mode=ip_mode, key=key, countries=countries, on_progress=on_progress)
    _ingest_all(ingester, paths, follow, run)
    return run.reports


def ingest_files(
    db_path: str | Path,
    paths: Iterable[str | os.PathLike],
    *,
    log_format: str = AUTO_FORMAT,
    escape: str = "auto",
    client_from: str = "remote-addr",
    fields: tuple[str, ...] = (),
    ip_mode: str = "hash",
    countries: bool = True,
    follow: bool = False,
    again: bool = False,
    on_progress: Callable[[str, int], None] | None = None,
    run: RunAccount | None = None,
) -> list[SourceReport]:
    """Open the store at `db_path` (with its IP key) and ingest `paths` into it.

    With `again`, the sources these files are (by content) are forgotten first,
    so they are read anew. While following, the store is held only while a
    batch is written, so that `summary`, `report` and the dashboard can read it
    in between. `run` fills as in `ingest_paths`. A full disk raises StoreFull, and DuckDB's memory running out
    OutOfMemory (what was committed before either stays, and the same command goes on from there).
    """
    from wheelstats import store

    def open_store() -> duckdb.DuckDBPyConnection:
        con = store.connect(db_path, wait_seconds=FOLLOW_LOCK_WAIT_SECONDS if follow else store.LOCK_WAIT_SECONDS)
        # DuckDB's buffer pool would otherwise grow with the store; hits stream to disk.
        con.execute(f"SET memory_limit = '{INGEST_MEMORY_LIMIT}'")
        con.execute(f"SET checkpoint_threshold = '{CHECKPOINT_EVERY}'")
        con.execute(f"SET threads = {INGEST_THREADS}")
        return con

    paths = [str(path) for path in paths]
    run = run if run is not None else RunAccount()
    con = open_store()
    with failures_explained(db_path, run):
        try:  # refuses a mode or key that would split the store's clients
            key = privacy.client_key(db_path, ip_mode, con=con)
        except BaseException:
            con.close()
            raise
        ingester = Ingester(
            con, log_format=log_format, escape=escape, client_from=client_from, fields=fields, ip_mode=ip_mode,
            key=key, countries=countries, on_progress=on_progress, reopen=open_store if follow else None,
        )
        try:
            if again:
                with store.all_threads(ingester.con):
                    run.forgotten += forget_files(ingester.con, paths)
                ingester.stored_chunks.forget()
            _ingest_all(ingester, paths, follow, run)
            ingester.con.execute("RESET threads")  # for the refresh, and the checkpoint as the store closes
            # The refresh's commit, the run's last, checkpoints: what it wrote goes into the file once, not into the
            # write-ahead log first and again as the store closes.
            ingester.con.execute("SET checkpoint_threshold = '0B'")
            refresh_rollups(ingester.con)  # the dashboard's rollups, from the new hits only
            return run.reports
        finally:
            ingester.close()


@contextmanager
def failures_explained(db_path: str | os.PathLike, run: RunAccount) -> Iterator[None]:
    """A full disk raises StoreFull, DuckDB's memory running out OutOfMemory: one line each, with what `run` stored."""
    try:
        yield
    except (duckdb.Error, OSError) as error:
        if is_disk_full(error):
            raise StoreFull(db_path, error, run) from None
        if is_out_of_memory(error):
            raise OutOfMemory(db_path, error, run) from None
        raise


def _ingest_all(ingester: Ingester, paths: Iterable[str | os.PathLike], follow: bool, run: RunAccount) -> None:
    try:
        for path in paths:
            run.reports.append(SourceReport(name=str(path)))
            ingester.ingest(path, follow=follow, report=run.reports[-1])
    finally:
        run.notices += ingester.notices


def is_disk_full(error: BaseException) -> bool:
    """Whether writing failed for want of space (DuckDB says so in its message)."""
    return getattr(error, "errno", None) in (errno.ENOSPC, errno.EDQUOT) or any(
        text in str(error) for text in (os.strerror(errno.ENOSPC), os.strerror(errno.EDQUOT))
    )


def is_out_of_memory(error: BaseException) -> bool:
    """Whether DuckDB ran out of its memory (at a commit it says so in a TransactionException)."""
    return isinstance(error, duckdb.OutOfMemoryException) or (
        isinstance(error, duckdb.TransactionException) and "could not allocate" in str(error))


class StoreFull(StoreError):
    """The disk holding the store filled up during an ingest."""

    def __init__(self, db_path: str | Path, error: BaseException, run: RunAccount):
        super().__init__(
            f"The disk holding the store {str(db_path)!r} is full. This run stored {run.lines:,} lines before it "
            "filled up. Free some space and run the same command again: it goes on from there."
        )
        self.run = run


class OutOfMemory(StoreError):
    """DuckDB ran out of the memory an ingest lets it use (INGEST_MEMORY_LIMIT)."""

    def __init__(self, db_path: str | Path, error: duckdb.Error, run: RunAccount):
        reason = str(error).strip().splitlines()[0]
        super().__init__(
            f"DuckDB ran out of the {INGEST_MEMORY_LIMIT} of memory an ingest into {str(db_path)!r} lets it use "
            f"({reason}). This run stored {run.lines:,} lines before it ran out; the same command goes on from there."
        )
        self.run = run


__all__ = ["Ingester", "OutOfMemory", "RunAccount", "SourceReport", "StoreFull", "ingest_files", "ingest_paths"]
