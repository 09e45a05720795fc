"""`--format auto`: a new source's format found from its first lines, or a one-line error listing what was tried.

A head that starts with a header naming its columns (W3C's `#Fields:`, a
Cloud Storage usage log's CSV header) is read by those columns. Otherwise
every candidate (formats.TEXT_CANDIDATES, or JSON_CANDIDATES when most lines
start with `{`) reads the head's whole lines, and the one that reads the
most wins (formats.best_fit); it must read more than half of them (blank lines,
which every format rejects alike, are not judged). A head of
fewer than formats.JUDGED_LINES lines that no candidate reads is read as
combined, as before there was detection: its lines are counted as rejected
and `wheelstats forget` takes them out again.
"""

from __future__ import annotations

import duckdb

from wheelstats.ingest.formats import JUDGED_LINES, WrongFormat, best_fit, candidates_read
from wheelstats.ingest.sources import SourceError
from wheelstats.parsing import w3c
from wheelstats.parsing.formats import compile_format
from wheelstats.parsing.lines import split_lines
from wheelstats.parsing.logformat import ClientFromError, LogPattern

FALLBACK = "combined"


class UnknownFormat(WrongFormat):
    """No format wheelstats knows reads a new source's first lines."""

    def __init__(self, name: str, lines: int, tried: dict[str, int], client_from: str):
        listed = ", ".join(f"{candidate} {rejected:,}" for candidate, rejected in tried.items()) or "none"
        which = "" if client_from == "remote-addr" else f" that logs the {client_from} header"
        SourceError.__init__(
            self,
            f"{name!r} is in no log format{which} wheelstats knows: of its first {lines:,} lines, each format "
            f"tried rejects ({listed}). Give its format with --format: a preset, an Apache LogFormat string, or "
            "json with --field KEY=PATH. Nothing was stored from it."
        )


def detect(con: duckdb.DuckDBPyConnection, name: str, head: bytes, *, escape: str = "auto",
           client_from: str = "remote-addr") -> LogPattern:
    """The pattern that reads `head` (a new source's first bytes) best; UnknownFormat if none does."""
    kind = w3c.header_kind(head)
    if kind is not None:
        return compile_format(kind, head=head, escape=escape, client_from=client_from)
    whole = head[: head.rfind(b"\n") + 1] or head
    judged = b"".join(line for line in whole.splitlines(keepends=True) if line.strip())  # no format reads a blank
    lines = split_lines(judged or whole, 1)
    fits = candidates_read(con, lines, escape=escape, client_from=client_from)
    best = best_fit(fits, lines.count)
    if best is not None:
        return best.pattern
    if lines.count < JUDGED_LINES:
        try:
            return compile_format(FALLBACK, escape=escape, client_from=client_from)
        except ClientFromError:
            pass
    raise UnknownFormat(name, lines.count, {candidate: fit.rejected for candidate, fit in fits.items()}, client_from)


__all__ = ["UnknownFormat", "detect"]
