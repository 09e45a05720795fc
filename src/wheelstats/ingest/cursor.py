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

Cutting lines into chunks needs no store, so it is done a block ahead, on the
thread that reads the blocks (`ChunkCutter`); which of the chunks the store
holds already is found on the thread that writes them (`SourceCursor`).
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
from wheelstats.ingest.sources import Block
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


@dataclass(frozen=True, slots=True)
class CutLines:
    """The open chunk's carried lines, then a block's (if any), cut into chunks (`ChunkCutter`).

    `data` holds whole lines from the open chunk's start; `closing` are the chunks they close (empty when
    none closes past the lines counted already), and `goes_on` the chunk the source goes on with after them,
    unless the last of them ends at the source's end (None: counting them decides how it goes on).
    """

    data: bytes | bytearray
    ends: np.ndarray         # each line's end in data (newline included)
    hashes: np.ndarray
    parsed: ParsedLines      # the kernel's reading of each line of data
    start: OpenChunk         # the open chunk data's first line starts
    closing: list[Chunk]
    goes_on: OpenChunk | None
    end_offset: int          # the source's checkpoint once the closing chunks are counted
    overlong_sample: str | None = None  # a line too long to read follows them: counted (rejected) with them

    @property
    def counted(self) -> int:
        """How many of data's lines are counted once these chunks are."""
        return self.closing[-1].end if self.closing else 0


class ChunkCutter:
    """Cuts a source's lines into chunks as its blocks come, carrying the open chunk's lines to the next.

    It needs no store, so it runs a block ahead, on the thread that reads the
    blocks (`cut`, given to sources.read_ahead); what the store knows of the
    chunks (`SourceCursor`) is looked up on the thread that writes them.
    """

    def __init__(self, start: OpenChunk, parse: Parse):
        self.parse = parse
        self.open = start
        self.carry = b""                                # the open chunk's bytes read so far
        self.carry_ends = np.empty(0, dtype=np.int64)   # and its lines' ends
        self.carry_hashes = np.empty(0, dtype=np.uint64)

    @property
    def waiting(self) -> bool:
        """Lines are held back that are not counted yet."""
        return len(self.carry_hashes) > self.open.decided

    def cut(self, block: Block | None) -> Block | None:
        """The block with its lines (found, read and joined to the carried ones) cut: its `cut`."""
        if block is None or block.broken_tail is not None:
            return block
        if block.overlong_sample is not None:
            return replace(block, cut=self._before_overlong(block.overlong_sample, block.end_offset))
        ends, hashes = line_ends_and_hashes(block.data)
        parsed = self.parse(block.data, ends)
        if self.carry:
            parsed = ParsedLines.joined(self._carry_parsed(), parsed, len(self.carry))
        ends = np.concatenate((self.carry_ends, ends + len(self.carry)))
        hashes = np.concatenate((self.carry_hashes, hashes))
        return replace(block, cut=self._cut(_prefixed(self.carry, block.data), ends, hashes, parsed,
                                            block.end_offset, at_end=False))

    def carried(self) -> CutLines:
        """The end of what can be read for now: the open chunk's lines, closing as they stand (a SOURCE_END
        chunk, which goes on as `go_on_with` says once they are counted)."""
        return self._cut(self.carry, self.carry_ends, self.carry_hashes, self._carry_parsed(),
                         self.open.offset + len(self.carry), at_end=True)

    def go_on_with(self, goes_on: OpenChunk) -> None:
        """After the `carried` lines were counted: the source goes on with `goes_on`, their last chunk, whose
        lines stay carried."""
        self._carry(self.carry, self.carry_ends, self.carry_hashes, goes_on.first_line - self.open.first_line)
        self.open = goes_on

    def _before_overlong(self, sample: str, end_offset: int) -> CutLines:
        """A line too long to read (up to `end_offset`) ends the open chunk, as a cut, and is counted after it,
        rejected; the source goes on after it, with a new chunk."""
        lines = self._cut(self.carry, self.carry_ends, self.carry_hashes, self._carry_parsed(), end_offset,
                          at_end=True, cut_at_end=True)
        after = OpenChunk(lines.start.first_line + lines.counted + 1, end_offset, CUT, MIN_CHUNK_LINES)
        self.open, self.carry = after, b""
        self.carry_ends, self.carry_hashes = np.empty(0, dtype=np.int64), np.empty(0, dtype=np.uint64)
        return replace(lines, goes_on=after, overlong_sample=sample)

    def _carry_parsed(self) -> ParsedLines:
        """The carried lines read again (the block they were read in is let go): the open chunk's, a few dozen
        as a rule."""
        return self.parse(self.carry, self.carry_ends)

    def _cut(
        self, data: bytes | bytearray, ends: np.ndarray, hashes: np.ndarray, parsed: ParsedLines,
        end_offset: int, *, at_end: bool, cut_at_end: bool = False,
    ) -> CutLines:
        """`data`'s lines cut (with `at_end`, all of them). Unless at the end, the open chunk's lines are
        carried to the next block.

        With `cut_at_end`, the last chunk ends as a cut, not as the source's end,
        and the lines close even if none is counted.
        """
        start = self.open
        cuts = chunking.cut(hashes, ends, start, at_end=at_end)
        closing = cuts.chunks
        if cut_at_end and closing and closing[-1].ends == SOURCE_END:
            closing[-1] = replace(closing[-1], ends=CUT)
        lines = CutLines(data, ends, hashes, parsed, start, closing, None, end_offset)
        if lines.counted <= start.decided and not cut_at_end:  # nothing new closes: all of it goes on
            lines, keep_from = replace(lines, closing=[]), 0
        elif closing and closing[-1].ends == SOURCE_END:
            return lines  # the open chunk's lines, until counting them decides how it goes on (`go_on_with`)
        else:
            goes_on = OpenChunk(start.first_line + cuts.open_first, start.offset + _offset(ends, cuts.open_first),
                                cuts.open_starts, cuts.open_quiet)
            if not at_end:
                end_offset = start.offset + _offset(ends, lines.counted)
            lines = replace(lines, goes_on=goes_on, end_offset=end_offset)
            self.open, keep_from = goes_on, cuts.open_first
        self._carry(data, ends, hashes, keep_from)
        return lines

    def _carry(self, data: bytes | bytearray, ends: np.ndarray, hashes: np.ndarray, line: int) -> None:
        """Carry `data`'s lines from line `line` on to the next block."""
        kept_from = _offset(ends, line)
        self.carry, self.carry_ends, self.carry_hashes = data[kept_from:], ends[line:] - kept_from, hashes[line:]


class SourceCursor:
    """Turns a source's cut lines into batches of whole chunks: what the store holds of them already, and
    the chunk rows that record them."""

    def __init__(self, source_id: int, cutter: ChunkCutter, stored: StoredChunks):
        self.source_id = source_id
        self.cutter = cutter
        self.stored = stored  # the store's chunks, as this run knows them
        # The row this run stored for the open chunk at the end of what it had read (while
        # following): replaced when the chunk goes on. An end stored by an earlier run stays,
        # for the file as it was then may be copied into others.
        self.provisional: ChunkRow | None = None
        self.last_held = False  # whether the last line this run counted was held by the store already

    @property
    def waiting(self) -> bool:
        """Lines are held back that are not counted yet."""
        return self.cutter.waiting

    def take(self, con: duckdb.DuckDBPyConnection, lines: CutLines) -> Batch | None:
        """The batch of the chunks `lines` close (a block's, or those before an over-long line), if any."""
        if not lines.closing and lines.overlong_sample is None:
            return None
        return self._batch(con, lines)

    def finish(self, con: duckdb.DuckDBPyConnection) -> Batch | None:
        """The end of what can be read for now: count the open chunk as it stands."""
        if not self.waiting:
            return None
        lines = self.cutter.carried()
        if not lines.closing:
            return None
        batch = self._batch(con, lines)
        if lines.goes_on is None:  # its last chunk ends at the source's end: the source goes on with it
            self.cutter.go_on_with(batch.open)
        return batch

    def _batch(self, con: duckdb.DuckDBPyConnection, lines: CutLines) -> Batch:
        start, closing, counted = lines.start, lines.closing, lines.counted
        found = recognise(con, self.source_id, lines.hashes, closing, start.decided, self.stored, self.last_held)
        rows = _rows(closing, start, found.already)
        goes_on = lines.goes_on
        if goes_on is None:  # the last chunk ends at the source's end: counted now, and goes on if it grows
            last = closing[-1]
            goes_on = OpenChunk(start.first_line + last.first, start.offset + _offset(lines.ends, last.first),
                                last.starts, last.quiet_before, decided=last.lines, kept=rows[-1].kept)
        self.last_held = bool(found.already[counted - 1]) if counted else self.last_held
        batch = Batch(
            data=lines.data, ends=lines.ends, parsed=lines.parsed, first_line_no=start.first_line,
            first=min(start.decided, counted), stop=counted, already=found.already, held_by=found.held_by,
            chunk_rows=rows, replaces=self.provisional if closing else None, open=goes_on,
            end_offset=lines.end_offset, overlong_sample=lines.overlong_sample,
        )
        self.provisional = rows[-1] if closing and closing[-1].ends == SOURCE_END else None
        return batch


def _rows(closing: list[Chunk], start: OpenChunk, already: np.ndarray) -> list[ChunkRow]:
    """The chunk rows of `closing`, each with how many of its lines the source holds (kept): the lines not
    held already, and for the first (the open chunk's), those counted before too."""
    if not closing:
        return []
    not_held = np.concatenate(([0], np.cumsum(~already, dtype=np.int64)))
    stops = np.fromiter((chunk.end for chunk in closing), np.int64, len(closing))
    firsts = np.fromiter((chunk.first for chunk in closing), np.int64, len(closing))
    firsts[0] = min(firsts[0] + start.decided, stops[0])
    kept = (not_held[stops] - not_held[firsts]).tolist()
    kept[0] += start.kept
    return [ChunkRow(start.first_line + chunk.first, chunk.lines, chunk.fingerprint, chunk.starts, chunk.ends, n)
            for chunk, n in zip(closing, kept)]


def _prefixed(prefix: bytes, data: bytes | bytearray) -> bytes | bytearray:
    """`prefix` then `data`. A block read from a source (a bytearray, the cutter's once handed out) takes the
    prefix in place: a copy of it would fault in fresh pages for each block (sources.LineReader._hand_out)."""
    if not isinstance(data, bytearray):
        return prefix + data
    data[:0] = prefix
    return data


def _offset(ends: np.ndarray, line: int) -> int:
    """The byte offset (in the batch's data) where line `line` starts."""
    return int(ends[line - 1]) if line else 0
