"""The block writer: one batch of lines into the store, in one transaction.

The batch's lines are parsed and classified by one SQL query over all of them
(on all cores), and screened: a time before PLAUSIBLE_SINCE or more than
PLAUSIBLE_AHEAD after now, or an offset beyond +-14:00, is rejected. New
agents and files join their tables; the hits, the counts of ignored, rejected
and already-ingested lines (with the first few rejected lines of each reason
as samples), the batch's chunk fingerprints and the source's checkpoint are
committed together, so a run killed at any moment and run again gives exactly
the totals of an uninterrupted one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta

import duckdb
import numpy as np
import pyarrow as pa

from wheelstats import interrupts
from wheelstats.ingest import checkpoints
from wheelstats.ingest.account import (
    ALREADY_INGESTED, HIT, IGNORED, OUTCOME_PARTS_SQL, REJECTED, Outcome, WrittenBlock,
)
from wheelstats.ingest.cursor import Batch
from wheelstats.parsing.agents import match_logged_agents, parse_agent
from wheelstats.parsing.classify import OUTCOME_SQL, parse_sql, unescape
from wheelstats.parsing.lines import Rejection, sample_of, split_lines
from wheelstats.parsing.escapes import EscapeStyle
from wheelstats.parsing.logformat import LogPattern
from wheelstats.store import dimensions, privacy, transaction

SAMPLES_PER_REASON = 20
PARALLEL_ROWS = 4096
PLAUSIBLE_SINCE = datetime(1995, 1, 1)   # before the web's first package indexes
PLAUSIBLE_AHEAD = timedelta(days=1)      # clocks a little ahead, time zones


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


class BlockWriter:
    """Writes batches of one log format (a compiled pattern, with its escapes), storing clients by one IP policy."""

    def __init__(self, pattern: LogPattern, *, ip_mode: str = "hash", key: bytes | None = None):
        self.parse_sql = parse_sql(pattern)
        self.escape = pattern.escape
        self.client_sql = privacy.client_sql("client", ip_mode, key)

    def write(
        self, con: duckdb.DuckDBPyConnection, source_id: int, batch: Batch,
        on_committed: Callable[[WrittenBlock], None],
    ) -> WrittenBlock:
        """Store `batch` and move the source's checkpoint past it; `on_committed` is called right
        after the commit, with interrupts held until it returns, so that nothing committed goes
        uncounted."""
        lines = split_lines(batch.data, batch.first_line_no)
        first_no, stop_no = batch.first_line_no + batch.first, batch.first_line_no + batch.stop
        table = _counted_lines(lines.table, batch, first_no, stop_no)
        rejections = [r for r in lines.rejections
                      if first_no <= r.line_no < stop_no and not batch.already[r.line_no - batch.first_line_no]]
        if batch.overlong_sample is not None:
            rejections.append(Rejection(stop_no, "line_too_long", batch.overlong_sample))
        with ExitStack() as after_commit:
            with transaction(con):
                outcomes = Counter(Outcome.rejected(r.reason) for r in rejections)
                if table.num_rows:
                    counted, sql_rejections = self._load_lines(con, source_id, table)
                    outcomes.update(counted)
                    rejections += sql_rejections
                outcomes.update(_already(con, batch.held_by))
                record_counts(con, source_id, outcomes)
                record_already_ingested(con, source_id, batch.held_by)
                keep_reject_samples(con, source_id, rejections)
                record_chunks(con, source_id, batch)
                checkpoints.advance(con, source_id, batch.end_offset, batch.lines)
                written = WrittenBlock(batch.lines, outcomes)
                after_commit.enter_context(interrupts.deferred())
            on_committed(written)
        return written

    def _load_lines(
        self, con: duckdb.DuckDBPyConnection, source_id: int, table: pa.Table
    ) -> tuple[Counter[Outcome], list[Rejection]]:
        """Parse, classify and store the lines; their outcomes and samples of the rejected ones."""
        # Several record batches, so that DuckDB parses them on all cores.
        con.register("batch_lines", pa.Table.from_batches(table.to_batches(max_chunksize=PARALLEL_ROWS)))
        until = datetime.now(UTC).replace(tzinfo=None) + PLAUSIBLE_AHEAD
        screened = screened_sql(self.parse_sql, PLAUSIBLE_SINCE, until)
        con.execute(f"CREATE OR REPLACE TEMP TABLE parsed AS {screened}")
        add_new_agents(con, self.escape)
        add_new_files(con)
        con.execute(
            f"""CREATE OR REPLACE TEMP VIEW classified AS
            SELECT *, {OUTCOME_PARTS_SQL} FROM (
                SELECT p.* EXCLUDE (logged_agent), agents.agent_id, {OUTCOME_SQL} AS outcome
                FROM parsed p LEFT JOIN agents ON agents.logged_agent = p.logged_agent
            )"""
        )
        con.execute(
            f"""INSERT INTO hits
            SELECT ts, outcome_reason::hit_kind, CASE WHEN outcome_reason <> 'page' THEN project END,
                   filename, path, {self.client_sql}, agent_id, bytes, referrer, ?, line_no
            FROM classified WHERE outcome_kind = '{HIT}'""",
            [source_id],
        )
        counts = Counter({
            Outcome(kind, reason): count
            for kind, reason, count in con.execute(
                "SELECT outcome_kind, outcome_reason, count(*) FROM classified GROUP BY ALL"
            ).fetchall()
        })
        samples = []
        if any(outcome.kind == REJECTED for outcome in counts):
            rows = con.execute(
                f"""SELECT c.line_no, c.outcome_reason, b.line FROM classified c JOIN batch_lines b USING (line_no)
                    WHERE c.outcome_kind = '{REJECTED}'
                    QUALIFY row_number() OVER (PARTITION BY c.outcome_reason ORDER BY c.line_no)
                        <= {SAMPLES_PER_REASON}"""
            ).fetchall()
            samples = [Rejection(n, reason, sample_of(line.encode())) for n, reason, line in rows]
        # Only once all went well: in a transaction an error aborted, unregistering would raise and hide it.
        con.unregister("batch_lines")
        return counts, samples


def _counted_lines(table: pa.Table, batch: Batch, first_no: int, stop_no: int) -> pa.Table:
    """The parseable lines counted now and not held already (a slice, unless some are held)."""
    line_nos = table.column("line_no").to_numpy()
    lo, hi = np.searchsorted(line_nos, [first_no, stop_no])
    counted = table.slice(lo, hi - lo)
    if not batch.held_by:
        return counted
    held = batch.already[counted.column("line_no").to_numpy() - batch.first_line_no]
    return counted.filter(pa.array(~held)) if held.any() else counted


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


def add_new_agents(con: duckdb.DuckDBPyConnection, escape: EscapeStyle) -> None:
    """Agents rows for the agents of `parsed` the store does not know yet, each parsed once.

    One agent logged in two ways (Apache's and nginx's escapes, or by an import)
    is one row: `parsed` is pointed at the way it is stored.
    """
    new = con.execute(
        """SELECT DISTINCT p.logged_agent FROM parsed p
           WHERE p.logged_agent IS NOT NULL AND p.early_outcome IS NULL AND p.base_kind <> 'other'
             AND NOT EXISTS (SELECT 1 FROM agents a WHERE a.logged_agent = p.logged_agent)"""
    ).fetchall()
    if not new:
        return
    texts = {logged: unescape(logged, escape) for (logged,) in new}
    match = match_logged_agents(texts, dict(con.execute(  # agents logged another way before
        "SELECT agent, logged_agent FROM agents WHERE agent IN (SELECT unnest(?))", [list(set(texts.values()))]
    ).fetchall()))
    for text, logged in match.named.items():
        con.execute("UPDATE agents SET logged_agent = ? WHERE agent = ?", [logged, text])
    if match.aliases:  # this batch's lines join the row by the way it is stored
        con.execute(
            "UPDATE parsed SET logged_agent = a.stored FROM (SELECT unnest(?) AS logged, unnest(?) AS stored) a "
            "WHERE parsed.logged_agent = a.logged", [list(match.aliases), list(match.aliases.values())],
        )
    dimensions.add_agents(con, [dimensions.AgentRow(parse_agent(text), logged) for text, logged in match.new.items()])


def add_new_files(con: duckdb.DuckDBPyConnection) -> None:
    """Files rows for the downloaded filenames of `parsed` the store does not hold yet."""
    new = con.execute(
        """SELECT DISTINCT p.filename FROM parsed p
           WHERE p.filename IS NOT NULL AND p.early_outcome IS NULL
             AND NOT EXISTS (SELECT 1 FROM files f WHERE f.filename = p.filename)"""
    ).fetchall()
    dimensions.add_files(con, [name for (name,) in new])


def record_counts(con: duckdb.DuckDBPyConnection, source_id: int, outcomes: Counter[Outcome]) -> None:
    """The batch's ignored and rejected lines, counted per reason."""
    for kind, table in ((IGNORED, "ignored"), (REJECTED, "rejected")):
        rows = [(source_id, outcome.reason, n) for outcome, n in outcomes.items() if outcome.kind == kind]
        if rows:
            con.executemany(f"INSERT INTO {table} VALUES (?, ?, ?)", rows)


def record_already_ingested(con: duckdb.DuckDBPyConnection, source_id: int, held_by: Counter[int]) -> None:
    if held_by:
        con.executemany("INSERT INTO already_ingested VALUES (?, ?, ?)",
                        [(source_id, holder, n) for holder, n in held_by.items()])


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
    if samples:
        con.executemany("INSERT INTO reject_samples VALUES (?, ?, ?, ?)", samples)


def record_chunks(con: duckdb.DuckDBPyConnection, source_id: int, batch: Batch) -> None:
    """The batch's chunk fingerprints, and the chunk the source goes on with."""
    if batch.replaces is not None:
        con.execute("DELETE FROM chunks WHERE source_id = ? AND first_line = ? AND lines = ?",
                    [source_id, batch.replaces.first_line, batch.replaces.lines])
    if batch.chunk_rows:
        rows = batch.chunk_rows
        con.register("new_chunks", pa.table({
            "source_id": pa.array([source_id] * len(rows), pa.int32()),
            "first_line": pa.array([r.first_line for r in rows], pa.int64()),
            "lines": pa.array([r.lines for r in rows], pa.int32()),
            "fingerprint": pa.array([r.fingerprint for r in rows], pa.uint64()),
            "starts": pa.array([r.starts for r in rows], pa.string()),
            "ends": pa.array([r.ends for r in rows], pa.string()),
            "kept": pa.array([r.kept for r in rows], pa.int32()),
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
