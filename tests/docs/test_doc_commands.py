"""Every `wheelstats ...` command line in README.md and docs/*.md, and every example a command's
--help gives, parses against the CLI as it is now, with click's own parser.

A command line is found wherever a shell would run it: at the start of a line of a code
block or of an inline code span, after `|`, `&&`, `||` or `;`, after environment
assignments, as a systemd `Exec...=` value, or as an Apache piped log (`"|... wheelstats
..."`); a `#` starts a comment. Continued lines (ending in `\\`) are joined. Synopses are
read the usual way: `[...]` is optional, `(a | b)` and `a|b` are alternatives, `FILE...`
repeats, and a value in capitals (FILE, DIR, N) is a placeholder; every reading must
parse. Parsing checks that the command exists, that every option exists and has its
value, that values convert to the option's type (placeholders aside), that required
arguments and options are given, and that nothing is left over.

docs/cli.md is left out: it is generated from the CLI itself (tests/docs/test_cli_reference.py
keeps it current), and the examples in it are checked here at their source, the commands' help.
"""

from __future__ import annotations

import itertools
import re
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import typer
from kit import ROOT
from markdown_it import MarkdownIt
from typer.core import TyperGroup

from wheelstats.cli import app

sys.path.insert(0, str(ROOT / "scripts"))
import cli_reference  # noqa: E402  (the reference's script walks the CLI; importing it renders nothing)

PROGRAM = cli_reference.PROGRAM
DOCUMENTS = [ROOT / "README.md", *(p for p in sorted((ROOT / "docs").glob("*.md")) if p.name != "cli.md")]
# The click the CLI runs on (Typer's own copy of it in recent versions): BadParameter's base.
UsageError = typer.BadParameter.__bases__[0]
SHELL_OPERATORS = {"|", "||", "&&", ";"}
PLACEHOLDER = re.compile(r"[A-Z][A-Z0-9_]*(\.\.\.)?")
SYSTEMD_EXEC = re.compile(r"Exec[A-Za-z]*=")
COMMAND_WORD = re.compile(r"([^=\s]*/)?wheelstats")  # wheelstats, .venv/bin/wheelstats
ENVIRONMENT = re.compile(r"[A-Z_][A-Z0-9_]*=")  # WHEELSTATS_DB=x wheelstats ...; not ini keys


@dataclass(frozen=True, slots=True)
class DocCommand:
    """A `wheelstats` command line as a document writes it."""

    where: str  # file:line
    text: str
    inline: bool = False  # in inline code, where `wheelstats serve` alone names the command


class CommandLineError(ValueError):
    """A command line the CLI would refuse."""


# Finding command lines -------------------------------------------------------------------------


def shell_words(line: str) -> list[str]:
    """The words of a line of shell or config text, quotes kept, up to a comment."""
    lexer = shlex.shlex(line, posix=False)
    lexer.whitespace_split = True
    lexer.commenters = ""
    words = []
    try:
        for word in lexer:
            if word.startswith("#"):
                break
            words.append(word)
    except ValueError as error:  # an unclosed quote
        raise CommandLineError(f"{error} in {line!r}.") from None
    return words


def unquote(word: str) -> str:
    values = shlex.split(word)
    return values[0] if values else ""


def command_lines(line: str) -> list[str]:
    """The `wheelstats` command lines in one line of shell or config text."""
    found = []
    try:
        words = shell_words(line)
    except CommandLineError:  # no shell reads it; if it starts like a command, let the check say why
        return [line.strip()] if COMMAND_WORD.fullmatch(line.split(maxsplit=1)[0] if line.strip() else "") else []
    for word in words:
        value = unquote(word) if word[:1] in "'\"" else ""
        if value.startswith("|"):  # an Apache piped log: CustomLog "|/path/wheelstats ingest -" combined
            found += command_lines(value[1:])
    simple: list[str] = []
    depth = 0
    for word in [*words, ";"]:
        depth += word.count("[") + word.count("(") - word.count("]") - word.count(")") if word[:1] not in "'\"" else 0
        if depth == 0 and word in SHELL_OPERATORS:
            found += _command(simple)
            simple = []
        else:
            simple.append(word)
    return found


def _command(words: list[str]) -> list[str]:
    if words and SYSTEMD_EXEC.match(words[0]):
        words = [SYSTEMD_EXEC.sub("", words[0], count=1), *words[1:]]
    while words and ENVIRONMENT.match(words[0]):
        words = words[1:]
    if words and COMMAND_WORD.fullmatch(unquote(words[0])):
        return [" ".join([PROGRAM, *words[1:]])]
    return []


def doc_commands(path: Path) -> list[DocCommand]:
    """Every `wheelstats` command line in the code blocks and inline code of a Markdown file."""
    name = path.relative_to(ROOT)
    found = []
    for token in MarkdownIt("commonmark").enable("table").parse(path.read_text()):
        if token.type in ("fence", "code_block"):
            first = token.map[0] + (2 if token.type == "fence" else 1)
            lines = token.content.splitlines()
            index = 0
            while index < len(lines):
                start, text = index, lines[index]
                while text.endswith("\\") and index + 1 < len(lines):
                    index += 1
                    text = text[:-1] + " " + lines[index].strip()
                found += [DocCommand(f"{name}:{first + start}", c) for c in command_lines(text)]
                index += 1
        elif token.type == "inline":
            for child in token.children or ():
                if child.type == "code_inline":
                    found += [DocCommand(f"{name}:{token.map[0] + 1}", c, inline=True)
                              for c in command_lines(child.content)]
    return found


def help_examples() -> list[DocCommand]:
    """The command lines in every command's help: its `Example:` lines, and any other (a piped log)."""
    found = []
    for cli_command in cli_reference.commands():
        for line in (cli_command.command.help or "").splitlines():
            before, example, after = line.partition("Example:")
            found += [DocCommand(f"{cli_command.command_line} --help", text)
                      for text in (command_lines(after) if example else command_lines(before))]
    return found


# Reading synopses ------------------------------------------------------------------------------


def variants(command_line: str) -> list[list[str]]:
    """Every reading of a command line written as a synopsis, as argument lists (quotes removed)."""
    items: list[str] = []
    for word in shell_words(command_line):
        if word[:1] in "'\"":
            items.append(word)
            continue
        opening = len(word) - len(word.lstrip("[("))
        closing = len(word) - len(word.rstrip("])"))
        items += list(word[:opening])
        core = word[opening:len(word) - closing]
        if core:
            items.append(core)
        items += list(word[len(word) - closing:])
    sequence, rest = _sequence(items, 0)
    if rest != len(items):
        raise CommandLineError(f"Unbalanced brackets in {command_line!r}.")
    return [[unquote(word) for word in reading] for reading in sequence]


def _sequence(items: list[str], index: int) -> tuple[list[list[str]], int]:
    """The readings of items[index:] up to a closing bracket or `|` (alternatives of a group)."""
    readings: list[list[str]] = [[]]
    while index < len(items) and items[index] not in ("]", ")", "|"):
        item = items[index]
        if item in ("[", "("):
            alternatives, index = _alternatives(items, index + 1)
            closing = items[index] if index < len(items) else None
            if closing != {"[": "]", "(": ")"}[item]:
                raise CommandLineError(f"Unbalanced brackets in {' '.join(items)!r}.")
            choices = alternatives + ([[]] if item == "[" else [])
        elif "|" in item and item[:1] not in "'\"":
            choices = [[choice] for choice in item.split("|")]
        else:
            choices = [[item]]
        readings = [reading + choice for reading, choice in itertools.product(readings, choices)]
        index += 1
    return readings, index


def _alternatives(items: list[str], index: int) -> tuple[list[list[str]], int]:
    alternatives, index = _sequence(items, index)
    while index < len(items) and items[index] == "|":
        more, index = _sequence(items, index + 1)
        alternatives += more
    return alternatives, index


# Parsing against the CLI -----------------------------------------------------------------------


def check_arguments(words: list[str]) -> str:
    """Parse ``wheelstats ARGS...`` as the CLI would (click's ``make_context``), without running it;
    return the command's name. Raises CommandLineError with click's own message when the CLI
    would refuse it.

    A placeholder (``--lines N``) stands for a value of the right type: where click refuses
    one, the option's default takes its place and the line is parsed again.
    """
    if words[:1] != [PROGRAM]:
        raise CommandLineError(f"Not a {PROGRAM} command: {words!r}.")
    command = typer.main.get_command(app)
    context = typer.Context(command, info_name=PROGRAM)
    args, path = list(words[1:]), [PROGRAM]
    while isinstance(command, TyperGroup):
        # the group's own options (and their values) come before its command's name
        try:
            rest = command.make_parser(context).parse_args(list(args))[1]
        except UsageError as error:
            raise CommandLineError(f"{' '.join(path)}: {error.format_message()}") from None
        group_options = args[:len(args) - len(rest)]
        args = rest
        if group_options:
            _make_context(command, path, group_options, context.parent)
        if not args and command.invoke_without_command:  # `wheelstats builds --failed`: the group runs
            return " ".join(path)
        if not args:
            raise CommandLineError(f"{' '.join(path)}: missing a command.")
        name, *args = args
        sub = command.get_command(context, name)
        if sub is None:
            raise CommandLineError(f"{' '.join(path)}: no such command {name!r}.")
        command, context = sub, typer.Context(sub, info_name=name, parent=context)
        path.append(name)
    _make_context(command, path, args, context.parent)
    return " ".join(path)


def _make_context(command, path: list[str], args: list[str], parent) -> None:
    for _ in range(len(args) + 1):
        try:
            command.make_context(path[-1], list(args), parent=parent)
            return
        except typer.Exit as done:  # --help printed the help
            if done.exit_code == 0:
                return
            raise CommandLineError(f"{' '.join(path)}: exits with {done.exit_code}.") from None
        except typer.BadParameter as error:
            value_at = _placeholder_value(args, error.param)
            if value_at is None or error.param.default is None:
                raise CommandLineError(f"{' '.join(path)}: {error.format_message()}") from None
            args = [*args[:value_at], str(error.param.default), *args[value_at + 1:]]
        except UsageError as error:
            raise CommandLineError(f"{' '.join(path)}: {error.format_message()}") from None


def _placeholder_value(args: list[str], param) -> int | None:
    """The index in ``args`` of a placeholder given as ``param``'s value, if there is one."""
    for index, word in enumerate(args[:-1]):
        if param is not None and word in getattr(param, "opts", ()) and PLACEHOLDER.fullmatch(args[index + 1]):
            return index + 1
    return None


def check_command_line(command_line: str) -> list[str]:
    """Every reading of ``command_line`` parses: return the commands it runs."""
    return [check_arguments(words) for words in variants(command_line)]


def names_a_command(command_line: str) -> bool:
    """Whether ``command_line`` is only the name of an existing command or group (`wheelstats import`)."""
    return command_line.split() in [c.command_line.split() for c in cli_reference.commands()]


def check_doc_command(command: DocCommand) -> None:
    """A command line parses; in inline code, naming a command is enough (`wheelstats serve` is the index)."""
    if not (command.inline and names_a_command(command.text)):
        check_command_line(command.text)


# The documents ---------------------------------------------------------------------------------

DOC_COMMANDS = [command for path in DOCUMENTS for command in doc_commands(path)]
EXAMPLES = help_examples()
# Help examples that do not parse yet, by the help they are in, and what to fix. They live in
# src/wheelstats/cli.py, outside this change; the xfail is strict, so once fixed this fails: remove it then.
BROKEN_EXAMPLES: dict[str, str] = {}


@pytest.mark.parametrize("command", DOC_COMMANDS, ids=[f"{c.where} {c.text}" for c in DOC_COMMANDS])
def test_doc_command_parses_against_the_cli(command):
    try:
        check_doc_command(command)
    except CommandLineError as error:
        pytest.fail(f"{command.where}: `{command.text}` does not parse: {error}")


@pytest.mark.parametrize("example", [
    pytest.param(e, id=f"{e.where} {e.text}", marks=[pytest.mark.xfail(strict=True, reason=BROKEN_EXAMPLES[e.where])]
                 if e.where in BROKEN_EXAMPLES else []) for e in EXAMPLES])
def test_help_example_parses_against_the_cli(example):
    try:
        check_command_line(example.text)
    except CommandLineError as error:
        pytest.fail(f"The example of `{example.where}`, `{example.text}`, does not parse: {error}")


def test_every_command_has_an_example_and_is_in_the_documents():
    leaves = {f"wheelstats {c}" for c in (
        "ingest", "forget", "summary", "export", "rejects", "report", "sample-log", "serve", "simulate", "dashboard",
        "import builds", "import piwheels", "import pypi-downloads", "build", "builds", "builds log", "builds merge", "skip", "unskip")}
    assert {e.where.removesuffix(" --help") for e in EXAMPLES} == leaves
    named = {c.text for c in DOC_COMMANDS if c.inline and names_a_command(c.text)}
    run = {name for c in DOC_COMMANDS if c.text not in named for name in check_command_line(c.text)}
    assert leaves <= named | run


def test_commands_are_found_wherever_a_shell_would_run_them():
    found = {(c.where.split(":")[0], c.text) for c in DOC_COMMANDS}
    expected = {
        ("README.md", "wheelstats import piwheels (--dsn URL | --dump DIR)"),  # inline code in a table, \| kept
        ("docs/deploy.md", "wheelstats serve --wheels /srv/wheels --db /var/lib/wheelstats/stats.duckdb "
                           "--access-log /var/log/wheelstats/access.log --host 127.0.0.1 --port 8000"),  # ExecStart=, \
        ("docs/deploy.md", "wheelstats ingest --follow --db /var/lib/wheelstats/stats.duckdb -"),  # "|..." and tail |
        ("docs/deploy.md", "wheelstats summary --db /var/lib/wheelstats/stats.duckdb"),
        ("docs/ingest.md", "wheelstats ingest [--db PATH] [--format F] [--follow] [--again] [--ip hash|raw|none] "
                           "[--country on|off] FILE..."),
        ("docs/dashboard.md", "wheelstats dashboard --db wheelstats.duckdb --port 8050"),  # comment dropped
    }
    assert expected <= found
    assert len(DOC_COMMANDS) >= 30
    assert DocCommand("wheelstats ingest --help", "wheelstats ingest --follow -") in EXAMPLES  # the piped log
    assert len(EXAMPLES) >= 12


# The finder and the parser themselves ----------------------------------------------------------


@pytest.mark.parametrize("line, commands", [
    ("wheelstats summary --json", ["wheelstats summary --json"]),
    ("WHEELSTATS_DB=x.duckdb .venv/bin/wheelstats summary  # a comment", ["wheelstats summary"]),
    ("ExecStart=/opt/wheelstats/bin/wheelstats serve --wheels /srv", ["wheelstats serve --wheels /srv"]),
    ("tail -F log | wheelstats ingest --follow - && wheelstats summary",
     ["wheelstats ingest --follow -", "wheelstats summary"]),
    ("CustomLog \"|wheelstats ingest --follow -\" combined", ["wheelstats ingest --follow -"]),
    ("systemctl enable --now wheelstats", []),
    ("Description=wheelstats package index", []),
    ("User=wheelstats", []),
    ("ReadWritePaths=/var/lib/wheelstats /var/log/wheelstats", []),
    ("$XDG_CACHE_HOME/wheelstats/", []),
    ("# wheelstats serve records the requests itself.", []),
    ("python -m wheelstats.server.feeder", []),
    ("the index's pages", []),
    ("wheelstats ingest --format 'unclosed", ["wheelstats ingest --format 'unclosed"]),
])
def test_command_lines_are_found_where_a_shell_runs_them(line, commands):
    assert command_lines(line) == commands


def test_synopses_are_read_every_way():
    assert variants("wheelstats ingest [--ip hash|raw|none] FILE...") == [
        ["wheelstats", "ingest", "--ip", "hash", "FILE..."], ["wheelstats", "ingest", "--ip", "raw", "FILE..."],
        ["wheelstats", "ingest", "--ip", "none", "FILE..."], ["wheelstats", "ingest", "FILE..."]]
    assert variants("wheelstats import piwheels (--dsn URL | --dump DIR)") == [
        ["wheelstats", "import", "piwheels", "--dsn", "URL"], ["wheelstats", "import", "piwheels", "--dump", "DIR"]]
    assert variants("wheelstats ingest --format '%h [%t] \"%r\" %>s' a.log") == [
        ["wheelstats", "ingest", "--format", '%h [%t] "%r" %>s', "a.log"]]
    with pytest.raises(CommandLineError, match="Unbalanced brackets"):
        variants("wheelstats summary [--json")
    with pytest.raises(CommandLineError, match="No closing quotation"):
        variants("wheelstats ingest --format 'unclosed")


@pytest.mark.parametrize("line, message", [
    ("wheelstats summarise", "wheelstats: no such command 'summarise'."),
    ("wheelstats import", "wheelstats import: missing a command."),
    ("wheelstats ingest --db x.duckdb", "wheelstats ingest: Missing argument 'files'."),
    ("wheelstats ingest --tail access.log", "wheelstats ingest: No such option: --tail"),
    ("wheelstats report --period 2020-Q1", "wheelstats report: Missing option '--out'."),
    ("wheelstats sample-log --lines many --out a.log", "wheelstats sample-log: Invalid value for '--lines'"),
    ("wheelstats sample-log --lines 0 --out a.log", "wheelstats sample-log: Invalid value for '--lines'"),
    ("wheelstats dashboard --port 8050, then open it", "wheelstats dashboard: Invalid value for '--port'"),
    ("wheelstats rejects now", "wheelstats rejects: Got unexpected extra argument(s) (now)"),
    ("wheelstats serve --wheels", "wheelstats serve: Option '--wheels' requires an argument."),
])
def test_the_parser_refuses_what_the_cli_refuses(line, message):
    with pytest.raises(CommandLineError) as refused:
        check_command_line(line)
    assert str(refused.value).startswith(message)


@pytest.mark.parametrize("line, commands", [
    ("wheelstats sample-log --lines N --out FILE", ["wheelstats sample-log"]),
    ("wheelstats ingest --help", ["wheelstats ingest"]),
    ("wheelstats import builds FILE --db stats.duckdb", ["wheelstats import builds"]),
    ("wheelstats summary [--json]", ["wheelstats summary", "wheelstats summary"]),
])
def test_the_parser_accepts_placeholders_and_help(line, commands):
    assert check_command_line(line) == commands
