"""`--format auto`: a new source's format found from its first lines, or a one-line error listing what was tried.

A head that starts with a header naming its columns (W3C's `#Fields:`, a
Cloud Storage usage log's CSV header) is read by those columns. Otherwise
every candidate reads the head's whole lines (JSON presets for lines that
start with `{`, the text formats for the rest), and the one that rejects the
fewest wins; between equals, the one that reads more fields (nginx's `main`
over `combined`, whose last field would swallow its X-Forwarded-For), then
the first listed. A winner must read more than half the lines. A head of
fewer than formats.JUDGED_LINES lines that no candidate reads is read as
combined, as before there was detection: its lines are counted as rejected
and `wheelstats forget` takes them out again.
"""

from __future__ import annotations

from collections import Counter

import duckdb

from wheelstats.ingest.formats import JUDGED_LINES, WrongFormat, rejected_lines
from wheelstats.ingest.sources import SourceError
from wheelstats.parsing import w3c
from wheelstats.parsing.formats import JSON_PRESETS, compile_format
from wheelstats.parsing.lines import split_lines
from wheelstats.parsing.logformat import ClientFromError, LogPattern

TEXT_CANDIDATES = ("combined", "common", "vhost_combined", "nginx_main", "haproxy", "s3")
JSON_CANDIDATES = tuple(JSON_PRESETS)
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
    lines = split_lines(whole, 1)
    first = next((line for line in whole.split(b"\n") if line.strip()), b"")
    candidates = JSON_CANDIDATES if first.lstrip().startswith(b"{") else TEXT_CANDIDATES
    tried: dict[str, int] = {}
    best: tuple[int, int, LogPattern] | None = None
    for candidate in candidates:
        try:
            pattern = compile_format(candidate, escape=escape, client_from=client_from)
        except ClientFromError:
            continue  # it does not log the header the client is to come from
        rejected = sum(rejected_lines(con, lines.table, pattern).values()) + len(lines.rejections)
        tried[candidate] = rejected
        read = lines.count - rejected
        if best is None or (read, len(pattern.fields)) > best[:2]:
            best = (read, len(pattern.fields), pattern)
    if best is not None and best[0] * 2 > lines.count:
        return best[2]
    if lines.count < JUDGED_LINES:
        try:
            return compile_format(FALLBACK, escape=escape, client_from=client_from)
        except ClientFromError:
            pass
    raise UnknownFormat(name, lines.count, tried, client_from)


__all__ = ["UnknownFormat", "detect"]
