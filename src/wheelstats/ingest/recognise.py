"""Recognising lines the store holds already, by the fingerprints of their chunks.

A block's chunk whose fingerprint (and length) equals a stored chunk that its
source (still in the store) holds whole is already ingested, and so is a later chunk of the block
equal to an earlier one. A chunk that matches nothing whole may still begin
with the lines that ended an ingested source, or end with the lines that
began one: that is the junction of a concatenation (`cat a.log b.log`), where
a's last chunk and b's first one (or first two, if b's first is shorter than
MIN_CHUNK_LINES) run together. Those prefixes and suffixes are checked against
the stored source-edge chunks, repeatedly, so a short log wholly inside one
chunk is recognised too. The end of the source being read itself, where an
earlier run stopped, is matched only right after lines held already (a log
followed by itself, then by another, ends a copy of itself there): a log that
grows repeats its last lines often (a client fetching the same file again within
the second writes the same line), and that end, as short as one line, would
otherwise take new lines for old.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import duckdb
import numpy as np

from wheelstats.ingest.chunks import (
    BOUNDARY,
    CUT,
    INVERSE_POWERS,
    MIN_CHUNK_LINES,
    POWERS,
    SOURCE_END,
    SOURCE_START,
    Chunk,
    combine,
    prefix_fingerprints,
    suffix_fingerprints,
)

NOT_HELD = -1
MAX_ADDED_CHUNKS = 1 << 16  # chunks a run remembers committing (about 4 million lines) before reading the store again


@dataclass(frozen=True, slots=True)
class EdgeRecord:
    """A stored run of lines at a source's start or end, held whole by its source."""

    lines: int
    source_id: int
    at_start: bool
    at_end: bool


@dataclass(frozen=True, slots=True)
class Edges:
    """The stored edge records a source's lines are matched against, of each run of lines its first holder's."""

    ends: dict[tuple[int, int], EdgeRecord]            # runs that ended a source
    ends_of_others: dict[tuple[int, int], EdgeRecord]  # the same less the source's own (unless also its start)
    has_own_ends: bool                                 # whether the source ended runs itself
    starts: dict[tuple[int, int], EdgeRecord]          # runs that began a source
    whole_logs: dict[tuple[int, int], EdgeRecord]      # short logs whole (they began and ended a source)
    window: int                                        # the longest run a record can match

    @classmethod
    def of(cls, records: dict[tuple[int, int], list[EdgeRecord]], source_id: int) -> Edges:
        def first_holders(usable: Callable[[EdgeRecord], bool]) -> dict[tuple[int, int], EdgeRecord]:
            found = {}
            for key, held in records.items():
                record = next((r for r in held if usable(r)), None)
                if record is not None:
                    found[key] = record
            return found

        def of_others(record: EdgeRecord) -> bool:
            return record.source_id != source_id or record.at_start

        return cls(
            ends=first_holders(lambda r: r.at_end),
            ends_of_others=first_holders(lambda r: r.at_end and of_others(r)),
            has_own_ends=any(r.at_end and not of_others(r) for held in records.values() for r in held),
            starts=first_holders(lambda r: r.at_start),
            whole_logs=first_holders(lambda r: r.at_start and r.at_end),
            window=max((r.lines for held in records.values() for r in held), default=0),
        )


@dataclass(frozen=True, slots=True)
class Recognised:
    """Which of a block's lines the store holds already, and which sources hold them."""

    already: np.ndarray        # bool per line of the block
    held_by: Counter[int]      # lines already held, by the holding source


class StoredChunks:
    """The store's chunks as one run knows them: read from the store once, kept current as the run's
    batches are stored (`stored`), and read again once the run has stored MAX_ADDED_CHUNKS (a chunk
    stored is a dictionary entry, one read is three numbers in arrays: memory stays bounded however
    long the log). While a process holds the store open no other can write it, so only a run that lets
    go of it (following), changes it otherwise (forget) or rolls back calls `forget`."""

    def __init__(self) -> None:
        self._fingerprints: np.ndarray | None = None  # of the chunks held whole, sorted
        self._lines: np.ndarray | None = None
        self._holders: np.ndarray | None = None
        self._added: dict[tuple[int, int], int] = {}   # stored by this run since
        self._edges: dict[tuple[int, int], list[EdgeRecord]] | None = None
        self._edges_for: dict[int, Edges] = {}  # by the source whose lines are matched against them

    def forget(self) -> None:
        self._fingerprints = self._lines = self._holders = self._edges = None
        self._added = {}

    def stored(self, source_id: int, rows, replaced) -> None:
        """A batch's chunk rows (cursor.ChunkRow) are in the store, and `replaced` (if any) is not (stored in the
        open transaction: after a rollback, the ingester forgets them all)."""
        if replaced is not None or len(self._added) >= MAX_ADDED_CHUNKS:
            self.forget()  # the store holds these rows now: read it again when next asked
            return
        for row in rows:
            if row.kept == row.lines and CUT not in (row.starts, row.ends):
                key = (row.fingerprint, row.lines)
                self._added[key] = min(self._added.get(key, source_id), source_id)
            if row.starts == SOURCE_START or row.ends == SOURCE_END:
                self._edges = None

    def whole_matches(self, con: duckdb.DuckDBPyConnection, chunks: list[Chunk]) -> dict[int, int]:
        """Chunk position -> the source holding a stored chunk equal to it."""
        if self._fingerprints is None:
            rows = con.execute(
                f"""SELECT fingerprint, lines, min(source_id) FROM chunks
                    WHERE kept = lines AND starts <> '{CUT}' AND ends <> '{CUT}'
                      AND source_id IN (SELECT source_id FROM sources)
                    GROUP BY ALL ORDER BY fingerprint, lines"""
            ).fetchnumpy()
            self._fingerprints = rows["fingerprint"].astype(np.uint64)
            self._lines = rows["lines"].astype(np.int64)
            self._holders = rows["min(source_id)"].astype(np.int64)
        found: dict[int, int] = {}
        matchable = [(i, c) for i, c in enumerate(chunks) if c.matchable]
        if not matchable:
            return found
        wanted = np.array([c.fingerprint for _, c in matchable], dtype=np.uint64)
        at = np.searchsorted(self._fingerprints, wanted)
        for (i, chunk), position in zip(matchable, at.tolist()):
            holders = []
            while position < len(self._fingerprints) and int(self._fingerprints[position]) == chunk.fingerprint:
                if self._lines[position] == chunk.lines:
                    holders.append(int(self._holders[position]))
                position += 1
            added = self._added.get((chunk.fingerprint, chunk.lines))
            if added is not None:
                holders.append(added)
            if holders:
                found[i] = min(holders)
        return found

    def edges(self, con: duckdb.DuckDBPyConnection, source_id: int) -> Edges:
        if self._edges is None:
            self._edges, self._edges_for = edge_records(con), {}
        edges = self._edges_for.get(source_id)
        if edges is None:
            edges = self._edges_for[source_id] = Edges.of(self._edges, source_id)
        return edges


def recognise(
    con: duckdb.DuckDBPyConnection, source_id: int, hashes: np.ndarray, chunks: list[Chunk], decided: int,
    stored: StoredChunks, after_held: bool,
) -> Recognised:
    """Find the already-ingested lines among `chunks` of source `source_id` (the first `decided`
    lines of the first chunk are counted already and left alone; `after_held`: the line before the
    first chunk was held already)."""
    holder = np.full(len(hashes), NOT_HELD, dtype=np.int64)
    whole = stored.whole_matches(con, chunks)
    first_seen: dict[tuple[int, int], int] = {}  # in this block: (fingerprint, lines) -> its holder
    unmatched: list[Chunk] = []
    for position, chunk in enumerate(chunks):
        key = (chunk.fingerprint, chunk.lines)
        if position in whole:
            holder[chunk.first : chunk.end] = whole[position]
        elif chunk.matchable and key in first_seen:
            holder[chunk.first : chunk.end] = first_seen[key]
        else:
            unmatched.append(chunk)
            if chunk.matchable:
                first_seen[key] = source_id
    if unmatched:
        _match_edges(stored.edges(con, source_id), decided > 0 or after_held, hashes, unmatched, holder)
    if chunks and decided:
        holder[chunks[0].first : chunks[0].first + decided] = NOT_HELD
    already = holder != NOT_HELD
    sources, counts = np.unique(holder[already], return_counts=True)
    return Recognised(already, Counter(dict(zip(sources.tolist(), counts.tolist()))))


def edge_records(con: duckdb.DuckDBPyConnection) -> dict[tuple[int, int], list[EdgeRecord]]:
    """(fingerprint, lines) -> the stored runs at sources' starts and ends, held whole, by source.

    A source's first chunk and its last (while the source ended there), and,
    when its first chunk is shorter than MIN_CHUNK_LINES, its first two
    together: in a concatenation that short chunk's end can be lost to the
    previous log's candidates, and the two run together.
    """
    records: dict[tuple[int, int], EdgeRecord] = {}
    for fingerprint, lines, source_id, at_start, at_end in con.execute(
        f"""SELECT fingerprint, lines, source_id, starts = '{SOURCE_START}', ends = '{SOURCE_END}' FROM chunks
            WHERE kept = lines AND (starts = '{SOURCE_START}' OR ends = '{SOURCE_END}')
              AND source_id IN (SELECT source_id FROM sources) ORDER BY source_id"""
    ).fetchall():
        records.setdefault((int(fingerprint), lines), []).append(EdgeRecord(lines, source_id, at_start, at_end))
    for first_print, first_lines, second_print, second_lines, source_id, at_end in con.execute(
        f"""SELECT c1.fingerprint, c1.lines, c2.fingerprint, c2.lines, c1.source_id, c2.ends = '{SOURCE_END}'
            FROM chunks c1 JOIN chunks c2 ON c2.source_id = c1.source_id AND c2.first_line = c1.first_line + c1.lines
            WHERE c1.starts = '{SOURCE_START}' AND c1.ends = '{BOUNDARY}' AND c1.lines < {MIN_CHUNK_LINES}
              AND c1.kept = c1.lines AND c2.kept = c2.lines AND c2.ends <> '{CUT}'
              AND c1.source_id IN (SELECT source_id FROM sources) ORDER BY c1.source_id"""
    ).fetchall():
        fingerprint = combine(int(first_print), int(second_print), second_lines)
        lines = first_lines + second_lines
        records.setdefault((fingerprint, lines), []).append(EdgeRecord(lines, source_id, True, at_end))
    return records


def _match_edges(
    edges: Edges, starts_after_held: bool, hashes: np.ndarray, chunks: list[Chunk], holder: np.ndarray
) -> None:
    """Mark the prefixes of `chunks` that ended a source, and the suffixes that began one (`edges`); a
    prefix is the source's own end only right after lines held already (`starts_after_held`: before the
    first chunk, which may also start with that end, counted before)."""
    if not edges.window:
        return
    ends, starts, whole_logs, window = edges.ends, edges.starts, edges.whole_logs, edges.window
    lengths = np.array([c.lines for c in chunks], dtype=np.int64)
    firsts = np.array([c.first for c in chunks], dtype=np.int64)
    owner = np.repeat(np.arange(len(chunks)), lengths)
    segment_start = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    position = np.arange(len(owner)) - segment_start[owner]
    lines = firsts[owner] + position  # each chunk's lines, one after the other
    line_hashes = hashes[lines]
    # Every prefix's and suffix's fingerprint, all chunks at once (segmented cumulative sums), where records
    # of sources' ends (prefixes) and starts (suffixes) can match them.
    longest_prefix = longest_prefix_of_others = longest_suffix = {}
    if ends:
        running = np.cumsum(line_hashes * INVERSE_POWERS[position], dtype=np.uint64)
        before = np.concatenate(([np.uint64(0)], running))[segment_start]
        prefixes = (running - before[owner]) * POWERS[position]
        longest_prefix = _longest_runs(prefixes, position + 1, owner, ends)
        longest_prefix_of_others = (_longest_runs(prefixes, position + 1, owner, edges.ends_of_others)
                                    if edges.has_own_ends else longest_prefix)
    if starts:
        terms = line_hashes * POWERS[lengths[owner] - 1 - position]
        from_end = np.concatenate((np.cumsum(terms[::-1], dtype=np.uint64)[::-1], [np.uint64(0)]))
        suffixes = from_end[:-1] - from_end[(segment_start + lengths)[owner]]
        longest_suffix = _longest_runs(suffixes, lengths[owner] - position, owner, starts)
    # A chunk alone in its run matches nothing but what these found: only the others are looked at again.
    found_in = {*longest_prefix, *longest_prefix_of_others, *longest_suffix}
    for run in _runs_across_cuts(chunks):
        if len(run) == 1 and run[0] not in found_in:
            continue
        first, last = chunks[run[0]], chunks[run[-1]]
        run_hashes = hashes[first.first : last.end]
        head, tail = 0, len(run_hashes)
        if first.starts in (BOUNDARY, SOURCE_START):
            after_held = starts_after_held if first.first == 0 else holder[first.first - 1] != NOT_HELD
            if after_held:
                usable, longest = ends, longest_prefix
            else:
                usable, longest = edges.ends_of_others, longest_prefix_of_others
            match = longest.get(run[0]) if len(run) == 1 else _next_prefix(run_hashes, head, window, usable)
            while match is not None:  # a log's tail, then maybe short logs whole, ...
                holder[first.first + head : first.first + head + match.lines] = match.source_id
                head += match.lines
                match = _next_prefix(run_hashes, head, window, whole_logs)
        if last.ends in (BOUNDARY, SOURCE_END):
            match = longest_suffix.get(run[-1]) if len(run) == 1 else _next_suffix(run_hashes, head, tail, window, starts)
            if match is not None and match.lines > tail - head:  # it overlaps the prefix: look within the rest
                match = _next_suffix(run_hashes, head, tail, window, starts)
            while match is not None:  # ... a log's head
                holder[first.first + tail - match.lines : first.first + tail] = match.source_id
                tail -= match.lines
                match = _next_suffix(run_hashes, head, tail, window, starts)


def _runs_across_cuts(chunks: list[Chunk]) -> list[list[int]]:
    """The chunks (positions) in runs: a chunk that ends with a cut runs on into the next one, which
    starts with it, for a log copied whole can straddle a cut (the cuts of a long run without a
    content-defined end fall wherever MAX_CHUNK_LINES puts them)."""
    runs: list[list[int]] = []
    for position, chunk in enumerate(chunks):
        previous = chunks[position - 1] if runs else None
        if previous is not None and previous.ends == CUT and chunk.starts == CUT and previous.end == chunk.first:
            runs[-1].append(position)
        else:
            runs.append([position])
    return runs


def _next_prefix(
    run_hashes: np.ndarray, head: int, window: int, records: dict[tuple[int, int], EdgeRecord]
) -> EdgeRecord | None:
    """The longest record equal to the lines from `head` on."""
    return _longest_run(prefix_fingerprints(run_hashes[head : head + window]), records, prefix=True)


def _next_suffix(
    run_hashes: np.ndarray, head: int, tail: int, window: int, records: dict[tuple[int, int], EdgeRecord]
) -> EdgeRecord | None:
    """The longest record equal to the lines before `tail`, within those from `head` on."""
    return _longest_run(suffix_fingerprints(run_hashes[max(head, tail - window) : tail]), records, prefix=False)


def _longest_runs(
    fingerprints: np.ndarray, run_lines: np.ndarray, owner: np.ndarray, records: dict[tuple[int, int], EdgeRecord]
) -> dict[int, EdgeRecord]:
    """Chunk -> the record equal to its longest run (prefix or suffix) that equals one."""
    if not records:
        return {}
    known = np.fromiter((key[0] for key in records), dtype=np.uint64, count=len(records))
    found: dict[int, EdgeRecord] = {}
    for line in np.flatnonzero(np.isin(fingerprints, known)).tolist():
        record = records.get((int(fingerprints[line]), int(run_lines[line])))
        chunk = int(owner[line])
        if record is not None and (chunk not in found or record.lines > found[chunk].lines):
            found[chunk] = record
    return found


def _longest_run(
    fingerprints: np.ndarray, records: dict[tuple[int, int], EdgeRecord], *, prefix: bool
) -> EdgeRecord | None:
    """Of runs of one chunk's remaining lines (prefixes, or suffixes), the longest equal to a record."""
    count = len(fingerprints)
    if not count or not records:
        return None
    run_lines = np.arange(1, count + 1) if prefix else np.arange(count, 0, -1)
    found = _longest_runs(fingerprints, run_lines, np.zeros(count, dtype=np.int64), records)
    return found.get(0)
