"""Content-defined chunks of a source's lines, and their fingerprints.

Every line gets a 64-bit hash (DuckDB's hash() of its bytes, newline
included, computed by the kernel: parsing/_kernel.c). A line is a *candidate* end when its hash is 0 modulo
CANDIDATE_EVERY, and it ends a chunk when no other candidate is among the
MIN_CHUNK_LINES - 1 lines before it: so where a chunk ends depends only on the
few lines there, never on where the file started, and the same lines are cut
the same way in any file that holds them (a concatenation, a copy under
another name). A chunk is about CANDIDATE_EVERY lines long; one of fewer than
MIN_CHUNK_LINES lines can only start a source. A run of MAX_CHUNK_LINES lines
(or MAX_CHUNK_BYTES) with no end is cut there ('cut', not content-defined:
only degenerate logs, such as a flood of identical lines, have such runs).

A chunk's fingerprint is a polynomial over its line hashes modulo 2**64,
F = sum(h[t] * BASE**(n-1-t)), so that the fingerprint of every prefix and
every suffix of a chunk costs one pass (see `prefix_fingerprints`,
`suffix_fingerprints`); those are what recognise the lines of a junction, where
one ingested log's tail meets another's head inside one chunk.

Everything here is vectorised with numpy over a block's lines; no Python loop
runs per line.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np

from wheelstats.parsing import program
from wheelstats.store import transaction

CANDIDATE_EVERY = 64
MIN_CHUNK_LINES = 4
MAX_CHUNK_LINES = 1024
MAX_CHUNK_BYTES = 4 << 20
MAX_HELD_RUN_BYTES = 8 << 20  # a run of cut chunks waits for the next block up to this size (see `cut`)

# How a chunk starts and ends.
BOUNDARY = "boundary"          # a content-defined end (before it, for a start)
SOURCE_START = "source_start"  # the source's first line
SOURCE_END = "source_end"      # the end of what was read of the source (it may grow)
CUT = "cut"                    # a run too long without an end, or a line too long to read

_MASK = (1 << 64) - 1
BASE = 0x9E3779B97F4A7C15  # odd, so invertible modulo 2**64

# Powers for runs up to the longest a stored edge can be (a short first chunk and a whole second one).
_LONGEST_RUN = MIN_CHUNK_LINES + MAX_CHUNK_LINES
POWERS = np.concatenate(([np.uint64(1)], np.cumprod(np.full(_LONGEST_RUN, BASE, dtype=np.uint64), dtype=np.uint64)))
INVERSE_POWERS = np.concatenate(
    ([np.uint64(1)], np.cumprod(np.full(_LONGEST_RUN, pow(BASE, -1, 1 << 64), dtype=np.uint64), dtype=np.uint64))
)
PROBE = "wheelstats line hash probe"  # its hash is kept in meta: fingerprints made by another line hash are dropped


@dataclass(frozen=True, slots=True)
class OpenChunk:
    """The chunk a source goes on with: where it starts, and its lines counted already."""

    first_line: int     # its first line's number in the source
    offset: int         # its first byte in the decompressed content
    starts: str         # SOURCE_START, BOUNDARY or CUT
    quiet_before: int   # lines since the last candidate before it, at most MIN_CHUNK_LINES
    decided: int = 0    # its first lines already counted (committed while following, or by an earlier run)
    kept: int = 0       # of those, how many the source holds

    @classmethod
    def source_start(cls) -> OpenChunk:
        return cls(1, 0, SOURCE_START, MIN_CHUNK_LINES)


@dataclass(frozen=True, slots=True)
class Chunk:
    """One chunk cut from a block: lines [first, end) of the block's line arrays."""

    first: int          # index of its first line in the block
    end: int            # index after its last line
    fingerprint: int
    starts: str
    ends: str
    quiet_before: int

    @property
    def lines(self) -> int:
        return self.end - self.first

    @property
    def matchable(self) -> bool:
        """Whether its edges are content-defined (or a source's own), so that its lines can be
        recognised whole; cut chunks never are."""
        return self.starts != CUT and self.ends != CUT


@dataclass(frozen=True, slots=True)
class Cuts:
    """A block's lines cut into chunks: the closed ones, and the open one that goes on."""

    chunks: list[Chunk]   # in order; with at_end, the last one ends SOURCE_END
    open_first: int       # index of the open chunk's first line (== number of lines if none)
    open_starts: str
    open_quiet: int


def line_ends(data: bytes) -> np.ndarray:
    """The end (exclusive, newline included) of each line of `data`; a last line may lack its newline."""
    return program.line_ends_and_hashes(data)[0]


def line_hashes(data: bytes, ends: np.ndarray) -> np.ndarray:
    """The 64-bit hash of each line of `data` (its bytes and newline; a missing last newline counts as
    there): DuckDB's hash() of those bytes, computed by the kernel. `ends` are data's line ends."""
    found_ends, hashes = program.line_ends_and_hashes(data)
    if not np.array_equal(found_ends, ends):
        raise ValueError("ends are not the line ends of data")
    return hashes


def make_comparable(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Drop the stored fingerprints if this DuckDB's hash() differs from the one that made them
    (they could never match again); what to tell the user about it, if anything."""
    stored = con.execute("SELECT value FROM meta WHERE key = 'line_hash_probe'").fetchall()
    now = str(program.hash_bytes(PROBE.encode()))
    if stored and stored[0][0] == now:
        return []
    with transaction(con):
        con.execute("DELETE FROM chunks")
        con.execute("DELETE FROM open_chunks")
        con.execute("INSERT OR REPLACE INTO meta VALUES ('line_hash_probe', ?)", [now])
    if not stored:
        return []
    return ["This DuckDB hashes lines unlike the one that stored the logs ingested so far: their fingerprints "
            "were dropped, so their lines are no longer recognised inside other files. To recognise them again, "
            "ingest them again with `wheelstats ingest --again`."]


def cut(hashes: np.ndarray, ends: np.ndarray, start: OpenChunk, *, at_end: bool) -> Cuts:
    """Cut a block's lines (the first of them starting `start`) into chunks.

    Without `at_end`, the lines after the last end form the open chunk, which
    goes on in the next block; so does a run of cut chunks that reaches the
    block's end (while it is at most MAX_HELD_RUN_BYTES), for a copy of an
    ingested log can straddle its cuts and is recognised only within the whole
    run (recognise.py). With `at_end`, they close as a SOURCE_END chunk, which
    is also the open chunk: it goes on if the source grows.
    """
    count = len(hashes)
    index = np.arange(count, dtype=np.int64)
    candidate = hashes % np.uint64(CANDIDATE_EVERY) == 0
    before_block = -1 - start.quiet_before  # the last candidate before the block was there, or earlier
    last_candidate = np.maximum.accumulate(np.where(candidate, index, before_block))  # at or before each line
    previous_candidate = np.concatenate(([before_block], last_candidate[:-1]))
    natural = np.flatnonzero(candidate & (index - previous_candidate >= MIN_CHUNK_LINES))
    closing = _with_cuts(natural, ends, count)  # (last line, how it ends) of each chunk
    if at_end and count and (not closing or closing[-1][0] < count - 1):
        closing.append((count - 1, SOURCE_END))
    spans = _spans(closing)
    chunks: list[Chunk] = []
    first, starts, quiet = 0, start.starts, start.quiet_before
    for (last, kind), fingerprint in zip(closing, _fingerprints(hashes, spans)):
        chunks.append(Chunk(first, last + 1, int(fingerprint), starts, kind, quiet))
        if kind == SOURCE_END:  # it goes on if the source grows
            return Cuts(chunks, first, starts, quiet)
        first, starts = last + 1, kind
        quiet = 0 if kind == BOUNDARY else min(MIN_CHUNK_LINES, int(last - last_candidate[last]))
    held = _held_run(chunks, ends) if not at_end and chunks and chunks[-1].ends == CUT else None
    if held is not None:
        return Cuts(chunks[:held], chunks[held].first, chunks[held].starts, chunks[held].quiet_before)
    return Cuts(chunks, first, starts, quiet)


def _held_run(chunks: list[Chunk], ends: np.ndarray) -> int | None:
    """Where the run of cut chunks at the end of `chunks` begins, if it began in this block (at a
    content-defined end or the source's start) and is small enough to wait for the next block."""
    begins = len(chunks) - 1
    while begins > 0 and chunks[begins].starts == CUT:
        begins -= 1
    run = chunks[begins]
    if run.starts == CUT or int(ends[-1]) - (int(ends[run.first - 1]) if run.first else 0) > MAX_HELD_RUN_BYTES:
        return None
    return begins


def _spans(closing: list[tuple[int, str]]) -> list[tuple[int, int]]:
    spans, first = [], 0
    for last, _ in closing:
        spans.append((first, last + 1))
        first = last + 1
    return spans


def _with_cuts(natural: np.ndarray, byte_ends: np.ndarray, count: int) -> list[tuple[int, str]]:
    """The natural ends, and cuts wherever a chunk would pass MAX_CHUNK_LINES or MAX_CHUNK_BYTES
    (also in the open run after the last end, so that what is held back stays bounded)."""
    if not count:
        return []
    starts = np.concatenate(([0], natural + 1))
    stops = np.concatenate((natural, [count - 1]))  # the last one: the open run, if not empty
    first_bytes = np.where(starts > 0, byte_ends[np.maximum(starts - 1, 0)], 0)
    too_many_bytes = byte_ends[np.minimum(stops, count - 1)] - first_bytes > MAX_CHUNK_BYTES
    too_long = (stops - starts + 1 > MAX_CHUNK_LINES) | too_many_bytes
    result: list[tuple[int, str]] = []
    for position, last in enumerate(natural.tolist()):
        if too_long[position]:
            result += _cuts_within(int(starts[position]), last, byte_ends)
        result.append((last, BOUNDARY))
    open_start = int(starts[-1])
    if open_start < count and too_long[-1]:
        result += _cuts_within(open_start, count - 1, byte_ends)
    return result


def _cuts_within(first: int, last: int, byte_ends: np.ndarray) -> list[tuple[int, str]]:
    """Cuts in lines first..last (an end at `last` follows), each chunk within the limits."""
    cuts = []
    while True:
        base = byte_ends[first - 1] if first else 0
        by_bytes = int(np.searchsorted(byte_ends, base + MAX_CHUNK_BYTES, side="right")) - 1
        stop = min(first + MAX_CHUNK_LINES - 1, max(by_bytes, first))
        if stop >= last:
            return cuts
        cuts.append((stop, CUT))
        first = stop + 1


def _fingerprints(hashes: np.ndarray, spans: list[tuple[int, int]]) -> np.ndarray:
    """F = sum(h[t] * BASE**(n-1-t)) mod 2**64 over each span's lines."""
    if not spans:
        return np.empty(0, dtype=np.uint64)
    firsts = np.array([first for first, _ in spans], dtype=np.int64)
    lengths = np.array([end - first for first, end in spans], dtype=np.int64)
    covered = int(spans[-1][1])
    owner = np.repeat(np.arange(len(spans)), lengths)
    position = np.arange(covered, dtype=np.int64) - firsts[owner]
    terms = hashes[:covered] * POWERS[lengths[owner] - 1 - position]
    return np.add.reduceat(terms, firsts).astype(np.uint64)


def fingerprint(hashes: np.ndarray) -> int:
    """The fingerprint of these lines, in order."""
    return int(_fingerprints(hashes, [(0, len(hashes))])[0]) if len(hashes) else 0


def combine(first: int, second: int, second_lines: int) -> int:
    """The fingerprint of two runs of lines one after the other, from theirs."""
    return (first * pow(BASE, second_lines, 1 << 64) + second) & _MASK


def prefix_fingerprints(hashes: np.ndarray) -> np.ndarray:
    """The fingerprint of lines [0, t] for every t."""
    position = np.arange(len(hashes))
    return np.cumsum(hashes * INVERSE_POWERS[position], dtype=np.uint64) * POWERS[position]


def suffix_fingerprints(hashes: np.ndarray) -> np.ndarray:
    """The fingerprint of lines [t, n) for every t."""
    n = len(hashes)
    terms = hashes * POWERS[n - 1 - np.arange(n)]
    return np.cumsum(terms[::-1], dtype=np.uint64)[::-1]
