"""Ingest against a real DuckDB file: lossless, idempotent, resumable, private."""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wheelstats import store
from wheelstats.ingest import RunAccount, ingest_files, ingest_paths, ingester, sources
from wheelstats.ingest.formats import JUDGED_LINES, WrongFormat
from wheelstats.ingest.sources import MIN_BLOCK_LINES

from kit.logs import PIP_AGENT, hit_counts, log_line, write_log
from kit.processes import stop, wait_until

MIXED = ["download", "search", "download", "project_page", "other"]


def mixed_lines(start: int, count: int) -> list[str]:
    return [log_line(n, MIXED[n % len(MIXED)]) for n in range(start, start + count)]


def expected_counts(lines_count: int, start: int = 0) -> dict[str, int]:
    counts: dict[str, int] = {}
    for n in range(start, start + lines_count):
        kind = MIXED[n % len(MIXED)]
        key = "ignored" if kind == "other" else kind
        counts[key] = counts.get(key, 0) + 1
    return counts


def query(db: Path, sql: str) -> list[tuple]:
    con = store.connect(db, read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def store_counts(db: Path) -> dict[str, int]:
    counts = hit_counts(db)
    del counts["distinct_lines"]
    return {k: v for k, v in counts.items() if v}


def test_every_line_lands_in_exactly_one_place(tmp_path):
    log = write_log(tmp_path / "access.log", mixed_lines(0, 500) + ["garbage\n", "\n"])
    [report] = ingest_files(tmp_path / "s.duckdb", [log])
    assert report.lines == 502 and report.balanced
    assert store_counts(tmp_path / "s.duckdb") == {**expected_counts(500), "rejected": 2}


def test_same_file_twice_adds_nothing(tmp_path):
    log = write_log(tmp_path / "access.log", mixed_lines(0, 300))
    db = tmp_path / "s.duckdb"
    ingest_files(db, [log])
    [again] = ingest_files(db, [log])
    assert again.lines == 0 and again.resumed_at == log.stat().st_size
    assert store_counts(db) == expected_counts(300)


@pytest.mark.parametrize("compress", [gzip.compress, bz2.compress, lzma.compress])
def test_rotated_and_recompressed_copy_adds_nothing(tmp_path, compress):
    lines = mixed_lines(0, 300)
    log = write_log(tmp_path / "access.log", lines)
    db = tmp_path / "s.duckdb"
    ingest_files(db, [log])
    rotated = tmp_path / "access.log.1.gz"
    rotated.write_bytes(compress(log.read_bytes()))
    log.unlink()
    [report] = ingest_files(db, [rotated])
    assert report.lines == 0
    assert store_counts(db) == expected_counts(300)


def test_grown_file_adds_only_its_new_lines(tmp_path):
    db = tmp_path / "s.duckdb"
    log = write_log(tmp_path / "access.log", mixed_lines(0, 200))
    ingest_files(db, [log])
    with open(log, "a") as out:
        out.writelines(mixed_lines(200, 150))
    [report] = ingest_files(db, [log])
    assert report.lines == 150
    assert store_counts(db) == expected_counts(350)
    assert hit_counts(db)["distinct_lines"] == sum(expected_counts(350).values()) - expected_counts(350)["ignored"]


def test_grown_compressed_copy_of_a_partly_ingested_log_adds_the_rest(tmp_path):
    db = tmp_path / "s.duckdb"
    first, rest = mixed_lines(0, 120), mixed_lines(120, 80)
    ingest_files(db, [write_log(tmp_path / "access.log", first)])
    [report] = ingest_files(db, [write_log(tmp_path / "access.log.1.gz", first + rest, compress=True)])
    assert report.lines == 80
    assert store_counts(db) == expected_counts(200)


def test_unterminated_last_line_waits_for_its_newline(tmp_path):
    db = tmp_path / "s.duckdb"
    lines = mixed_lines(0, 10)
    log = tmp_path / "access.log"
    log.write_text("".join(lines) + lines[0][:40])
    [report] = ingest_files(db, [log])
    assert report.lines == 10 and report.held_back_bytes == 40
    with open(log, "a") as out:
        out.write(lines[0][40:])
    [report] = ingest_files(db, [log])
    assert report.lines == 1
    assert store_counts(db)["download"] == expected_counts(10)["download"] + 1


def test_offsets_become_utc(tmp_path):
    line = log_line(0).replace("+0000", "+0100").replace("[05/Mar/2020:00:00:00", "[05/Mar/2020:00:30:00")
    db = tmp_path / "s.duckdb"
    ingest_files(db, [write_log(tmp_path / "a.log", [line])])
    con = duckdb.connect(str(db), read_only=True)
    assert str(con.execute("SELECT ts FROM hits").fetchall()[0][0]) == "2020-03-04 23:30:00"


def test_bad_input_never_poisons_good_lines(tmp_path):
    good = mixed_lines(0, 50)
    bad = [
        b"\xff\xfe invalid utf-8 \xc3\x28\n",
        b"10.0.0.1 - - [05/Mar/2020:00:00:00 +0000] \"GET / HTTP/1.1\" 200 1 \"-\" \"nul\x00byte\"\n",
        b"x" * (2 << 20) + b"\n",
        b'10.0.0.1 - - [05/Mar/2020:00:00:00 +0000] "GET /simple/a/ HTTP/1.1" 200 1 "-" "pip/20.0 '
        + b"[" * 50_000 + b"]" * 50_000 + b'"\n',
    ]
    data = b"".join(line.encode() for line in good[:25]) + b"".join(bad) + b"".join(line.encode() for line in good[25:])
    log = tmp_path / "access.log"
    log.write_bytes(data)
    db = tmp_path / "s.duckdb"
    [report] = ingest_files(db, [log])
    assert report.balanced and report.lines == 54
    assert dict(report.rejected) == {"invalid_utf8": 1, "nul_byte": 1, "line_too_long": 1}
    assert dict(report.ignored) == {"index_not_installer": 1, **{"other_path": expected_counts(50)["ignored"]}}
    counts = store_counts(db)
    assert {k: counts[k] for k in ("download", "search", "project_page")} == {
        k: expected_counts(50)[k] for k in ("download", "search", "project_page")
    }
    samples = duckdb.connect(str(db), read_only=True).execute(
        "SELECT reason, line_no FROM reject_samples ORDER BY line_no"
    ).fetchall()
    assert samples == [("invalid_utf8", 26), ("nul_byte", 27), ("line_too_long", 28)]


@pytest.mark.parametrize("compress", [gzip.compress, lzma.compress])
def test_truncated_compressed_log_keeps_its_whole_lines_and_the_whole_file_adds_the_rest(tmp_path, compress):
    """The cut half-line is held back, not rejected and checkpointed: the whole file then gives
    exactly the totals of the whole file ingested once."""
    lines = mixed_lines(0, 2000)
    compressed = compress("".join(lines).encode())
    truncated = tmp_path / "access.log.part"
    truncated.write_bytes(compressed[: len(compressed) // 2])
    db = tmp_path / "s.duckdb"
    [report] = ingest_files(db, [truncated])
    assert report.balanced and not report.rejected and report.broken.startswith(("EOFError", "LZMAError"))
    assert 0 < report.lines < 2000 and report.held_back_bytes > 0
    whole = tmp_path / "access.log.whole"
    whole.write_bytes(compressed)
    [rest] = ingest_files(db, [whole])
    assert rest.resumed_at > 0 and report.lines + rest.lines == 2000 and not rest.rejected
    reference = tmp_path / "reference.duckdb"
    ingest_files(reference, [write_log(tmp_path / "plain.log", lines)])
    assert hit_counts(db) == hit_counts(reference)


def test_binary_file_is_refused_and_nothing_is_stored(tmp_path):
    log = tmp_path / "random.bin"
    log.write_bytes(os.urandom(300_000))
    db = tmp_path / "s.duckdb"
    with pytest.raises(WrongFormat, match="is in no log format wheelstats knows"):
        ingest_files(db, [log])
    assert store_counts(db) == {}
    assert query(db, "SELECT count(*) FROM sources") == [(0,)]


def test_ip_hash_is_keyed_stable_and_private(tmp_path):
    db = tmp_path / "s.duckdb"
    lines = [log_line(1), log_line(1 + 7 * 256 * 256), log_line(2)]  # first two: same client
    ingest_files(db, [write_log(tmp_path / "a.log", lines)])
    key_file = Path(f"{db}.key")
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    clients = [c for (c,) in duckdb.connect(str(db), read_only=True).execute("SELECT client FROM hits ORDER BY line_no").fetchall()]
    assert clients[0] == clients[1] != clients[2]
    raw = duckdb.connect(str(db), read_only=True).execute("SELECT count(*) FROM hits WHERE client LIKE '10.%'").fetchall()
    assert raw == [(0,)]
    assert all(len(c) == 16 for c in clients)
    # Another store, another key: the same IP hashes differently.
    other = tmp_path / "t.duckdb"
    ingest_files(other, [write_log(tmp_path / "b.log", lines)])
    other_clients = duckdb.connect(str(other), read_only=True).execute("SELECT client FROM hits ORDER BY line_no").fetchall()
    assert other_clients[0][0] != clients[0]


@pytest.mark.parametrize("mode, expected", [("raw", "10.0.1.0"), ("none", None)])
def test_ip_modes(tmp_path, mode, expected):
    db = tmp_path / "s.duckdb"
    ingest_files(db, [write_log(tmp_path / "a.log", [log_line(1)])], ip_mode=mode)
    assert duckdb.connect(str(db), read_only=True).execute("SELECT client FROM hits").fetchall() == [(expected,)]


def test_custom_log_format(tmp_path):
    line = '[05/Mar/2020:10:00:00 +0000] 10.0.0.9 "GET /simple/numpy/numpy-1.0.tar.gz HTTP/1.1" 200 "pip/20.0.2 {}"\n'
    log = write_log(tmp_path / "a.log", [line])
    [report] = ingest_files(tmp_path / "s.duckdb", [log], log_format='%t %h \\"%r\\" %>s \\"%{User-Agent}i\\"')
    assert dict(report.hits) == {"download": 1}


def test_vhost_combined(tmp_path):
    line = "piwheels.org:443 " + log_line(0)
    [report] = ingest_files(tmp_path / "s.duckdb", [write_log(tmp_path / "a.log", [line])], log_format="vhost_combined")
    assert dict(report.hits) == {"download": 1}


# -- crashes and concurrency -----------------------------------------------------

def run_ingest(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "wheelstats", "ingest", *args], **kwargs)


def store_bytes(db: Path) -> int:
    return sum(path.stat().st_size for path in (db, Path(f"{db}.wal")) if path.exists())


def stored_lines(db: Path) -> int:
    return query(db, "SELECT coalesce(sum(lines), 0) FROM sources")[0][0]


def test_blocks_hold_about_block_hits_hits_at_the_share_of_hits_seen_so_far(tmp_path, monkeypatch):
    """After the first block (small: the writing thread waits for it alone), the lines of a block are as many as
    hold ingester.BLOCK_HITS hits at the share of hits seen so far (the head's, as the kernel reads it, then the
    last batch's), so that DuckDB writes them into the file at once; where a block cannot hold so many
    (MAX_BLOCK_LINES), as many as hold UNDER_A_ROW_GROUP hits, or MAX_BLOCK_LINES if fewer. An index page is a
    hit only from an installer: browsers' ones do not count."""
    monkeypatch.setattr(sources, "READ_BYTES", 4 << 10)
    monkeypatch.setattr(sources, "BLOCK_BYTES", 1)  # blocks sized by their lines alone
    monkeypatch.setattr(sources, "MIN_BLOCK_LINES", 1)
    monkeypatch.setattr(sources, "MAX_BLOCK_LINES", 3000)
    monkeypatch.setattr(ingester, "BLOCK_HITS", 800)
    monkeypatch.setattr(ingester, "UNDER_A_ROW_GROUP", 400)
    hits_share = sum(kind != "other" for kind in MIXED) / len(MIXED)  # 4 lines in 5: hits (the other is ignored)
    few_hits = [log_line(n, "download" if n % 5 == 0 else "other") for n in range(20_000)]  # 1 in 5: 4,000 wanted
    browser = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
    browsed = [log_line(n, "download") if n % 2 else log_line(n, "search").replace(PIP_AGENT, browser)
               for n in range(20_000)]  # 1 in 2: index pages a browser asked for
    for name, lines, expected in (("mixed", mixed_lines(0, 20_000), 800 / hits_share),
                                  ("few hits", few_hits, 400 * 5),
                                  ("browsed index pages", browsed, 800 * 2),
                                  ("no hits", [log_line(n, "other") for n in range(20_000)], 3000)):
        log = write_log(tmp_path / f"{name}.log", lines)
        ends = []
        [report] = ingest_files(tmp_path / f"{name}.duckdb", [log], ip_mode="raw",
                                on_progress=lambda _, offset: ends.append(offset))
        assert report.lines == len(lines)
        data = log.read_bytes()
        block_lines = [data.count(b"\n", start, end) for start, end in zip([0, *ends], ends)]
        # The first block holds BLOCK_BYTES, here the head read to recognise the log (64 KiB: a few hundred lines);
        # each after it but the last about the lines it was sized for, and the rest of the read that reached them.
        assert len(block_lines) > 4 and block_lines[0] < expected / 2, (name, str(block_lines))
        assert all(abs(n - expected) < expected / 10 + 20 for n in block_lines[1:-1]), (name, str(block_lines))


def test_batches_under_a_row_group_of_hits_share_a_transaction_whose_hits_skip_the_write_ahead_log(tmp_path):
    """Blocks of long lines (MAX_BLOCK_BYTES) hold under a row group of hits each: two such batches are committed
    together, and DuckDB writes their hits straight into the file instead of into its write-ahead log first (to
    write them again at the checkpoint). A source's first batch in a run commits alone."""
    lines = [log_line(n) for n in range(3 * MIN_BLOCK_LINES)]  # 550 bytes a line
    db, log = tmp_path / "s.duckdb", write_log(tmp_path / "access.log", lines)
    wal = Path(f"{db}.wal")
    run = RunAccount()
    after_block = []  # the lines committed, and the write-ahead log's bytes, as each block is written

    def written(_name, _offset):
        after_block.append((run.reports[-1].lines, wal.stat().st_size if wal.exists() else 0))

    [report] = ingest_files(db, [log], ip_mode="raw", run=run, on_progress=written)
    assert report.lines == len(lines) and report.balanced
    (first, log_after_first), (second, _), (third, log_after_third) = after_block[:3]
    assert 0 < first == second < third  # the first alone, the second waited for the third
    assert (third - first) / 2 < store.ROW_GROUP_ROWS < third - first  # each under a row group, both over one
    assert log_after_third - log_after_first < log_after_first / 2  # each batch alone: eight times as much


def test_the_rollups_refresh_commits_into_the_file_not_the_write_ahead_log(tmp_path, monkeypatch):
    """The run's last commit (the rollups' refresh) checkpoints: as the store closes, nothing waits in its
    write-ahead log to be written a second time."""
    db = tmp_path / "stats.duckdb"
    left_in_log = []
    close = ingester.Ingester.close

    def closing(self):
        left_in_log.append(store_bytes(db) - db.stat().st_size)
        close(self)

    monkeypatch.setattr(ingester.Ingester, "close", closing)
    [report] = ingest_files(db, [write_log(tmp_path / "access.log", mixed_lines(0, 2000))], ip_mode="raw")
    assert report.hits and left_in_log == [0]
    assert query(db, "SELECT sum(downloads) FROM rollup_totals")[0][0] == report.hits["download"]


def test_sigkill_after_any_commit_then_rerun_gives_the_uninterrupted_totals(tmp_path):
    """Each run is killed as soon as the store has grown by a committed batch; the run after the last kill
    finishes, and the totals are those of one clean run. A kill can land after the last batch's commit (while
    the rollups are refreshed), so a run may leave the lines all stored: at least one kill must land mid-way."""
    lines = mixed_lines(0, 4 * MIN_BLOCK_LINES)  # four batches
    log = write_log(tmp_path / "access.log", lines)
    reference = tmp_path / "reference.duckdb"
    ingest_files(reference, [log], ip_mode="raw")
    db = tmp_path / "killed.duckdb"
    store.connect(db).close()  # made and migrated: from here on the file grows only with ingested batches
    kills, kills_mid_way = 0, 0
    while kills < 3 and stored_lines(db) < len(lines):
        before, size = stored_lines(db), store_bytes(db)
        process = run_ingest("--db", str(db), "--ip", "raw", str(log), stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        try:
            wait_until(lambda: store_bytes(db) > size + (256 << 10) or process.poll() is not None,
                       timeout=120, what="a committed batch")
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
                process.wait()
                kills += 1
            else:
                assert process.returncode == 0
        finally:
            stop(process)
        after = stored_lines(db)
        assert before <= after <= len(lines)
        kills_mid_way += before < after < len(lines)
    assert kills_mid_way >= 1
    ingest_files(db, [log], ip_mode="raw")
    assert hit_counts(db) == hit_counts(reference)
    assert store_counts(db) == expected_counts(len(lines))


def test_follow_tails_growth_and_rotation(tmp_path):
    db = tmp_path / "s.duckdb"
    log = write_log(tmp_path / "access.log", mixed_lines(0, 100))
    process = run_ingest("--db", str(db), "--follow", str(log), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        # The follower lets go of the store between commits, so the test can read it meanwhile.
        wait_until(lambda: db.exists() and store_counts(db) == expected_counts(100), what="the first 100 lines")
        with open(log, "a") as out:
            out.writelines(mixed_lines(100, 50))
        wait_until(lambda: store_counts(db) == expected_counts(150), what="the 50 appended lines")
        log.rename(tmp_path / "access.log.1")
        write_log(log, mixed_lines(150, 70))
        wait_until(lambda: store_counts(db) == expected_counts(220), what="the rotated log's 70 lines")
    finally:
        stop(process)
    assert store_counts(db) == expected_counts(220)
def test_standard_input(tmp_path):
    db = tmp_path / "s.duckdb"
    data = "".join(mixed_lines(0, 100)).encode()
    result = subprocess.run(
        [sys.executable, "-m", "wheelstats", "ingest", "--db", str(db), "-"],
        input=data, capture_output=True, check=True,
    )
    assert b"100 = 80 + 20 + 0" in result.stdout
    assert store_counts(db) == expected_counts(100)


# -- properties --------------------------------------------------------------------

line_parts = st.one_of(
    st.sampled_from(mixed_lines(0, 20)),
    st.binary(max_size=300).map(lambda b: b.decode("latin-1") + "\n"),
    st.text(max_size=200).map(lambda t: t.replace("\n", "") + "\n"),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(line_parts, max_size=40), tail=st.binary(max_size=50))
def test_account_always_balances_and_good_lines_always_count(tmp_path_factory, parts, tail):
    """Either the log is refused whole (no format reads more than half of its lines) and nothing is stored,
    or every line is in exactly one count and every good line is a hit."""
    tmp = tmp_path_factory.mktemp("prop")
    data = "".join(parts).encode("utf-8", "surrogatepass") + tail.replace(b"\n", b"")
    log = tmp / "a.log.gz"
    log.write_bytes(gzip.compress(data))  # compressed: the unterminated tail is read too
    con = store.connect(":memory:")
    lines = data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
    good = [p for p in parts if p in mixed_lines(0, 20) and MIXED[mixed_lines(0, 20).index(p) % 5] != "other"]
    try:
        [report] = ingest_paths(con, [log], ip_mode="none")
    except WrongFormat:  # judged on the whole lines of its head: here, all of them
        assert len(good) * 2 <= data.count(b"\n") and data.count(b"\n") >= JUDGED_LINES
        assert con.execute("SELECT (SELECT count(*) FROM hits) + (SELECT count(*) FROM sources)").fetchall() == [(0,)]
        return
    assert report.balanced
    assert report.lines == lines
    assert sum(report.hits.values()) >= len(good)


def test_apache_piped_log_commits_while_the_pipe_stays_open(tmp_path):
    """CustomLog "|wheelstats ingest --follow -" combined: lines are stored as they come."""
    db = tmp_path / "s.duckdb"
    process = subprocess.Popen(
        [sys.executable, "-m", "wheelstats", "ingest", "--db", str(db), "--follow", "-"],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        process.stdin.write("".join(mixed_lines(0, 40)).encode())
        process.stdin.flush()
        # stored before the pipe closes
        wait_until(lambda: db.exists() and store_counts(db) == expected_counts(40), what="the first 40 lines")
        process.stdin.write("".join(mixed_lines(40, 10)).encode())
        process.stdin.close()
        assert process.wait(timeout=60) == 0, process.stderr.read()
    finally:
        stop(process)
    assert store_counts(db) == expected_counts(50)


def test_a_followed_log_is_known_by_more_than_its_first_line(tmp_path):
    """Another log starting with the same line must not be taken for the followed one."""
    db = tmp_path / "s.duckdb"
    shared_first = mixed_lines(0, 1)
    log = write_log(tmp_path / "access.log", shared_first)
    process = run_ingest("--db", str(db), "--follow", str(log), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: db.exists() and stored_lines(db) == 1, what="the first line")
        with open(log, "a") as out:
            out.writelines(mixed_lines(1, 30))
        wait_until(lambda: stored_lines(db) == 31, what="the 30 appended lines")
    finally:
        stop(process)
    other = write_log(tmp_path / "other.log", shared_first + mixed_lines(500, 40))
    [report] = ingest_files(db, [other])
    assert report.resumed_at == 0 and report.lines == 41
