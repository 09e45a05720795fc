"""Faults: input a command cannot use, told in one line, with the store left as it was.

Issue 8: `import builds` of a non-UTF-8 CSV or of a `.csv.gz` that is not gzip gave tracebacks, and a negative
build duration was imported; `report --period 9999-Q4` (and any period reaching past 9998 or before 1970) gave
an OverflowError.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from kit.faults import totals, wheelstats
from kit.reports import build_store

CATALOGUE = "filename,duration,status\nnumpy-1.18.1-cp37-cp37m-linux_armv7l.whl,1263.5,t\n"
MANY_ROWS = CATALOGUE + "".join(f"p{n}-1.0-cp37-cp37m-linux_armv7l.whl,{n},t\n" for n in range(2000))
NOTHING = "nothing was imported."


@pytest.fixture
def db(tmp_path) -> Path:
    """A store with a catalogue imported: a failed import must leave it exactly so."""
    path = tmp_path / "s.duckdb"
    (tmp_path / "first.csv").write_text(CATALOGUE)
    assert wheelstats("import", "builds", tmp_path / "first.csv", "--db", path).code == 0
    return path


def import_refused(db: Path, catalogue: Path, message: str) -> None:
    before = totals(db)
    outcome = wheelstats("import", "builds", catalogue, "--db", db)
    assert (outcome.code, outcome.stderr) == (1, f"Error: {message}\n")
    assert totals(db) == before


def test_a_negative_duration_is_refused_with_its_line(tmp_path, db):
    catalogue = tmp_path / "builds.csv"
    catalogue.write_text(CATALOGUE + "foo-1.0-cp37-cp37m-linux_armv7l.whl,-5,t\n")
    import_refused(db, catalogue, f"{catalogue}, line 3: Invalid duration: '-5' (a build cannot take negative time): "
                                  "foo-1.0-cp37-cp37m-linux_armv7l.whl,-5,t")


@pytest.mark.parametrize("name", ["builds.csv", "builds.csv.gz"])
def test_a_catalogue_that_is_not_utf8_names_its_first_such_line(tmp_path, db, name):
    catalogue = tmp_path / name
    data = CATALOGUE.encode() + "ß-1.0-py3-none-any.whl,9,t\n".encode("latin-1")
    catalogue.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    import_refused(db, catalogue, f"{catalogue}, line 3: not UTF-8 (byte 0xdf at column 1): "
                                  f"\ufffd-1.0-py3-none-any.whl,9,t. Save the catalogue as UTF-8 and import it again; {NOTHING}")


@pytest.mark.parametrize(("data", "reason"), [
    (CATALOGUE.encode(), "Not a gzipped file (b'fi')"),
    (gzip.compress(MANY_ROWS.encode())[:2000], "Compressed file ended before the end-of-stream marker was reached"),
    (b"\x1f\x8bGARBAGE", "Compressed file ended before the end-of-stream marker was reached"),
    (b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + b"\xff" * 64, "Error -3 while decompressing data: invalid block type"),
], ids=["plain text", "cut short", "garbage", "damaged"])
def test_a_gz_catalogue_that_is_not_whole_gzip_is_one_line(tmp_path, db, data, reason):
    catalogue = tmp_path / "builds.csv.gz"
    catalogue.write_bytes(data)
    import_refused(db, catalogue, f"{str(catalogue)!r} is not a whole gzip file ({reason}). Compress it again with "
                                  f"gzip, or name it without .gz if it is plain text; {NOTHING}")


@pytest.mark.parametrize("period", ["9999-Q4", "9999", "9999-12-01..9999-12-31", "1969", "0001-01-01..2020-03-31"])
def test_a_period_outside_1970_to_9998_is_one_line(tmp_path, period):
    db = tmp_path / "s.duckdb"
    build_store(db)
    outcome = wheelstats("report", "--period", period, "--db", db, "--out", tmp_path / "report")
    assert (outcome.code, outcome.stderr) == (1, (
        f"Error: Invalid period: {period!r} (periods lie within the years 1970 to 9998). Use a quarter (2020-Q1), "
        "a month (2020-03), a year (2020) or a range (2020-01-01..2020-03-31).\n"
    ))
    assert not (tmp_path / "report").exists()
