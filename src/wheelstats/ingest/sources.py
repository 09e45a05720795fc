"""Reading log sources: plain or compressed files, pipes and standard input, in blocks of whole lines.

Offsets count bytes of decompressed content, so a compressed copy of a log has
the same offsets as the plain one. A compressed stream that breaks off (cut
short, or still being written) gives its whole lines; its unfinished last line
is held back, as a plain file's is, until the whole file is read again.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import queue
import select
import stat
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO

from wheelstats.ingest.gzip_reader import GZIP_ERRORS, GzipReader
from wheelstats.parsing.lines import MAX_LINE, sample_of
from wheelstats.parsing.program import count_lines

if TYPE_CHECKING:
    from wheelstats.ingest.cursor import CutLines

READ_BYTES = 4 << 20
# A block holds at least BLOCK_BYTES, and about `LineReader.block_lines` lines at the length of the last block's
# (up to MAX_BLOCK_BYTES): much of a block's cost is per block or per distinct value in it, so a log of long lines
# (JSON) gets bigger blocks. The ingester says how many lines (`size_blocks`, within these bounds).
BLOCK_BYTES = 16 << 20
MIN_BLOCK_LINES = 100_000
MAX_BLOCK_LINES = 500_000
MAX_BLOCK_BYTES = 64 << 20
# Blocks waiting, read and prepared, for the thread that stores them (`read_ahead`), besides the one it stores and
# the one being prepared: each is up to MAX_BLOCK_BYTES of memory. A second one waiting gained no time and held
# 50 MiB more at the peak of the first million of forty million many-clients lines (886-895 MiB against 833-842).
READ_AHEAD_BLOCKS = 1
FOLLOW_POLL_SECONDS = 0.2
STDIN = "-"

MAGIC = {b"\x1f\x8b": GzipReader, b"BZh": bz2.open, b"\xfd7zXZ\x00": lzma.open}
COMPRESSIONS = {gzip.GzipFile: "gzip", bz2.BZ2File: "bzip2", lzma.LZMAFile: "xz"}  # GzipReader is a GzipFile
# What a broken compressed stream raises while it is read.
DECOMPRESSION_ERRORS = (*GZIP_ERRORS, lzma.LZMAError)


class SourceError(Exception):
    """A source cannot be read at all."""


@dataclass(frozen=True, slots=True)
class Block:
    """Whole lines read from a source, or one line too long to keep in memory."""

    data: bytes | bytearray    # not changed once handed out, but by the cutter that cuts it (cursor._prefixed)
    end_offset: int            # offset just after this block
    overlong_sample: str | None = None   # set for a single over-long line; data is empty
    broken_tail: str | None = None       # the stream broke here: why (its unfinished last line is held back)
    cut: CutLines | None = None          # its lines read and cut into chunks, after the carried ones (cursor)


@dataclass(frozen=True, slots=True)
class Head:
    """A source's first bytes, and why its compressed stream broke within them, if it did."""

    data: bytes
    broken: str | None = None


def is_stdin(name: str | os.PathLike) -> bool:
    return str(name) == STDIN


def is_stdin_stream(stream: BinaryIO) -> bool:
    return stream is sys.stdin.buffer


def is_pipe(stream: BinaryIO) -> bool:
    """Standard input or a named pipe: read as it comes, finished when its writer closes it."""
    if is_stdin_stream(stream):
        return True
    try:
        return stat.S_ISFIFO(os.fstat(stream.fileno()).st_mode)
    except (OSError, ValueError):
        return False


def check_readable(name: str) -> None:
    """Raise SourceError unless `name` is "-" or a file or pipe this process can read."""
    if is_stdin(name):
        return
    try:
        status = os.stat(name)
    except OSError as error:
        raise cannot_open(name, error) from None
    if stat.S_ISFIFO(status.st_mode):  # opening it would wait for a writer: ask instead
        if not os.access(name, os.R_OK):
            raise cannot_open(name, PermissionError())
        return
    open_source(name).close()


def cannot_open(name: str, error: OSError) -> SourceError:
    """The error for a source that cannot be opened: what is wrong, and what to do."""
    if isinstance(error, FileNotFoundError):
        return SourceError(f"No such file: {name!r}.")
    if isinstance(error, IsADirectoryError) or os.path.isdir(name):
        return SourceError(f"{name!r} is a folder: give the log files in it, e.g. {os.path.join(name, '*.log')!r}.")
    if isinstance(error, PermissionError):
        return SourceError(f"Permission denied: {name!r}. Run as a user who can read it, or change its permissions.")
    return SourceError(f"Cannot read {name!r}: {error.strerror}.")


def open_source(name: str | os.PathLike) -> BinaryIO:
    """Open a log for reading its decompressed bytes (gzip, bzip2, xz or plain)."""
    if is_stdin(name):
        return sys.stdin.buffer
    path = str(name)
    try:
        raw = open(path, "rb")
    except OSError as error:
        raise cannot_open(path, error) from None
    magic = raw.peek(6)[:6]  # peek, not seek: a pipe cannot go back
    for prefix, opener in MAGIC.items():
        if magic.startswith(prefix):
            return opener(raw)
    return raw


def describe(error: BaseException) -> str:
    """How a compressed stream broke, in one line."""
    return f"{type(error).__name__}: {error}"


def compression(stream: BinaryIO) -> str | None:
    """The stream's compression ("gzip", "bzip2", "xz"), or None."""
    return next((name for kind, name in COMPRESSIONS.items() if isinstance(stream, kind)), None)


def unreadable(name: str, stream: BinaryIO, broken: str) -> SourceError:
    """The error for a compressed source that breaks before its first whole line."""
    kind = compression(stream) or "compressed"
    tool = {"gzip": "gzip", "bzip2": "bzip2", "xz": "xz"}.get(kind, kind)
    return SourceError(
        f"Cannot read {name!r}: its {kind} data breaks off before the first whole line ({broken}). "
        f"If it is still being written, ingest it once it is complete; `{tool} -t` checks it."
    )


def is_compressed(stream: BinaryIO) -> bool:
    return isinstance(stream, (gzip.GzipFile, bz2.BZ2File, lzma.LZMAFile))


def reader_finishes(stream: BinaryIO) -> bool:
    """Whether the stream's end is the end of its content (a compressed file, a pipe), so that
    an unterminated last line is whole; a plain file may still be written to."""
    return is_compressed(stream) or is_pipe(stream)


def read_some(stream: BinaryIO, size: int) -> bytes:
    """Read up to `size` bytes, returning what is there now on a pipe."""
    reader = getattr(stream, "read1", None)
    return reader(size) if reader is not None else stream.read(size)


class LineReader:
    """Reads a source from an offset in blocks of whole lines.

    With `follow`, the end of the input is not the end: `blocks()` yields None
    while it waits for more, so the caller can commit what it has. An
    unterminated last line is held back until its newline arrives, unless the
    input is finished (a whole compressed file, or a pipe at its end). A
    compressed stream that breaks (`broken`, if it broke in its head) ends
    with a Block saying why, its unfinished last line held back.
    """

    def __init__(
        self, stream: BinaryIO, *, start_offset: int = 0, follow: bool = False, prefix: bytes = b"",
        broken: str | None = None,
    ):
        self.stream = stream
        self.follow = follow
        self.offset = start_offset      # of the first byte not yet handed out
        self.pending = bytearray(prefix)  # bytes read from offset on, not handed out yet
        self.block_lines = MIN_BLOCK_LINES  # how many lines a block holds (the bytes of as many): size_blocks
        self.line_bytes = len(prefix) // max(count_lines(prefix), 1)  # the last block's bytes a line (the head's)
        self.blocks_handed_out = 0
        self.held_back = 0              # bytes of an unterminated final line left unread
        self.ended = False              # no more input will come
        self.broken = broken            # the stream broke: why
        self.pipe = is_pipe(stream)

    def size_blocks(self, lines: int) -> None:
        """Let the next blocks hold about `lines` lines (from MIN_BLOCK_LINES to MAX_BLOCK_LINES). Called before
        any is read (as the head says), then from the thread that takes the blocks while this one reads ahead:
        the blocks after the next ones follow it."""
        self.block_lines = min(MAX_BLOCK_LINES, max(MIN_BLOCK_LINES, lines))

    @property
    def block_bytes(self) -> int:
        """How much the next block holds: the first BLOCK_BYTES (the thread that takes the blocks waits for it
        alone), the others `block_lines` lines at the last block's length of a line."""
        if not self.blocks_handed_out:
            return BLOCK_BYTES
        return min(MAX_BLOCK_BYTES, max(BLOCK_BYTES, self.line_bytes * self.block_lines))

    def most_lines(self) -> int:
        """The most lines a block can hold, at the last block's length of a line."""
        return min(MAX_BLOCK_LINES, MAX_BLOCK_BYTES // max(self.line_bytes, 1))

    def skip_to(self, offset: int) -> None:
        """Discard content up to `offset` (read by an earlier run). A source that ends, or
        breaks, before it has nothing more to give."""
        if offset <= self.offset + len(self.pending):
            del self.pending[: offset - self.offset]
            self.offset = offset
            return
        to_skip = offset - self.offset - len(self.pending)
        self.offset += len(self.pending)
        self.pending.clear()
        if not is_compressed(self.stream) and self.stream.seekable():
            self.stream.seek(self.stream.tell() + to_skip)
            self.offset = offset
            return
        while to_skip > 0:
            try:
                chunk = self.stream.read(min(to_skip, READ_BYTES))
            except DECOMPRESSION_ERRORS as error:
                self.broken = describe(error)
                return
            if not chunk:  # shorter than what was read before: nothing new
                self.ended = True
                return
            to_skip -= len(chunk)
            self.offset += len(chunk)

    def _hand_out(self, length: int) -> Block:
        """The first `length` pending bytes as a block: the pending buffer itself, its tail (part
        of a line) moved to a new one; copying the block's bytes would fault in fresh pages for
        each block."""
        data, self.pending = self.pending, self.pending[length:]
        del data[length:]
        self.line_bytes = length // max(count_lines(data), 1)
        self.blocks_handed_out += 1
        self.offset += length
        return Block(data, self.offset)

    def _overlong(self) -> Iterator[Block]:
        """Discard one line longer than MAX_LINE, up to and including its newline."""
        sample = sample_of(bytes(self.pending[:4096]))
        skipped = len(self.pending)
        self.pending.clear()
        while True:
            chunk = read_some(self.stream, READ_BYTES)
            if not chunk:
                if not self.follow:
                    break
                time.sleep(FOLLOW_POLL_SECONDS)
                continue
            newline = chunk.find(b"\n")
            if newline >= 0:
                skipped += newline + 1
                self.pending += chunk[newline + 1 :]
                break
            skipped += len(chunk)
        self.offset += skipped
        yield Block(b"", self.offset, overlong_sample=sample)

    def _read(self) -> bytes:
        """The next bytes; b"" when there is nothing more now (or ever: see `ended`)."""
        if self.broken is not None:
            raise EOFError(self.broken)
        if self.ended:
            return b""
        if self.follow and self.pipe:
            readable, _, _ = select.select([self.stream], [], [], FOLLOW_POLL_SECONDS)
            if not readable:
                return b""
        chunk = read_some(self.stream, READ_BYTES)
        if not chunk and (not self.follow or self.pipe):
            self.ended = True
        return chunk

    def _newline_ended(self) -> Iterator[Block]:
        """Hand out the pending lines up to the last newline, if any."""
        last_newline = self.pending.rfind(b"\n")
        if last_newline >= 0:
            yield self._hand_out(last_newline + 1)

    def _whole_lines(self) -> Iterator[Block]:
        if self.pending.rfind(b"\n") >= 0:
            yield from self._newline_ended()
        elif len(self.pending) > MAX_LINE:
            yield from self._overlong()

    def blocks(self) -> Iterator[Block | None]:
        while True:
            try:
                chunk = self._read()
            except DECOMPRESSION_ERRORS as error:
                broken = self.broken or describe(error)
                yield from self._newline_ended()
                self.held_back = len(self.pending)  # the stream broke inside it: not a whole line
                yield Block(b"", self.offset, broken_tail=broken)
                return
            if chunk:
                self.pending += chunk
                if len(self.pending) >= self.block_bytes:
                    yield from self._whole_lines()
                elif len(self.pending) > MAX_LINE and self.pending.rfind(b"\n") < 0:
                    yield from self._overlong()
                continue
            yield from self._whole_lines()
            if self.ended:
                yield from self._flush_all()
                return
            yield None  # nothing more for now: the caller may commit
            if not self.pipe:
                time.sleep(FOLLOW_POLL_SECONDS)

    def _flush_all(self) -> Iterator[Block]:
        """At the end of the input: hand out what is whole, and decide on a partial line."""
        yield from self._newline_ended()
        if self.pending:
            if reader_finishes(self.stream):
                yield self._hand_out(len(self.pending))  # finished input: the line is whole
            else:
                self.held_back = len(self.pending)  # a plain file may still be written to


def read_ahead(
    blocks: Iterator[Block | None], prepare: Callable[[Block | None], Block | None], depth: int = READ_AHEAD_BLOCKS,
) -> Iterator[Block | None]:
    """Yield `blocks`, reading (and decompressing) the next ones in a thread meanwhile, and preparing
    them there, in order (`prepare`: the cursor's cutter finds, reads and cuts their lines).

    zlib, bz2, lzma and the kernel release the GIL, so a finished file's
    decompression, line scan and parse overlap with the work done on the blocks
    before it. If the consumer stops early (an error, an interrupt), the thread
    stops too, at its next block.
    """
    ahead: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stopped = threading.Event()

    def hand_over(item) -> bool:
        while not stopped.is_set():
            try:
                ahead.put(item, timeout=FOLLOW_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for block in blocks:
                if not hand_over(prepare(block)):
                    return
        except BaseException as error:  # handed to the consumer, which re-raises it
            hand_over(error)
        hand_over(done)

    producer = threading.Thread(target=produce, name="wheelstats-read-ahead", daemon=True)
    producer.start()
    try:
        while (item := ahead.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stopped.set()
