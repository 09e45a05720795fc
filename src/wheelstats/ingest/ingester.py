"""Ingest: log sources into the store, block by block, each block one transaction.

A block's hits, its ignored and rejected counts and the source's checkpoint
(offset and line count) are committed together, so a run killed at any
moment and run again gives exactly the totals of an uninterrupted run, and a
source seen before (by the hash of its head, whatever its name) resumes from
its checkpoint.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from wheelstats.store import privacy
from wheelstats.parsing.agents import AGENT_COLUMNS, match_logged_agents, parse_agent
from wheelstats.parsing.classify import OUTCOME_SQL, parse_sql, unescape
from wheelstats.parsing.filenames import parse_filename
from wheelstats.parsing.lines import Rejection, sample_of, split_lines
from wheelstats.rollups import refresh_rollups
from wheelstats.parsing.logformat import compile_log_format
from wheelstats.ingest.sources import (
    FOLLOW_POLL_SECONDS,
    HEAD_BYTES,
    Block,
    LineReader,
    head_hash,
    is_stdin,
    is_stdin_stream,
    open_source,
    read_ahead,
    read_some,
)
from wheelstats.store import HIT_KINDS, transaction

SAMPLES_PER_REASON = 20
PARALLEL_ROWS = 4096
INGEST_MEMORY_LIMIT = "512MB"
FOLLOW_LOCK_WAIT_SECONDS = 3600.0  # a follower waits out any reader rather than stop
FILE_COLUMNS = ("filename", "project", "version", "package_type", "python_tag", "abi_tag", "platform_tag", "valid")


@dataclass(slots=True)
class SourceReport:
    """What one run did with one source: every line read is in exactly one count."""

    name: str
    source_id: int | None = None
    resumed_at: int = 0          # offset the run started from (content seen before)
    lines: int = 0
    hits: Counter = field(default_factory=Counter)
    ignored: Counter = field(default_factory=Counter)
    rejected: Counter = field(default_factory=Counter)
    held_back_bytes: int = 0     # an unterminated last line, left for when it ends
    broken: str | None = None    # why a compressed stream ended early

    @property
    def balanced(self) -> bool:
        return self.lines == sum(self.hits.values()) + sum(self.ignored.values()) + sum(self.rejected.values())

    def add(self, other: SourceReport) -> None:
        self.lines += other.lines
        self.hits.update(other.hits)
        self.ignored.update(other.ignored)
        self.rejected.update(other.rejected)


class Ingester:
    """Ingests sources into one open store with one log format and IP policy."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        *,
        log_format: str = "combined",
        escape: str = "auto",
        client_from: str = "remote-addr",
        ip_mode: str = "hash",
        key: bytes | None = None,
        on_progress: Callable[[str, int], None] | None = None,
        reopen: Callable[[], duckdb.DuckDBPyConnection] | None = None,
    ):
        self._con: duckdb.DuckDBPyConnection | None = con
        self._reopen = reopen  # given: while following, let go of the store between commits
        pattern = compile_log_format(log_format, escape=escape, client_from=client_from)
        self.log_format, self.escape = pattern.source_format, pattern.escape
        self.parse_sql = parse_sql(pattern)
        self.client_sql = privacy.client_sql("client", ip_mode, key)
        self.on_progress = on_progress

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            self._con = self._reopen()
        return self._con

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    def release(self) -> None:
        """Close the store if it can be reopened, so other processes may use it meanwhile."""
        if self._reopen is not None:
            self.close()

    # -- sources ---------------------------------------------------------------

    def _find_source(self, head: bytes) -> tuple[int, int, int, int] | None:
        """The (source_id, offset, lines, head_len) of the source whose head this content starts with."""
        rows = self.con.execute(
            'SELECT source_id, head_len, head_hash, "offset", lines FROM sources '
            "WHERE head_len <= ? ORDER BY head_len DESC, source_id",
            [len(head)],
        ).fetchall()
        hashes: dict[int, str] = {}
        for source_id, length, digest, offset, lines in rows:
            if length not in hashes:
                hashes[length] = head_hash(head[:length])
            if hashes[length] == digest:
                return source_id, offset, lines, length
        return None

    def _open(self, name: str, head: bytes) -> tuple[int, int, int]:
        found = self._find_source(head)
        if found:
            source_id, offset, lines, head_len = found
            if head_len < len(head):
                self._extend_head(source_id, head)
            return source_id, offset, lines
        source_id = self.con.execute(
            "INSERT INTO sources (name, head_hash, head_len, log_format) VALUES (?, ?, ?, ?) RETURNING source_id",
            [name, head_hash(head), len(head), self.log_format],
        ).fetchall()[0][0]
        return source_id, 0, 0

    def _extend_head(self, source_id: int, head: bytes) -> None:
        """Identify a source by more of its first bytes once more of it has been seen.

        A followed log is first known by its first line only; lengthening its
        head as it grows keeps a different log that starts with the same line
        from being taken for it.
        """
        self.con.execute(
            "UPDATE sources SET head_hash = ?, head_len = ? WHERE source_id = ?",
            [head_hash(head), len(head), source_id],
        )

    def ingest(self, name: str | os.PathLike, *, follow: bool = False) -> SourceReport:
        """Ingest one source from its checkpoint to its end.

        With `follow`, keep reading as it grows until interrupted; when the file
        is rotated (renamed away, a new one in its place), finish the old one and
        go on with the new one.
        """
        name = str(name)
        report = SourceReport(name=name)
        while True:
            stream = open_source(name)
            try:
                rotated = self._ingest_stream(name, stream, follow, report)
            finally:
                if not is_stdin(name):
                    stream.close()
            if not rotated:
                return report

    def _ingest_stream(self, name: str, stream, follow: bool, report: SourceReport) -> bool:
        """Ingest one open stream; True if it was rotated away while followed."""
        head = self._read_head(stream, follow)
        if not head:
            return False
        source_id, offset, lines = self._open(name, head)
        report.source_id, report.resumed_at = source_id, offset
        reader = LineReader(stream, follow=follow, prefix=head)
        reader.skip_to(offset)
        next_line = lines + 1
        rotated = fresh_hits = False
        known_head = bytearray(head)  # the source's first bytes, while under HEAD_BYTES
        # A followed stream is read on this thread: rotation checks look at it between blocks.
        for block in reader.blocks() if follow else read_ahead(reader.blocks()):
            if block is None:  # following, and nothing more to read for now
                if fresh_hits:
                    refresh_rollups(self.con)  # keep the dashboard current while tailing
                    fresh_hits = False
                    self.release()
                if rotated:
                    return True  # drained what was written before the rotation
                rotated = self._rotated(name, stream)
                continue
            next_line = self._commit_block(source_id, block, next_line, report)
            fresh_hits = True
            block_start = block.end_offset - len(block.data)
            if len(known_head) < HEAD_BYTES and block_start <= len(known_head) < block.end_offset:
                known_head += block.data[len(known_head) - block_start :][: HEAD_BYTES - len(known_head)]
                self._extend_head(source_id, bytes(known_head))
            if self.on_progress:
                self.on_progress(name, block.end_offset)
        report.held_back_bytes = reader.held_back
        return False

    @staticmethod
    def _read_head(stream, follow: bool) -> bytes:
        """The first bytes of a source, which identify it; when following, wait for a whole line."""
        head = bytearray()
        while len(head) < HEAD_BYTES:
            chunk = read_some(stream, HEAD_BYTES - len(head))
            if chunk:
                head += chunk
                if follow and b"\n" in head:
                    break
            elif follow and not is_stdin_stream(stream) and b"\n" not in head:
                time.sleep(FOLLOW_POLL_SECONDS)  # a followed file not written yet
            else:
                break
        return bytes(head)

    @staticmethod
    def _rotated(name: str, stream) -> bool:
        """A followed file was renamed away (a new one took its name) or truncated."""
        if is_stdin(name):
            return False
        try:
            now = os.stat(name)
        except FileNotFoundError:
            return False
        mine = os.fstat(stream.fileno())
        return now.st_ino != mine.st_ino or now.st_size < stream.tell()

    # -- one block, one transaction ---------------------------------------------

    def _commit_block(self, source_id: int, block: Block, first_line_no: int, report: SourceReport) -> int:
        lines = split_lines(block.data, first_line_no)
        rejections = list(lines.rejections)
        count = lines.count
        if block.overlong_sample is not None:
            rejections.append(Rejection(first_line_no, "line_too_long", block.overlong_sample))
            count += 1
        if block.broken_tail is not None:
            report.broken = block.broken_tail
            rejections.append(Rejection(first_line_no, "broken_compressed_stream", block.broken_tail))
            count += 1
        with transaction(self.con):
            outcomes = Counter(f"reject:{r.reason}" for r in rejections)
            if lines.table.num_rows:
                hits_and_others, sql_rejections = self._load_lines(source_id, lines.table)
                outcomes.update(hits_and_others)
                rejections += sql_rejections
            self._record_counts(source_id, outcomes, rejections)
            self.con.execute(
                'UPDATE sources SET "offset" = ?, lines = lines + ?, updated_at = current_timestamp '
                "WHERE source_id = ?",
                [block.end_offset, count, source_id],
            )
        self._tally(report, outcomes, count)
        return first_line_no + count

    def _load_lines(self, source_id: int, table: pa.Table) -> tuple[Counter, list[Rejection]]:
        """Parse, classify and store the lines; their outcomes and samples of the rejected ones."""
        con = self.con
        # Several record batches, so that DuckDB parses them on all cores.
        con.register("batch_lines", pa.Table.from_batches(table.to_batches(max_chunksize=PARALLEL_ROWS)))
        try:
            con.execute(f"CREATE OR REPLACE TEMP TABLE parsed AS {self.parse_sql}")
            self._add_new_agents()
            self._add_new_files()
            con.execute(
                f"""CREATE OR REPLACE TEMP VIEW classified AS
                SELECT p.* EXCLUDE (logged_agent), agents.agent_id, {OUTCOME_SQL} AS outcome
                FROM parsed p LEFT JOIN agents ON agents.logged_agent = p.logged_agent"""
            )
            kinds = ", ".join(f"'{k}'" for k in HIT_KINDS)
            con.execute(
                f"""INSERT INTO hits
                SELECT ts, outcome::hit_kind, CASE WHEN outcome <> 'page' THEN project END,
                       filename, path, {self.client_sql}, agent_id, bytes, referrer, ?, line_no
                FROM classified WHERE outcome IN ({kinds})""",
                [source_id],
            )
            counts = Counter(dict(con.execute("SELECT outcome, count(*) FROM classified GROUP BY outcome").fetchall()))
            samples = []
            if any(outcome.startswith("reject:") for outcome in counts):
                rows = con.execute(
                    f"""SELECT c.line_no, c.outcome, b.line FROM classified c JOIN batch_lines b USING (line_no)
                        WHERE c.outcome LIKE 'reject:%'
                        QUALIFY row_number() OVER (PARTITION BY c.outcome ORDER BY c.line_no) <= {SAMPLES_PER_REASON}"""
                ).fetchall()
                samples = [Rejection(n, outcome.split(":", 1)[1], sample_of(line.encode())) for n, outcome, line in rows]
            return counts, samples
        finally:
            con.unregister("batch_lines")

    def _add_new_agents(self) -> None:
        new = self.con.execute(
            """SELECT DISTINCT p.logged_agent FROM parsed p
               WHERE p.logged_agent IS NOT NULL AND p.early_outcome IS NULL AND p.base_kind <> 'other'
                 AND NOT EXISTS (SELECT 1 FROM agents a WHERE a.logged_agent = p.logged_agent)"""
        ).fetchall()
        if not new:
            return
        texts = {logged: unescape(logged, self.escape) for (logged,) in new}
        match = match_logged_agents(texts, dict(self.con.execute(  # agents logged another way before
            "SELECT agent, logged_agent FROM agents WHERE agent IN (SELECT unnest(?))", [list(set(texts.values()))]
        ).fetchall()))
        for text, logged in match.named.items():
            self.con.execute("UPDATE agents SET logged_agent = ? WHERE agent = ?", [logged, text])
        if match.aliases:  # this block's lines join the row by the way it is stored
            self.con.execute(
                "UPDATE parsed SET logged_agent = a.stored FROM (SELECT unnest(?) AS logged, unnest(?) AS stored) a "
                "WHERE parsed.logged_agent = a.logged", [list(match.aliases), list(match.aliases.values())],
            )
        if not match.new:
            return
        first_id = self.con.execute("SELECT coalesce(max(agent_id), 0) + 1 FROM agents").fetchall()[0][0]
        logged = list(match.new.values())
        parsed = [parse_agent(text) for text in match.new]
        columns = {
            "agent_id": pa.array(range(first_id, first_id + len(parsed)), pa.int32()),
            "logged_agent": logged,
        }
        for column in AGENT_COLUMNS:
            columns[column] = [getattr(a, column) for a in parsed]
        self._insert_arrow("agents", pa.table(columns))

    def _add_new_files(self) -> None:
        new = self.con.execute(
            """SELECT DISTINCT p.filename FROM parsed p
               WHERE p.filename IS NOT NULL AND p.early_outcome IS NULL
                 AND NOT EXISTS (SELECT 1 FROM files f WHERE f.filename = p.filename)"""
        ).fetchall()
        if not new:
            return
        parsed = [parse_filename(name) for (name,) in new]
        self._insert_arrow("files", pa.table({column: [getattr(f, column) for f in parsed] for column in FILE_COLUMNS}))

    def _insert_arrow(self, table_name: str, rows: pa.Table) -> None:
        self.con.register("new_rows", rows)
        try:
            self.con.execute(f"INSERT INTO {table_name} BY NAME SELECT * FROM new_rows")
        finally:
            self.con.unregister("new_rows")

    def _record_counts(self, source_id: int, outcomes: Counter, rejections: list[Rejection]) -> None:
        ignored = [(source_id, o.split(":", 1)[1], n) for o, n in outcomes.items() if o.startswith("ignore:")]
        rejected = [(source_id, o.split(":", 1)[1], n) for o, n in outcomes.items() if o.startswith("reject:")]
        if ignored:
            self.con.executemany("INSERT INTO ignored VALUES (?, ?, ?)", ignored)
        if rejected:
            self.con.executemany("INSERT INTO rejected VALUES (?, ?, ?)", rejected)
        if rejections:
            kept = dict(
                self.con.execute(
                    "SELECT reason, count(*) FROM reject_samples WHERE source_id = ? GROUP BY reason", [source_id]
                ).fetchall()
            )
            samples = []
            for rejection in rejections:
                if kept.get(rejection.reason, 0) < SAMPLES_PER_REASON:
                    kept[rejection.reason] = kept.get(rejection.reason, 0) + 1
                    samples.append((source_id, rejection.reason, rejection.line_no, rejection.sample))
            if samples:
                self.con.executemany("INSERT INTO reject_samples VALUES (?, ?, ?, ?)", samples)

    @staticmethod
    def _tally(report: SourceReport, outcomes: Counter, count: int) -> None:
        report.lines += count
        for outcome, n in outcomes.items():
            kind, _, reason = outcome.partition(":")
            if kind == "ignore":
                report.ignored[reason] += n
            elif kind == "reject":
                report.rejected[reason] += n
            else:
                report.hits[outcome] += n


def ingest_paths(
    con: duckdb.DuckDBPyConnection,
    paths: Iterable[str | os.PathLike],
    *,
    log_format: str = "combined",
    escape: str = "auto",
    client_from: str = "remote-addr",
    ip_mode: str = "hash",
    key: bytes | None = None,
    follow: bool = False,
    on_progress: Callable[[str, int], None] | None = None,
) -> list[SourceReport]:
    """Ingest each path (or "-" for standard input) from its checkpoint; one report each."""
    ingester = Ingester(con, log_format=log_format, escape=escape, client_from=client_from, ip_mode=ip_mode, key=key,
                        on_progress=on_progress)
    return [ingester.ingest(path, follow=follow) for path in paths]


def ingest_files(
    db_path: str | Path,
    paths: Iterable[str | os.PathLike],
    *,
    log_format: str = "combined",
    escape: str = "auto",
    client_from: str = "remote-addr",
    ip_mode: str = "hash",
    follow: bool = False,
    on_progress: Callable[[str, int], None] | None = None,
) -> list[SourceReport]:
    """Open the store at `db_path` (with its IP key) and ingest `paths` into it.

    While following, the store is held only while a block is written, so that
    `summary`, `report` and the dashboard can read it in between.
    """
    from wheelstats import store

    def open_store() -> duckdb.DuckDBPyConnection:
        con = store.connect(db_path, wait_seconds=FOLLOW_LOCK_WAIT_SECONDS if follow else store.LOCK_WAIT_SECONDS)
        # DuckDB's buffer pool would otherwise grow with the store; hits stream to disk.
        con.execute(f"SET memory_limit = '{INGEST_MEMORY_LIMIT}'")
        return con

    key = privacy.client_key(db_path, ip_mode)  # refuses a mode or key that would split the store's clients
    ingester = Ingester(
        open_store(), log_format=log_format, escape=escape, client_from=client_from, ip_mode=ip_mode, key=key,
        on_progress=on_progress,
        reopen=open_store if follow else None,
    )
    try:
        reports = [ingester.ingest(path, follow=follow) for path in paths]
        refresh_rollups(ingester.con)  # the dashboard's rollups, from the new hits only
        return reports
    finally:
        ingester.close()


__all__ = ["Ingester", "SourceReport", "ingest_files", "ingest_paths"]
