"""Faults: what split a store's client hashes silently.

Issue 8: delete `<db>.key`, open the store through a symlink (a second key appeared beside the link), or
ingest with `--ip raw` and then the default: unique clients rose 16% with no warning. Two processes making
a new key at once could each make one, or read a half-written one. A key file of the wrong length, a folder
or an unreadable file gave tracebacks. Now each write that would split the clients is refused in one line
that says what to restore or pass, and the store afterwards holds exactly what it held.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kit.faults import WITHOUT_ROOT_READS, totals, wheelstats
from kit.processes import wait_until
from wheelstats.simulate import sample_log
from wheelstats.store import privacy


@pytest.fixture(scope="module")
def logs(tmp_path_factory) -> tuple[Path, Path]:
    """Two halves of one log, so that many clients are in both."""
    folder = tmp_path_factory.mktemp("logs")
    sample_log(folder / "whole.log", 6_000, seed=5)
    lines = (folder / "whole.log").read_bytes().splitlines(keepends=True)
    first, second = folder / "a.log", folder / "b.log"
    first.write_bytes(b"".join(lines[:3_000]))
    second.write_bytes(b"".join(lines[3_000:]))
    return first, second


@pytest.fixture(scope="module")
def clean(tmp_path_factory, logs) -> dict[str, dict]:
    """The store's totals after a.log, and after a.log then b.log, each into one store as it should be."""
    db = tmp_path_factory.mktemp("clean") / "s.duckdb"
    assert wheelstats("ingest", logs[0], "--db", db).code == 0
    after_a = totals(db)
    assert wheelstats("ingest", logs[1], "--db", db).code == 0
    return {"a": after_a, "a+b": totals(db)}


def test_a_deleted_key_is_refused_not_made_anew(tmp_path, logs, clean):
    db = tmp_path / "s.duckdb"
    assert wheelstats("ingest", logs[0], "--db", db).code == 0
    key_file = Path(f"{db}.key")
    key = key_file.read_bytes()
    key_file.unlink()
    outcome = wheelstats("ingest", logs[1], "--db", db)
    assert (outcome.code, outcome.stderr) == (1, (
        f"Error: The IP key of the store {str(db)!r} is missing: its clients were hashed with the key "
        f"{str(key_file)!r} (fingerprint {privacy.fingerprint(key)}). Restore that file from a backup (or point "
        "$WHEELSTATS_KEY_FILE at it); a new key would count every client again as new.\n"
    ))
    assert not key_file.exists()
    assert totals(db) == clean["a"]
    key_file.write_bytes(key)  # restored from a backup
    assert wheelstats("ingest", logs[1], "--db", db).code == 0
    assert totals(db) == clean["a+b"]


def test_a_store_opened_through_a_symlink_hashes_with_its_own_key(tmp_path, logs, clean):
    db = tmp_path / "stores" / "s.duckdb"
    db.parent.mkdir()
    link = tmp_path / "link.duckdb"
    link.symlink_to(db)
    assert wheelstats("ingest", logs[0], "--db", db).code == 0
    outcome = wheelstats("ingest", logs[1], "--db", link)
    assert outcome.code == 0, outcome.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.duckdb", "stores"]  # no second key by the link
    assert totals(db) == clean["a+b"]


@pytest.mark.parametrize(("first", "then"), [("raw", "hash"), ("hash", "raw"), ("none", "hash")])
def test_another_ip_mode_is_refused(tmp_path, logs, first, then):
    db = tmp_path / "s.duckdb"
    assert wheelstats("ingest", logs[0], "--db", db, "--ip", first).code == 0
    before = totals(db)
    outcome = wheelstats("ingest", logs[1], "--db", db, "--ip", then)
    words = {"hash": "client IPs as keyed hashes", "raw": "client IPs as they are", "none": "no client IPs"}
    assert (outcome.code, outcome.stderr) == (1, (
        f"Error: The store {str(db)!r} was written with --ip {first} ({words[first]}), not --ip {then}: mixing "
        f"the two would make its unique-client counts wrong. Pass --ip {first}, or use another store (--db).\n"
    ))
    assert totals(db) == before


@pytest.mark.parametrize(("make", "message"), [
    (lambda path: path.write_bytes(b"x" * 31),
     "The IP key file {key!r} holds 31 bytes, not 32: it is not a wheelstats key. Restore that file from a backup "
     "(or point $WHEELSTATS_KEY_FILE at it)."),
    (lambda path: path.mkdir(),
     "The IP key file {key!r} is a folder. Move it away, or point $WHEELSTATS_KEY_FILE at the key file."),
    (lambda path: (path.write_bytes(os.urandom(32)), path.chmod(0)),
     "Cannot read the IP key file {key!r}: Permission denied. Run as the user that owns it, or point "
     "$WHEELSTATS_KEY_FILE at a readable copy."),
], ids=["wrong length", "folder", "unreadable"])
def test_a_key_file_that_cannot_be_the_key_is_one_line(tmp_path, logs, make, message):
    db = tmp_path / "s.duckdb"
    key_file = Path(f"{db}.key")
    make(key_file)
    done = subprocess.run([*WITHOUT_ROOT_READS, sys.executable, "-m", "wheelstats", "ingest", str(logs[0]),
                           "--db", str(db)], capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stderr) == (1, f"Error: {message.format(key=str(key_file))}\n")


def test_a_key_being_made_is_never_read_half_made(tmp_path):
    """One process is stopped just after it opened the file it makes the key in; another loads the key meanwhile."""
    db, made, go_on = tmp_path / "s.duckdb", tmp_path / "made", tmp_path / "go-on"
    writer = subprocess.Popen([sys.executable, "-c", (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from wheelstats.store import privacy\n"
        f"made, go_on = Path({str(made)!r}), Path({str(go_on)!r})\n"
        "def pause_once_a_file_is_open(event, args):\n"  # an open file descriptor is wrapped: the file exists
        "    if event == 'open' and isinstance(args[0], int) and not made.exists():\n"
        "        made.touch()\n"
        "        while not go_on.exists(): time.sleep(0.01)\n"
        "sys.addaudithook(pause_once_a_file_is_open)\n"
        f"print(privacy.load_key({str(db)!r}).hex())\n"
    )], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(made.exists, timeout=60, what="the writer to open its key file")
        racer = subprocess.run(
            [sys.executable, "-c", f"from wheelstats.store import privacy; print(privacy.load_key({str(db)!r}).hex())"],
            capture_output=True, text=True, timeout=60)
        go_on.touch()
        written, writer_errors = writer.communicate(timeout=60)
    finally:
        writer.kill()
    assert (racer.returncode, racer.stderr, writer.returncode, writer_errors) == (0, "", 0, "")
    assert racer.stdout == written == privacy.key_path(db).read_bytes().hex() + "\n"
