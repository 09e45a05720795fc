"""The IP key and the store's client policy: made atomically, checked at every write, never split."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import duckdb
import pytest

from wheelstats import store
from wheelstats.store import dimensions
from wheelstats.store import privacy
from wheelstats.store.settings import read_settings

from kit.faults import WITHOUT_ROOT_READS

RACERS = 8


def test_processes_racing_to_make_a_key_all_get_the_same_whole_key(tmp_path):
    """Each process waits for a go, then loads (or makes) the key: one key wins, none reads a part of it."""
    db = tmp_path / "s.duckdb"
    go = tmp_path / "go"
    script = (
        "import os, sys, time\n"
        "from wheelstats.store import privacy\n"
        f"while not os.path.exists({str(go)!r}): pass\n"
        f"print(privacy.load_key({str(db)!r}).hex())\n"
    )
    for _round in range(5):
        key_file = privacy.key_path(db)
        key_file.unlink(missing_ok=True)
        go.unlink(missing_ok=True)
        racers = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True) for _ in range(RACERS)]
        try:
            go.touch()
            outputs = [racer.communicate(timeout=120) for racer in racers]
        finally:
            for racer in racers:
                racer.kill()
        assert [err for _out, err in outputs] == [""] * RACERS
        keys = {out.strip() for out, _err in outputs}
        assert keys == {key_file.read_bytes().hex()}
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        assert sorted(p.name for p in tmp_path.iterdir()) == ["go", "s.duckdb.key"]  # no temporary file left


def test_the_key_is_found_beside_the_store_s_real_file_not_beside_a_link(tmp_path):
    real = tmp_path / "real" / "s.duckdb"
    real.parent.mkdir()
    link = tmp_path / "link.duckdb"
    link.symlink_to(real)
    key = privacy.client_key(link, "hash")
    assert privacy.key_path(link) == privacy.key_path(real) == real.parent / "s.duckdb.key"
    assert privacy.client_key(real, "hash") == key
    assert not (tmp_path / "link.duckdb.key").exists()


def test_the_first_write_remembers_the_mode_and_a_fingerprint_never_the_key(tmp_path):
    db = tmp_path / "s.duckdb"
    key = privacy.client_key(db, "hash")
    con = store.connect(db, read_only=True)
    settings = read_settings(con)
    stored = con.execute("SELECT string_agg(value, ' ') FROM settings").fetchone()[0]
    con.close()
    assert (settings.ip_mode, settings.key_fingerprint) == ("hash", privacy.fingerprint(key))
    assert key.hex() not in stored and len(settings.key_fingerprint) == 16


@pytest.mark.parametrize(("first", "then"), [("raw", "hash"), ("hash", "raw"), ("none", "hash"), ("hash", "none")])
def test_another_ip_mode_is_refused(tmp_path, first, then):
    db = tmp_path / "s.duckdb"
    privacy.client_key(db, first)
    words = {"hash": "client IPs as keyed hashes", "raw": "client IPs as they are", "none": "no client IPs"}
    with pytest.raises(privacy.IpModeMismatch) as error:
        privacy.client_key(db, then)
    assert str(error.value) == (
        f"The store {str(db)!r} was written with --ip {first} ({words[first]}), not --ip {then}: mixing the two "
        f"would make its unique-client counts wrong. Pass --ip {first}, or use another store (--db)."
    )
    assert (privacy.client_key(db, first) is None) == (first != "hash")  # the store's own mode still works


def test_a_missing_key_is_refused_and_not_made_again(tmp_path):
    db = tmp_path / "s.duckdb"
    key = privacy.client_key(db, "hash")
    key_file = privacy.key_path(db)
    key_file.unlink()
    with pytest.raises(privacy.KeyMissing) as error:
        privacy.client_key(db, "hash")
    assert str(error.value) == (
        f"The IP key of the store {str(db)!r} is missing: its clients were hashed with the key {str(key_file)!r} "
        f"(fingerprint {privacy.fingerprint(key)}). Restore that file from a backup (or point $WHEELSTATS_KEY_FILE "
        "at it); a new key would count every client again as new."
    )
    assert not key_file.exists()
    key_file.write_bytes(key)  # restored: all is well again
    assert privacy.client_key(db, "hash") == key


def test_another_key_is_refused(tmp_path, monkeypatch):
    db = tmp_path / "s.duckdb"
    key = privacy.client_key(db, "hash")
    other = tmp_path / "other.key"
    other.write_bytes(os.urandom(32))
    monkeypatch.setenv("WHEELSTATS_KEY_FILE", str(other))
    with pytest.raises(privacy.KeyMismatch) as error:
        privacy.client_key(db, "hash")
    assert str(error.value) == (
        f"The IP key {str(other)!r} (fingerprint {privacy.fingerprint(other.read_bytes())}) is not the one the "
        f"store {str(db)!r} was hashed with (fingerprint {privacy.fingerprint(key)}). Restore the store's own key "
        "from a backup (or point $WHEELSTATS_KEY_FILE at it); this one would count every client again as new."
    )


def legacy_store(path, clients: list[str | None]) -> None:
    """A store as wheelstats wrote it before it remembered settings: hits only."""
    con = store.connect(path)
    con.execute("DELETE FROM settings")
    for client in clients:
        dimensions.add_wide_hits(con, "SELECT '2020-03-05' AS ts, 'search' AS kind, '/' AS path, ?::VARCHAR AS client, "
                                 "1 AS source_id", [client])
    con.close()


@pytest.mark.parametrize(("clients", "mode"), [
    (["0123456789abcdef"], "hash"), (["10.0.0.1"], "raw"), (["2001:db8::1"], "raw"), ([None], "none"),
])
def test_a_store_older_than_its_settings_is_judged_by_its_hits(tmp_path, clients, mode):
    db = tmp_path / "s.duckdb"
    legacy_store(db, clients)
    if mode == "hash":
        with pytest.raises(privacy.KeyMissing, match="its clients were hashed with the key"):
            privacy.client_key(db, "hash")  # hashed clients, and no key to go on with
        assert not privacy.key_path(db).exists()
        privacy.key_path(db).write_bytes(os.urandom(32))
    for other in set(privacy.IP_MODES) - {mode}:
        with pytest.raises(privacy.IpModeMismatch):
            privacy.client_key(db, other)
    privacy.client_key(db, mode)
    con = store.connect(db, read_only=True)
    assert read_settings(con).ip_mode == mode
    con.close()


@pytest.mark.parametrize(("make", "message"), [
    (lambda p: p.write_bytes(b"short"),
     "The IP key file {p!r} holds 5 bytes, not 32: it is not a wheelstats key. Restore that file from a backup "
     "(or point $WHEELSTATS_KEY_FILE at it)."),
    (lambda p: p.write_bytes(b""),
     "The IP key file {p!r} holds 0 bytes, not 32: it is not a wheelstats key. Restore that file from a backup "
     "(or point $WHEELSTATS_KEY_FILE at it)."),
    (lambda p: p.mkdir(),
     "The IP key file {p!r} is a folder. Move it away, or point $WHEELSTATS_KEY_FILE at the key file."),
], ids=["wrong length", "empty", "folder"])
def test_a_key_file_that_cannot_be_a_key_is_refused_in_one_line(tmp_path, make, message):
    db = tmp_path / "s.duckdb"
    key_file = privacy.key_path(db)
    make(key_file)
    for load in (privacy.load_key, lambda path: privacy.client_key(path, "hash")):
        with pytest.raises(privacy.KeyFileError) as error:
            load(db)
        assert str(error.value) == message.format(p=str(key_file))


def test_a_key_file_that_cannot_be_read_is_refused_in_one_line(tmp_path):
    db = tmp_path / "s.duckdb"
    key_file = privacy.key_path(db)
    key_file.write_bytes(os.urandom(32))
    key_file.chmod(0)
    script = f"from wheelstats.store import privacy\nprivacy.load_key({str(db)!r})\n"
    result = subprocess.run([*WITHOUT_ROOT_READS, sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        f"wheelstats.store.privacy.KeyFileError: Cannot read the IP key file {str(key_file)!r}: Permission denied. "
        "Run as the user that owns it, or point $WHEELSTATS_KEY_FILE at a readable copy."
    )


def test_client_sql_hashes_with_the_key(tmp_path):
    key = bytes(range(32))
    con = duckdb.connect()
    hashed = con.execute(f"SELECT {privacy.client_sql(chr(39) + '10.0.0.1' + chr(39), 'hash', key)}").fetchone()[0]
    assert privacy.HASHED_CLIENT.fullmatch(hashed)
