"""PyPI's download records (file_downloads, nested as BigQuery exports them) into the store, and a report of them."""

from __future__ import annotations

import json
import random
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from kit.lakes import invoke, runner
from wheelstats.cli import app

PROJECTS = {"numpy": "numpy-2.0.0-cp312-cp312-manylinux_2_17_x86_64.whl",
            "Flask-Login": "Flask_Login-0.6.3-py3-none-any.whl",
            "requests": "requests-2.32.0.tar.gz"}
INSTALLERS = [("pip", "24.0"), ("uv", "0.4.1"), ("poetry", "1.8.2"), ("Browser", None)]
PYTHONS = ["3.12.1", "3.11.7", "3.8.10"]


def write_records(path: Path, count: int, seed: int) -> list[dict]:
    """`count` records of file_downloads in PyPI's nested schema, written as Parquet by DuckDB."""
    rng = random.Random(seed)
    records = []
    for n in range(count):
        project = rng.choice(list(PROJECTS))
        installer, version = rng.choice(INSTALLERS)
        filename = PROJECTS[project]
        records.append({
            "timestamp": (datetime(2024, 6, 1) + timedelta(minutes=37 * n)).isoformat(),
            "country_code": rng.choice(["US", "DE", None]),
            "url": f"/packages/ab/cd/{'e' * 60}/{filename}",
            "project": project,
            "file": {"filename": filename, "project": project, "version": filename.split("-")[1],
                     "type": "sdist" if filename.endswith(".tar.gz") else "bdist_wheel"},
            "details": {
                "installer": {"name": installer, "version": version},
                "python": rng.choice(PYTHONS) if installer != "Browser" else None,
                "implementation": {"name": "CPython", "version": None},
                "distro": {"name": "Ubuntu", "version": "22.04", "id": "jammy",
                           "libc": {"lib": "glibc", "version": "2.35"}},
                "system": {"name": rng.choice(["Linux", "Darwin"]), "release": "6.1"},
                "cpu": rng.choice(["x86_64", "aarch64", "AMD64"]),
                "openssl_version": None, "setuptools_version": None, "rustc_version": None,
                "ci": rng.random() < 0.2,
            },
            "tls_protocol": "TLSv1.3", "tls_cipher": "TLS_AES_128_GCM_SHA256",
        })
    source = path.with_suffix(".json")
    source.write_text("\n".join(json.dumps(r) for r in records))
    con = duckdb.connect()
    con.execute(f"""COPY (SELECT timestamp::TIMESTAMP AS timestamp, * EXCLUDE (timestamp)
                          FROM read_json('{source}', format = 'newline_delimited'))
                    TO '{path}' (FORMAT parquet)""")
    con.close()
    source.unlink()
    return records


@pytest.fixture
def records(tmp_path):
    folder = tmp_path / "file_downloads"
    folder.mkdir()
    return folder, write_records(folder / "a.parquet", 600, 1) + write_records(folder / "b.parquet", 400, 2)


def test_the_records_become_downloads_with_their_details(records, tmp_path):
    folder, rows = records
    db = tmp_path / "pypi.duckdb"
    said = invoke("import", "pypi-downloads", folder, "--db", db)
    assert said.startswith(f"Imported {len(rows):,} downloads from 2 files of PyPI download records; ")
    summary = json.loads(invoke("summary", "--json", "--db", db))
    assert summary["downloads"] == len(rows)
    by_project = Counter(r["project"] for r in rows)
    assert {p["project"]: p["downloads"] for p in summary["top_projects"]} == \
        {"numpy": by_project["numpy"], "flask-login": by_project["Flask-Login"], "requests": by_project["requests"]}
    con = duckdb.connect(str(db), read_only=True)
    installers = dict(con.execute("""SELECT coalesce(a.installer_name, '?'), count(*) FROM hits h
                                     JOIN agents a USING (agent_id) GROUP BY ALL""").fetchall())
    cpus = dict(con.execute("SELECT a.cpu, count(*) FROM hits h JOIN agents a USING (agent_id) GROUP BY ALL"
                            ).fetchall())
    people = con.execute("SELECT count(*) FROM hits JOIN agents USING (agent_id) WHERE is_installer").fetchone()[0]
    countries = dict(con.execute("SELECT country, count(*) FROM hits GROUP BY ALL").fetchall())
    con.close()
    assert countries == dict(Counter(r["country_code"] for r in rows))  # PyPI's country_code kept
    assert installers == dict(Counter(r["details"]["installer"]["name"] for r in rows))
    assert cpus == dict(Counter({"AMD64": "x86_64"}.get(r["details"]["cpu"], r["details"]["cpu"]) for r in rows))
    assert people == sum(r["details"]["installer"]["name"] != "Browser" for r in rows)


def test_importing_again_adds_nothing_and_a_report_reads_them(records, tmp_path):
    folder, rows = records
    db = tmp_path / "pypi.duckdb"
    invoke("import", "pypi-downloads", folder, "--db", db)
    said = invoke("import", "pypi-downloads", folder, "--db", db)
    assert said == "Imported 0 downloads from 2 files of PyPI download records (2 imported before, unchanged); " \
        "0 new agents.\n"
    invoke("report", "--period", "2024-06", "--db", db, "--out", tmp_path / "report")
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    in_june = [r for r in rows if r["timestamp"].startswith("2024-06")]
    assert report["downloads"] == len(in_june)
    pythons = Counter(r["details"]["python"].rsplit(".", 1)[0] for r in in_june
                      if r["details"]["installer"]["name"] != "Browser")
    reported = {row["name"]: row["downloads"] for row in report["shares"]["python"]}
    assert {k: v for k, v in reported.items() if k in pythons} == dict(pythons)


def test_files_that_are_not_records_are_refused(tmp_path):
    con = duckdb.connect()
    con.execute(f"COPY (SELECT 1 AS a) TO '{tmp_path / 'other.parquet'}' (FORMAT parquet)")
    result = runner.invoke(app, ["import", "pypi-downloads", str(tmp_path / "other.parquet"),
                                 "--db", str(tmp_path / "s.duckdb")])
    assert result.exit_code == 1
    assert "is not PyPI download records: it has no timestamp, project, file, details" in result.output
    result = runner.invoke(app, ["import", "pypi-downloads", str(tmp_path / "none"), "--db", str(tmp_path / "s")])
    assert "does not exist. Give a Parquet file or a folder of them." in result.output


def test_records_into_a_lake_give_what_they_give_in_a_store(records, tmp_path):
    folder, rows = records
    db, lake = tmp_path / "pypi.duckdb", tmp_path / "lake"
    invoke("import", "pypi-downloads", folder, "--db", db)
    said = invoke("import", "pypi-downloads", folder, "--lake", lake)
    assert said.startswith(f"Imported {len(rows):,} downloads from 2 files of PyPI download records; ")
    assert invoke("import", "pypi-downloads", folder, "--lake", lake).startswith("Imported 0 downloads")
    assert invoke("summary", "--json", "--lake", lake) == invoke("summary", "--json", "--db", db)
    invoke("report", "--period", "2024-06", "--db", db, "--out", tmp_path / "from-store")
    invoke("report", "--period", "2024-06", "--lake", lake, "--out", tmp_path / "from-lake")
    assert (tmp_path / "from-lake" / "report.json").read_bytes() == \
        (tmp_path / "from-store" / "report.json").read_bytes()
