"""The bulk check of a build catalogue gives what the row-by-row check gives, or stands aside."""

from __future__ import annotations

import csv
import gzip
import json

import pytest
from kit.catalogues import CSV, ROWS, snapshot

from wheelstats import store
from wheelstats.imports.builds import create_staging_table, import_builds
from wheelstats.imports.builds_in_bulk import stage_in_bulk

FILENAMES = [
    "numpy-1.18.1-cp37-cp37m-linux_armv7l.whl",     # plain: read in SQL
    "Foo_Bar.baz-2.0.10-py3-none-any.whl",          # upper case and dots in the name
    "six-1.0-py3.py2-none-any.whl",                  # a tag set out of order: sorted
    "lxml-1.01-cp39-cp39-linux_armv7l.whl",          # a leading zero: the version is normalised
    "lxml-4.5.0rc1-cp39-cp39-linux_armv7l.whl",      # a pre-release
    "pkg-1.0-1build-py3-none-any.whl",               # a build tag
    "bad__name-1.0-py3-none-any.whl",                # "__": not a wheel name (project and version given)
    "requests-2.23.0.tar.gz",
    "setuptools-40.0-py3.7.egg",
    "oddly.named.zip",                               # no project or version in the name (given)
]
DURATIONS = ["83.5", "PT1M23.5S", "2 days 03:04:05", "00:21:03.5", "1 day 00:00:05.25", "1_000", ".5", "5.", " 7 ", "", "3e2"]
STARTS = ["2020-01-02 03:04:05", "2020-01-02T03:04:05.123", "2019-06-01T00:00:00+02:00",
          "2020-01-02 03:04:05 UTC", "2020-01-02", ""]
STATUSES = ["t", "FALSE", " yes ", "Success", ""]
SIZES = ["12", " 12 ", "+5", ""]


def varied_rows() -> list[dict]:
    """Every form of every field at least once, each row a file of its own (no ties for the upsert to break)."""
    rows = []
    for number, filename in enumerate(FILENAMES * 30):
        duration, start, status, size = (forms[number % len(forms)] for forms in (DURATIONS, STARTS, STATUSES, SIZES))
        unnamed = filename.startswith(("bad__", "oddly"))
        rows.append({
            "filename": filename.replace("-", f"{number}-", 1) if "-" in filename else f"{number}{filename}",
            "project": "Odd.Name" if unnamed else ("Given.Name" if number % 7 == 0 else ""),
            "version": "9.9" if unnamed else "",
            "built_at": start, "duration": duration, "status": status, "size": size,
            "built_by": f"builder{number % 3}", "build_id": str(number) if number % 4 == 0 else "",
        })
    return rows


def write_csv(path, rows) -> None:
    with (gzip.open(path, "wt", newline="") if path.name.endswith(".gz") else open(path, "w", newline="")) as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def write_jsonl(path, rows) -> None:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))


def imported_both_ways(tmp_path, catalogue) -> tuple[dict, dict]:
    stores = []
    for in_bulk in (True, False):
        con = store.connect(tmp_path / f"{catalogue.name}.{in_bulk}.duckdb")
        import_builds(con, catalogue, in_bulk=in_bulk)
        import_builds(con, catalogue, in_bulk=in_bulk)  # twice: the upsert changes nothing
        stores.append(snapshot(con))
        con.close()
    return stores[0], stores[1]


def vouched(catalogue) -> bool:
    con = store.connect(catalogue.with_name("vouched.duckdb"))
    create_staging_table(con)
    return stage_in_bulk(con, catalogue)


@pytest.mark.parametrize("name", ["varied.csv", "varied.csv.gz", "varied.jsonl"])
def test_every_form_of_every_field_is_read_in_bulk_as_row_by_row(tmp_path, name):
    catalogue = tmp_path / name
    (write_jsonl if name.endswith(".jsonl") else write_csv)(catalogue, varied_rows())
    assert vouched(catalogue)
    in_bulk, row_by_row = imported_both_ways(tmp_path, catalogue)
    assert in_bulk == row_by_row
    assert len(in_bulk["files"]) == len(varied_rows())


def test_the_documented_examples_are_read_in_bulk_as_row_by_row(tmp_path):
    for catalogue, write in ((tmp_path / "builds.csv", lambda p: p.write_text(CSV)),
                             (tmp_path / "builds.jsonl", lambda p: write_jsonl(p, ROWS))):
        write(catalogue)
        assert vouched(catalogue)
        in_bulk, row_by_row = imported_both_ways(tmp_path, catalogue)
        assert in_bulk == row_by_row


@pytest.mark.parametrize("catalogue_text", [
    "filename,size\nfoo-1.0-py3-none-any.whl,10,oops\n",      # a field too many
    "filename,size\nfoo-1.0-py3-none-any.whl,ten\n",          # not a number
    "filename,duration\nfoo-1.0-py3-none-any.whl,-5\n",       # negative time
    "filename,duration\nfoo-1.0-py3-none-any.whl,-00:00:01\n",
    "filename,status\nfoo-1.0-py3-none-any.whl,maybe\n",
    "filename,built_at\nfoo-1.0-py3-none-any.whl,2020-02-30\n",
    "filename\nnot-a-distribution.txt\n",                      # no project or version
    "filename,size\nfoo-1.0-py3-none-any.whl,\t12\n",         # whitespace SQL does not trim: Python decides
    "filename\n\nfoo-1.0-py3-none-any.whl\n",                  # a blank line csv skips
    "filename,filename\na-1.0-py3-none-any.whl,b-1.0-py3-none-any.whl\n",  # the last of like-named columns
])
def test_what_the_bulk_check_cannot_vouch_for_is_left_to_the_row_by_row_check(tmp_path, catalogue_text):
    catalogue = tmp_path / "odd.csv"
    catalogue.write_text(catalogue_text)
    assert not vouched(catalogue)


@pytest.mark.parametrize("line", [
    '{"filename": "foo-1.0-py3-none-any.whl", "built_by": true}',     # str(True) is "True", not "true"
    '{"filename": "foo-1.0-py3-none-any.whl", "version": 1.10}',      # str(1.1) is "1.1", not "1.10"
    '{"filename": "foo-1.0-py3-none-any.whl", "size": {"bytes": 1}}',
    '{"filename": "foo-1.0-py3-none-any.whl", "size": 10.0}',
    '{"filename": "foo-1.0-py3-none-any.whl", "built_at": true}',
    '["foo-1.0-py3-none-any.whl"]',
])
def test_json_whose_text_python_reads_otherwise_is_left_to_the_row_by_row_check(tmp_path, line):
    catalogue = tmp_path / "odd.jsonl"
    catalogue.write_text(line + "\n")
    assert not vouched(catalogue)


def test_json_values_are_checked_one_by_one_not_by_their_column_type(tmp_path):
    """A kept-as-text key that is a string on one line and true on another (str(True) is "True", DuckDB's
    text "true"): whatever type a reader would give the column, the line with true is seen."""
    catalogue = tmp_path / "mixed.jsonl"
    write_jsonl(catalogue, [{"filename": "a-1.0-py3-none-any.whl", "built_by": "builder"},
                            {"filename": "b-1.0-py3-none-any.whl", "built_by": True, "build_id": 1}])
    assert not vouched(catalogue)
    in_bulk, row_by_row = imported_both_ways(tmp_path, catalogue)
    assert in_bulk == row_by_row
    assert any("True" in build for build in in_bulk["builds"])  # built_by as str() gives it
