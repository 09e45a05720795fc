"""A deployment to export into lakes: a simulated repository's store and its report, made once per session.

The fixture `deployment` gives its folder: s.duckdb (a piwheels import and its
logs) and report/ (the 2020-Q1 report from the store), for comparing with what
a lake gives.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from wheelstats.cli import app

runner = CliRunner()
SCALE = "0.002"
PERIOD = "2020-Q1"


def invoke(*args: str | Path) -> str:
    """Run the CLI in this process; its output, after checking it succeeded."""
    result = runner.invoke(app, [str(arg) for arg in args])
    assert result.exit_code == 0, result.output
    return result.output


def invoke_json(*args: str | Path) -> dict:
    return json.loads(invoke(*args))


@pytest.fixture(scope="session")
def deployment(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("deployment")
    sim, db = work / "sim", work / "s.duckdb"
    invoke("simulate", "--scenario", "piwheels-2020q1", "--scale", SCALE, "--out", sim)
    invoke("import", "piwheels", "--dump", sim / "piwheels", "--db", db)
    invoke("ingest", *sorted((sim / "logs").iterdir()), "--db", db)
    invoke("report", "--period", PERIOD, "--db", db, "--out", work / "report")
    return work
