"""Which source a log is, and how far it has been read: the `sources` rows.

A source is recognised by the SHA-256 of its first bytes (its head, up to
HEAD_BYTES of decompressed content), whatever its name, so a renamed, rotated
or recompressed copy is the same source. Its checkpoint (the offset and the
line count consumed) is written in the same transaction as the rows of each
block, so it always says exactly what the store holds.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import duckdb

HEAD_BYTES = 64 << 10


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A source's row: how much of its content is in the store."""

    source_id: int
    offset: int      # bytes of decompressed content consumed
    lines: int       # lines consumed
    head_len: int    # how many of its first bytes identify it
    log_format: str = ""  # what it was read with (LogPattern.source_format)


def head_hash(head: bytes) -> str:
    return hashlib.sha256(head).hexdigest()


def find_source(con: duckdb.DuckDBPyConnection, head: bytes) -> Checkpoint | None:
    """The source whose head this content starts with (the longest such head), if any."""
    rows = con.execute(
        'SELECT source_id, head_len, head_hash, "offset", lines, log_format FROM sources '
        "WHERE head_len <= ? ORDER BY head_len DESC, source_id",
        [len(head)],
    ).fetchall()
    hashes: dict[int, str] = {}
    for source_id, length, digest, offset, lines, log_format in rows:
        if length not in hashes:
            hashes[length] = head_hash(head[:length])
        if hashes[length] == digest:
            return Checkpoint(source_id, offset, lines, length, log_format)
    return None


def add_source(con: duckdb.DuckDBPyConnection, name: str, head: bytes, log_format: str) -> Checkpoint:
    """A new source, known by `head`, at its start."""
    source_id = con.execute(
        "INSERT INTO sources (name, head_hash, head_len, log_format) VALUES (?, ?, ?, ?) RETURNING source_id",
        [name, head_hash(head), len(head), log_format],
    ).fetchall()[0][0]
    return Checkpoint(source_id, 0, 0, len(head), log_format)


def extend_head(con: duckdb.DuckDBPyConnection, source_id: int, head: bytes) -> None:
    """Identify a source by more of its first bytes once more of it has been seen.

    A followed log is first known by its first line only; lengthening its
    head as it grows keeps a different log that starts with the same line
    from being taken for it.
    """
    con.execute(
        "UPDATE sources SET head_hash = ?, head_len = ? WHERE source_id = ?",
        [head_hash(head), len(head), source_id],
    )


def advance(con: duckdb.DuckDBPyConnection, source_id: int, offset: int, lines: int) -> None:
    """Move a source's checkpoint to `offset`, `lines` further on (inside the block's transaction)."""
    con.execute(
        'UPDATE sources SET "offset" = ?, lines = lines + ?, updated_at = current_timestamp WHERE source_id = ?',
        [offset, lines, source_id],
    )


class GrowingHead:
    """A source's first bytes as its blocks go by, while they are fewer than HEAD_BYTES."""

    def __init__(self, head: bytes):
        self.known = bytearray(head)

    def grow(self, data: bytes, end_offset: int) -> bytes | None:
        """The longer head if the block `data` (ending at `end_offset`) adds to it, else None."""
        start = end_offset - len(data)
        if len(self.known) >= HEAD_BYTES or not start <= len(self.known) < end_offset:
            return None
        self.known += data[len(self.known) - start :][: HEAD_BYTES - len(self.known)]
        return bytes(self.known)
