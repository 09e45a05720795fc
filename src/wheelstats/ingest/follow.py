"""Following a growing log: waiting for its first line, and noticing when it is rotated."""

from __future__ import annotations

import os
import time
from typing import BinaryIO

from wheelstats.ingest.checkpoints import HEAD_BYTES
from wheelstats.ingest.sources import (
    DECOMPRESSION_ERRORS,
    FOLLOW_POLL_SECONDS,
    Head,
    describe,
    is_pipe,
    is_stdin,
    read_some,
)


def read_head(stream: BinaryIO, follow: bool) -> Head:
    """The first bytes of a source, which identify it; when following, wait for a whole line."""
    head = bytearray()
    while len(head) < HEAD_BYTES:
        try:
            chunk = read_some(stream, HEAD_BYTES - len(head))
        except DECOMPRESSION_ERRORS as error:
            return Head(bytes(head), describe(error))
        if chunk:
            head += chunk
            if follow and b"\n" in head:
                break
        elif follow and not is_pipe(stream) and b"\n" not in head:
            time.sleep(FOLLOW_POLL_SECONDS)  # a followed file not written yet
        else:
            break
    return Head(bytes(head))


def rotated(name: str, stream: BinaryIO) -> bool:
    """A followed file was renamed away (a new one took its name) or truncated."""
    if is_stdin(name) or is_pipe(stream):
        return False
    try:
        now = os.stat(name)
    except FileNotFoundError:
        return False
    mine = os.fstat(stream.fileno())
    return now.st_ino != mine.st_ino or now.st_size < stream.tell()
