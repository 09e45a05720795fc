"""The modules, objects and files that README.md and docs/*.md name in inline code exist.

`wheelstats.rollups.refresh_rollups(con)` must import and have that attribute, `python -m
wheelstats.server.feeder` must be a module, and a repository path (`src/...`,
`benchmarks/...`, `wheelstats/timesaved.py` under src/) must be there: a re-layout that
moves them fails here until the docs follow.
"""

from __future__ import annotations

import importlib
import importlib.util
import re

import pytest
from kit import ROOT
from markdown_it import MarkdownIt

DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FILE_SUFFIXES = (".duckdb", ".key", ".log", ".md", ".json", ".csv", ".sql", ".py", ".gz", ".html")
DOTTED = re.compile(r"wheelstats(\.[A-Za-z_]\w*)+(\(.*\))?")
RUN_MODULE = re.compile(r"python3? -m (wheelstats(\.\w+)*)")
REPOSITORY_PATH = re.compile(r"(src|benchmarks|scripts|tests|docs|wheelstats)/[\w./-]*")


def inline_code(path) -> list[tuple[str, str]]:
    tokens = MarkdownIt("commonmark").enable("table").parse(path.read_text())
    return [(f"{path.relative_to(ROOT)}:{token.map[0] + 1}", child.content) for token in tokens
            if token.type == "inline" for child in token.children or () if child.type == "code_inline"]


def resolve(dotted: str) -> object:
    """The module or object a dotted name names: the longest importable module, then attributes."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        name = ".".join(parts[:cut])
        if importlib.util.find_spec(name) is None:
            continue
        found = importlib.import_module(name)
        for attribute in parts[cut:]:
            found = getattr(found, attribute)
        return found
    raise ModuleNotFoundError(dotted)


REFERENCES = [(where, text) for document in DOCUMENTS for where, text in inline_code(document)
              if DOTTED.fullmatch(text) and not text.endswith(FILE_SUFFIXES)
              or RUN_MODULE.fullmatch(text) or REPOSITORY_PATH.fullmatch(text)]


@pytest.mark.parametrize("where, text", REFERENCES, ids=[f"{w} {t}" for w, t in REFERENCES])
def test_what_the_docs_name_exists(where, text):
    if run := RUN_MODULE.fullmatch(text):
        assert importlib.util.find_spec(run[1]) is not None, f"{where}: no module {run[1]}"
    elif DOTTED.fullmatch(text) and not text.endswith(FILE_SUFFIXES):
        try:
            resolve(text.split("(")[0])
        except (ImportError, AttributeError) as error:
            pytest.fail(f"{where}: `{text}` names nothing that exists: {error}")
    else:
        assert (ROOT / text).exists() or (ROOT / "src" / text).exists(), f"{where}: no file or folder {text}"


def test_references_are_found():
    found = {text for _, text in REFERENCES}
    assert {"python -m wheelstats.server.feeder", "wheelstats.rollups.refresh_rollups(con)",
            "src/wheelstats/imports/piwheels_schema.sql", "wheelstats/timesaved.py", "benchmarks/ingest.py"} <= found


def test_resolve_refuses_what_is_not_there():
    assert callable(resolve("wheelstats.rollups.refresh_rollups"))
    with pytest.raises(AttributeError):
        resolve("wheelstats.rollups.refresh_everything")
    with pytest.raises(ModuleNotFoundError):
        resolve("wheelstatz.rollups")
