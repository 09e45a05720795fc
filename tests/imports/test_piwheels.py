"""`wheelstats import piwheels`: a dump and a live PostgreSQL database give the same store."""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path

import psycopg
import pytest
from packaging.utils import canonicalize_name
from typer.testing import CliRunner

from wheelstats import store
from wheelstats.cli import app
from wheelstats.imports.piwheels import SYNTHETIC_AGENT_PREFIX, import_dump
from wheelstats.imports.piwheels_dump import TABLES, DumpError
from wheelstats.imports.piwheels_postgres import import_postgres

KEY = bytes(range(32))
START = datetime(2020, 1, 1)
# build_id -> (package, version, built_by, built_at, duration as PostgreSQL prints it, seconds, status, abi)
BUILDS = {
    1: ("numpy", "1.18.1", 1, "2019-12-30 10:00:00", "00:21:03.5", 1263.5, True, "cp37m"),
    2: ("numpy", "1.18.1", 2, "2019-12-30 11:00:00", "1 day 02:00:00", 93600.0, True, "cp35m"),
    3: ("numpy", "1.18.2", 1, "2019-12-31 09:30:00", "00:00:04", 4.0, False, "cp37m"),
    4: ("Foo.Bar", "1.0", 3, "2019-06-01 00:00:00", "00:00:09.25", 9.25, True, "cp35m"),
    5: ("octoprint", "1.4.0", 1, "2019-11-02 08:00:00", "00:03:00", 180.0, True, "cp37m"),
    6: ("requests", "2.23.0", 2, "2019-12-01 00:00:00", "8 days", 691200.0, True, "cp34m"),
}
# filename -> (build_id, package_tag, version, python, abi, platform)
FILES = {
    "numpy-1.18.1-cp37-cp37m-linux_armv7l.whl": (1, "numpy", "1.18.1", "cp37", "cp37m", "linux_armv7l"),
    "numpy-1.18.1-cp37-cp37m-linux_armv6l.whl": (1, "numpy", "1.18.1", "cp37", "cp37m", "linux_armv6l"),
    "numpy-1.18.1-cp35-cp35m-linux_armv7l.whl": (2, "numpy", "1.18.1", "cp35", "cp35m", "linux_armv7l"),
    "Foo_Bar-1.0-py3-none-any.whl": (4, "Foo_Bar", "1.0", "py3", "none", "any"),
    "OctoPrint-1.4.0-py2.py3-none-any.whl": (5, "OctoPrint", "1.4.0", "py2.py3", "none", "any"),
    "requests-2.23.0-py2.py3-none-any.whl": (6, "requests", "2.23.0", "py2.py3", "none", "any"),
}
NOT_IN_FILES = "mystery_pkg-0.1-py3-none-any.whl"  # downloaded, but not in files.csv
AGENT_COMBOS = [
    ("armv7l", "Raspbian GNU/Linux", "10", "Linux", "4.19.97-v7+", "CPython", "3.7.3", "pip", "18.1", "40.8.0"),
    ("armv6l", "Raspbian GNU/Linux", "9", "Linux", "4.19.66+", "CPython", "2.7.13", "pip", "9.0.1", "33.1.1"),
    ("aarch64", "Ubuntu", "20.04", "Linux", "5.4.0", "CPython", "3.10.4", "pip", "22.0", None),
    (None,) * 10,
]
BROWSERS = [
    ("Mozilla/5.0 (X11; Linux armv7l) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/79.0 Safari/537.36", False),
    ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", True),
    (None, False),
]
# piwheels' dependencies table: a wheel's pip requirements (canonical names) and its apt packages.
DEPENDENCIES = [
    ("OctoPrint-1.4.0-py2.py3-none-any.whl", "pip", "flask-login"),
    ("OctoPrint-1.4.0-py2.py3-none-any.whl", "pip", "sentry-sdk"),
    ("OctoPrint-1.4.0-py2.py3-none-any.whl", "apt", "libyaml-0-2"),
    ("numpy-1.18.1-cp37-cp37m-linux_armv7l.whl", "apt", "libatlas3-base"),
    ("requests-2.23.0-py2.py3-none-any.whl", "pip", "Charset_Normalizer"),
]
IPS = [f"10.0.{i}.{i * 7 % 250}" for i in range(12)] + ["2001:db8::1", "192.168.1.20"]


def _field(value) -> str:
    """One CSV field as PostgreSQL's COPY writes it: NULL empty, empty text quoted."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "t" if value else "f"
    text = str(value)
    if text == "" or any(c in text for c in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _write(folder: Path, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    lines = [",".join(columns)] + [",".join(_field(v) for v in row) for row in rows]
    (folder / f"{table}.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _when(rng: random.Random) -> str:
    return str(START + timedelta(seconds=rng.randrange(90 * 86400), microseconds=rng.choice([0, 500000])))


def make_dump(folder: Path, seed: int = 7) -> dict:
    """Write a small piwheels dump into `folder`; return what it holds, for the assertions."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    packages = ["numpy", "Foo.Bar", "octoprint", "requests", "skipped-thing"]
    _write(folder, "packages", ("package", "skip"),
           [(p, "binary only" if p == "skipped-thing" else "") for p in packages])
    versions = sorted({(b[0], b[1]) for b in BUILDS.values()})
    _write(folder, "versions", ("package", "version", "released", "skip", "yanked"),
           [(p, v, "2019-01-01 00:00:00", "", v == "1.18.2") for p, v in versions])
    _write(folder, "builds", TABLES["builds"].columns,
           [(i, b[0], b[1], b[2], b[3], b[4], b[6], b[7]) for i, b in BUILDS.items()])
    _write(folder, "files", TABLES["files"].columns,
           [(name, f[0], 1000 + i, hashlib.sha256(name.encode()).hexdigest(), *f[1:],
             ">=3.5" if "cp3" in name else None) for i, (name, f) in enumerate(FILES.items())])
    _write(folder, "dependencies", TABLES["dependencies"].columns, DEPENDENCIES)
    downloads = [(rng.choice([*FILES, NOT_IN_FILES]), rng.choice(IPS), _when(rng), *rng.choice(AGENT_COMBOS))
                 for _ in range(300)]
    _write(folder, "downloads", TABLES["downloads"].columns, downloads)
    searches = [(rng.choice(packages), rng.choice(IPS), _when(rng), *rng.choice(AGENT_COMBOS)) for _ in range(60)]
    _write(folder, "searches", TABLES["searches"].columns, searches)
    pages = [(rng.choice(packages), rng.choice(IPS), _when(rng), *rng.choice(BROWSERS)) for _ in range(25)]
    _write(folder, "project_page_hits", ("package", "accessed_by", "accessed_at", "user_agent", "bot"), pages)
    json_hits = [(rng.choice(packages), rng.choice(IPS), _when(rng), rng.choice(BROWSERS)[0]) for _ in range(10)]
    _write(folder, "project_json_downloads", ("package", "accessed_by", "accessed_at", "user_agent"), json_hits)
    web = [(rng.choice(["index.html", "faq.html", "packages.html"]), rng.choice(IPS), _when(rng),
            *rng.choice(BROWSERS)) for _ in range(15)]
    _write(folder, "web_page_hits", ("page", "accessed_by", "accessed_at", "user_agent", "bot"), web)
    project_of = {name: canonicalize_name(f[1]) for name, f in FILES.items()} | {NOT_IN_FILES: "mystery-pkg"}
    return {
        "kinds": {"download": 300, "search": 60, "project_page": 25, "json": 10, "page": 15},
        "downloads_by_project": Counter(project_of[d[0]] for d in downloads),
        "searches_by_project": Counter(canonicalize_name(s[0]) for s in searches),
        "agent_combos": {d[3:] for d in downloads + searches if any(d[3:])},
    }


def load_into_postgres(dsn: str, folder: Path) -> None:
    """Create piwheels' tables and COPY the dump's files into them."""
    schema = resources.files("wheelstats.imports").joinpath("piwheels_schema.sql").read_text()
    with psycopg.connect(dsn) as pg:
        pg.execute(schema)
        for table in ("packages", "versions", "builds", "files", "dependencies", "downloads", "searches",
                      "project_page_hits", "project_json_downloads", "web_page_hits"):
            path = folder / f"{table}.csv"
            header = path.read_text().splitlines()[0]
            with pg.cursor().copy(f"COPY {table} ({header}) FROM STDIN WITH (FORMAT csv, HEADER)") as copy:
                copy.write(path.read_bytes())


def snapshot(con) -> dict[str, list]:
    """Every row of the tables an import writes, in a fixed order."""
    return {
        "hits": con.execute("SELECT * FROM hits ORDER BY ALL").fetchall(),
        "files": con.execute("SELECT * FROM files ORDER BY filename").fetchall(),
        "builds": con.execute("SELECT * FROM builds ORDER BY build_id").fetchall(),
        "requirements": con.execute("SELECT * FROM file_requirements ORDER BY ALL").fetchall(),
        "agents": con.execute("SELECT * FROM agents ORDER BY agent_id").fetchall(),
        "sources": con.execute("SELECT source_id, log_format, lines FROM sources").fetchall(),
        "projects": con.execute("SELECT * FROM projects ORDER BY project").fetchall(),
        "project_versions": con.execute("SELECT * FROM project_versions ORDER BY ALL").fetchall(),
    }


@pytest.fixture
def dump(tmp_path) -> tuple[Path, dict]:
    folder = tmp_path / "dump"
    return folder, make_dump(folder)


def test_dsn_and_dump_give_the_same_store_holding_what_the_dump_holds(dump, tmp_path, postgres_database):
    folder, expected = dump
    load_into_postgres(postgres_database, folder)
    from_dump = store.connect(tmp_path / "dump.duckdb")
    from_dsn = store.connect(tmp_path / "dsn.duckdb")
    import_dump(from_dump, folder, key=KEY)
    summary = import_postgres(from_dsn, postgres_database, key=KEY)
    assert summary.source_name.startswith("piwheels-db:postgresql://wheelstats@127.0.0.1:")
    assert snapshot(from_dsn) == snapshot(from_dump)

    kinds = dict(from_dump.execute("SELECT kind, count(*) FROM hits GROUP BY kind").fetchall())
    assert kinds == expected["kinds"]
    downloads = dict(from_dump.execute(
        "SELECT project, count(*) FROM hits WHERE kind = 'download' GROUP BY project").fetchall())
    assert downloads == expected["downloads_by_project"]
    searches = dict(from_dump.execute(
        "SELECT project, count(*) FROM hits WHERE kind = 'search' GROUP BY project").fetchall())
    assert searches == expected["searches_by_project"]
    durations = dict(from_dump.execute("SELECT build_id, duration_s FROM builds").fetchall())
    assert durations == {i: b[5] for i, b in BUILDS.items()}
    assert from_dump.execute("SELECT filename, requirement, project, marker FROM file_requirements ORDER BY ALL"
                             ).fetchall() == sorted(  # pip's only: apt packages are not Python's
        (filename, dependency, canonicalize_name(dependency), None)
        for filename, tool, dependency in DEPENDENCIES if tool == "pip"
    )
    statuses = dict(from_dump.execute("SELECT build_id, status FROM builds").fetchall())
    assert statuses == {i: b[6] for i, b in BUILDS.items()}
    assert from_dump.execute("SELECT DISTINCT project FROM builds WHERE build_id = 4").fetchall() == [("foo-bar",)]
    assert from_dump.execute("SELECT project, name, skip FROM projects ORDER BY project").fetchall() == [
        ("foo-bar", "Foo.Bar", None), ("numpy", "numpy", None), ("octoprint", "octoprint", None),
        ("requests", "requests", None), ("skipped-thing", "skipped-thing", "binary only"),
    ]
    assert from_dump.execute("SELECT project, version, released, yanked FROM project_versions ORDER BY ALL"
                             ).fetchall() == sorted(
        (canonicalize_name(p), v, datetime(2019, 1, 1), v == "1.18.2")
        for p, v in {(b[0], b[1]) for b in BUILDS.values()}
    )


def test_hits_carry_paths_clients_and_synthetic_agents(dump, tmp_path):
    folder, expected = dump
    con = store.connect(tmp_path / "s.duckdb")
    import_dump(con, folder, key=KEY)
    paths = con.execute("""
        SELECT DISTINCT kind, path FROM hits
        WHERE project = 'foo-bar' OR (kind = 'page' AND path = '/faq.html') ORDER BY ALL
    """).fetchall()
    assert ("download", "/simple/foo-bar/Foo_Bar-1.0-py3-none-any.whl") in paths
    assert ("search", "/simple/foo-bar/") in paths
    assert ("page", "/faq.html") in paths
    clients = con.execute("SELECT DISTINCT client FROM hits").fetchall()
    assert all(len(c[0]) == 16 for c in clients) and ("10.0.1.7",) not in clients
    agents = con.execute(
        f"SELECT count(*) FROM agents WHERE agent LIKE '{SYNTHETIC_AGENT_PREFIX}%'").fetchall()[0][0]
    assert agents == len(expected["agent_combos"])
    pi = con.execute("""
        SELECT cpu, cpu_raw, python_version, python_full, distro_name, installer_name, is_installer
        FROM agents WHERE cpu_raw = 'armv6l'
    """).fetchall()
    assert pi == [("armv6l", "armv6l", "2.7", "2.7.13", "Raspbian GNU/Linux", "pip", True)]
    assert con.execute("SELECT cpu FROM agents WHERE cpu_raw = 'aarch64'").fetchall() == [("aarch64",)]
    no_agent = con.execute("SELECT count(*) FROM hits WHERE kind = 'download' AND agent_id IS NULL").fetchall()
    assert no_agent[0][0] > 0  # rows whose agent columns are all empty have no agent
    bot = con.execute("SELECT is_bot, is_installer FROM agents WHERE agent LIKE '%Googlebot%'").fetchall()
    assert bot == [(True, False)]
    mystery = con.execute("SELECT project, valid, build_id FROM files WHERE filename = ?", [NOT_IN_FILES]).fetchall()
    assert mystery == [("mystery-pkg", True, None)]


def test_ingest_after_import_reuses_the_imported_agents_and_files(dump, tmp_path):
    from wheelstats.ingest import ingest_paths

    folder, _ = dump
    con = store.connect(tmp_path / "s.duckdb")
    import_dump(con, folder, key=KEY)
    agents_before = con.execute("SELECT count(*) FROM agents").fetchall()[0][0]
    browser = BROWSERS[0][0]
    log = tmp_path / "access.log"
    log.write_text(
        f'10.9.9.9 - - [02/Apr/2020:10:00:00 +0000] "GET /project/numpy/ HTTP/1.1" 200 512 "-" "{browser}"\n'
        '10.9.9.9 - - [02/Apr/2020:10:00:01 +0000] "GET /simple/numpy/numpy-1.18.1-cp37-cp37m-linux_armv7l.whl '
        'HTTP/1.1" 200 1000 "-" "pip/20.0.2"\n'
    )
    ingest_paths(con, [log], key=KEY)
    page = con.execute("""
        SELECT a.agent FROM hits h JOIN agents a USING (agent_id)
        WHERE h.kind = 'project_page' AND h.ts = TIMESTAMP '2020-04-02 10:00:00'
    """).fetchall()
    assert page == [(browser,)]
    assert con.execute("SELECT count(*) FROM agents").fetchall()[0][0] == agents_before + 1  # only pip/20.0.2
    wheel = con.execute("SELECT size, build_id FROM files WHERE filename = ?",
                        ["numpy-1.18.1-cp37-cp37m-linux_armv7l.whl"]).fetchall()
    assert wheel == [(1000, 1)]


def test_importing_the_same_dump_twice_changes_nothing(dump, tmp_path):
    folder, _ = dump
    con = store.connect(tmp_path / "s.duckdb")
    first = import_dump(con, folder, key=KEY)
    before = snapshot(con)
    again = import_dump(con, folder, key=KEY)
    assert not first.already_imported and again.already_imported
    assert again.source_id == first.source_id
    assert snapshot(con) == before


def test_a_changed_dump_of_an_imported_source_is_refused(dump, tmp_path):
    folder, _ = dump
    con = store.connect(tmp_path / "s.duckdb")
    import_dump(con, folder, key=KEY)
    before = snapshot(con)
    with (folder / "downloads.csv").open("a") as out:
        out.write("numpy-1.18.1-cp37-cp37m-linux_armv7l.whl,10.0.0.9,2020-04-01 00:00:00,,,,,,,,,,\n")
    with pytest.raises(DumpError) as error:
        import_dump(con, folder, key=KEY)
    assert str(error.value) == (
        f"The store already holds an earlier import of piwheels-dump:{folder.resolve()} (source 1) with other "
        "contents: importing this one too would count the hits they share twice. Import it into a new store (--db)."
    )
    assert snapshot(con) == before


def test_a_dump_missing_a_required_column_is_refused_whole(dump, tmp_path):
    folder, _ = dump
    path = folder / "downloads.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(",".join(line.split(",")[:2] + line.split(",")[3:]) for line in lines) + "\n")
    con = store.connect(tmp_path / "s.duckdb")
    with pytest.raises(DumpError) as error:
        import_dump(con, folder, key=KEY)
    assert str(error.value) == (
        "downloads.csv lacks the column accessed_at (its header: filename, accessed_by, arch, distro_name, "
        "distro_version, os_name, os_version, py_name, py_version, installer_name, installer_version, "
        "setuptools_version). A piwheels dump's downloads table needs filename, accessed_by, accessed_at."
    )
    assert all(rows == [] for rows in snapshot(con).values())


def test_a_malformed_interval_names_its_line_and_leaves_the_store_unchanged(dump, tmp_path):
    folder, _ = dump
    con = store.connect(tmp_path / "s.duckdb")
    good = tmp_path / "good"
    make_dump(good, seed=8)
    import_dump(con, good, key=KEY)
    before = snapshot(con)
    path = folder / "builds.csv"
    path.write_text(path.read_text().replace("00:00:04", "four seconds"))
    with pytest.raises(DumpError) as error:
        import_dump(con, folder, key=KEY)
    assert str(error.value) == (
        "builds.csv, line 4: duration 'four seconds' is not a PostgreSQL interval: "
        "3,numpy,1.18.2,1,2019-12-31 09:30:00,four seconds,f,cp37m. "
        "Fix or remove that row and import again; nothing was imported."
    )
    assert snapshot(con) == before


@pytest.mark.parametrize(("row", "problem"), [
    ("x.whl,10.0.0.1,2020-01-01 00:00:00,a,b,c,d,e,f,g,h,i,j,k", "Expected Number of Columns: 13 Found: 14"),
    ('x.whl,10.0.0.1,"2020-01-01', "Value with unterminated quote found"),
    ("x.whl,10.0.0.1,yesterday,,,,,,,,,,", "accessed_at 'yesterday' is not a timestamp"),
    ("x.whl,10.0.0.1,,,,,,,,,,,", "accessed_at is empty, not a timestamp"),
])
def test_cli_names_the_bad_row_of_a_dump_and_changes_nothing(dump, tmp_path, monkeypatch, row, problem):
    folder, _ = dump
    monkeypatch.setenv("WHEELSTATS_KEY_FILE", str(tmp_path / "test.key"))
    db = tmp_path / "cli.duckdb"
    store.connect(db).close()
    with (folder / "downloads.csv").open("a") as out:
        out.write(row + "\n")
    result = CliRunner().invoke(app, ["import", "piwheels", "--dump", str(folder), "--db", str(db)])
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: downloads.csv, line 302: {problem}: {row}. "
        "Fix or remove that row and import again; nothing was imported.\n"
    )
    assert all(rows == [] for rows in snapshot(store.connect(db)).values())


def test_cli_import_piwheels_prints_what_it_did(dump, tmp_path, monkeypatch):
    folder, _ = dump
    monkeypatch.setenv("WHEELSTATS_KEY_FILE", str(tmp_path / "test.key"))
    db = tmp_path / "cli.duckdb"
    runner = CliRunner()
    result = runner.invoke(app, ["import", "piwheels", "--dump", str(folder), "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"Imported piwheels-dump:{folder.resolve()}: 5 projects, 6 builds, 6 files, 410 hits "
        "(300 download, 60 search, 25 project_page, 10 json, 15 page).\n"
    )
    assert (tmp_path / "test.key").stat().st_mode & 0o777 == 0o600
    again = runner.invoke(app, ["import", "piwheels", "--dump", str(folder), "--db", str(db)])
    assert again.exit_code == 0
    assert again.stdout == (
        f"This dump was already imported (source 1, 'piwheels-dump:{folder.resolve()}'); nothing changed.\n"
    )
    neither = runner.invoke(app, ["import", "piwheels", "--db", str(db)])
    assert neither.exit_code == 1
    assert neither.stderr == "Error: Give either --dsn URL or --dump DIR (one of them).\n"
    (folder / "downloads.csv").write_text("filename,accessed_at\n")
    (folder / "packages.csv").write_text("package,skip\nnew,\n")  # a different dump
    bad = runner.invoke(app, ["import", "piwheels", "--dump", str(folder), "--db", str(db)])
    assert bad.exit_code == 1
    assert bad.stderr == (
        "Error: downloads.csv lacks the column accessed_by (its header: filename, accessed_at). "
        "A piwheels dump's downloads table needs filename, accessed_by, accessed_at.\n"
    )


def test_cli_import_piwheels_from_a_database_with_raw_ips(dump, tmp_path, postgres_database):
    folder, _ = dump
    load_into_postgres(postgres_database, folder)
    db = tmp_path / "cli.duckdb"
    result = CliRunner().invoke(
        app, ["import", "piwheels", "--dsn", postgres_database, "--ip", "raw", "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Imported piwheels-db:postgresql://wheelstats@127.0.0.1:")
    assert not (tmp_path / "cli.duckdb.key").exists()
    con = store.connect(db)
    clients = {row[0] for row in con.execute("SELECT DISTINCT client FROM hits").fetchall()}
    assert clients <= set(IPS) and "2001:db8::1" in clients
    con.close()
    again = CliRunner().invoke(
        app, ["import", "piwheels", "--dsn", postgres_database, "--ip", "raw", "--db", str(db)])
    assert again.exit_code == 0, again.output
    assert again.stdout == (
        f"This database, unchanged, was already imported (source 1, 'piwheels-db:{postgres_database}'); "
        "nothing changed.\n"
    )


def test_cli_reports_a_database_it_may_not_read_or_that_is_not_piwheels(dump, tmp_path, postgres_database):
    folder, _ = dump
    load_into_postgres(postgres_database, folder)
    with psycopg.connect(postgres_database) as pg:
        pg.execute("CREATE ROLE stranger LOGIN")
    stranger = postgres_database.replace("wheelstats@", "stranger@")
    db = tmp_path / "s.duckdb"
    result = CliRunner().invoke(app, ["import", "piwheels", "--dsn", stranger, "--ip", "none", "--db", str(db)])
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: Cannot read the piwheels database {stranger}: permission denied for table packages\n")
    with psycopg.connect(postgres_database) as pg:
        pg.execute("ALTER TABLE searches DROP COLUMN accessed_at")
    result = CliRunner().invoke(app, ["import", "piwheels", "--dsn", postgres_database, "--ip", "none",
                                      "--db", str(db)])
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: The table searches in {postgres_database} lacks the column accessed_at: is it a piwheels database?\n"
    )
    assert all(rows == [] for rows in snapshot(store.connect(db)).values())


def test_cli_reports_an_unreachable_database_in_one_line(tmp_path):
    result = CliRunner().invoke(app, [
        "import", "piwheels", "--dsn", "postgresql://nobody:secret@127.0.0.1:1/piwheels",
        "--db", str(tmp_path / "s.duckdb")])
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "Error: Cannot read the piwheels database postgresql://nobody@127.0.0.1:1/piwheels: ")
    assert "secret" not in result.stderr and result.stderr.count("\n") == 1


def gzipped(path: Path, keep: float = 1.0) -> Path:
    """`path` as path.gz (cut to `keep` of its compressed bytes), the plain file removed."""
    import gzip

    data = gzip.compress(path.read_bytes())
    target = path.with_name(path.name + ".gz")
    target.write_bytes(data[: int(len(data) * keep)])
    path.unlink()
    return target


@pytest.mark.parametrize(("spoil", "message"), [
    (lambda folder: gzipped(folder / "downloads.csv", keep=0.5),
     "downloads.csv.gz is not a whole gzip file (Unexpected end of GZIP stream). Compress it again with gzip, or "
     "name it without .gz if it is plain text; nothing was imported."),
    (lambda folder: (folder / "builds.csv").rename(folder / "builds.csv.gz"),
     "builds.csv.gz is not a whole gzip file (Not a gzipped file (b'bu')). Compress it again with gzip, or name it "
     "without .gz if it is plain text; nothing was imported."),
    (lambda folder: (folder / "packages.csv").write_bytes(b"pack\xe9ge,skip\n"),
     "packages.csv, line 1: not UTF-8 (byte 0xe9 at column 5). Save the dump's tables as UTF-8 "
     "(docs/piwheels-dump.md); nothing was imported."),
], ids=["gzip cut short", "not gzip", "header not UTF-8"])
def test_cli_refuses_a_dump_file_it_cannot_read_in_one_line_and_changes_nothing(dump, tmp_path, monkeypatch, spoil,
                                                                              message):
    folder, _ = dump
    monkeypatch.setenv("WHEELSTATS_KEY_FILE", str(tmp_path / "test.key"))
    db = tmp_path / "cli.duckdb"
    store.connect(db).close()
    spoil(folder)
    result = CliRunner().invoke(app, ["import", "piwheels", "--dump", str(folder), "--db", str(db)])
    assert (result.exit_code, result.stderr) == (1, f"Error: {message}\n")
    assert all(rows == [] for rows in snapshot(store.connect(db)).values())
