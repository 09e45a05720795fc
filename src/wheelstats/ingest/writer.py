"""The block writer: one batch of lines into the store, in the ingest's open transaction (commits).

The kernel (parsing/program.py) reads the batch's lines (ahead, on the reading
thread: `parse`, ingest.sources.read_ahead); the few it defers (and
every line of a format it has no program for) are read by the SQL definition
(classify.parse_sql, on all cores). Both are screened alike: a time before
PLAUSIBLE_SINCE or more than PLAUSIBLE_AHEAD after now, or an offset beyond
+-14:00, is rejected. Their distinct values become the store's ids (resolve:
new agents and files join their tables); the hits, the counts of ignored,
rejected and already-ingested lines (with the first few rejected lines of each
reason as samples), the batch's chunk fingerprints and the source's checkpoint
are committed together, so a run killed at any moment and run again gives
exactly the totals of an uninterrupted one.
"""

from __future__ import annotations

from collections import Counter
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta

import duckdb
import numpy as np
import pyarrow as pa

from wheelstats import arrays
from wheelstats.ingest import checkpoints
from wheelstats.ingest.account import ALREADY_INGESTED, HIT, IGNORED, REJECTED, Outcome, WrittenBlock
from wheelstats.ingest.candidates import BASE_KINDS, DecodedPaths, ReadLines, from_definition, from_kernel
from wheelstats.ingest.cursor import Batch
from wheelstats.ingest.resolve import StoreIds, hit_rows
from wheelstats.parsing.agents import parse_agent
from wheelstats.parsing.classify import KNOWN_OUTCOME_SQL, NOT_INSTALLER, decoded_path_sql, parse_sql
from wheelstats.parsing.lines import MAX_LINE, Rejection
from wheelstats.parsing.logformat import LogPattern
from wheelstats.parsing.program import (
    DECODE_PATH, DEFER, INDEX, KERNEL_OUTCOMES, ParsedLines, compile_program, defer_everything, line_ends_and_hashes,
    parse_lines,
)
from wheelstats.store import all_threads, dimensions
from wheelstats.store.schema import HIT_KINDS, implied_path_sql

SAMPLES_PER_REASON = 20
PARALLEL_ROWS = 4096
PLAUSIBLE_SINCE = datetime(1995, 1, 1)   # before the web's first package indexes
PLAUSIBLE_AHEAD = timedelta(days=1)      # clocks a little ahead, time zones
EPOCH = datetime(1970, 1, 1)
# The kernel's outcomes that are, or may turn out to be, hits.
MAY_BE_HITS = np.isin(np.arange(len(KERNEL_OUTCOMES)),
                      [KERNEL_OUTCOMES.index(name) for name in (*BASE_KINDS, DECODE_PATH, DEFER)])


def screened_sql(parse: str, since: datetime, until: datetime) -> str:
    """`parse` (the parse SQL) with its time text checked: a +hhmm offset beyond 14:00 either way, or
    a time outside [since, until], rejects the line (in early_outcome, as the parse's own rejections).

    String comparisons on the offset's five characters: no cast, one substring a line.
    """
    return f"""
    SELECT * EXCLUDE (time_text, utc_offset, early_outcome),
        CASE WHEN starts_with(early_outcome, 'reject:') THEN early_outcome
             WHEN utc_offset >= '+' AND utc_offset < '.'
                  AND NOT (utc_offset BETWEEN '+0000' AND '+1400' OR utc_offset BETWEEN '-0000' AND '-1400')
                 THEN 'reject:bad_offset'
             WHEN ts < TIMESTAMP '{since:%Y-%m-%d %H:%M:%S}' OR ts > TIMESTAMP '{until:%Y-%m-%d %H:%M:%S}'
                 THEN 'reject:implausible_time'
             ELSE early_outcome END AS early_outcome
    FROM (SELECT *, right(time_text, 5) AS utc_offset FROM ({parse}))"""


def definition_sql(parse: str, since: datetime, until: datetime) -> str:
    """Over `batch_lines`: each line as the SQL definition reads it, screened, in the columns
    candidates.from_definition takes (an index page's outcome waits for its agent)."""
    kind = "CASE WHEN p.base_kind = 'index' THEN 'search' ELSE p.base_kind END"
    return f"""
    SELECT p.line_no, {KNOWN_OUTCOME_SQL} AS outcome, p.ts, p.client, p.bytes, p.referrer, p.logged_agent,
        CASE WHEN p.path IS DISTINCT FROM ({implied_path_sql(kind, 'p.project', 'p.filename')}) THEN p.path END AS path,
        p.project, p.filename, b.line
    FROM ({screened_sql(parse, since, until)}) p JOIN batch_lines b USING (line_no)
    ORDER BY p.line_no"""


def _outcome(name: str) -> Outcome:
    """'reject:bad_time' -> a rejection, 'ignore:method' -> ignored, 'download' -> a hit."""
    kind, _, reason = name.partition(":")
    if kind == "reject":
        return Outcome(REJECTED, reason)
    if kind == "ignore":
        return Outcome(IGNORED, reason)
    return Outcome(HIT, name)


class BlockWriter:
    """Writes batches of one log format (a compiled pattern, with its escapes), storing clients by one IP
    policy, with their countries unless `countries` is False."""

    def __init__(self, pattern: LogPattern, *, ip_mode: str = "hash", key: bytes | None = None,
                 countries: bool = True):
        if ip_mode == "hash" and key is None:
            raise ValueError("ip_mode 'hash' needs a key")
        self.pattern = pattern
        self.program = compile_program(pattern) or defer_everything()
        self.parse_sql = parse_sql(pattern)
        self.ids = StoreIds(pattern.escape, ip_mode, key, countries=countries)

    def parse(self, data: bytes | bytearray, ends: np.ndarray) -> ParsedLines:
        """The kernel's reading of every line of `data` (whose line ends are `ends`). It needs no store, so
        that a block is read ahead, on the reading thread, while the one before it is stored."""
        until = datetime.now(UTC).replace(tzinfo=None) + PLAUSIBLE_AHEAD
        return parse_lines(self.program, data, ends, 0, len(ends), max_line=MAX_LINE,
                           since=int((PLAUSIBLE_SINCE - EPOCH).total_seconds()),
                           until=int((until - EPOCH).total_seconds()))

    def head_hits(self, head: bytes) -> tuple[int, int]:
        """A source's head's whole lines, and about how many of them are hits (as the kernel reads them; an index
        page only if its agent is an installer's; a line deferred to the definition or decoded there, one): what
        its first blocks are sized by, before a batch says it exactly."""
        data = head[: head.rfind(b"\n") + 1]
        ends, _ = line_ends_and_hashes(data)
        parsed = self.parse(data, ends)
        index = parsed.outcome == KERNEL_OUTCOMES.index(INDEX)
        agent = parsed.fields["agent"]
        agents = agent.values(data)
        installer = np.zeros(len(agents) + 1, dtype=bool)  # the last one: no agent
        for i in np.unique(agent.ids[index & (agent.ids >= 0)]).tolist():
            installer[i] = parse_agent(self.pattern.escape.unescape(agents[i])).is_installer
        hits = MAY_BE_HITS[parsed.outcome] & ~(index & ~installer[agent.ids])
        return len(ends), int(hits.sum())

    def store(self, con: duckdb.DuckDBPyConnection, source_id: int, batch: Batch) -> WrittenBlock:
        """Store `batch` and move the source's checkpoint past it, in the open transaction (commits)."""
        outcomes, rejections = self._store_lines(con, source_id, batch)
        if batch.overlong_sample is not None:
            stop_no = batch.first_line_no + batch.stop
            rejections.append(Rejection(stop_no, "line_too_long", batch.overlong_sample))
            outcomes[Outcome.rejected("line_too_long")] += 1
        outcomes.update(_already(con, batch.held_by))
        record_counts(con, source_id, outcomes)
        record_already_ingested(con, source_id, batch.held_by)
        keep_reject_samples(con, source_id, rejections)
        record_chunks(con, source_id, batch)
        checkpoints.advance(con, source_id, batch.end_offset, batch.lines)
        return WrittenBlock(batch.lines, outcomes)

    def _store_lines(
        self, con: duckdb.DuckDBPyConnection, source_id: int, batch: Batch
    ) -> tuple[Counter[Outcome], list[Rejection]]:
        """Read, classify and store the batch's lines counted now; their outcomes and rejected samples."""
        first, stop = batch.first, batch.stop
        if stop <= first:
            return Counter(), []
        counted = ~batch.already[first:stop]
        until = datetime.now(UTC).replace(tzinfo=None) + PLAUSIBLE_AHEAD
        parsed = batch.parsed.lines(first, stop)
        outcome, decoded = self._decode_paths(con, parsed, batch.data, counted)
        deferred = counted & (outcome == KERNEL_OUTCOMES.index(DEFER))
        reads = [from_kernel(parsed, outcome, batch.data, batch.ends, first, batch.first_line_no, counted & ~deferred,
                             self.pattern.escape, self.pattern.client_field == "forwarded_for", decoded)]
        if deferred.any():
            reads.append(self._read_by_definition(con, batch, first + np.flatnonzero(deferred), until))
        outcomes: Counter[Outcome] = Counter()
        rejections: list[Rejection] = []
        tables = []
        for read in reads:
            outcomes.update({_outcome(name): n for name, n in read.counts.items() if name not in BASE_KINDS})
            rejections += read.rejections
            if len(read.candidates):
                table, kinds = hit_rows(con, self.ids, read.candidates, source_id)
                counts = np.bincount(kinds + 1, minlength=len(HIT_KINDS) + 1)
                outcomes.update({_outcome(name): int(n) for name, n in zip((NOT_INSTALLER, *HIT_KINDS), counts) if n})
                tables.append(table)
        if tables:
            con.register("new_hit_rows", pa.concat_tables(tables))
            dimensions.add_hit_rows(con, "new_hit_rows")
            con.unregister("new_hit_rows")  # not in a finally: in an aborted transaction it would raise, hiding the error
        return outcomes, rejections

    @staticmethod
    def _decode_paths(
        con: duckdb.DuckDBPyConnection, parsed: ParsedLines, data: bytes, counted: np.ndarray
    ) -> tuple[np.ndarray, DecodedPaths | None]:
        """The lines' outcomes with the %-escaped paths decoded (by the definition's SQL) and classified."""
        escaped = counted & (parsed.outcome == KERNEL_OUTCOMES.index(DECODE_PATH))
        if not escaped.any():
            return parsed.outcome, None
        paths = parsed.fields["path"]
        raw = paths.values(data)
        decoded = DecodedPaths.of(con.execute(
            f"SELECT list_transform(?::VARCHAR[], lambda p: {decoded_path_sql('p')})", [raw]
        ).fetchall()[0][0])
        outcome = parsed.outcome.copy()
        outcome[escaped] = decoded.outcome[paths.ids[escaped]]
        return outcome, decoded

    def _read_by_definition(
        self, con: duckdb.DuckDBPyConnection, batch: Batch, lines: np.ndarray, until: datetime
    ) -> ReadLines:
        """The lines (indices into batch's lines) as the SQL definition reads them."""
        offsets = np.concatenate(([0], batch.ends)).astype(np.int64)
        every = pa.LargeBinaryArray.from_buffers(
            pa.large_binary(), len(batch.ends), [None, pa.py_buffer(offsets), pa.py_buffer(batch.data)])
        table = pa.table({
            "line_no": arrays.numbers(batch.first_line_no + lines.astype(np.int64), pa.int64()),
            # the kernel checked they are UTF-8
            "line": every.take(arrays.numbers(lines, pa.int64())).cast(pa.large_string()),
        })
        # Several record batches, so that DuckDB parses them on all cores (an ingest's connection has fewer
        # while it writes blocks: ingester.INGEST_THREADS).
        con.register("batch_lines", pa.Table.from_batches(table.to_batches(max_chunksize=PARALLEL_ROWS)))
        with all_threads(con) if len(lines) > PARALLEL_ROWS else nullcontext():
            parsed = con.sql(definition_sql(self.parse_sql, PLAUSIBLE_SINCE, until)).to_arrow_table()
        con.unregister("batch_lines")
        return from_definition(parsed)


def _already(con: duckdb.DuckDBPyConnection, held_by: Counter[int]) -> Counter[Outcome]:
    """The already-ingested outcomes, named by the sources that held the lines."""
    if not held_by:
        return Counter()
    names = dict(con.execute(
        f"SELECT source_id, name FROM sources WHERE source_id IN ({', '.join(map(str, held_by))})"
    ).fetchall())
    return Counter({
        Outcome(ALREADY_INGESTED, names.get(source, f"source {source}")): n for source, n in held_by.items()
    })


def record_counts(con: duckdb.DuckDBPyConnection, source_id: int, outcomes: Counter[Outcome]) -> None:
    """The batch's ignored and rejected lines, counted per reason."""
    for kind, table in ((IGNORED, "ignored"), (REJECTED, "rejected")):
        insert_rows(con, table, [(source_id, outcome.reason, n) for outcome, n in outcomes.items()
                                 if outcome.kind == kind])


def record_already_ingested(con: duckdb.DuckDBPyConnection, source_id: int, held_by: Counter[int]) -> None:
    insert_rows(con, "already_ingested", [(source_id, holder, n) for holder, n in held_by.items()])


def keep_reject_samples(con: duckdb.DuckDBPyConnection, source_id: int, rejections: list[Rejection]) -> None:
    """Keep rejected lines as samples, up to SAMPLES_PER_REASON per reason and source."""
    if not rejections:
        return
    kept = Counter(dict(con.execute(
        "SELECT reason, count(*) FROM reject_samples WHERE source_id = ? GROUP BY reason", [source_id]
    ).fetchall()))
    samples = []
    for rejection in sorted(rejections, key=lambda r: r.line_no):
        if kept[rejection.reason] < SAMPLES_PER_REASON:
            kept[rejection.reason] += 1
            samples.append((source_id, rejection.reason, rejection.line_no, rejection.sample))
    insert_rows(con, "reject_samples", samples)


def insert_rows(con: duckdb.DuckDBPyConnection, table: str, rows: list[tuple]) -> None:
    """Insert these rows (all of one length) into `table` in one statement (DuckDB's executemany runs one a row)."""
    if rows:
        values = ", ".join([f"({', '.join('?' * len(rows[0]))})"] * len(rows))
        con.execute(f"INSERT INTO {table} VALUES {values}", [value for row in rows for value in row])


def record_chunks(con: duckdb.DuckDBPyConnection, source_id: int, batch: Batch) -> None:
    """The batch's chunk fingerprints, and the chunk the source goes on with."""
    if batch.replaces is not None:
        con.execute("DELETE FROM chunks WHERE source_id = ? AND first_line = ? AND lines = ?",
                    [source_id, batch.replaces.first_line, batch.replaces.lines])
    if batch.chunk_rows:
        rows = batch.chunk_rows
        con.register("new_chunks", pa.table({
            "source_id": arrays.numbers(np.full(len(rows), source_id, np.int32), pa.int32()),
            "first_line": arrays.from_python([r.first_line for r in rows], pa.int64()),
            "lines": arrays.from_python([r.lines for r in rows], pa.int32()),
            "fingerprint": arrays.from_python([r.fingerprint for r in rows], pa.uint64()),
            "starts": arrays.from_python([r.starts for r in rows], pa.string()),
            "ends": arrays.from_python([r.ends for r in rows], pa.string()),
            "kept": arrays.from_python([r.kept for r in rows], pa.int32()),
        }))
        con.execute("INSERT INTO chunks BY NAME SELECT * FROM new_chunks")
        con.unregister("new_chunks")
    con.execute("DELETE FROM open_chunks WHERE source_id = ?", [source_id])
    open_chunk = batch.open
    con.execute(
        "INSERT INTO open_chunks VALUES (?, ?, ?, ?, ?, ?)",
        [source_id, open_chunk.first_line, open_chunk.offset, open_chunk.starts, open_chunk.quiet_before,
         open_chunk.kept],
    )
