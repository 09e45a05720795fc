"""README.md's commands run, its command table covers the CLI, and the docs' links lead somewhere.

README's shell blocks (fenced, no language or a shell's) hold commands to run from the
repository's root: `./scripts/demo` runs here (about 30 s) and what it says it wrote must
exist; `./scripts/test` runs these tests, so it is checked, not run. A command this module
does not know how to run fails, so a new one is never silently left out.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

from kit import ROOT
from markdown_it import MarkdownIt

sys.path.insert(0, str(ROOT / "scripts"))
import cli_reference  # noqa: E402  (the reference's script walks the CLI; importing it renders nothing)

README = ROOT / "README.md"
DOCUMENTS = [README, *sorted((ROOT / "docs").glob("*.md"))]
SHELLS = {"", "sh", "bash", "shell", "console"}
MARKDOWN = MarkdownIt("commonmark").enable("table")


def shell_commands(path: Path) -> list[str]:
    """The lines of the shell blocks of a Markdown file, in order."""
    return [line.strip() for token in MARKDOWN.parse(path.read_text())
            if token.type == "fence" and token.info.strip() in SHELLS
            for line in token.content.splitlines() if line.strip()]


def anchors(path: Path) -> set[str]:
    """The anchors GitHub gives the headings of a Markdown file."""
    tokens = MARKDOWN.parse(path.read_text())
    return {re.sub(r"[^\w\- ]", "", tokens[i + 1].content.lower()).replace(" ", "-")
            for i, token in enumerate(tokens) if token.type == "heading_open"}


def links(path: Path) -> list[str]:
    return [child.attrs["href"] for token in MARKDOWN.parse(path.read_text()) if token.type == "inline"
            for child in token.children or () if child.type == "link_open"]


def test_readme_starts_with_the_demo_and_the_tests():
    tokens = MARKDOWN.parse(README.read_text())
    assert [t.type for t in tokens[:4]] == ["heading_open", "inline", "heading_close", "fence"]
    assert tokens[3].content == "./scripts/demo\n./scripts/test\n"


def test_every_command_in_readme_runs():
    commands = shell_commands(README)
    assert commands[:2] == ["./scripts/demo", "./scripts/test"]
    unknown = [c for c in commands if c not in ("./scripts/demo", "./scripts/test")]
    assert not unknown, f"README.md has commands this test does not run yet: {unknown}; teach test_readme.py to."
    tests = ROOT / "scripts" / "test"  # running it here would run these tests again
    assert tests.is_file() and os.access(tests, os.X_OK)
    assert "exec .venv/bin/python -m pytest" in tests.read_text()

    started = time.time()
    demo = subprocess.run(["./scripts/demo"], cwd=ROOT, capture_output=True, text=True, timeout=900,
                          env={k: v for k, v in os.environ.items() if k != "WHEELSTATS_DB"})
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    assert "Traceback" not in demo.stdout + demo.stderr

    def written(path: str) -> Path:
        found = ROOT / path
        assert found.exists(), f"the demo says it wrote {path}, which does not exist"
        assert found.stat().st_mtime >= started - 1, f"{path} is older than this run of the demo"
        return found

    simulated = re.search(r"^Wrote (\S+): [\d,]+ downloads in the period \([\d,]+ log lines in (\S+)\), [\d,]+ "
                          r"before it \(in (\S+)\), figures in (\S+)\.$", demo.stdout, re.M)
    assert simulated, demo.stdout
    for path in simulated.groups():
        written(path)
    logs = sorted(written(simulated[2]).glob("access.log-2020*.gz"))
    assert len(logs) == 91  # every day of 2020-Q1
    assert re.search(r"^lines read = hits \+ ignored \+ rejected: ([\d,]+) = [\d,]+ \+ [\d,]+ \+ [\d,]+$",
                     demo.stdout, re.M)
    assert re.search(r"^Imported piwheels-dump:", demo.stdout, re.M)
    report = re.search(r"^Report written to (\S+) \(also report\.html, report\.json, (\d+) charts in (\S+)\)\.$",
                       demo.stdout, re.M)
    assert report, demo.stdout
    markdown, charts = written(report[1]), written(report[3])
    for name in ("report.html", "report.json"):
        written(str((markdown.parent / name).relative_to(ROOT)))
    assert len(list(charts.glob("*.png"))) == int(report[2]) == 8  # seven, and countries: the logs have clients
    last = demo.stdout.splitlines()[-1]
    assert last == f"The report: {markdown.parent.relative_to(ROOT)}/report.html (Markdown: {report[1]})"
    # What README.md says the demo leaves: the store and the report.
    written("out/demo/wheelstats.duckdb")
    assert "`out/demo/wheelstats.duckdb`" in README.read_text()
    assert "`out/demo/report/report.html`" in README.read_text() and report[1] == "out/demo/report/report.md"


def test_readme_command_table_covers_the_cli_and_links_each_command_to_its_reference():
    reference = anchors(ROOT / "docs" / "cli.md")
    targets = [link for link in links(README) if link.startswith("docs/cli.md#")]
    for command in cli_reference.commands():
        if not command.is_group:
            assert f"docs/cli.md#{command.anchor}" in targets, f"README's table does not list {command.command_line}"
            assert command.anchor in reference
    assert "docs/cli.md" in links(README)


def test_every_relative_link_in_the_docs_leads_somewhere():
    for document in DOCUMENTS:
        for link in links(document):
            parts = urlsplit(link)
            if parts.scheme or not (parts.path or parts.fragment):
                continue
            target = (document.parent / parts.path).resolve() if parts.path else document
            assert target.exists(), f"{document.relative_to(ROOT)} links to {link}, which does not exist"
            if parts.fragment and target.suffix == ".md":
                assert parts.fragment in anchors(target), f"{document.relative_to(ROOT)}: no heading for {link}"


def test_readme_names_every_benchmark_and_each_starts():
    section = README.read_text().split("## Benchmarks", 1)[1].split("\n## ", 1)[0]
    named = {name for name in re.findall(r"`([\w.]+\.py)`", section)}
    scripts = {path.name for path in (ROOT / "benchmarks").glob("*.py")}
    assert named == scripts
    for name in sorted(scripts):
        started = subprocess.run([sys.executable, str(ROOT / "benchmarks" / name), "--help"], capture_output=True,
                                 text=True, timeout=120)
        assert started.returncode == 0, f"benchmarks/{name} --help: {started.stderr[-2000:]}"
        assert started.stdout.startswith(f"usage: {name} ")
