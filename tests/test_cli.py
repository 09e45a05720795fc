"""The command line as a user meets it: exact messages, exit codes, help with examples."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from wheelstats.cli import app

from kit.logs import log_line, write_log

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture
def log(tmp_path):
    lines = [log_line(0, "search"), log_line(1), log_line(2, "project_page"), log_line(3, "other"), "garbage\n"]
    return write_log(tmp_path / "access.log", lines)


def test_ingest_prints_the_account(tmp_path, log):
    result = run("ingest", "--db", str(tmp_path / "s.duckdb"), str(log))
    assert result.exit_code == 0
    assert "lines read = hits + ignored + rejected: 5 = 3 + 1 + 1\n" in result.stdout
    assert "rejected by reason: {'unparseable': 1}; see `wheelstats rejects`\n" in result.stdout


def test_summary_json_has_the_documented_keys(tmp_path, log):
    db = str(tmp_path / "s.duckdb")
    run("ingest", "--db", db, str(log))
    summary = json.loads(run("summary", "--db", db, "--json").stdout)
    assert {k: summary[k] for k in ("lines", "downloads", "searches", "project_pages", "json", "pages", "ignored", "rejected")} == {
        "lines": 5, "downloads": 1, "searches": 1, "project_pages": 1, "json": 0, "pages": 0, "ignored": 1, "rejected": 1,
    }
    assert summary["first_hit"] == "2020-03-05T00:00:00Z" and summary["last_hit"] == "2020-03-05T00:00:02Z"
    assert summary["top_projects"] == [{"project": "proj1", "downloads": 1}]


def test_rejects_shows_file_and_line(tmp_path, log):
    db = str(tmp_path / "s.duckdb")
    run("ingest", "--db", db, str(log))
    result = run("rejects", "--db", db)
    assert result.stdout == f"unparseable: 1\n{log}:5: [unparseable] garbage\n"


@pytest.mark.parametrize(
    "args, message",
    [
        (["ingest", "/no/such.log"], "Error: No such file: '/no/such.log'.\n"),
        (["ingest", "--ip", "clear", "x.log"], "Error: --ip must be one of hash, raw, none, not 'clear'.\n"),
        (["ingest", "--format", "%h %Q", "x.log"], "Error: Invalid log format '%h %Q': unsupported directive %Q\n"),
        (["summary", "--db", "/no/such.duckdb"], "Error: No store at '/no/such.duckdb'. Run `wheelstats ingest` first, or pass --db.\n"),
    ],
)
def test_user_mistakes_get_one_line_and_exit_1(args, message):
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert result.stderr == message


def test_a_file_that_is_not_a_store_is_refused(tmp_path):
    bogus = tmp_path / "notes.txt"
    bogus.write_text("not a database")
    result = runner.invoke(app, ["summary", "--db", str(bogus)])
    assert result.exit_code == 1 and result.stderr.startswith(f"Error: '{bogus}' is not a wheelstats store")


def command_paths(group, prefix=()):
    import typer.main

    click_group = typer.main.get_command(group)
    for name, command in click_group.commands.items():
        if hasattr(command, "commands"):
            for sub in command.commands:
                yield (*prefix, name, sub)
        else:
            yield (*prefix, name)


@pytest.mark.parametrize("path", list(command_paths(app)), ids=" ".join)
def test_every_command_has_a_summary_and_an_example(path):
    result = run(*path, "--help")
    assert result.exit_code == 0
    assert "Example" in result.stdout, f"`wheelstats {' '.join(path)} --help` shows no example"


@pytest.mark.parametrize("path", list(command_paths(app)), ids=" ".join)
def test_every_command_stops_and_fails_through_the_one_guard(path):
    import typer.main

    command = typer.main.get_command(app)
    for name in path:
        command = command.commands[name]
    layers, callback = [], command.callback
    while callback is not None:  # Typer's own wrapper, then ours, then the command
        layers.append(callback.__code__.co_qualname)
        callback = getattr(callback, "__wrapped__", None)
    assert "guarded.<locals>.run" in layers


def test_a_store_error_a_command_lets_through_is_one_line(tmp_path):
    """The guard prints a StoreError that no command body catches (here from `serve`'s check of its store)."""
    bogus = tmp_path / "s.duckdb"
    bogus.mkdir()
    result = runner.invoke(app, ["serve", "--wheels", str(tmp_path), "--db", str(bogus)])
    assert (result.exit_code, result.stderr) == (1, (
        f"Error: {str(bogus)!r} is not a wheelstats store (it is a folder). Pass the store's file with --db, "
        "e.g. stats.duckdb.\n"
    ))
