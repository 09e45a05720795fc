"""Forgetting a source: its hits, counts, fingerprints and checkpoint out of the store, at once.

A source is named as the account showed it (its name, or just its file name
when that is unambiguous), or by a log file whose content identifies it (its
head, as ingest recognises sources). Lines other sources skipped because this
one held them are not brought back: they are reported, so that those sources
can be ingested again (`ingest --again`).
"""

from __future__ import annotations

import os

import duckdb

from wheelstats.ingest import checkpoints, follow as following
from wheelstats.ingest.account import ForgottenSource, SkippedElsewhere
from wheelstats.ingest.sources import SourceError, is_stdin, open_source
from wheelstats.rollups import refresh_rollups
from wheelstats.store import transaction
from wheelstats.store.schema import HITS_TABLE

# Every table with a row per source; `sources` goes last.
SOURCE_TABLES = (HITS_TABLE, "ignored", "rejected", "reject_samples", "chunks", "open_chunks", "already_ingested")


class UnknownSource(SourceError):
    def __init__(self, text: str, known: list[str]):
        listed = ", ".join(repr(name) for name in known[:10]) + (", ..." if len(known) > 10 else "")
        held = f"It holds {listed}." if known else "It holds no sources."
        super().__init__(f"No source {text!r} in the store. {held}")


class AmbiguousSource(SourceError):
    def __init__(self, text: str, names: list[str]):
        super().__init__(f"{text!r} names {len(names)} sources: {', '.join(map(repr, names))}. Give the whole name.")


def source_of_file(con: duckdb.DuckDBPyConnection, path: str) -> checkpoints.Checkpoint | None:
    """The source a log file's content is (by its head), if the store knows it."""
    stream = open_source(path)
    try:
        head = following.read_head(stream, follow=False)
    finally:
        stream.close()
    return checkpoints.find_source(con, head.data) if head.data else None


def find(con: duckdb.DuckDBPyConnection, text: str) -> tuple[int, str]:
    """(source_id, name) of the source `text` names: a log file whose content is it, its
    name, or its file name alone."""
    if os.path.isfile(text):
        known = source_of_file(con, text)
        if known is not None:
            return known.source_id, _name(con, known.source_id)
    rows = con.execute("SELECT source_id, name FROM sources ORDER BY source_id").fetchall()
    exact = [(source_id, name) for source_id, name in rows if name == text]
    if exact:
        return exact[0]
    by_file_name = [(source_id, name) for source_id, name in rows if os.path.basename(name) == text]
    if len(by_file_name) == 1:
        return by_file_name[0]
    if by_file_name:
        raise AmbiguousSource(text, [name for _, name in by_file_name])
    raise UnknownSource(text, [name for _, name in rows])


def _name(con: duckdb.DuckDBPyConnection, source_id: int) -> str:
    return con.execute("SELECT name FROM sources WHERE source_id = ?", [source_id]).fetchall()[0][0]


def forget(con: duckdb.DuckDBPyConnection, source_id: int) -> ForgottenSource:
    """Remove a source and everything counted from it, in one transaction; then bring the rollups
    up to date (they are rebuilt, since hits were removed)."""
    with transaction(con):
        name, lines = con.execute("SELECT name, lines FROM sources WHERE source_id = ?", [source_id]).fetchall()[0]
        hits, ignored, rejected, already = con.execute(
            f"""SELECT (SELECT count(*) FROM {HITS_TABLE} WHERE source_id = $1),
                      (SELECT coalesce(sum(lines), 0) FROM ignored WHERE source_id = $1),
                      (SELECT coalesce(sum(lines), 0) FROM rejected WHERE source_id = $1),
                      (SELECT coalesce(sum(lines), 0) FROM already_ingested WHERE source_id = $1)""",
            [source_id],
        ).fetchall()[0]
        skipped = con.execute(
            """SELECT s.name, sum(a.lines)::BIGINT FROM already_ingested a JOIN sources s USING (source_id)
               WHERE a.held_by = $1 AND a.source_id <> $1 GROUP BY s.source_id, s.name ORDER BY s.source_id""",
            [source_id],
        ).fetchall()
        for table in SOURCE_TABLES:
            con.execute(f"DELETE FROM {table} WHERE source_id = ?", [source_id])
        con.execute("DELETE FROM sources WHERE source_id = ?", [source_id])
    refresh_rollups(con)
    return ForgottenSource(
        source_id, name, lines, hits, int(ignored), int(rejected), int(already),
        tuple(SkippedElsewhere(other, n) for other, n in skipped),
    )


def forget_files(con: duckdb.DuckDBPyConnection, paths: list[str]) -> list[ForgottenSource]:
    """Forget the sources these log files' contents are; files the store does not know (and
    standard input, which cannot be read twice) are passed over."""
    forgotten = []
    for path in paths:
        known = None if is_stdin(path) else source_of_file(con, path)
        if known is not None:
            forgotten.append(forget(con, known.source_id))
    return forgotten
