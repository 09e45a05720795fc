"""The block writer: one block of lines into the store, in one transaction.

The block's lines are parsed and classified by one SQL query over all of
them (on all cores); new agents and files join their tables; hits, the counts
of ignored and rejected lines (with the first few rejected lines of each
reason as samples) and the source's checkpoint are committed together, so a
run killed at any moment and run again gives exactly the totals of an
uninterrupted one.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from wheelstats.ingest import checkpoints
from wheelstats.ingest.account import HIT, IGNORED, OUTCOME_PARTS_SQL, REJECTED, Outcome
from wheelstats.ingest.sources import Block
from wheelstats.parsing.agents import parse_agent
from wheelstats.parsing.classify import OUTCOME_SQL, parse_sql, unescape
from wheelstats.parsing.lines import Rejection, sample_of, split_lines
from wheelstats.parsing.logformat import compile_log_format
from wheelstats.store import dimensions, privacy, transaction

SAMPLES_PER_REASON = 20
PARALLEL_ROWS = 4096


@dataclass(frozen=True, slots=True)
class WrittenBlock:
    """What a committed block added: its lines, each with one outcome."""

    lines: int
    outcomes: Counter[Outcome]


class BlockWriter:
    """Writes blocks of one log format, storing clients by one IP policy."""

    def __init__(self, *, log_format: str = "combined", ip_mode: str = "hash", key: bytes | None = None):
        self.parse_sql = parse_sql(compile_log_format(log_format))
        self.client_sql = privacy.client_sql("client", ip_mode, key)

    def write(self, con: duckdb.DuckDBPyConnection, source_id: int, block: Block, first_line_no: int) -> WrittenBlock:
        """Store `block` (its first line numbered `first_line_no`) and move the source's checkpoint past it."""
        lines = split_lines(block.data, first_line_no)
        rejections = list(lines.rejections)
        count = lines.count
        if block.overlong_sample is not None:
            rejections.append(Rejection(first_line_no, "line_too_long", block.overlong_sample))
            count += 1
        if block.broken_tail is not None:
            rejections.append(Rejection(first_line_no, "broken_compressed_stream", block.broken_tail))
            count += 1
        with transaction(con):
            outcomes = Counter(Outcome.rejected(r.reason) for r in rejections)
            if lines.table.num_rows:
                counted, sql_rejections = self._load_lines(con, source_id, lines.table)
                outcomes.update(counted)
                rejections += sql_rejections
            record_counts(con, source_id, outcomes)
            keep_reject_samples(con, source_id, rejections)
            checkpoints.advance(con, source_id, block.end_offset, count)
        return WrittenBlock(count, outcomes)

    def _load_lines(
        self, con: duckdb.DuckDBPyConnection, source_id: int, table: pa.Table
    ) -> tuple[Counter[Outcome], list[Rejection]]:
        """Parse, classify and store the lines; their outcomes and samples of the rejected ones."""
        # Several record batches, so that DuckDB parses them on all cores.
        con.register("batch_lines", pa.Table.from_batches(table.to_batches(max_chunksize=PARALLEL_ROWS)))
        try:
            con.execute(f"CREATE OR REPLACE TEMP TABLE parsed AS {self.parse_sql}")
            add_new_agents(con)
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
            return counts, samples
        finally:
            con.unregister("batch_lines")


def add_new_agents(con: duckdb.DuckDBPyConnection) -> None:
    """Agents rows for the agents of `parsed` the store does not know yet, each parsed once."""
    new = con.execute(
        """SELECT DISTINCT p.logged_agent FROM parsed p
           WHERE p.logged_agent IS NOT NULL AND p.early_outcome IS NULL AND p.base_kind <> 'other'
             AND NOT EXISTS (SELECT 1 FROM agents a WHERE a.logged_agent = p.logged_agent)"""
    ).fetchall()
    dimensions.add_agents(con, [dimensions.AgentRow(parse_agent(unescape(logged)), logged) for (logged,) in new])


def add_new_files(con: duckdb.DuckDBPyConnection) -> None:
    """Files rows for the downloaded filenames of `parsed` the store does not hold yet."""
    new = con.execute(
        """SELECT DISTINCT p.filename FROM parsed p
           WHERE p.filename IS NOT NULL AND p.early_outcome IS NULL
             AND NOT EXISTS (SELECT 1 FROM files f WHERE f.filename = p.filename)"""
    ).fetchall()
    dimensions.add_files(con, [name for (name,) in new])


def record_counts(con: duckdb.DuckDBPyConnection, source_id: int, outcomes: Counter[Outcome]) -> None:
    """The block's ignored and rejected lines, counted per reason."""
    for kind, table in ((IGNORED, "ignored"), (REJECTED, "rejected")):
        rows = [(source_id, outcome.reason, n) for outcome, n in outcomes.items() if outcome.kind == kind]
        if rows:
            con.executemany(f"INSERT INTO {table} VALUES (?, ?, ?)", rows)


def keep_reject_samples(con: duckdb.DuckDBPyConnection, source_id: int, rejections: list[Rejection]) -> None:
    """Keep rejected lines as samples, up to SAMPLES_PER_REASON per reason and source."""
    if not rejections:
        return
    kept = Counter(dict(con.execute(
        "SELECT reason, count(*) FROM reject_samples WHERE source_id = ? GROUP BY reason", [source_id]
    ).fetchall()))
    samples = []
    for rejection in rejections:
        if kept[rejection.reason] < SAMPLES_PER_REASON:
            kept[rejection.reason] += 1
            samples.append((source_id, rejection.reason, rejection.line_no, rejection.sample))
    if samples:
        con.executemany("INSERT INTO reject_samples VALUES (?, ?, ?, ?)", samples)
