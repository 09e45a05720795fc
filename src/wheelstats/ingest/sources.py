"""Reading log sources: plain or compressed files and standard input, in blocks of whole lines.

Offsets count bytes of decompressed content, so a compressed copy of a log has
the same offsets as the plain one.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import queue
import select
import sys
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from wheelstats.parsing.lines import MAX_LINE, sample_of

READ_BYTES = 4 << 20
BLOCK_BYTES = 16 << 20
FOLLOW_POLL_SECONDS = 0.2
STDIN = "-"

MAGIC = {b"\x1f\x8b": gzip.open, b"BZh": bz2.open, b"\xfd7zXZ\x00": lzma.open}
# What a broken compressed stream raises while it is read.
DECOMPRESSION_ERRORS = (EOFError, gzip.BadGzipFile, zlib.error, lzma.LZMAError, OSError)


class SourceError(Exception):
    """A source cannot be read at all."""


@dataclass(frozen=True, slots=True)
class Block:
    """Whole lines read from a source, or one line too long to keep in memory."""

    data: bytes
    end_offset: int            # offset just after this block
    overlong_sample: str | None = None   # set for a single over-long line; data is empty
    broken_tail: str | None = None       # the stream broke here: why (the rest is lost)


def is_stdin(name: str | os.PathLike) -> bool:
    return str(name) == STDIN


def is_stdin_stream(stream: BinaryIO) -> bool:
    return stream is sys.stdin.buffer


def open_source(name: str | os.PathLike) -> BinaryIO:
    """Open a log for reading its decompressed bytes (gzip, bzip2, xz or plain)."""
    if is_stdin(name):
        return sys.stdin.buffer
    path = Path(name)
    try:
        raw = open(path, "rb")
    except FileNotFoundError:
        raise SourceError(f"No such file: {str(path)!r}") from None
    except IsADirectoryError:
        raise SourceError(f"{str(path)!r} is a folder; give the log files in it") from None
    except PermissionError:
        raise SourceError(f"Permission denied: {str(path)!r}") from None
    magic = raw.read(6)
    raw.seek(0)
    for prefix, opener in MAGIC.items():
        if magic.startswith(prefix):
            return opener(raw)
    return raw


def is_compressed(stream: BinaryIO) -> bool:
    return isinstance(stream, (gzip.GzipFile, bz2.BZ2File, lzma.LZMAFile))


def read_some(stream: BinaryIO, size: int) -> bytes:
    """Read up to `size` bytes, returning what is there now on a pipe."""
    reader = getattr(stream, "read1", None)
    return reader(size) if reader is not None else stream.read(size)


class LineReader:
    """Reads a source from an offset in blocks of whole lines.

    With `follow`, the end of the input is not the end: `blocks()` yields None
    while it waits for more, so the caller can commit what it has. An
    unterminated last line is held back until its newline arrives, unless the
    input is finished (a compressed file, or standard input at its end).
    """

    def __init__(self, stream: BinaryIO, *, start_offset: int = 0, follow: bool = False, prefix: bytes = b""):
        self.stream = stream
        self.follow = follow
        self.offset = start_offset      # of the first byte not yet handed out
        self.pending = bytearray(prefix)  # bytes read from offset on, not handed out yet
        self.held_back = 0              # bytes of an unterminated final line left unread
        self.ended = False              # no more input will come

    def skip_to(self, offset: int) -> None:
        """Discard content up to `offset` (the checkpoint of an earlier run)."""
        if offset <= self.offset + len(self.pending):
            del self.pending[: offset - self.offset]
            self.offset = offset
            return
        to_skip = offset - self.offset - len(self.pending)
        self.pending.clear()
        if not is_compressed(self.stream) and self.stream.seekable():
            self.stream.seek(self.stream.tell() + to_skip)
        else:
            while to_skip > 0:
                chunk = self.stream.read(min(to_skip, READ_BYTES))
                if not chunk:
                    raise SourceError("the source is shorter than its checkpoint")
                to_skip -= len(chunk)
        self.offset = offset

    def _hand_out(self, length: int) -> Block:
        data = bytes(self.pending[:length])
        del self.pending[:length]
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
        if self.follow and is_stdin_stream(self.stream):
            readable, _, _ = select.select([self.stream], [], [], FOLLOW_POLL_SECONDS)
            if not readable:
                return b""
        chunk = read_some(self.stream, READ_BYTES)
        if not chunk and (not self.follow or is_stdin_stream(self.stream)):
            self.ended = True
        return chunk

    def _whole_lines(self) -> Iterator[Block]:
        last_newline = self.pending.rfind(b"\n")
        if last_newline >= 0:
            yield self._hand_out(last_newline + 1)
        elif len(self.pending) > MAX_LINE:
            yield from self._overlong()

    def blocks(self) -> Iterator[Block | None]:
        while True:
            try:
                chunk = self._read()
            except DECOMPRESSION_ERRORS as error:
                yield from self._flush_all()
                yield Block(b"", self.offset, broken_tail=f"{type(error).__name__}: {error}")
                return
            if chunk:
                self.pending += chunk
                if len(self.pending) >= BLOCK_BYTES:
                    yield from self._whole_lines()
                elif len(self.pending) > MAX_LINE and self.pending.rfind(b"\n") < 0:
                    yield from self._overlong()
                continue
            yield from self._whole_lines()
            if self.ended:
                yield from self._flush_all()
                return
            yield None  # nothing more for now: the caller may commit
            if not is_stdin_stream(self.stream):
                time.sleep(FOLLOW_POLL_SECONDS)

    def _flush_all(self) -> Iterator[Block]:
        """At the end of the input: hand out what is whole, and decide on a partial line."""
        last_newline = self.pending.rfind(b"\n")
        if last_newline >= 0:
            yield self._hand_out(last_newline + 1)
        if self.pending:
            if is_compressed(self.stream) or is_stdin_stream(self.stream):
                yield self._hand_out(len(self.pending))  # finished input: the line is whole
            else:
                self.held_back = len(self.pending)  # a plain file may still be written to


def read_ahead(blocks: Iterator[Block | None], depth: int = 2) -> Iterator[Block | None]:
    """Yield `blocks`, reading (and decompressing) the next ones in a thread meanwhile.

    zlib, bz2 and lzma release the GIL, so a finished file's decompression
    overlaps with the work done on the blocks before it.
    """
    ahead: queue.Queue = queue.Queue(maxsize=depth)
    done = object()

    def produce() -> None:
        try:
            for block in blocks:
                ahead.put(block)
        except BaseException as error:  # handed to the consumer, which re-raises it
            ahead.put(error)
        ahead.put(done)

    threading.Thread(target=produce, name="wheelstats-read-ahead", daemon=True).start()
    while (item := ahead.get()) is not done:
        if isinstance(item, BaseException):
            raise item
        yield item

