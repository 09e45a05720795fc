"""`wheelstats ingest` and `wheelstats forget` as a user meets them: the exact text, the exit code,
and the store afterwards compared with a clean run."""

from __future__ import annotations

import bz2
import gzip
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from wheelstats import ingest as ingesting, store
from wheelstats.cli import app
from wheelstats.ingest.sources import MIN_BLOCK_LINES

from kit.logs import hit_counts, log_line, write_log
from kit.processes import WHEELSTATS, ctrl_c_restored, stop, wait_until

runner = CliRunner()
KINDS = ["download", "search", "download", "project_page", "other"]


def lines_of(log: int, count: int) -> list[str]:
    first = 5000 * log
    return [log_line(n, KINDS[n % len(KINDS)]) for n in range(first, first + count)]


def hits_of(log: int, count: int) -> int:
    return sum(1 for n in range(5000 * log, 5000 * log + count) if KINDS[n % len(KINDS)] != "other")


def run(*args: str):
    return runner.invoke(app, list(args))


def summary(db: Path) -> dict:
    result = run("summary", "--db", str(db), "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def logs(tmp_path):
    """a.log and b.log, 300 lines each, and ab.log: the two one after the other."""
    a = write_log(tmp_path / "a.log", lines_of(1, 300))
    b = write_log(tmp_path / "b.log", lines_of(2, 300))
    ab = tmp_path / "ab.log"
    ab.write_bytes(a.read_bytes() + b.read_bytes())
    return a, b, ab


def test_lines_already_ingested_are_their_own_outcome(tmp_path, logs):
    a, b, ab = logs
    db = str(tmp_path / "s.duckdb")
    assert run("ingest", "--db", db, str(a), str(b)).exit_code == 0
    before = summary(Path(db))
    result = run("ingest", "--db", db, str(ab))
    assert result.exit_code == 0
    assert "lines read = hits + ignored + rejected + already ingested: 300 = 0 + 0 + 0 + 300\n" in result.stdout
    assert f"300 lines were in the store already, read from {b} (300): not counted again\n" in result.stdout
    assert "1 source(s) seen before: only their new lines were read\n" in result.stdout
    after = summary(Path(db))
    assert after == {**before, "already_ingested": 300}
    assert before["lines"] == 600 and before["already_ingested"] == 0


def test_an_ingest_leaves_pandas_unimported(tmp_path, logs):
    """pyarrow imports pandas at its first `pa.array` (the store's arrays are made by wheelstats.arrays):
    a second of a small log's ingest on a loaded machine. A log read both ways (the kernel, and the SQL
    definition for the lines in another format), compressed, into a new store and then into one it updates;
    the log the kernel reads alone does not even import pyarrow.compute (60 ms)."""
    a, b, _ = logs
    mixed = write_log(tmp_path / "mixed.log.gz", [*lines_of(3, 200), '{"not": "combined"}\n', *lines_of(4, 5)],
                      compress=True)
    script = ("import atexit, sys; from wheelstats.__main__ import main; sys.argv[0] = 'wheelstats'; "
              "atexit.register(lambda: print('imported:', *sorted({'pandas', 'pyarrow.compute'} & set(sys.modules)))); "
              "sys.exit(main())")
    db = str(tmp_path / "s.duckdb")
    imported = []
    for logs_read in ([a, mixed], [b]):
        result = subprocess.run([sys.executable, "-c", script, "ingest", "--db", db, *map(str, logs_read)],
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        imported.append(result.stdout.splitlines()[-1])
    assert "pandas" not in imported[0]
    assert imported[1] == "imported:"
    assert summary(Path(db))["lines"] == 806


def test_a_log_in_another_format_is_refused_whole_and_named(tmp_path, logs):
    a, _, _ = logs
    db = tmp_path / "s.duckdb"
    head_lines = a.read_bytes()[: 64 << 10].count(b"\n")  # the lines judged: the whole ones of its first 64 KiB
    result = run("ingest", "--db", str(db), "--format", "common", str(a))
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {str(a)!r} does not read as --format common: {head_lines:,} of its first {head_lines:,} lines "
        f"are rejected (unparseable: {head_lines:,}). It reads as combined: run again with --format combined. "
        "Nothing was stored from it.\n"
    )
    assert summary(db)["lines"] == 0
    assert run("ingest", "--db", str(db), str(a)).exit_code == 0  # it can be read as what it is
    assert summary(db)["lines"] == 300


def test_a_file_no_format_reads_is_refused(tmp_path):
    noise = tmp_path / "notes.txt"
    noise.write_text("".join(f"note {n}: nothing to see\n" for n in range(12)))
    result = run("ingest", "--db", str(tmp_path / "s.duckdb"), str(noise))
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {str(noise)!r} is in no log format wheelstats knows: of its first 12 lines, each format tried "
        "rejects (combined 12, common 12, vhost_combined 12, nginx_main 12, haproxy 12, s3 12). Give its format "
        "with --format: a preset, an Apache LogFormat string, or json with --field KEY=PATH. Nothing was stored "
        "from it.\n"
    )
    given = run("ingest", "--db", str(tmp_path / "s.duckdb"), "--format", "combined", str(noise))
    assert given.stderr == (
        f"Error: {str(noise)!r} does not read as --format combined: 12 of its first 12 lines are rejected "
        "(unparseable: 12). No other format reads it either: check that it is an access log, or give its "
        "LogFormat with --format. Nothing was stored from it.\n"
    )


def test_forget_removes_one_source_and_names_those_that_relied_on_it(tmp_path, logs):
    a, b, ab = logs
    db = tmp_path / "s.duckdb"
    reference = tmp_path / "reference.duckdb"
    assert run("ingest", "--db", str(reference), str(a)).exit_code == 0
    assert run("ingest", "--db", str(db), str(b), str(a)).exit_code == 0
    ab_copy = tmp_path / "copy" / "ab.log"  # starts as a.log does: the same source, grown by b's lines
    ab_copy.parent.mkdir()
    shutil.copy(ab, ab_copy)
    assert run("ingest", "--db", str(db), str(ab_copy)).exit_code == 0
    result = run("forget", "--db", str(db), "b.log")  # its file name is enough when only one source has it
    assert result.exit_code == 0, result.stderr
    assert result.stdout == (
        f"Forgot {b} (source 1): 300 lines read ({hits_of(2, 300)} hits, 60 ignored, 0 rejected, 0 already ingested) "
        "and its checkpoint.\n"
        f"{a} did not count 300 lines because {b} held them: `wheelstats ingest --again {a}` counts them now.\n"
    )
    assert hit_counts(db) == hit_counts(reference)  # what is left is a.log alone
    assert rolled_up_downloads(db) == hit_counts(db)["download"]  # and the live figures say so
    result = run("ingest", "--db", str(db), "--again", str(ab_copy))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith(f"Forgot the earlier ingest of {a}: 600 lines.\n")
    assert "lines read = hits + ignored + rejected: 600 = 480 + 120 + 0\n" in result.stdout
    assert summary(db)["lines"] == 600


def test_forget_by_content_and_unknown_names(tmp_path, logs):
    a, _, _ = logs
    db = tmp_path / "s.duckdb"
    renamed = tmp_path / "access.log.1.gz"  # another name and compression: its content says which source
    renamed.write_bytes(gzip.compress(a.read_bytes()))
    assert run("ingest", "--db", str(db), str(a)).exit_code == 0
    result = run("forget", "--db", str(db), str(renamed))
    assert result.exit_code == 0 and result.stdout.startswith(f"Forgot {a} (source 1): 300 lines read")
    assert summary(db)["lines"] == 0
    result = run("forget", "--db", str(db), "a.log")
    assert result.exit_code == 1 and result.stderr == "Error: No source 'a.log' in the store. It holds no sources.\n"
    assert run("ingest", "--db", str(db), str(a)).exit_code == 0
    result = run("forget", "--db", str(db), "nothing.log")
    assert result.stderr == f"Error: No source 'nothing.log' in the store. It holds {str(a)!r}.\n"


def test_forget_needs_a_store(tmp_path):
    result = run("forget", "--db", str(tmp_path / "none.duckdb"), "a.log")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: No store at {str(tmp_path / 'none.duckdb')!r}.")


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("bad.gz", b"\x1f\x8bGARBAGE" * 8, "its gzip data breaks off before the first whole line (BadGzipFile: "
         "Unknown compression method). If it is still being written, ingest it once it is complete; "
         "`gzip -t` checks it."),
        ("bad.bz2", b"BZhGARBAGE" * 8, "its bzip2 data breaks off before the first whole line (OSError: Invalid data "
         "stream). If it is still being written, ingest it once it is complete; `bzip2 -t` checks it."),
        ("tiny.gz", gzip.compress(b"".join(line.encode() for line in lines_of(3, 50)))[:40],
         "its gzip data breaks off before the first whole line (EOFError: Compressed file ended before the "
         "end-of-stream marker was reached). If it is still being written, ingest it once it is complete; "
         "`gzip -t` checks it."),
    ],
)
def test_compressed_data_broken_before_a_whole_line_is_one_line_and_nothing_kept(tmp_path, name, content, message):
    log = tmp_path / name
    log.write_bytes(content)
    result = run("ingest", "--db", str(tmp_path / "s.duckdb"), str(log))
    assert result.exit_code == 1
    assert result.stderr == f"Error: Cannot read {str(log)!r}: {message}\n"
    assert summary(tmp_path / "s.duckdb")["lines"] == 0


def test_a_stream_broken_later_keeps_its_whole_lines_and_says_so(tmp_path):
    data = "".join(lines_of(4, 2000)).encode()
    compressed = bz2.compress(data, 1)  # bzip2 level 1: 100 kB blocks, so a cut leaves whole blocks before it
    log = tmp_path / "access.log.bz2"
    log.write_bytes(compressed[: len(compressed) * 3 // 4])
    result = run("ingest", "--db", str(tmp_path / "s.duckdb"), str(log))
    assert result.exit_code == 0
    stored = summary(tmp_path / "s.duckdb")["lines"]
    assert 0 < stored < 2000
    assert (f"{log}: the compressed data breaks off (EOFError: Compressed file ended before the end-of-stream marker "
            "was reached): the lines before the break were read; ingest the whole file when it is complete for the "
            "rest\n") in result.stdout


def test_a_folder_is_not_a_log(tmp_path):
    result = run("ingest", "--db", str(tmp_path / "s.duckdb"), str(tmp_path))
    assert result.exit_code == 1
    assert result.stderr == f"Error: {str(tmp_path)!r} is a folder: give the log files in it, e.g. " \
                            f"{str(tmp_path / '*.log')!r}.\n"


def test_a_named_pipe_is_read_as_a_stream(tmp_path):
    pipe = tmp_path / "access.pipe"
    os.mkfifo(pipe)
    data = "".join(lines_of(5, 120)).encode()

    def ingest_through_the_pipe():
        def write() -> None:
            with open(pipe, "wb") as out:
                out.write(data[:-1])  # a pipe's last line needs no newline: the pipe's end ends it

        writer = threading.Thread(target=write, daemon=True)
        writer.start()
        try:
            return run("ingest", "--db", str(tmp_path / "s.duckdb"), str(pipe))
        finally:
            while writer.is_alive():  # a writer still waiting for a reader: give it one, and let it finish
                os.close(os.open(pipe, os.O_RDONLY | os.O_NONBLOCK))
                writer.join(timeout=0.5)

    first = ingest_through_the_pipe()
    assert first.exit_code == 0 and "lines read = hits + ignored + rejected: 120 = 96 + 24 + 0\n" in first.stdout
    second = ingest_through_the_pipe()  # the same lines again: known by their head
    assert second.exit_code == 0 and "lines read = hits + ignored + rejected: 0 = 0 + 0 + 0\n" in second.stdout


def test_an_unreadable_log_is_one_line(tmp_path):
    folder = tmp_path / "logs"
    folder.mkdir()
    log = write_log(folder / "access.log", lines_of(6, 5))
    log.chmod(0)
    command = [WHEELSTATS, "ingest", "--db", str(tmp_path / "s.duckdb"), str(log)]
    if os.geteuid() == 0:  # root reads anything: drop the capabilities that let it
        command = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", *command]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert result.stderr == (f"Error: Permission denied: {str(log)!r}. Run as a user who can read it, "
                             "or change its permissions.\n")


def test_a_full_disk_stops_with_one_line_and_the_same_command_goes_on(tmp_path):
    """On a 5 MB file system (the narrow store holds more in less, and batches under a row group of hits share a
    transaction: commits) the ingest fills it after its first batch: one line, and the store as it was after the
    last batch that fit; with room again, the same command gives the totals of a clean run."""
    if not shutil.which("unshare"):
        pytest.fail("unshare (util-linux) is needed to mount a small file system for this test")
    log = write_log(tmp_path / "big.log", [log_line(n) for n in range(3 * MIN_BLOCK_LINES)])  # three batches
    reference = tmp_path / "reference.duckdb"
    assert run("ingest", "--db", str(reference), "--ip", "raw", str(log)).exit_code == 0
    small, out = tmp_path / "small", tmp_path / "out"
    small.mkdir()
    out.mkdir()
    db = small / "s.duckdb"
    ingest = f"{WHEELSTATS} ingest --db {db} --ip raw {log}"
    script = f"""
        mount -t tmpfs -o size=5m tmpfs {small}
        if {ingest} > {out}/stdout 2> {out}/stderr; then echo 0 > {out}/code; else echo $? > {out}/code; fi
        {WHEELSTATS} summary --db {db} --json > {out}/after_full
        mount -o remount,size=400m {small}
        {ingest} > {out}/stdout2 2> {out}/stderr2
        {WHEELSTATS} summary --db {db} --json > {out}/after_room
    """
    # A mount namespace of its own: the small file system is gone when the script ends, pass or fail.
    namespace = ["unshare", "--mount"] if os.geteuid() == 0 else ["unshare", "--map-root-user", "--mount"]
    subprocess.run([*namespace, "sh", "-ec", script], check=True, timeout=600)
    assert (out / "code").read_text() == "1\n"
    stored_before = json.loads((out / "after_full").read_text())["lines"]
    assert (out / "stderr").read_text() == (
        f"Error: The disk holding the store {str(db)!r} is full. This run stored {stored_before:,} lines before it "
        "filled up. Free some space and run the same command again: it goes on from there.\n"
    )
    assert 0 < stored_before < 3 * MIN_BLOCK_LINES
    assert json.loads((out / "after_room").read_text()) == summary(reference)


# Out of memory as the store's key is read, in a statement, and at a commit.
@pytest.mark.parametrize("memory", ["1MB", "8MB", "16MB"])
def test_duckdb_out_of_memory_stops_with_one_line_and_the_same_command_goes_on(tmp_path, monkeypatch, memory):
    """An ingest lets DuckDB use INGEST_MEMORY_LIMIT; run out of it (here a limit too small for a batch), the
    ingest stops with one line saying so, the store as it was after the last batch that fit; given memory again,
    the same command gives the totals of a clean run."""
    log = write_log(tmp_path / "big.log", [log_line(n) for n in range(3 * MIN_BLOCK_LINES)])  # three batches
    reference = tmp_path / "reference.duckdb"
    assert run("ingest", "--db", str(reference), str(log)).exit_code == 0
    db = tmp_path / "s.duckdb"
    with monkeypatch.context() as limited:
        limited.setattr(ingesting.ingester, "INGEST_MEMORY_LIMIT", memory)
        result = run("ingest", "--db", str(db), str(log))
    stored = summary(db)["lines"]
    assert result.exit_code == 1
    assert re.fullmatch(
        rf"Error: DuckDB ran out of the {memory} of memory an ingest into {re.escape(repr(str(db)))} lets it use "
        rf"\(.*(Out of Memory Error|Failed to commit): .*\)\. This run stored {stored:,} lines before it ran out; "
        r"the same command goes on from there\.\n", result.stderr, re.DOTALL)
    assert run("ingest", "--db", str(db), str(log)).exit_code == 0
    assert summary(db) == summary(reference)


def test_an_interrupt_says_what_was_stored_and_the_same_command_goes_on(tmp_path):
    lines = [log_line(n) for n in range(3 * MIN_BLOCK_LINES)]  # three batches
    log = write_log(tmp_path / "access.log", lines)
    db = tmp_path / "s.duckdb"
    reference = tmp_path / "reference.duckdb"
    assert run("ingest", "--db", str(reference), str(log)).exit_code == 0
    process = subprocess.Popen(
        [WHEELSTATS, "ingest", "--db", str(db), str(log)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=ctrl_c_restored,
    )
    try:
        wait_until(lambda: store_size(db) > (2 << 20) or process.poll() is not None, what="a committed batch")
        assert process.poll() is None, "the run ended before it could be interrupted"
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=120)
    finally:
        stop(process)
    assert process.returncode == 130
    counted = int(re.search(r"lines read = hits \+ ignored \+ rejected: ([\d,]+) =", stdout)[1].replace(",", ""))
    assert counted == summary(db)["lines"] and 0 < counted < len(lines)
    assert stderr == (f"Stopped by SIGINT: kept what was committed ({log} to line {counted:,}); run the same command "
                      "again to read the rest.\n")
    result = run("ingest", "--db", str(db), str(log))
    assert result.exit_code == 0
    assert summary(db) == summary(reference)


def rolled_up_downloads(db: Path) -> int:
    con = store.connect(db, read_only=True)
    try:
        return con.execute("SELECT coalesce(sum(downloads), 0) FROM rollup_totals").fetchall()[0][0]
    finally:
        con.close()


def store_size(db: Path) -> int:
    return sum(path.stat().st_size for path in (db, Path(f"{db}.wal")) if path.exists())
