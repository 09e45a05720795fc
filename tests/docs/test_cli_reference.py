"""docs/cli.md is what scripts/cli_reference.py makes from the commands' --help now."""

import subprocess
import sys

from kit import ROOT

SCRIPT = ROOT / "scripts" / "cli_reference.py"
REFERENCE = ROOT / "docs" / "cli.md"
UPDATE = "Run `.venv/bin/python scripts/cli_reference.py --write` and commit it."


def run_script(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=120)


def test_cli_md_is_what_the_commands_help_says_now():
    result = run_script("--check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == "docs/cli.md is up to date.\n"


def test_printed_reference_is_cli_md_and_has_every_command_s_help():
    result = run_script()
    assert result.returncode == 0, result.stderr
    assert result.stdout == REFERENCE.read_text()
    for command in ("ingest", "summary", "rejects", "report", "sample-log", "serve", "simulate", "dashboard",
                    "import builds", "import piwheels"):
        section = result.stdout.split(f"## `wheelstats {command}`\n", 1)[1].split("\n## ", 1)[0]
        assert f" Usage: wheelstats {command} [OPTIONS]" in section
        assert " Example: wheelstats " + command in section


def test_check_fails_on_a_stale_reference_and_says_how_to_update_it(tmp_path):
    stale = tmp_path / "cli.md"
    text = REFERENCE.read_text()
    stale.write_text(text.replace("Show rejected lines", "Show the rejected lines", 1))
    result = run_script("--check", "--file", str(stale))
    assert result.returncode == 1
    assert f"{stale} is out of date with the CLI. {UPDATE}\n" in result.stdout
    assert "-- [`wheelstats rejects`](#wheelstats-rejects): Show the rejected lines" in result.stdout
    assert "+- [`wheelstats rejects`](#wheelstats-rejects): Show rejected lines" in result.stdout


def test_check_fails_when_a_command_is_undocumented(tmp_path):
    partial = tmp_path / "cli.md"
    partial.write_text(REFERENCE.read_text().split("\n## `wheelstats dashboard`", 1)[0] + "\n")
    result = run_script("--check", "--file", str(partial))
    assert result.returncode == 1
    assert "+## `wheelstats dashboard`" in result.stdout
    assert result.stdout.endswith(f"{partial} is out of date with the CLI. {UPDATE}\n")


def test_write_makes_a_reference_that_checks(tmp_path):
    target = tmp_path / "cli.md"
    assert run_script("--write", "--file", str(target)).stdout == f"Wrote {target}.\n"
    assert target.read_text() == REFERENCE.read_text()
    assert run_script("--check", "--file", str(target)).returncode == 0
