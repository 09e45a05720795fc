"""A source in another format than the one given: noticed on its first lines, named, nothing stored.

Before anything of a new source is stored, the whole lines of its head (its
first 64 KiB) are parsed in the format given. When they are at least
JUDGED_LINES (a line or two says little) and more than half of them are
rejected, the log is almost surely not in that format (`--format common` on a
combined log rejects every line): rather than store a source that could only
be forgotten again, its ingest stops, and the error names the preset that
reads those lines, if one does.
"""

from __future__ import annotations

from collections import Counter

import duckdb
import pyarrow as pa

from wheelstats.ingest.sources import SourceError
from wheelstats.parsing.classify import parse_sql
from wheelstats.parsing.lines import split_lines
from wheelstats.parsing.logformat import PRESETS, LogPattern, compile_log_format

JUDGED_LINES = 10


class WrongFormat(SourceError):
    """A new source's first lines do not read in the format given."""

    def __init__(self, name: str, log_format: str, lines: int, rejected: Counter[str], fitting: str | None):
        reasons = ", ".join(f"{reason}: {count:,}" for reason, count in rejected.most_common())
        fact = (f"{name!r} does not read as --format {log_format}: {sum(rejected.values()):,} of its first "
                f"{lines:,} lines are rejected ({reasons}).")
        if fitting is not None:
            fix = f"It reads as {fitting}: run again with --format {fitting}."
        else:
            fix = ("No other format reads it either: check that it is an access log, "
                   "or give its LogFormat with --format.")
        super().__init__(f"{fact} {fix} Nothing was stored from it.")


def check(con: duckdb.DuckDBPyConnection, name: str, head: bytes, pattern: LogPattern) -> None:
    """Raise WrongFormat if most of the whole lines in a new source's `head` are rejected."""
    lines = split_lines(head[: head.rfind(b"\n") + 1], 1)
    if lines.count < JUDGED_LINES:
        return
    rejected = Counter(rejection.reason for rejection in lines.rejections)
    rejected.update(rejected_lines(con, lines.table, pattern))
    if sum(rejected.values()) * 2 > lines.count:
        raise WrongFormat(name, pattern.name, lines.count, rejected, fitting_format(con, lines.table, pattern))


def rejected_lines(con: duckdb.DuckDBPyConnection, table: pa.Table, pattern: LogPattern) -> Counter[str]:
    """The lines of `table` the pattern rejects, by reason."""
    if not table.num_rows:
        return Counter()
    con.register("batch_lines", table)
    rejected = Counter(dict(con.execute(
        f"""SELECT split_part(early_outcome, ':', 2), count(*) FROM ({parse_sql(pattern)})
            WHERE starts_with(early_outcome, 'reject:') GROUP BY ALL"""
    ).fetchall()))
    con.unregister("batch_lines")
    return rejected


def fitting_format(con: duckdb.DuckDBPyConnection, sample: pa.Table, tried: LogPattern) -> str | None:
    """The preset that reads most of `sample`'s lines (more than half of them), other than `tried`
    (with its escapes; clients from where they connected)."""
    best, best_read = None, sample.num_rows // 2
    for preset in PRESETS:
        if preset == tried.name or PRESETS[preset] == PRESETS.get(tried.name):
            continue
        pattern = compile_log_format(preset, escape=tried.escape.name)
        read = sample.num_rows - sum(rejected_lines(con, sample, pattern).values())
        if read > best_read:
            best, best_read = preset, read
    return best
