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
from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa

from wheelstats import arrays
from wheelstats.ingest.sources import SourceError
from wheelstats.parsing import w3c
from wheelstats.parsing.classify import parse_sql
from wheelstats.parsing.formats import JSON_PRESETS, compile_format
from wheelstats.parsing.lines import Lines, split_lines
from wheelstats.parsing.logformat import ClientFromError, LogPattern
from wheelstats.parsing.program import DEFER, FIRST_REJECTION, KERNEL_OUTCOMES, compile_program, parse_lines

JUDGED_LINES = 10
# The formats tried on a log's lines, in this order (those a header names are found by it: w3c.header_kind).
TEXT_CANDIDATES = ("combined", "common", "vhost_combined", "nginx_main", "haproxy", "s3")
JSON_CANDIDATES = tuple(JSON_PRESETS)
# A format reads a line whatever its time says (the ingest screens implausible times later): the kernel is
# given bounds past any time it can read (its microseconds since 1970 are 64-bit numbers).
ANY_SECOND = 9_000_000_000_000


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
        raise WrongFormat(name, pattern.name, lines.count, rejected, fitting_format(con, head, lines, pattern))


def rejected_lines(con: duckdb.DuckDBPyConnection, table: pa.Table, pattern: LogPattern) -> Counter[str]:
    """The lines of `table` the pattern rejects, by reason: as the kernel reads them, and the SQL definition
    the lines the kernel leaves to it (every line of a format the kernel has no program for)."""
    program = compile_program(pattern)
    if program is None or not table.num_rows:
        return _rejected_by_definition(con, table, pattern)
    texts = table.column("line").to_pylist()
    lines = [text.encode() for text in texts]
    data = b"".join(lines)
    parsed = parse_lines(program, data, np.cumsum([len(line) for line in lines]), 0, len(lines),
                         since=-ANY_SECOND, until=ANY_SECOND, max_line=len(data))
    codes, counts = np.unique(parsed.outcome[parsed.outcome >= FIRST_REJECTION], return_counts=True)
    rejected = Counter({KERNEL_OUTCOMES[code].split(":")[1]: int(n) for code, n in zip(codes, counts)})
    deferred = np.flatnonzero(parsed.outcome == KERNEL_OUTCOMES.index(DEFER))
    if len(deferred):  # (their line numbers, which these counts do not need, are their indices)
        rejected.update(_rejected_by_definition(con, pa.table({
            "line_no": arrays.numbers(deferred.astype(np.int64), pa.int64()),
            "line": arrays.from_python([texts[i] for i in deferred], pa.large_string())}), pattern))
    return rejected


def _rejected_by_definition(con: duckdb.DuckDBPyConnection, table: pa.Table, pattern: LogPattern) -> Counter[str]:
    if not table.num_rows:
        return Counter()
    con.register("batch_lines", table)
    rejected = Counter(dict(con.execute(
        f"""SELECT split_part(early_outcome, ':', 2), count(*) FROM ({parse_sql(pattern)})
            WHERE starts_with(early_outcome, 'reject:') GROUP BY ALL"""
    ).fetchall()))
    con.unregister("batch_lines")
    return rejected


def fitting_format(con: duckdb.DuckDBPyConnection, head: bytes, lines: Lines, tried: LogPattern) -> str | None:
    """The format that reads most of the head's lines (more than half of them), other than `tried`
    (with its escapes, if it has a choice of them; clients from where they connected)."""
    kind = w3c.header_kind(head)
    if kind is not None:
        return None if tried.name.split()[0] == kind else kind
    escape = "auto" if tried.escape is tried.default_escape else tried.escape.name
    best = best_fit(candidates_read(con, lines, escape=escape, skip=tried), lines.count)
    return None if best is None else best.pattern.name


@dataclass(frozen=True, slots=True)
class Fit:
    """How well a candidate format reads a head's lines."""

    pattern: LogPattern
    rejected: int   # lines it rejects (the lines no format reads included)
    read: int       # the others


def candidates_read(
    con: duckdb.DuckDBPyConnection, lines: Lines, *, escape: str = "auto", client_from: str = "remote-addr",
    skip: LogPattern | None = None,
) -> dict[str, Fit]:
    """How each candidate format reads `lines` (JSON ones when most lines start with `{`, text ones
    otherwise); those that cannot take the client from where asked, and `skip`, are left out, and so
    are those that could not be the best fit once one reads every line (best_fit's order)."""
    texts = [line.lstrip() for line in lines.table.column("line").to_pylist() if line.strip()]
    candidates = JSON_CANDIDATES if sum(text.startswith("{") for text in texts) * 2 > len(texts) else TEXT_CANDIDATES
    fits = {}
    for candidate in candidates:
        try:
            pattern = compile_format(candidate, escape=escape, client_from=client_from)
        except ClientFromError:
            continue  # it does not log the header the client is to come from
        if skip is not None and (pattern.source_format == skip.source_format or pattern.logformat is not None
                                 and pattern.logformat == skip.logformat):
            continue
        if any(fit.rejected == 0 and len(fit.pattern.fields) >= len(pattern.fields) for fit in fits.values()):
            continue
        rejected = sum(rejected_lines(con, lines.table, pattern).values()) + len(lines.rejections)
        fits[candidate] = Fit(pattern, rejected, lines.count - rejected)
    return fits


def best_fit(fits: dict[str, Fit], count: int) -> Fit | None:
    """The fit that reads the most lines, if more than half of `count`; between equals, the one that
    reads more fields (nginx's `main` over `combined`, whose last field would swallow its
    X-Forwarded-For), then the first listed."""
    best = None
    for fit in fits.values():
        if best is None or (fit.read, len(fit.pattern.fields)) > (best.read, len(best.pattern.fields)):
            best = fit
    return best if best is not None and best.read * 2 > count else None
