"""Faults: files that are not a store, a store cut short, a store from a newer wheelstats.

Every command that opens a store refuses them in one line and leaves the file byte for byte as it was
(no tables added, no key or WAL made beside it, no report folder). Issue 8: `summary --db other.duckdb`
added 19 tables to any DuckDB file; a store cut to half failed with an IOException in every command.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from kit.faults import wheelstats
from wheelstats import store
from wheelstats.simulate import sample_log

# Each command that opens a store, with what it needs besides --db.
COMMANDS = {
    "summary": ["summary"],
    "rejects": ["rejects"],
    "report": ["report", "--period", "2020-Q1", "--out", "{work}/report"],
    "ingest": ["ingest", "{work}/access.log"],
    "import builds": ["import", "builds", "{work}/builds.csv"],
    "import piwheels": ["import", "piwheels", "--dump", "{work}/dump"],
}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    """A log, a catalogue and a piwheels dump for the commands to (not) read."""
    work = tmp_path_factory.mktemp("inputs")
    sample_log(work / "access.log", 20_000, seed=3)
    (work / "builds.csv").write_text("filename,duration\nfoo-1.0-cp37-cp37m-linux_armv7l.whl,83.5\n")
    (work / "dump").mkdir()
    (work / "dump" / "builds.csv").write_text(
        "build_id,package,version,built_at,duration,status\n1,foo,1.0,2020-01-02 03:04:05,00:01:23.5,t\n")
    return work


def command(name: str, work: Path, db: Path) -> list[str]:
    return [part.format(work=work) for part in COMMANDS[name]] + ["--db", str(db)]


def refused_and_left_as_it_was(name: str, inputs: Path, db: Path, message: str) -> None:
    """`wheelstats <name> --db db` fails with `message` alone, and leaves the file as it was, with nothing beside it."""
    before = db.read_bytes()
    outcome = wheelstats(*command(name, inputs, db))
    assert (outcome.code, outcome.stderr) == (1, f"Error: {message}\n")
    assert db.read_bytes() == before
    assert sorted(p.name for p in db.parent.iterdir()) == [db.name]


@pytest.mark.parametrize("name", COMMANDS)
def test_a_duckdb_file_that_is_not_a_store_is_refused_and_left_as_it_was(tmp_path, inputs, name):
    db = tmp_path / "db" / "other.duckdb"
    db.parent.mkdir()
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE dogs AS SELECT 'Cleo' AS name")
    con.close()
    refused_and_left_as_it_was(name, inputs, db, (
        f"{str(db)!r} is not a wheelstats store (a DuckDB database of something else, with 1 other table). "
        "It is left as it is. Pass the store's path with --db."
    ))
    assert not (inputs / "report").exists()


@pytest.fixture(scope="module")
def whole_store(tmp_path_factory, inputs) -> Path:
    db = tmp_path_factory.mktemp("whole") / "s.duckdb"
    assert wheelstats("ingest", inputs / "access.log", "--db", db).code == 0
    return db


@pytest.mark.parametrize("name", COMMANDS)
def test_a_store_cut_to_half_is_called_damaged_by_every_command(tmp_path, inputs, whole_store, name):
    db = tmp_path / "db" / "s.duckdb"
    db.parent.mkdir()
    whole = whole_store.read_bytes()
    db.write_bytes(whole[: len(whole) // 2])
    refused_and_left_as_it_was(name, inputs, db, (
        f"The store {str(db)!r} is damaged (cut short: {len(whole) // 2:,} of its {len(whole):,} bytes). "
        "Restore it from a backup, or ingest the access logs again into a new store (--db)."
    ))


@pytest.mark.parametrize("name", COMMANDS)
def test_a_store_from_a_newer_wheelstats_is_refused_and_left_as_it_was(tmp_path, inputs, name):
    db = tmp_path / "db" / "s.duckdb"
    db.parent.mkdir()
    con = store.connect(db)
    con.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    con.close()
    refused_and_left_as_it_was(name, inputs, db, (
        f"The store has schema version 999, newer than this wheelstats understands ({store.SCHEMA_VERSION}). "
        "Upgrade wheelstats."
    ))


def test_a_full_disk_under_the_store_is_one_line_and_the_store_keeps_what_it_held(tmp_path, inputs):
    """An import that fills the store's disk rolls back: the store holds what it held before, and says so."""
    from kit.faults import cli_line, in_private_mounts
    from wheelstats.simulate import run_simulation

    run_simulation("piwheels-2020q1", tmp_path / "sim", scale=0.005, seed=4)
    disk, db = tmp_path / "disk", tmp_path / "disk" / "s.duckdb"
    disk.mkdir()
    script = f"""
        mount -t tmpfs -o size=3m tmpfs {disk} || exit 99
        {cli_line("import", "builds", inputs / "builds.csv", "--db", db)} > /dev/null || exit 98
        {cli_line("summary", "--json", "--db", db)} > {tmp_path}/before.json
        {cli_line("import", "piwheels", "--dump", tmp_path / "sim" / "piwheels", "--db", db)} 2> {tmp_path}/stderr
        echo $? > {tmp_path}/code
        {cli_line("summary", "--json", "--db", db)} > {tmp_path}/after.json
    """
    assert in_private_mounts(script).code == 0
    assert ((tmp_path / "code").read_text(), (tmp_path / "stderr").read_text()) == ("1\n", (
        f"Error: No space left on the disk of the store {str(db)!r} (in {str(disk)!r}): the last transaction was "
        "not committed. Free some space and run the command again.\n"
    ))
    assert (tmp_path / "after.json").read_text() == (tmp_path / "before.json").read_text()
