"""Write docs/cli.md, the command-line reference: every command's `--help`, as the CLI prints it now.

    .venv/bin/python scripts/cli_reference.py --write    # update docs/cli.md
    .venv/bin/python scripts/cli_reference.py --check    # exit 1 if docs/cli.md is out of date
    .venv/bin/python scripts/cli_reference.py            # print the reference

The help is rendered at a fixed width, without colour and without a terminal, so the
text is the same on every machine with the same versions of the CLI's libraries. The
tests import `commands()` from here to walk the CLI; only running the script renders help.
"""

from __future__ import annotations

import os

if __name__ == "__main__":  # Typer reads these when it is imported: set them first
    for _variable in ("FORCE_COLOR", "PY_COLORS", "GITHUB_ACTIONS", "TYPER_USE_RICH"):
        os.environ.pop(_variable, None)
    os.environ.update(TERMINAL_WIDTH="100", COLUMNS="100", NO_COLOR="1", _TYPER_FORCE_DISABLE_TERMINAL="1")

import argparse  # noqa: E402
import difflib  # noqa: E402
import sys  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import typer  # noqa: E402
from typer.core import TyperGroup  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from wheelstats.cli import app  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "docs" / "cli.md"
PROGRAM = "wheelstats"
WRITE_COMMAND = ".venv/bin/python scripts/cli_reference.py --write"


@dataclass(frozen=True, slots=True)
class CliCommand:
    """A command or group of the CLI, and where it is."""

    path: tuple[str, ...]  # the words after the program's name, e.g. ("import", "builds")
    command: typer.core.TyperCommand | TyperGroup

    @property
    def is_group(self) -> bool:
        return isinstance(self.command, TyperGroup)

    @property
    def command_line(self) -> str:
        return " ".join((PROGRAM, *self.path))

    @property
    def anchor(self) -> str:
        """Its heading's anchor in docs/cli.md, as GitHub makes it from `## `wheelstats import builds``."""
        return "-".join((PROGRAM, *self.path))


@dataclass(frozen=True, slots=True)
class CommandHelp:
    """One command of the CLI and the help it prints."""

    of: CliCommand
    summary: str  # the first line of its help
    help_text: str  # what `--help` prints, without trailing spaces


def commands(command=None, path: tuple[str, ...] = ()) -> Iterator[CliCommand]:
    """Every visible command and group under ``command`` (the whole CLI by default), in order."""
    command = command or typer.main.get_command(app)
    yield CliCommand(path, command)
    if isinstance(command, TyperGroup):
        context = typer.Context(command, info_name=PROGRAM)
        for name in command.list_commands(context):
            sub = command.get_command(context, name)
            if sub is not None and not sub.hidden:
                yield from commands(sub, (*path, name))


def command_help(cli_command: CliCommand) -> CommandHelp:
    path, command = cli_command.path, cli_command.command
    result = CliRunner().invoke(app, [*path, "--help"], prog_name=PROGRAM, color=False)
    if result.exit_code != 0:
        raise SystemExit(f"`{cli_command.command_line} --help` failed ({result.exit_code}): {result.output}")
    text = "\n".join(line.rstrip() for line in result.output.splitlines()).strip("\n")
    summary = command.get_short_help_str(limit=200) if path else (command.help or "").strip().splitlines()[0]
    return CommandHelp(cli_command, summary, text)


def reference() -> str:
    """docs/cli.md as the CLI makes it now."""
    helps = [command_help(cli_command) for cli_command in commands()]
    out = [
        "# Command-line reference",
        "",
        f"<!-- Generated from the commands' --help by `{WRITE_COMMAND}`; do not edit by hand. -->",
        "",
        f"Every `{PROGRAM}` command and what its `--help` prints.",
        "",
    ]
    out += [f"- [`{h.of.command_line}`](#{h.of.anchor}): {h.summary}" for h in helps if h.of.path]
    for h in helps:
        out += ["", f"## `{h.of.command_line}`", "", "```text", h.help_text, "```"]
    return "\n".join(out) + "\n"


def shown(path: Path) -> str:
    """``path`` as a reader finds it: relative to the repository when it is inside it."""
    path = path.resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write docs/cli.md from the commands' --help.")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="write docs/cli.md")
    mode.add_argument("--check", action="store_true", help="exit 1 if docs/cli.md differs from what the CLI says")
    parser.add_argument("--file", type=Path, default=REFERENCE, help="the reference to write or check "
                        "(default: docs/cli.md)")
    options = parser.parse_args(argv)
    text = reference()
    if options.write:
        options.file.write_text(text)
        print(f"Wrote {shown(options.file)}.")
    elif options.check:
        current = options.file.read_text() if options.file.exists() else ""
        if current != text:
            sys.stdout.writelines(difflib.unified_diff(
                current.splitlines(keepends=True), text.splitlines(keepends=True), shown(options.file),
                "what the CLI says now"))
            print(f"{shown(options.file)} is out of date with the CLI. Run `{WRITE_COMMAND}` and commit it.")
            return 1
        print(f"{shown(options.file)} is up to date.")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
