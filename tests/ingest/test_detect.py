"""`--format auto` as a user meets it: the account names what each file was read as, a file no format
reads is refused naming what was tried, a known source keeps its format, an explicit --format wins,
JSON lines that do not read are counted rejections, and standard input is detected too."""

from __future__ import annotations

import gzip
import json
import subprocess
from datetime import UTC, datetime, timedelta

import duckdb
import pytest
from typer.testing import CliRunner

from wheelstats import store
from wheelstats.cli import app
from wheelstats.ingest import ingest_paths
from wheelstats.ingest.detect import UnknownFormat
from wheelstats.ingest.formats import (
    JSON_CANDIDATES, TEXT_CANDIDATES, Fit, _rejected_by_definition, best_fit, candidates_read, rejected_lines,
)
from wheelstats.parsing.formats import compile_format
from wheelstats.parsing.lines import split_lines
from wheelstats.parsing.program import compile_program

from kit.logs import log_line
from kit.processes import WHEELSTATS

from ingest.test_formats import FORMATS, PIP, REQUESTS, caddy, gcs, nginx_json

runner = CliRunner()
START = datetime(2026, 3, 5, 10, 0, tzinfo=UTC)


def run(*args: str):
    return runner.invoke(app, list(args))


def caddy_lines(count: int, first: int = 0) -> str:
    return "".join(json.dumps({
        "level": "info", "ts": (START + timedelta(seconds=n)).timestamp(), "logger": "http.log.access",
        "msg": "handled request",
        "request": {"remote_ip": f"192.0.2.{n % 250}", "client_ip": f"192.0.2.{n % 250}", "method": "GET",
                    "uri": f"/simple/proj{n % 7}/", "headers": {"User-Agent": [PIP]}},
        "status": 200, "size": 512,
    }) + "\n" for n in range(first, first + count))


def sources(db) -> dict[str, tuple[str, int]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {name: (log_format, lines) for name, log_format, lines in
                con.execute("SELECT name, log_format, lines FROM sources ORDER BY source_id").fetchall()}


def test_the_account_names_the_format_each_file_was_read_as(tmp_path):
    (tmp_path / "access.log").write_text("".join(log_line(n) for n in range(20)))
    (tmp_path / "caddy.log.gz").write_bytes(gzip.compress(caddy_lines(30).encode()))
    db = tmp_path / "s.duckdb"
    result = run("ingest", "--db", str(db), str(tmp_path / "access.log"), str(tmp_path / "caddy.log.gz"))
    assert result.exit_code == 0, result.output
    assert "lines read = hits + ignored + rejected: 50 = 50 + 0 + 0\n" in result.stdout
    assert "formats: combined (access.log); caddy (caddy.log.gz)\n" in result.stdout
    assert sources(db) == {str(tmp_path / "access.log"): ("combined", 20), str(tmp_path / "caddy.log.gz"): ("caddy", 30)}
    given = run("ingest", "--db", str(tmp_path / "t.duckdb"), "--format", "caddy", str(tmp_path / "caddy.log.gz"))
    assert given.exit_code == 0 and "formats:" not in given.stdout  # nothing was detected


def test_a_file_no_format_reads_is_refused_naming_what_was_tried(tmp_path):
    notes = tmp_path / "notes.json"
    notes.write_text("".join(json.dumps({"note": n}) + "\n" for n in range(12)))
    db = tmp_path / "s.duckdb"
    result = run("ingest", "--db", str(db), str(notes))
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        f"Error: {str(notes)!r} is in no log format wheelstats knows: of its first 12 lines, each format tried "
        "rejects (caddy 12, traefik 12, cloudflare 12, fastly 12, nginx_json 12). Give its format with --format: "
        "a preset, an Apache LogFormat string, or json with --field KEY=PATH. Nothing was stored from it.\n"
    )
    assert not db.exists() or sources(db) == {}


def test_a_known_source_keeps_its_recorded_format_as_it_grows(tmp_path):
    log = tmp_path / "caddy.log"
    log.write_text(caddy_lines(3))  # too few lines to judge: detected all the same
    db = tmp_path / "s.duckdb"
    assert run("ingest", "--db", str(db), str(log)).exit_code == 0
    with log.open("a") as grown:
        grown.write(caddy_lines(5, first=3))
        grown.write("a line no format reads\n")
    again = run("ingest", "--db", str(db), str(log))
    assert again.exit_code == 0, again.output
    assert "lines read = hits + ignored + rejected: 6 = 5 + 0 + 1\n" in again.stdout
    assert "formats: caddy (caddy.log)\n" in again.stdout
    assert sources(db) == {str(log): ("caddy", 9)}


def test_an_explicit_format_still_wins(tmp_path):
    log = tmp_path / "access.log"
    log.write_text("".join(log_line(n) for n in range(20)))
    result = run("ingest", "--db", str(tmp_path / "s.duckdb"), "--format", "caddy", str(log))
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {str(log)!r} does not read as --format caddy: 20 of its first 20 lines are rejected "
        "(not_json: 20). It reads as combined: run again with --format combined. Nothing was stored from it.\n"
    )


def test_json_lines_that_do_not_read_are_rejections_with_reasons_and_line_numbers(tmp_path):
    log = tmp_path / "caddy.log"
    good = caddy_lines(20).splitlines(keepends=True)
    log.write_text("".join(good[:10]) + "{not json\n" + '{"ts": 1772704800, "status": 200}\n' + "".join(good[10:]))
    db = tmp_path / "s.duckdb"
    result = run("ingest", "--db", str(db), str(log))
    assert result.exit_code == 0, result.output
    assert "lines read = hits + ignored + rejected: 22 = 20 + 0 + 2\n" in result.stdout
    rejects = run("rejects", "--db", str(db))
    assert rejects.stdout == (
        "missing_field: 1\nnot_json: 1\n"
        f"{log}:11: [not_json] {{not json\n"
        f'{log}:12: [missing_field] {{"ts": 1772704800, "status": 200}}\n'
    )


def test_a_mapping_given_with_field_reads_nginx_json_with_its_own_keys(tmp_path):
    log = tmp_path / "access.json"
    renamed = {"time_iso8601": "t", "remote_addr": "addr", "request": "req", "status": "code",
               "body_bytes_sent": "sent", "http_referer": "ref", "http_user_agent": "ua"}
    log.write_text("".join(
        json.dumps({renamed[key]: value for key, value in json.loads(line).items()}) + "\n"
        for line in nginx_json(REQUESTS).splitlines()
    ))
    db = tmp_path / "s.duckdb"
    result = run("ingest", "--db", str(db), "--format", "json", "--field", "ts=t", "--field", "ip=addr",
                 "--field", "request=req", "--field", "status=code", "--field", "bytes=sent", "--field", "agent=ua",
                 "--field", "referrer=ref", str(log))
    assert result.exit_code == 0, result.output
    assert "lines read = hits + ignored + rejected: 7 = 4 + 3 + 0\n" in result.stdout
    assert sources(db) == {str(log): ("json ts=t ip=addr request=req status=code bytes=sent agent=ua referrer=ref", 7)}
    with log.open("a") as grown:  # read again as recorded, with no --field
        grown.write(nginx_json(REQUESTS).splitlines(keepends=True)[0].replace('"status"', '"code"'))
    assert "lines read = hits + ignored + rejected: 1 = 0 + 0 + 1\n" in run("ingest", "--db", str(db), str(log)).stdout


@pytest.mark.parametrize("options, message", [
    (["--field", "when=t"], "Error: Invalid --field 'when=t': 'when' is not a field; use one of: ts, ip, method, "
                            "uri, request, status, bytes, agent, referrer, forwarded_for\n"),
    (["--field", "ts"], "Error: Invalid --field 'ts': write it as KEY=PATH, e.g. ts=time_iso8601\n"),
    (["--field", "ts=t"], "Error: Invalid --field 'json ts=t': the mapping has no status, uri (or request); add "
                          "--field status=PATH\n"),
    (["--field", "ts=a[", "--field", "status=s", "--field", "uri=u"],
     "Error: Invalid --field 'ts=a[': cannot read the path 'a[' from '[' on\n"),
    (["--field", "ts=t", "--field", 'ip=r[""]', "--field", "status=s", "--field", "uri=u"],
     "Error: Invalid --field 'ip=r[\"\"]': the path 'r[\"\"]' has an empty key, which cannot be read\n"),
])
def test_a_bad_mapping_is_refused_in_one_line(tmp_path, options, message):
    log = tmp_path / "a.json"
    log.write_text("{}\n")
    result = run("ingest", "--db", str(tmp_path / "s.duckdb"), *options, str(log))
    assert (result.exit_code, result.stdout, result.stderr) == (1, "", message)


def test_standard_input_is_detected_too(tmp_path):
    db = tmp_path / "s.duckdb"
    result = subprocess.run([WHEELSTATS, "ingest", "--db", str(db), "-"], input=gcs(REQUESTS), capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr
    assert "lines read = hits + ignored + rejected: 8 = 4 + 4 + 0\n" in result.stdout
    assert "formats: gcs time_micros c_ip" in result.stdout
    [(log_format, _)] = sources(db).values()
    assert log_format.startswith("gcs time_micros c_ip c_ip_type")


def test_follow_reads_a_growing_json_log_in_its_format(tmp_path):
    log = tmp_path / "caddy.log"
    log.write_text(caddy(REQUESTS[:1]))  # one line: all that detection has to go on
    con = store.connect(":memory:")
    [first] = ingest_paths(con, [log], ip_mode="none")
    with log.open("a") as grown:
        grown.write(caddy(REQUESTS[1:]))
    [second] = ingest_paths(con, [log], ip_mode="none")
    assert (first.log_format, second.log_format, first.lines + second.lines) == ("caddy", "caddy", len(REQUESTS))
    assert con.execute("SELECT count(*) FROM hits").fetchall() == [(4,)]


def test_too_few_lines_that_no_format_reads_are_counted_as_combined_rejections(tmp_path):
    log = tmp_path / "short.log"
    log.write_text("garbage\n" * 3)
    con = store.connect(":memory:")
    [report] = ingest_paths(con, [log], ip_mode="none")
    assert (report.log_format, dict(report.rejected)) == ("combined", {"unparseable": 3})
    many = tmp_path / "long.log"
    many.write_text("other garbage\n" * 12)
    with pytest.raises(UnknownFormat):
        ingest_paths(con, [many], ip_mode="none")


def test_a_header_format_given_to_a_log_without_its_header_is_refused(tmp_path):
    log = tmp_path / "access.log"
    log.write_text("".join(log_line(n) for n in range(3)))
    result = run("ingest", "--db", str(tmp_path / "s.duckdb"), "--format", "cloudfront", str(log))
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        f"Error: {str(log)!r} does not read as --format cloudfront: its head has no #Fields: line naming its "
        "columns. Leave --format out to detect its format. Nothing was stored from it.\n"
    )


def test_a_misspelt_preset_is_refused_with_the_names():
    result = run("ingest", "--db", "never.duckdb", "--format", "cady", "caddy.log")
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        "Error: Invalid log format 'cady': there is no such preset; use auto, one of combined, common, "
        "vhost_combined, nginx, lighttpd, varnishncsa, nginx_main, haproxy, s3, caddy, traefik, cloudflare, fastly, "
        "nginx_json, json, w3c, cloudfront, gcs, or an Apache LogFormat string.\n"
    )


def test_blank_lines_do_not_count_against_a_format(tmp_path):
    """Found by the account's property test: a log whose good lines were half its lines or fewer, the rest
    blank, was refused; blank lines are rejected by every format alike and are not judged."""
    log = tmp_path / "a.log"
    log.write_text("".join(log_line(n) + "\n\n" for n in range(12)))
    con = store.connect(":memory:")
    [report] = ingest_paths(con, [log], ip_mode="none")
    assert con.execute("SELECT log_format FROM sources").fetchall() == [("combined",)]
    assert report.balanced and report.hits == {"download": 12} and report.rejected == {"empty_line": 24}


def test_each_candidate_rejects_the_lines_the_sql_definition_rejects():
    """Detection reads a head with the kernel (the definition reads only the lines the kernel leaves to it):
    for every candidate, on every format's lines and a few that are no log at all, the same rejections."""
    text = "".join(write(REQUESTS) for write, _, _ in FORMATS.values()) + "not a log line\n\t\n{\"a\": [\n- - -\n"
    lines = split_lines(text.encode(), 1)
    con = duckdb.connect()
    tried = 0
    for candidate in TEXT_CANDIDATES + JSON_CANDIDATES:
        pattern = compile_format(candidate)
        by_kernel = rejected_lines(con, lines.table, pattern)
        assert by_kernel == _rejected_by_definition(con, lines.table, pattern), candidate
        tried += compile_program(pattern) is not None and 0 < sum(by_kernel.values()) < lines.table.num_rows
    assert tried >= 5  # most candidates' programs read some of these lines and reject others


@pytest.mark.parametrize("name", ["combined", "lighttpd", "haproxy", "caddy"])  # a winner before its list's end
def test_candidates_left_untried_once_one_reads_every_line_could_not_have_won(name):
    lines = split_lines(FORMATS[name][0](REQUESTS).encode(), 1)
    con = duckdb.connect()
    fits = candidates_read(con, lines)
    candidates = JSON_CANDIDATES if name in ("caddy", "nginx_json") else TEXT_CANDIDATES
    every_fit = {}
    for candidate in candidates:
        pattern = compile_format(candidate)
        rejected = sum(_rejected_by_definition(con, lines.table, pattern).values())
        every_fit[candidate] = Fit(pattern, rejected, lines.count - rejected)
    assert best_fit(fits, lines.count).pattern.name == best_fit(every_fit, lines.count).pattern.name
    assert len(fits) < len(every_fit)  # some were left untried
