"""Apache combined log lines, assembled column-wise with Arrow kernels.

A batch of hits arrives as columns (client, time, request, status, size, referrer,
agent); the lines are joined in C++ by ``binary_join_element_wise`` and written out as
one buffer, so a million lines cost a second or two, not a Python loop.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_CLOCK = pa.array([f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86400)])
_SECONDS_PER_DAY = 86400


@dataclass(frozen=True, slots=True)
class LogBatch:
    """Columns of one batch of log lines, already sorted as they are to be written.

    ``epoch`` is UTC seconds; ``offset_minutes`` the server's UTC offset per line (the
    written local time is ``epoch + offset``); text columns are Arrow string arrays;
    ``size`` of -1 is written as ``-``.
    """

    client: pa.Array
    epoch: np.ndarray
    offset_minutes: np.ndarray
    request: pa.Array
    status: np.ndarray
    size: np.ndarray
    referrer: pa.Array
    agent: pa.Array


def _offset_text(minutes: int) -> str:
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"


def time_fields(epoch: np.ndarray, offset_minutes: np.ndarray) -> pa.Array:
    """``05/Mar/2020:14:03:12 +0000`` for each UTC second and offset."""
    local = epoch.astype(np.int64) + offset_minutes.astype(np.int64) * 60
    days = local // _SECONDS_PER_DAY
    first = int(days.min()) if len(days) else 0
    day_names = []
    for day in range(first, (int(days.max()) if len(days) else 0) + 1):
        date = datetime.fromtimestamp(day * _SECONDS_PER_DAY, tz=timezone.utc)
        day_names.append(f"{date.day:02d}/{_MONTHS[date.month - 1]}/{date.year}:")
    day_text = pa.array(day_names).take(pa.array(days - first))
    clock = _CLOCK.take(pa.array(local % _SECONDS_PER_DAY))
    offsets, offset_index = np.unique(offset_minutes, return_inverse=True)
    offset_text = pa.array([" " + _offset_text(int(m)) for m in offsets]).take(pa.array(offset_index))
    return pc.binary_join_element_wise(day_text, clock, offset_text, "")


def format_lines(batch: LogBatch) -> pa.Array:
    """The combined-format lines of ``batch``, each ending in a newline."""
    status = pc.cast(pa.array(batch.status), pa.string())
    size = pc.if_else(
        pa.array(batch.size < 0), pa.scalar("-"), pc.cast(pa.array(batch.size), pa.string())
    )
    return pc.binary_join_element_wise(
        batch.client, " - - [", time_fields(batch.epoch, batch.offset_minutes), '] "',
        batch.request, '" ', status, " ", size, ' "', batch.referrer, '" "', batch.agent, '"\n',
        "",
    )


def lines_buffer(lines: pa.Array) -> memoryview:
    """The bytes of newline-terminated ``lines`` as one contiguous buffer (no copy)."""
    lines = lines.cast(pa.large_string()) if isinstance(lines, pa.ChunkedArray) else lines
    if isinstance(lines, pa.ChunkedArray):
        lines = lines.combine_chunks()
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32 if lines.type == pa.string() else np.int64)
    start, end = int(offsets[lines.offset]), int(offsets[lines.offset + len(lines)])
    return memoryview(lines.buffers()[2])[start:end]


def open_output(path: Path) -> BinaryIO:
    """A binary writer for ``path``, gzip (level 1) if it ends in ``.gz``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".gz":
        # mtime 0: the same content gives the same bytes (a deterministic file).
        return _ClosingGzip(path.name[:-3], "wb", 1, open(path, "wb"), mtime=0)
    return open(path, "wb")


class _ClosingGzip(gzip.GzipFile):
    """A GzipFile that also closes the file it writes into."""

    def close(self) -> None:
        inner = self.fileobj
        try:
            super().close()
        finally:
            if inner is not None:
                inner.close()
