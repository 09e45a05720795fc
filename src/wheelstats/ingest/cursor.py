"""Where reading a source stands, chunk by chunk: what to count next, and what waits.

Lines are counted a whole chunk at a time: the lines after a block's last
chunk end are held back (with their hashes) and counted with the next block,
so a chunk's lines are recognised, or not, together. At the end of what can be
read (the end of a file, or a pause while following) the open chunk is
counted as it stands and stored as the source's end; if the source grows, that
chunk goes on, and only its new lines are counted.

Its state is stored with each batch (`open_chunks`), so an interrupted run
resumes at the open chunk's first byte, knowing how many of its lines are
counted already.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace

import duckdb
import numpy as np

from wheelstats.ingest import chunks as chunking
from wheelstats.ingest.checkpoints import Checkpoint
from wheelstats.ingest.chunks import CUT, MIN_CHUNK_LINES, SOURCE_END, Chunk, OpenChunk
from wheelstats.ingest.recognise import StoredChunks, recognise
from wheelstats.parsing.program import Parse, ParsedLines, line_ends_and_hashes


@dataclass(frozen=True, slots=True)
class ChunkRow:
    """A `chunks` row."""

    first_line: int
    lines: int
    fingerprint: int
    starts: str
    ends: str
    kept: int


@dataclass(frozen=True, slots=True)
class Batch:
    """Lines to count now, in one transaction, with the chunk rows and the state that go with them.

    `data` holds whole lines from the open chunk's start; lines [first, stop) are
    counted now (those before were counted already, those after wait).
    """

    data: bytes
    ends: np.ndarray              # each line's end in data (newline included)
    parsed: ParsedLines           # the kernel's reading of each line of data
    first_line_no: int            # the number of data's first line
    first: int
    stop: int
    already: np.ndarray           # bool per line of data: the store holds it already
    held_by: Counter[int]         # lines counted now that the store holds already, by holding source
    chunk_rows: list[ChunkRow]
    replaces: ChunkRow | None     # this run's stored end of the open chunk, which these rows supersede
    open: OpenChunk               # where the source goes on after this batch
    end_offset: int               # the checkpoint after these lines
    overlong_sample: str | None = None  # a line too long to read follows: counted (rejected) with them

    @property
    def lines(self) -> int:
        return self.stop - self.first + (self.overlong_sample is not None)


def open_chunk(con: duckdb.DuckDBPyConnection, checkpoint: Checkpoint) -> OpenChunk:
    """The chunk a source goes on with, from the store (at its checkpoint if none was stored)."""
    rows = con.execute(
        "SELECT first_line, start_offset, starts, quiet_before, kept FROM open_chunks WHERE source_id = ?",
        [checkpoint.source_id],
    ).fetchall()
    if not rows:
        if checkpoint.lines == 0:
            return OpenChunk.source_start()
        # Read before chunks were kept: go on from the checkpoint, a new chunk.
        return OpenChunk(checkpoint.lines + 1, checkpoint.offset, CUT, MIN_CHUNK_LINES)
    first_line, offset, starts, quiet, kept = rows[0]
    return OpenChunk(first_line, offset, starts, quiet, decided=checkpoint.lines - (first_line - 1), kept=kept)


class SourceCursor:
    """Turns a source's blocks of lines into batches of whole chunks."""

    def __init__(self, source_id: int, start: OpenChunk, stored: StoredChunks, parse: Parse):
        self.source_id = source_id
        self.parse = parse
        self.stored = stored  # the store's chunks, as this run knows them
        self.open = start
        self.carry = b""                                # the open chunk's bytes read so far
        self.carry_ends = np.empty(0, dtype=np.int64)   # and its lines' ends
        self.carry_hashes = np.empty(0, dtype=np.uint64)
        # The row this run stored for the open chunk at the end of what it had read (while
        # following): replaced when the chunk goes on. An end stored by an earlier run stays,
        # for the file as it was then may be copied into others.
        self.provisional: ChunkRow | None = None
        self.last_held = False  # whether the last line this run counted was held by the store already

    @property
    def waiting(self) -> bool:
        """Lines are held back that are not counted yet."""
        return len(self.carry_hashes) > self.open.decided

    def take(
        self, con: duckdb.DuckDBPyConnection, data: bytes, end_offset: int,
        lines: tuple[np.ndarray, np.ndarray] | None = None, parsed: ParsedLines | None = None,
    ) -> Batch | None:
        """Add whole lines read up to `end_offset` (`lines`: their ends and hashes, `parsed`: the kernel's
        reading of them, if known already); the batch of chunks they close, if any."""
        data_ends, data_hashes = lines if lines is not None else line_ends_and_hashes(data)
        parsed = parsed if parsed is not None else self.parse(data, data_ends)
        if self.carry:
            parsed = ParsedLines.joined(self._carry_parsed(), parsed, len(self.carry))
        hashes = np.concatenate((self.carry_hashes, data_hashes))
        ends = np.concatenate((self.carry_ends, data_ends + len(self.carry)))
        return self._batch(con, _prefixed(self.carry, data), hashes, end_offset, at_end=False, ends=ends,
                           parsed=parsed)

    def finish(self, con: duckdb.DuckDBPyConnection) -> Batch | None:
        """The end of what can be read for now: count the open chunk as it stands."""
        if not self.waiting:
            return None
        return self._batch(con, self.carry, self.carry_hashes, self.open.offset + len(self.carry), at_end=True,
                           ends=self.carry_ends, parsed=self._carry_parsed())

    def overlong(self, con: duckdb.DuckDBPyConnection, sample: str, end_offset: int) -> Batch:
        """A line too long to read (up to `end_offset`) ends the open chunk, as a cut, and is
        counted after it, rejected."""
        batch = self._batch(con, self.carry, self.carry_hashes, end_offset, at_end=True, cut_at_end=True,
                            ends=self.carry_ends, parsed=self._carry_parsed())
        after = OpenChunk(batch.first_line_no + batch.stop + 1, end_offset, CUT, MIN_CHUNK_LINES)
        self.open, self.carry = after, b""
        self.carry_ends, self.carry_hashes = np.empty(0, dtype=np.int64), np.empty(0, dtype=np.uint64)
        return replace(batch, open=after, overlong_sample=sample)

    def _carry_parsed(self) -> ParsedLines:
        """The carried lines read again (the block they were read in is let go): the open chunk's, a few dozen
        as a rule."""
        return self.parse(self.carry, self.carry_ends)

    def _batch(
        self, con: duckdb.DuckDBPyConnection, data: bytes, hashes: np.ndarray, end_offset: int, *,
        at_end: bool, ends: np.ndarray, parsed: ParsedLines, cut_at_end: bool = False,
    ) -> Batch | None:
        """The batch of the chunks `data` closes (with `at_end`, all of it); None if none closes.

        With `cut_at_end`, the last chunk ends as a cut, not as the source's end,
        and a batch is made even if it counts no line.
        """
        cuts = chunking.cut(hashes, ends, self.open, at_end=at_end)
        closing = cuts.chunks
        if cut_at_end and closing and closing[-1].ends == SOURCE_END:
            closing[-1] = replace(closing[-1], ends=CUT)
        start = self.open
        counted = closing[-1].end if closing else 0
        if counted <= start.decided and not cut_at_end:  # nothing new closes
            self.carry, self.carry_ends, self.carry_hashes = data, ends, hashes
            return None
        found = recognise(con, self.source_id, hashes, closing, start.decided, self.stored, self.last_held)
        rows = [self._row(chunk, start, found.already) for chunk in closing]
        if closing and closing[-1].ends == SOURCE_END:
            last = closing[-1]  # counted now, and goes on if the source grows
            goes_on = OpenChunk(start.first_line + last.first, start.offset + _offset(ends, last.first),
                                last.starts, last.quiet_before, decided=last.lines, kept=rows[-1].kept)
            keep_from = last.first
        else:
            goes_on = OpenChunk(start.first_line + cuts.open_first, start.offset + _offset(ends, cuts.open_first),
                                cuts.open_starts, cuts.open_quiet)
            keep_from = cuts.open_first
        batch = Batch(
            data=data, ends=ends, parsed=parsed, first_line_no=start.first_line, first=min(start.decided, counted),
            stop=counted,
            already=found.already, held_by=found.held_by, chunk_rows=rows,
            replaces=self.provisional if closing else None, open=goes_on,
            end_offset=end_offset if at_end else start.offset + _offset(ends, counted),
        )
        self.open = goes_on
        self.last_held = bool(found.already[counted - 1]) if counted else self.last_held
        self.provisional = rows[-1] if closing and closing[-1].ends == SOURCE_END else None
        kept_from = _offset(ends, keep_from)
        self.carry, self.carry_ends, self.carry_hashes = data[kept_from:], ends[keep_from:] - kept_from, hashes[keep_from:]
        return batch

    def _row(self, chunk: Chunk, start: OpenChunk, already: np.ndarray) -> ChunkRow:
        counted_before = start.decided if chunk.first == 0 else 0
        kept_before = start.kept if chunk.first == 0 else 0
        kept_now = int(np.count_nonzero(~already[chunk.first + counted_before : chunk.end]))
        return ChunkRow(start.first_line + chunk.first, chunk.lines, chunk.fingerprint, chunk.starts, chunk.ends,
                        kept_before + kept_now)


def _prefixed(prefix: bytes, data: bytes | bytearray) -> bytes | bytearray:
    """`prefix` then `data`. A block read from a source (a bytearray, the cursor's once taken) takes the prefix in
    place: a copy of it would fault in fresh pages for each block (sources.LineReader._hand_out)."""
    if not isinstance(data, bytearray):
        return prefix + data
    data[:0] = prefix
    return data


def _offset(ends: np.ndarray, line: int) -> int:
    """The byte offset (in the batch's data) where line `line` starts."""
    return int(ends[line - 1]) if line else 0
