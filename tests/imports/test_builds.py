"""`wheelstats import builds`: catalogues of builds and files from CSV and JSON lines."""

from __future__ import annotations

import gzip
import json
from datetime import datetime

import pytest
from kit.catalogues import CSV, ROWS, snapshot
from typer.testing import CliRunner

from wheelstats import store
from wheelstats.cli import app
from wheelstats.imports.builds import CatalogueError, import_builds, parse_duration


def check_catalogue(con) -> None:
    files = {row[0]: row for row in con.execute(
        "SELECT filename, project, version, python_tag, abi_tag, platform_tag, size, sha256, build_id FROM files"
    ).fetchall()}
    assert files["numpy-1.18.1-cp37-cp37m-linux_armv6l.whl"] == (
        "numpy-1.18.1-cp37-cp37m-linux_armv6l.whl", "numpy", "1.18.1", "cp37", "cp37m", "linux_armv6l",
        1000, "aa", 11)
    assert files["Foo_Bar-1.0-py3-none-any.whl"][1:6] == ("foo-bar", "1.0", "py3", "none", "any")
    assert files["requests-2.23.0.tar.gz"][1:3] == ("requests", "2.23.0")
    assert files["requests-2.23.0.tar.gz"][8] is None  # no build facts, no build
    builds = con.execute(
        "SELECT project, version, abi_tag, built_at, duration_s, status FROM builds ORDER BY project").fetchall()
    assert builds == [
        ("foo-bar", "1.0", "none", datetime(2019, 5, 31, 22, 0), 9.25, True),
        ("numpy", "1.18.1", "cp37m", datetime(2020, 1, 2, 3, 4, 5), 1263.5, True),
    ]
    foo_build = files["Foo_Bar-1.0-py3-none-any.whl"][8]
    assert con.execute("SELECT count(*) FROM builds WHERE build_id = ?", [foo_build]).fetchall() == [(1,)]


def test_csv_catalogue_loads_files_and_builds_and_twice_changes_nothing(tmp_path):
    path = tmp_path / "builds.csv"
    path.write_text(CSV)
    con = store.connect(tmp_path / "s.duckdb")
    summary = import_builds(con, path)
    assert (summary.files, summary.builds) == (4, 2)
    check_catalogue(con)
    before = snapshot(con)
    import_builds(con, path)
    assert snapshot(con) == before


def test_jsonl_catalogue_gives_the_same_store_as_csv(tmp_path):
    csv_path = tmp_path / "builds.csv"
    csv_path.write_text(CSV)
    jsonl_path = tmp_path / "builds.jsonl.gz"
    with gzip.open(jsonl_path, "wt") as out:
        out.write("".join(json.dumps(row) + "\n" for row in ROWS))
    from_csv = store.connect(tmp_path / "csv.duckdb")
    from_jsonl = store.connect(tmp_path / "jsonl.duckdb")
    import_builds(from_csv, csv_path)
    import_builds(from_jsonl, jsonl_path)
    check_catalogue(from_jsonl)
    assert snapshot(from_jsonl) == snapshot(from_csv)


def test_a_file_known_from_ingest_gets_its_build(tmp_path):
    con = store.connect(tmp_path / "s.duckdb")
    # As ingest records a downloaded file: tags from its name, no size, hash or build.
    con.execute("""
        INSERT INTO files (filename, project, version, package_type, python_tag, abi_tag, platform_tag, valid)
        VALUES ('numpy-1.18.1-cp37-cp37m-linux_armv7l.whl', 'numpy', '1.18.1', 'bdist_wheel',
                'cp37', 'cp37m', 'linux_armv7l', true)
    """)
    path = tmp_path / "builds.csv"
    path.write_text(CSV)
    import_builds(con, path)
    row = con.execute("""
        SELECT f.size, f.sha256, b.duration_s FROM files f JOIN builds b USING (build_id)
        WHERE filename = 'numpy-1.18.1-cp37-cp37m-linux_armv7l.whl'
    """).fetchall()
    assert row == [(1000, "aa", 1263.5)]
    assert con.execute("SELECT count(*) FROM files").fetchall() == [(4,)]


@pytest.mark.parametrize("in_bulk", [True, False])
def test_a_later_catalogue_updates_what_it_says_and_keeps_what_it_leaves_out(tmp_path, in_bulk):
    con = store.connect(tmp_path / "s.duckdb")
    first, later = tmp_path / "first.csv", tmp_path / "later.csv"
    first.write_text(CSV)
    import_builds(con, first, in_bulk=in_bulk)
    # Build 11 rebuilt (a new duration, failed); the wheel's size and hash left out; a new sdist.
    later.write_text("filename,built_at,duration,status,size,sha256,build_id\n"
                     "numpy-1.18.1-cp37-cp37m-linux_armv6l.whl,2020-02-03 04:05:06,60,false,,,11\n"
                     "numpy-1.18.1.tar.gz,,,,700,dd,\n")
    summary = import_builds(con, later, in_bulk=in_bulk)
    assert (summary.files, summary.builds) == (2, 1)
    assert con.execute("SELECT built_at, duration_s, status FROM builds WHERE build_id = 11").fetchall() == [
        (datetime(2020, 2, 3, 4, 5, 6), 60.0, False)]
    assert con.execute("SELECT filename, size, sha256, build_id FROM files WHERE project = 'numpy' "
                       "ORDER BY filename").fetchall() == [
        ("numpy-1.18.1-cp37-cp37m-linux_armv6l.whl", 1000, "aa", 11),
        ("numpy-1.18.1-cp37-cp37m-linux_armv7l.whl", 1000, "aa", 11),
        ("numpy-1.18.1.tar.gz", 700, "dd", None),
    ]
    assert con.execute("SELECT count(*) FROM files").fetchall() == [(5,)]
    assert con.execute("SELECT count(*) FROM builds").fetchall() == [(2,)]


@pytest.mark.parametrize(("text", "seconds"), [
    ("83.5", 83.5), ("PT1M23.5S", 83.5), ("P1DT1S", 86401.0), ("P1W", 604800.0),
    ("00:01:23.5", 83.5), ("2 days 03:04:05", 183845.0), ("1 day", 86400.0), ("1 mon", 2592000.0),
])
def test_durations_in_seconds_iso_and_postgres_forms(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["soon", "P", "PT", "nan", "inf", "3 days later", "1:2"])
def test_bad_durations_are_refused(text):
    with pytest.raises(ValueError, match="Invalid duration"):
        parse_duration(text)


def test_a_bad_row_names_its_line_and_nothing_is_imported(tmp_path):
    path = tmp_path / "builds.csv"
    path.write_text(CSV + "numpy-1.0-cp37-cp37m-linux_armv7l.whl,,2020-01-02 03:04:05,soon,t,,,\n")
    con = store.connect(tmp_path / "s.duckdb")
    with pytest.raises(CatalogueError) as error:
        import_builds(con, path)
    assert str(error.value) == (
        f"{path}, line 6: Invalid duration: 'soon': "
        "numpy-1.0-cp37-cp37m-linux_armv7l.whl,,2020-01-02 03:04:05,soon,t,,,"
    )
    assert snapshot(con) == {"files": [], "builds": []}


def test_a_csv_without_filenames_or_with_extra_fields_is_refused(tmp_path):
    con = store.connect(tmp_path / "s.duckdb")
    headless = tmp_path / "nofile.csv"
    headless.write_text("project,version\nnumpy,1.0\n")
    with pytest.raises(CatalogueError) as error:
        import_builds(con, headless)
    assert str(error.value) == (
        f"{headless} has no filename column (its header: project, version). "
        "A catalogue has one row per file; see `wheelstats import builds --help`."
    )
    wide = tmp_path / "wide.csv"
    wide.write_text("filename,size\nfoo-1.0-py3-none-any.whl,10,oops\n")
    with pytest.raises(CatalogueError) as error:
        import_builds(con, wide)
    assert str(error.value) == f"{wide}, line 2: 3 fields, but the header has 2: foo-1.0-py3-none-any.whl,10,oops"
    assert snapshot(con) == {"files": [], "builds": []}


def test_cli_import_builds_prints_counts_and_errors(tmp_path):
    path = tmp_path / "builds.csv"
    path.write_text(CSV)
    db = tmp_path / "cli.duckdb"
    runner = CliRunner()
    result = runner.invoke(app, ["import", "builds", str(path), "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"Imported 4 files and 2 builds from {path}.\n"

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"filename": "numpy-1.0-cp37-cp37m-linux_armv7l.whl", "status": "maybe"}\n')
    result = runner.invoke(app, ["import", "builds", str(bad), "--db", str(db)])
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {bad}, line 1: Invalid status: 'maybe' (use true or false): "
        '{"filename": "numpy-1.0-cp37-cp37m-linux_armv7l.whl", "status": "maybe"}\n'
    )
    array = tmp_path / "builds.json"
    array.write_text(json.dumps(ROWS))
    result = runner.invoke(app, ["import", "builds", str(array), "--db", str(db)])
    assert result.exit_code == 1
    assert result.stderr == f"Error: {array} holds a JSON array: write one JSON object a line (JSON lines) instead.\n"
    wrong = tmp_path / "builds.xlsx"
    wrong.write_text("x")
    result = runner.invoke(app, ["import", "builds", str(wrong), "--db", str(db)])
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: Cannot tell the format of {str(wrong)!r}: name it .csv, .jsonl or .json (optionally .gz).\n"
    )


def test_a_negative_duration_is_refused(tmp_path):
    for text in ("-5", "-00:00:05", "-1 days"):
        with pytest.raises(ValueError, match=rf"^Invalid duration: '{text}' \(a build cannot take negative time\)$"):
            parse_duration(text)


def test_a_missing_catalogue_makes_no_store(tmp_path):
    result = CliRunner().invoke(app, ["import", "builds", str(tmp_path / "none.csv"), "--db", str(tmp_path / "s.duckdb")])
    assert (result.exit_code, result.stderr) == (1, f"Error: No catalogue at {str(tmp_path / 'none.csv')!r}.\n")
    assert not (tmp_path / "s.duckdb").exists()
