"""The block writer: implausible times and offsets are rejected with their own reasons, and the
store stays readable by every command."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta

import duckdb
from typer.testing import CliRunner

from wheelstats.cli import app
from wheelstats.ingest import ingest_files

from kit.logs import log_line, write_log


def dated(n: int, when: str, offset: str = "+0000") -> str:
    """Line n of kit.logs, a download, at another time and offset."""
    line = log_line(n)
    stamp = line[line.index("[") + 1 : line.index("]")]
    return line.replace(stamp, f"{when} {offset}")


def test_times_outside_a_plausible_window_and_offsets_beyond_14_hours_are_rejected(tmp_path):
    tomorrow_and_more = (datetime.now(UTC) + timedelta(days=2)).strftime("%d/%b/%Y:%H:%M:%S")
    lines = [
        dated(0, "05/Mar/2020:10:00:00"),               # counted
        dated(1, "01/Jan/0001:00:00:00", "+0100"),      # before 1995
        dated(2, "31/Dec/9999:23:59:59"),               # far ahead
        dated(3, tomorrow_and_more),                    # more than a day ahead
        dated(4, "31/Dec/1994:23:59:59"),               # just before 1995
        dated(5, "05/Mar/2020:10:00:00", "+2500"),      # no such offset
        dated(6, "05/Mar/2020:10:00:00", "-1401"),
        dated(7, "05/Mar/2020:10:00:00", "+1400"),      # Kiribati: counted
        dated(8, "05/Mar/2020:10:00:00", "-1200"),      # counted
        dated(9, "01/Jan/1995:00:00:00"),               # counted
    ]
    db = tmp_path / "s.duckdb"
    [report] = ingest_files(db, [write_log(tmp_path / "access.log", lines)])
    assert report.balanced and dict(report.hits) == {"download": 4}
    assert dict(report.rejected) == {"implausible_time": 4, "bad_offset": 2}
    runner = CliRunner()
    summary = runner.invoke(app, ["summary", "--db", str(db), "--json"])
    assert summary.exit_code == 0
    assert json.loads(summary.stdout)["first_hit"] == "1995-01-01T00:00:00Z"
    rejects = runner.invoke(app, ["rejects", "--db", str(db), "--reason", "bad_offset"])
    assert rejects.stdout.splitlines()[-2:] == [
        f"{tmp_path / 'access.log'}:6: [bad_offset] {lines[5].rstrip()}",
        f"{tmp_path / 'access.log'}:7: [bad_offset] {lines[6].rstrip()}",
    ]


def test_two_spellings_of_one_agent_share_its_row(tmp_path):
    """Apache writes a backslash as \\\\; a lone one (another server's, or a hand-made line) reads the same."""
    lone, escaped = (log_line(n).rsplit(' "', 1)[0] + f' "{agent}"\n' for n, agent in ((0, r"curl\x"), (1, r"curl\\x")))
    db = tmp_path / "s.duckdb"
    [report] = ingest_files(db, [write_log(tmp_path / "access.log", [lone, escaped])])
    assert dict(report.hits) == {"download": 2}
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT agent FROM agents").fetchall() == [("curl\\x",)]
    assert con.execute("SELECT count(DISTINCT agent_id), count(agent_id) FROM hits").fetchall() == [(1, 2)]


def test_a_downloads_bytes_are_stored_as_they_differ_from_its_files_and_shown_as_the_log_wrote_them(tmp_path):
    """Version 12: a file's size is the bytes its downloads in its first block send most; a download keeps its bytes
    as the difference (0: the whole file); each block's hits are grouped by kind; `hits` shows every line as
    written."""
    wheel = "/simple/proj0/proj0-1.0-cp37-cp37m-linux_armv7l.whl"

    def line(n: int, path: str = wheel, size: int = 1234) -> str:
        """Line n of kit.logs with another path and size."""
        before, _, after = log_line(n).partition('"GET ')
        return f'{before}"GET {path} HTTP/1.1" 200 {size} {after.split(" 200 1234 ", 1)[1]}'

    lines = [line(0), line(1, "/simple/proj0/", 900), line(2, size=400), line(3),
             line(4, wheel.replace("/proj0/", "/other/")), line(5, "/project/proj0/", 77), line(6)]
    db = tmp_path / "s.duckdb"
    [report] = ingest_files(db, [write_log(tmp_path / "access.log", lines)])
    assert dict(report.hits) == {"download": 5, "search": 1, "project_page": 1}
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT filename, size FROM hit_files").fetchall() == [(wheel.rsplit("/", 1)[1], 1234)]
    stored = con.execute("""SELECT h.kind::VARCHAR, h.line_no, h.bytes, p.project FROM hit_rows h
        LEFT JOIN hit_projects p USING (project_id) ORDER BY h.rowid""").fetchall()
    assert sorted(stored, key=lambda row: row[1]) == [
        ("download", 1, 0, "proj0"), ("search", 2, 900, "proj0"), ("download", 3, 400 - 1234, "proj0"),
        ("download", 4, 0, "proj0"), ("download", 5, 0, "other"), ("project_page", 6, 77, "proj0"),
        ("download", 7, 0, "proj0")]
    runs = [(kind, [row[1] for row in rows]) for kind, rows in itertools.groupby(stored, key=lambda row: row[0])]
    assert len(runs) == 3 and all(line_nos == sorted(line_nos) for _, line_nos in runs)
    assert con.execute("SELECT line_no, project, bytes, path FROM hits ORDER BY line_no").fetchall() == [
        (1, "proj0", 1234, wheel), (2, "proj0", 900, "/simple/proj0/"), (3, "proj0", 400, wheel),
        (4, "proj0", 1234, wheel), (5, "other", 1234, wheel.replace("/proj0/", "/other/")),
        (6, "proj0", 77, "/project/proj0/"), (7, "proj0", 1234, wheel)]
