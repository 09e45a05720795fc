"""Splitting a block of bytes into lines, vectorised, and setting aside lines no parser should see.

A block holds whole lines. Lines come out as one Arrow string array that shares
the block's memory (each keeps its line terminator; the log pattern allows
it). Lines that are not valid UTF-8, hold a NUL byte, are over MAX_LINE bytes
or are empty are rejected here, with their line numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from wheelstats import arrays

MAX_LINE = 1 << 20  # 1 MiB
SAMPLE_CHARS = 1000


@dataclass(frozen=True, slots=True)
class Rejection:
    line_no: int
    reason: str
    sample: str  # the start of the line, invalid bytes replaced


@dataclass(frozen=True, slots=True)
class Lines:
    table: pa.Table            # columns line_no (int64), line (string): the lines to parse
    rejections: list[Rejection]
    count: int                 # all lines in the block, rejected ones included


def sample_of(raw: bytes) -> str:
    return raw[: SAMPLE_CHARS * 4].decode("utf-8", "replace").rstrip("\r\n")[:SAMPLE_CHARS]


def _bad_utf8_lines(data: bytes, starts: np.ndarray, ends: np.ndarray) -> list[int]:
    """Indices of the lines that are not valid UTF-8 (rare: a slow path is fine)."""
    bad, position = [], 0
    while True:
        try:
            data[position:].decode("utf-8")
            return bad
        except UnicodeDecodeError as error:
            index = int(np.searchsorted(starts, position + error.start, side="right")) - 1
            bad.append(index)
            position = int(ends[index])


def split_lines(data: bytes, first_line_no: int) -> Lines:
    """Split `data` (whole lines; the last may lack its newline) into lines."""
    if not data:
        no_lines = {"line_no": arrays.from_python([], pa.int64()), "line": arrays.from_python([], pa.string())}
        return Lines(pa.table(no_lines), [], 0)
    buffer = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(buffer == 10)
    ends = newlines + 1  # each line keeps its terminator
    if not data.endswith(b"\n"):
        ends = np.append(ends, len(data))
    starts = np.concatenate(([0], ends[:-1]))
    count = len(ends)
    content = ends - starts - (buffer[ends - 1] == 10)

    reasons: dict[int, str] = {}
    for index in np.flatnonzero(content == 0):
        reasons[int(index)] = "empty_line"
    for index in np.flatnonzero(content > MAX_LINE):
        reasons[int(index)] = "line_too_long"
    nul_positions = np.flatnonzero(buffer == 0)
    if len(nul_positions):
        for index in np.unique(np.searchsorted(starts, nul_positions, side="right") - 1):
            reasons.setdefault(int(index), "nul_byte")
    if not data.isascii():
        for index in _bad_utf8_lines(data, starts, ends):
            reasons.setdefault(index, "invalid_utf8")

    offsets = pa.py_buffer(np.concatenate(([0], ends)).astype(np.int64))
    # Text made from the buffers as they are: a cast would check them (and import pyarrow.compute, 60 ms), and the
    # lines that are not UTF-8 are taken out below.
    lines = pa.Array.from_buffers(pa.large_string(), count, [None, offsets, pa.py_buffer(data)])
    line_nos = arrays.numbers(np.arange(first_line_no, first_line_no + count, dtype=np.int64), pa.int64())
    rejections = []
    if reasons:
        keep = np.ones(count, dtype=bool)
        keep[list(reasons)] = False
        rejections = [
            Rejection(first_line_no + i, reason, sample_of(data[starts[i] : ends[i]]))
            for i, reason in sorted(reasons.items())
        ]
        kept = arrays.numbers(np.flatnonzero(keep), pa.int64())
        lines, line_nos = lines.take(kept), line_nos.take(kept)
    table = pa.table({"line_no": line_nos, "line": lines})
    return Lines(table, rejections, count)
