"""The report's countries: report.json shares.country, the chart and the sentence, from hits with countries."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict
from datetime import datetime

import pytest
from typer.testing import CliRunner

from kit.hits import add_hits
from kit.reports import build_store, downloads, make_hits
from wheelstats import store
from wheelstats.cli import app

runner = CliRunner()
# Each hit's country by its position: three countries, local addresses, unplaced ones, and hits
# stored before countries were looked up.
CYCLE = ["GB", "US", "US", "DE", "US", "GB", "XL", "ZZ", None, "US"]


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report-countries")
    hits = make_hits()
    countries = [CYCLE[i % len(CYCLE)] for i in range(len(hits))]
    build_store(folder / "s.duckdb", hits=[])  # the agents, builds and files, no hits
    con = store.connect(folder / "s.duckdb")
    columns = ("ts", "kind", "project", "filename", "path", "client", "agent_id", "source_id", "line_no", "country")
    add_hits(con, columns, [[h.ts, h.kind, h.project, h.filename, "/x", h.client, h.agent_id, 1, i, country]
                            for i, (h, country) in enumerate(zip(hits, countries), 1)])
    con.close()
    result = runner.invoke(app, ["report", "--period", "2020-Q1", "--db", str(folder / "s.duckdb"),
                                 "--out", str(folder / "out"), "--site", "piwheels"])
    assert result.exit_code == 0, result.output
    in_q1 = [(h, c) for h, c in zip(hits, countries) if h in set(downloads(hits, datetime(2020, 1, 1), datetime(2020, 4, 1)))]
    return folder / "out", Counter(c for _, c in in_q1), result.output


def test_report_json_counts_each_countrys_downloads_with_shares_of_those_looked_up(written):
    out, expected, _ = written
    rows = json.loads((out / "report.json").read_text())["shares"]["country"]
    assert {row["country"]: row["downloads"] for row in rows} == dict(expected)
    looked_up = sum(n for country, n in expected.items() if country is not None)
    for row in rows:
        share = None if row["country"] is None else expected[row["country"]] / looked_up
        assert row["share"] == (pytest.approx(share) if share is not None else None), row
    assert [row["downloads"] for row in rows] == sorted((row["downloads"] for row in rows), reverse=True)
    names = {row["country"]: row["name"] for row in rows}
    assert (names["GB"], names["US"], names["XL"], names["ZZ"], names[None]) == \
        ("United Kingdom", "United States", "local network", "unknown", "not looked up")


def test_report_md_tells_the_top_countries_and_what_has_no_country(written):
    out, expected, output = written
    looked_up = sum(n for country, n in expected.items() if country is not None)
    top = sorted(((n, c) for c, n in expected.items() if c in ("GB", "US", "DE")), key=lambda nc: (-nc[0], nc[1]))
    names = {"GB": "United Kingdom", "US": "United States", "DE": "Germany"}
    parts = [f"{names[c]} ({100 * n / looked_up:.1f}%)" for n, c in top]
    text = (out / "report.md").read_text()
    sentence = (f"Downloads came from 3 countries, most from {parts[0]}, {parts[1]} and {parts[2]}; "
                f"{expected['XL']:,} came from local addresses. {expected[None]:,} downloads have no country: they "
                "were stored before countries were looked up (or with --country off):")
    assert sentence in text
    assert "![Share of downloads by country](charts/countries.png)" in text
    assert (out / "charts" / "countries.png").stat().st_size > 5_000
    assert "8 charts" in output
