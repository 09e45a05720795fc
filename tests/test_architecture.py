"""The code keeps to docs/architecture.md: each package imports only what its row there allows.

The table in the document is the rule; this test reads it and every import in
src/wheelstats/ (top-level and inside functions alike), so an arrow pointing the
wrong way, or a new package the document does not describe, fails here.
"""

from __future__ import annotations

import ast
from pathlib import Path

from kit import ROOT
from markdown_it import MarkdownIt

PACKAGE = ROOT / "src" / "wheelstats"
ENTRY_POINTS = {"__init__", "__main__"}  # the package itself: it runs cli


def allowed_imports() -> dict[str, set[str]]:
    """The 'may import' column of docs/architecture.md's table, by package."""
    tokens = MarkdownIt("commonmark").enable("table").parse((ROOT / "docs" / "architecture.md").read_text())
    cells, rows = None, []
    for token in tokens:
        if token.type == "tr_open":
            cells = []
        elif token.type == "inline" and cells is not None:
            cells.append(token.content)
        elif token.type == "tr_close":
            rows.append(cells)
            cells = None
    header, *body = rows
    assert header == ["package", "its one job", "may import"]
    return {name.strip("`"): {part.strip() for part in allowed.split(",") if part.strip()}
            for name, _job, allowed in body}


def unit_of(path: Path) -> str:
    """The package (or top-level module) a source file belongs to."""
    parts = path.relative_to(PACKAGE).parts
    return parts[0] if len(parts) > 1 else path.stem


def imported_units(path: Path) -> set[str]:
    """The wheelstats packages and top-level modules a file imports."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            parts = node.module.split(".")
            if parts[0] == "wheelstats":
                found |= {alias.name for alias in node.names} if len(parts) == 1 else {parts[1]}
        elif isinstance(node, ast.Import):
            found |= {alias.name.split(".")[1] for alias in node.names if alias.name.startswith("wheelstats.")}
    return found


def test_every_package_is_in_the_table():
    units = {unit_of(path) for path in PACKAGE.rglob("*.py")} - ENTRY_POINTS
    assert units == set(allowed_imports())


def test_no_import_points_the_wrong_way():
    allowed = allowed_imports()
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        unit = unit_of(path)
        if unit in ENTRY_POINTS or allowed[unit] == {"everything"}:
            continue
        for target in sorted(imported_units(path) - {unit} - allowed[unit]):
            wrong.append(f"{path.relative_to(PACKAGE)} imports {target}")
    assert wrong == []


def test_the_table_allows_no_cycle():
    allowed = allowed_imports()
    allowed = {unit: targets for unit, targets in allowed.items() if targets != {"everything"}}
    visiting, done = set(), set()

    def visit(unit: str, trail: tuple[str, ...]) -> None:
        assert unit not in visiting, " -> ".join((*trail, unit))
        if unit in done:
            return
        visiting.add(unit)
        for target in allowed.get(unit, ()):
            visit(target, (*trail, unit))
        visiting.discard(unit)
        done.add(unit)

    for unit in allowed:
        visit(unit, ())
