"""A source read in the wrong format: noticed on its first lines, named, and nothing stored.

When more than half of the first lines counted from a new source are
rejected (and they are at least JUDGED_LINES: a line or two says little), the
log is almost surely not in the format given (`--format common` on a combined
log rejects every line). Rather than store a source that can only be
forgotten, its ingest stops: the presets are tried on a sample of its lines,
and the error names the one that reads it, if one does.
"""

from __future__ import annotations

from collections import Counter

import duckdb
import pyarrow as pa

from wheelstats.ingest.sources import SourceError
from wheelstats.parsing.classify import parse_sql
from wheelstats.parsing.logformat import PRESETS, compile_log_format

SAMPLE_LINES = 1000
JUDGED_LINES = 10


class MostlyRejected(Exception):
    """Raised inside a source's first block, to roll it back: most of its lines were rejected."""

    def __init__(self, lines: int, rejected: Counter[str], sample: pa.Table):
        super().__init__(f"{sum(rejected.values())} of {lines} lines rejected")
        self.lines = lines
        self.rejected = rejected
        self.sample = sample   # columns line_no and line, as the parse SQL reads them


def mostly_rejected(lines: int, rejected: Counter[str]) -> bool:
    """Whether a new source's first `lines` (with these rejected) say it is not in its format."""
    return lines >= JUDGED_LINES and sum(rejected.values()) * 2 > lines


class WrongFormat(SourceError):
    """A source's first lines do not read in the format given."""

    def __init__(self, name: str, log_format: str, problem: MostlyRejected, fitting: str | None):
        rejected = sum(problem.rejected.values())
        reasons = ", ".join(f"{reason}: {count:,}" for reason, count in problem.rejected.most_common())
        fact = (f"{name!r} does not read as --format {log_format}: {rejected:,} of its first {problem.lines:,} "
                f"lines are rejected ({reasons}).")
        if fitting is not None:
            fix = f"It reads as {fitting}: run again with --format {fitting}."
        else:
            fix = ("No other format reads it either: check that it is an access log, "
                   "or give its LogFormat with --format.")
        super().__init__(f"{fact} {fix} Nothing was stored from it.")


def fitting_format(con: duckdb.DuckDBPyConnection, sample: pa.Table, tried: str) -> str | None:
    """The preset that reads most of `sample`'s lines (more than half of them), other than `tried`."""
    sample = sample.slice(0, SAMPLE_LINES)
    if not sample.num_rows:
        return None
    best, best_read = None, sample.num_rows // 2
    con.register("batch_lines", sample)
    try:
        for preset in PRESETS:
            if preset == tried or PRESETS[preset] == PRESETS.get(tried):
                continue
            read = con.execute(
                f"SELECT count(*) FROM ({parse_sql(compile_log_format(preset))}) "
                "WHERE early_outcome IS NULL OR NOT starts_with(early_outcome, 'reject:')"
            ).fetchall()[0][0]
            if read > best_read:
                best, best_read = preset, read
    finally:
        con.unregister("batch_lines")
    return best
