"""The `wheelstats` command: thin verbs over the library, one function each.

Every command runs through one guard (`guarded`, at the end): a signal stops it
in one line that says what it kept (exit 130 or 143), and a store's error is one
line too. The console entry point is wheelstats.__main__:main.
"""

from __future__ import annotations

import functools
import gc
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from wheelstats import interrupts, store

app = typer.Typer(
    help="Download statistics for a Python package repository.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
import_app = typer.Typer(help="Load builds and history from elsewhere.", no_args_is_help=True)
app.add_typer(import_app, name="import")

console = Console(soft_wrap=True)
errors = Console(stderr=True)

DbOption = Annotated[
    Optional[Path],
    typer.Option(
        "--db",
        help="The store file. Default: $WHEELSTATS_DB or ./wheelstats.duckdb.",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
LakeOption = Annotated[
    Optional[Path],
    typer.Option(
        "--lake",
        help="Read this lake (a folder written by `wheelstats export`) instead of a store.",
        show_default=False,
    ),
]


def fail(message: str) -> typer.Exit:
    """Print a one-line error and return the exit to raise."""
    errors.print(f"[bold red]Error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code=1)


def db_path(db: Optional[Path]) -> Path:
    return db if db is not None else store.default_db_path()


@contextmanager
def opened_store(path: Path, *, read_only: bool = False):
    """The store at `path`, closed after; a store that cannot be opened fails the command in one line."""
    try:
        con = store.connect(path, read_only=read_only)
    except store.StoreError as error:
        raise fail(str(error)) from None
    try:
        yield con
    finally:
        con.close()


def one_of_store_or_lake(db: Optional[Path], lake: Optional[Path]) -> None:
    if db is not None and lake is not None:
        raise fail("Give --db or --lake, not both: a command reads one of them.")


@contextmanager
def opened_store_or_lake(db: Optional[Path], lake: Optional[Path]):
    """The store at `db`, or the lake at `lake` read as a store (lake.open_lake), read only, closed after."""
    if lake is None:
        with opened_store(db_path(db), read_only=True) as con:
            yield con
        return
    from wheelstats.lake import Lake, LakeError, open_lake

    one_of_store_or_lake(db, lake)
    try:
        con = open_lake(Lake.at(lake))
    except LakeError as error:
        raise fail(str(error)) from None
    try:
        yield con
    finally:
        con.close()


SparkMasterOption = Annotated[Optional[str], typer.Option(
    "--spark-master", help="Spark's master URL (local[2], spark://host:7077, yarn, k8s://...). "
    "Default: spark-defaults.conf's, else local[*].", show_default=False)]
SparkConfOption = Annotated[Optional[list[str]], typer.Option(
    "--conf", help="A Spark setting, key=value (repeatable), as spark-submit takes it.", show_default=False)]
ENGINES = ("duckdb", "spark")


EngineOption = Annotated[str, typer.Option(
    "--engine", help="What runs the queries of a lake: duckdb (this process) or spark.")]


def on_spark(db: Optional[Path], lake: Optional[Path], engine: str, master: Optional[str], conf: Optional[list[str]],
             *, register: bool = True):
    """A Spark session (with the lake's tables as its views, if `register`) for --engine spark; None for duckdb."""
    from wheelstats.lake import Lake, LakeError

    if engine not in ENGINES:
        raise fail(f"Unknown --engine {engine!r}. Use one of: {', '.join(ENGINES)}.")
    if engine == "duckdb":
        return None
    if lake is None or db is not None:
        raise fail("--engine spark reads a lake: give --lake (a store is read on DuckDB).")
    from wheelstats.lake.spark import register_lake, spark_session

    try:
        session = spark_session(master, conf or [])
        if register:
            register_lake(session, Lake.at(lake))
    except LakeError as error:
        raise fail(str(error)) from None
    return session


def lake_tables(db: Optional[Path], lake: Path, session):
    """The lake's tables for the report's queries (on `session`, else DuckDB), and the site name it holds."""
    from wheelstats import stats
    from wheelstats.lake import Lake, open_lake
    from wheelstats.store.settings import SITE_NAME, read_settings

    one_of_store_or_lake(db, lake)
    if session is None:
        con = open_lake(Lake.at(lake))
        return stats.tables_on(con), read_settings(con).site_name
    import ibis

    site = session.sql("SELECT value FROM settings WHERE name = ?", args=[SITE_NAME]).collect()
    return stats.tables_of(ibis.pyspark.connect(session)), site[0][0] if site else None


IpOption = Annotated[
    str,
    typer.Option("--ip", help="How client IPs are stored: hash (keyed, default), raw, or none."),
]
CountryOption = Annotated[
    str,
    typer.Option("--country", help="Look up each client's country (on, the default; offline) or not (off)."),
]
COUNTRY_CHOICES = ("on", "off")


def countries_wanted(country: str) -> bool:
    """--country on or off, else a one-line error."""
    if country not in COUNTRY_CHOICES:
        raise fail(f"--country must be on or off, not {country!r}.")
    return country == "on"



@app.command("ingest")
def ingest(
    files: Annotated[list[str], typer.Argument(
        help="Log files (plain, .gz, .bz2, .xz) or named pipes, or - for standard input.")],
    db: DbOption = None,
    log_format: Annotated[
        str,
        typer.Option(
            "--format",
            help="auto (each file's own, detected), a preset (combined, common, nginx_main, lighttpd, haproxy, s3, "
                 "caddy, traefik, cloudflare, fastly, nginx_json, w3c, cloudfront, gcs ...), json with --field, "
                 "or an Apache LogFormat string.",
        ),
    ] = "auto",
    fields: Annotated[
        list[str] | None,
        typer.Option(
            "--field",
            help="For JSON lines: where a field is, as KEY=PATH (ts, ip, method, uri, request, status, bytes, agent, "
                 "referrer, forwarded_for), e.g. --field ts=time_iso8601 --field agent=request.headers.User-Agent[0].",
        ),
    ] = None,
    escape: Annotated[
        str,
        typer.Option(
            "--escape",
            help="How quoted fields are escaped: auto (any of Apache's and nginx's, or the format's own), apache, "
                 "nginx, json, none, haproxy, url, plus or csv.",
        ),
    ] = "auto",
    client_from: Annotated[
        str,
        typer.Option(
            "--client-from", help="Where the client's address is: remote-addr, or x-forwarded-for behind a proxy."
        ),
    ] = "remote-addr",
    follow: Annotated[bool, typer.Option("--follow", help="Keep reading as the log grows, across rotation.")] = False,
    again: Annotated[bool, typer.Option(
        "--again",
        help="Forget what was ingested from these files before (see `wheelstats forget`), then read them anew.",
    )] = False,
    ip: IpOption = "hash",
    country: CountryOption = "on",
    lake: Annotated[Optional[Path], typer.Option(
        "--lake", help="Ingest into this lake (made if new) instead of a store; needs --engine spark.",
        show_default=False)] = None,
    engine: EngineOption = "duckdb",
    spark_master: SparkMasterOption = None,
    spark_conf: SparkConfOption = None,
) -> None:
    """Read access logs into the store: every line a hit, ignored, rejected, or already ingested.

    Example: wheelstats ingest /var/log/apache2/access.log*

    Behind a proxy: wheelstats ingest --format nginx_main --client-from x-forwarded-for /var/log/nginx/access.log

    JSON lines: wheelstats ingest --format json --field ts=time_iso8601 --field ip=remote_addr --field request=request
    --field status=status --field agent=http_user_agent access.json

    As an Apache piped log: CustomLog "|wheelstats ingest --follow -" combined
    """
    from wheelstats import ingest as ingesting
    from wheelstats.ingest.sources import SourceError, check_readable
    from wheelstats.parsing.escapes import EscapeStyleError
    from wheelstats.parsing.formats import AUTO_FORMAT, compile_format, needs_head
    from wheelstats.parsing.jsonformat import JsonFieldError
    from wheelstats.parsing.logformat import ClientFromError, LogFormatError
    from wheelstats.store.privacy import IP_MODES

    if ip not in IP_MODES:
        raise fail(f"--ip must be one of {', '.join(IP_MODES)}, not {ip!r}.")
    countries = countries_wanted(country)
    fields = tuple(fields or ())
    try:
        if fields and log_format == AUTO_FORMAT:
            log_format = "json"  # a mapping says the logs are JSON lines
        if log_format != AUTO_FORMAT and not needs_head(log_format):
            compile_format(log_format, escape=escape, client_from=client_from, fields=fields)
        else:
            compile_format("combined", escape=escape)  # the escape option alone
        for name in files:
            check_readable(name)
    except (LogFormatError, EscapeStyleError, ClientFromError, JsonFieldError, SourceError) as error:
        raise fail(str(error))
    if lake is not None or engine != "duckdb":
        return ingest_into_lake(files, db, lake, engine, spark_master, spark_conf, log_format=log_format,
                                escape=escape, client_from=client_from, fields=fields, ip_mode=ip, follow=follow)
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn, TransferSpeedColumn

    progress = Progress(
        "[progress.description]{task.description}", BarColumn(), DownloadColumn(), TransferSpeedColumn(),
        TimeRemainingColumn(), console=errors, transient=True, disable=follow or not errors.is_terminal,
    )
    tasks: dict[str, int] = {}

    def on_progress(name: str, offset: int) -> None:
        if name not in tasks:
            tasks[name] = progress.add_task(Path(name).name, total=None)
        progress.update(tasks[name], completed=offset)

    run = ingesting.RunAccount()
    try:
        with progress:
            with interrupts.queries_interrupted_as_keyboard_interrupt():
                ingesting.ingest_files(
                    db_path(db), files, log_format=log_format, escape=escape, client_from=client_from, fields=fields,
                    ip_mode=ip, countries=countries, follow=follow, again=again, on_progress=on_progress, run=run,
                )
    except (SourceError, store.StoreError) as error:
        if run.forgotten or run.lines:
            print_account(run)
        raise fail(str(error))
    except KeyboardInterrupt:  # a signal: the account shows what was stored; the guard's line names it, from the store
        print_account(run)
        raise
    print_account(run)


def print_account(run) -> None:
    """The ingest's account: lines read = hits + ignored + rejected (+ already ingested), per source and in all."""
    from rich.table import Table

    from wheelstats.ingest import SourceReport
    from wheelstats.store import HIT_KINDS

    for forgotten in run.forgotten:
        console.print(f"Forgot the earlier ingest of {forgotten.name}: {forgotten.lines:,} lines.", highlight=False)
    reports = run.reports
    total = SourceReport(name="total")
    for report in reports:
        total.add(report)
    already = sum(total.already_ingested.values())
    if len(reports) > 1:
        sources = Table(title="Sources", title_justify="left")
        columns = ("source", "lines", "hits", "ignored", "rejected") + (("already ingested",) if already else ())
        for column in columns:
            sources.add_column(column, justify="left" if column == "source" else "right")
        for report in reports:
            counts = (report.lines, sum(report.hits.values()), sum(report.ignored.values()),
                      sum(report.rejected.values()), sum(report.already_ingested.values()))
            sources.add_row(Path(report.name).name, *(f"{n:,}" for n in counts[: len(columns) - 1]))
        console.print(sources)
    table = Table(title="Ingested", title_justify="left", show_header=False)
    table.add_column()
    table.add_column(justify="right")
    table.add_row("lines", f"{total.lines:,}")
    for kind in HIT_KINDS:
        table.add_row(kind, f"{total.hits[kind]:,}")
    table.add_row("ignored", f"{sum(total.ignored.values()):,}")
    table.add_row("rejected", f"{sum(total.rejected.values()):,}")
    if already:
        table.add_row("already ingested", f"{already:,}")
    console.print(table)
    hits, ignored, rejected = (sum(c.values()) for c in (total.hits, total.ignored, total.rejected))
    if already:
        console.print(f"lines read = hits + ignored + rejected + already ingested: "
                      f"{total.lines:,} = {hits:,} + {ignored:,} + {rejected:,} + {already:,}")
        held_by = ", ".join(f"{name} ({count:,})" for name, count in total.already_ingested.most_common())
        console.print(f"{already:,} lines were in the store already, read from {held_by}: not counted again",
                      highlight=False, soft_wrap=True)
    else:
        console.print(f"lines read = hits + ignored + rejected: {total.lines:,} = {hits:,} + {ignored:,} + {rejected:,}")
    detected: dict[str, list[str]] = {}
    for report in reports:
        if report.format_detected:
            detected.setdefault(report.log_format, []).append(Path(report.name).name)
    if detected:
        console.print("formats: " + "; ".join(f"{log_format} ({', '.join(names)})" for log_format, names in detected.items()),
                      highlight=False, soft_wrap=True)
    resumed = [r for r in reports if r.resumed_at]
    if resumed:
        console.print(f"{len(resumed)} source(s) seen before: only their new lines were read")
    for report in reports:
        if report.broken:
            console.print(f"{report.name}: the compressed data breaks off ({report.broken}): the lines before the "
                          "break were read; ingest the whole file when it is complete for the rest",
                          highlight=False, soft_wrap=True)
        elif report.held_back_bytes:
            console.print(f"{report.name}: an unfinished last line ({report.held_back_bytes:,} bytes) waits for its newline")
    if total.rejected:
        console.print(f"rejected by reason: {dict(total.rejected)}; see `wheelstats rejects`")
    for notice in run.notices:
        console.print(notice, highlight=False, soft_wrap=True)


def ingest_into_lake(files: list[str], db: Optional[Path], lake: Optional[Path], engine: str,
                     master: Optional[str], conf: Optional[list[str]], *, follow: bool, **reading) -> None:
    """`ingest --lake DIR --engine spark`: each log ingested by a Spark task, the lake's job committed once."""
    from wheelstats.lake import Lake, LakeError
    from wheelstats.lake.spark_ingest import ingest_on_spark

    if lake is None or engine != "spark":
        raise fail("Ingest into a lake runs on Spark: give --lake DIR and --engine spark "
                   "(or ingest into a store, then `wheelstats export` it).")
    if follow or "-" in files:
        raise fail("A lake takes whole files; follow a log into a store, and export it.")
    session = on_spark(db, lake, engine, master, conf, register=False)
    try:
        ingested = ingest_on_spark(session, Lake.at(lake), files, **reading)
        interrupts.done(f"the job into {lake} was committed")
    except LakeError as error:
        raise fail(str(error)) from None
    console.print(ingested.describe(Lake.at(lake)), highlight=False, soft_wrap=True)


@app.command("forget")
def forget(
    source: Annotated[str, typer.Argument(
        help="A source's name as `wheelstats ingest` or `wheelstats rejects` shows it (or its file name alone), "
             "or a log file whose content it is.", show_default=False)],
    db: DbOption = None,
) -> None:
    """Remove one source from the store: its hits, counts, fingerprints and checkpoint, at once.

    Ingesting it afterwards reads it anew (`wheelstats ingest --again FILE` does both).

    Example: wheelstats forget access.log.1 --db stats.duckdb
    """
    from wheelstats.ingest import forget as forgetting

    try:
        con = store.connect(db_path(db), read_only=not db_path(db).exists())
        try:
            forgotten = forgetting.forget(con, forgetting.find(con, source)[0])
        finally:
            con.close()
    except (forgetting.SourceError, store.StoreError) as error:
        raise fail(str(error))
    console.print(
        f"Forgot {forgotten.name} (source {forgotten.source_id}): {forgotten.lines:,} lines read "
        f"({forgotten.hits:,} hits, {forgotten.ignored:,} ignored, {forgotten.rejected:,} rejected, "
        f"{forgotten.already_ingested:,} already ingested) and its checkpoint.",
        highlight=False, soft_wrap=True,
    )
    for other in forgotten.skipped_elsewhere:
        console.print(
            f"{other.source} did not count {other.lines:,} lines because {forgotten.name} held them: "
            f"`wheelstats ingest --again {other.source}` counts them now.",
            highlight=False, soft_wrap=True,
        )


@app.command("summary")
def summary(
    db: DbOption = None,
    lake: LakeOption = None,
    engine: EngineOption = "duckdb",
    spark_master: SparkMasterOption = None,
    spark_conf: SparkConfOption = None,
    as_json: JsonOption = False,
) -> None:
    """What the store (or a lake) holds: lines, hits by kind, ignored, rejected, time span, top projects.

    Example: wheelstats summary --json
    """
    import json

    from rich.table import Table

    from wheelstats.store.summary import summarise, summarise_with

    session = on_spark(db, lake, engine, spark_master, spark_conf)
    if session is not None:
        result = summarise_with(lambda sql: [tuple(row) for row in session.sql(sql).collect()])
    else:
        with opened_store_or_lake(db, lake) as con:
            result = summarise(con)
    if as_json:
        console.print_json(json.dumps(result.as_json()))
        return
    table = Table(show_header=False, title="Store", title_justify="left")
    for key, value in result.as_json().items():
        if key != "top_projects":
            table.add_row(key, f"{value:,}" if isinstance(value, int) else str(value))
    console.print(table)
    top = Table(title="Top projects by downloads", title_justify="left")
    top.add_column("project")
    top.add_column("downloads", justify="right")
    for entry in result.top_projects:
        top.add_row(entry.project, f"{entry.downloads:,}")
    console.print(top)


@app.command("rejects")
def rejects(
    db: DbOption = None,
    reason: Annotated[Optional[str], typer.Option(help="Only this reason, e.g. invalid_utf8.")] = None,
    limit: Annotated[int, typer.Option(help="How many lines to show at most.")] = 50,
) -> None:
    """Show rejected lines: counts by reason, and the first lines of each with file and line number.

    Example: wheelstats rejects --reason unparseable
    """
    from rich.markup import escape

    from wheelstats.store.summary import reject_counts, reject_samples

    with opened_store(db_path(db), read_only=True) as con:
        counts, samples = reject_counts(con), reject_samples(con, reason, limit)
    if not counts:
        console.print("No rejected lines.")
        return
    for why, count in counts:
        console.print(f"{why}: {count:,}")
    for sample in samples:
        console.print(f"{escape(sample.source)}:{sample.line_no}: {escape(f'[{sample.reason}]')} {escape(sample.line)}",
                      highlight=False, soft_wrap=True)


IMPORT_BUILDS_HELP = """Load a catalogue of builds and files from CSV or JSON lines.

One row per file. Columns (JSON keys):
filename (required);
project, version, python_tag, abi_tag, platform_tag (parsed from the
filename when absent);
size, sha256, requires_python;
build_id, built_by, built_at (build start, ISO 8601, UTC);
duration (seconds, ISO 8601 like PT1M23.5S, or PostgreSQL like 2 days 03:04:05);
status (true/false, t/f, 1/0, success/failed).

Rows are upserted: importing twice changes nothing. A bad row stops the
import with its line number, and nothing is imported.

Example: wheelstats import builds builds.csv.gz --db stats.duckdb
"""


@import_app.command("builds", help=IMPORT_BUILDS_HELP)
def import_builds(
    file: Annotated[Path, typer.Argument(help="A .csv, .jsonl or .json file, optionally .gz.", show_default=False)],
    db: DbOption = None,
) -> None:
    from wheelstats.imports import builds

    try:
        builds.check_catalogue(file)  # before a new store is made for it
        con = store.connect(db_path(db))
        try:
            summary = builds.import_builds(con, file)
            interrupts.done(f"the import was committed ({summary.describe().rstrip('.')})")
        finally:
            con.close()
    except (store.StoreError, builds.CatalogueError) as error:
        raise fail(str(error)) from None
    console.print(summary.describe(), highlight=False, soft_wrap=True)


@import_app.command("pypi-downloads")
def import_pypi_downloads(
    path: Annotated[Path, typer.Argument(
        help="A Parquet file of PyPI download records (BigQuery file_downloads), or a folder of them.",
        show_default=False)],
    db: DbOption = None,
    lake: Annotated[Optional[Path], typer.Option(
        "--lake", help="Import into this lake (made if new) instead of a store.", show_default=False)] = None,
) -> None:
    """The download records of PyPI itself into the store (or a lake): the report and dashboard of PyPI data.

    Example: wheelstats import pypi-downloads file_downloads-2024-06/ --db pypi.duckdb
    """
    from wheelstats.imports.pypi_downloads import RecordsError, import_records, record_files
    from wheelstats.lake import Lake, LakeError
    from wheelstats.lake.export import export_from
    from wheelstats.lake.working_store import working_store

    try:
        record_files(path)  # before a new store is made for them
        if lake is None:
            with opened_store(db_path(db)) as con:
                summary = import_records(con, path)
        elif db is not None:
            raise fail("Give --db or --lake, not both: the records go into one of them.")
        else:
            with working_store(Lake.at(lake)) as con:
                summary = import_records(con, path)
                export_from(con, Lake.at(lake))
    except (RecordsError, LakeError) as error:
        raise fail(str(error)) from None
    console.print(summary.describe(), highlight=False, soft_wrap=True)


@import_app.command("piwheels")
def import_piwheels(
    dsn: Annotated[Optional[str], typer.Option(
        "--dsn", help="A piwheels PostgreSQL database, e.g. postgresql://piwheels@db/piwheels.",
        show_default=False)] = None,
    dump: Annotated[Optional[Path], typer.Option(
        "--dump", help="A folder of CSV dumps of piwheels' tables (docs/piwheels-dump.md).",
        show_default=False)] = None,
    ip: IpOption = "hash",
    country: CountryOption = "on",
    db: DbOption = None,
) -> None:
    """Load a piwheels deployment's builds, files and hits, from PostgreSQL or a dump.

    Give --dsn URL or --dump DIR. Loads packages and versions (known projects),
    builds, files, and downloads, searches, project pages, JSON and web page hits.
    All in one transaction; the same dump or database state imported again
    changes nothing. See docs/import.md.

    Example: wheelstats import piwheels --dump piwheels-dump/ --db stats.duckdb

    Example: wheelstats import piwheels --dsn postgresql://piwheels@db/piwheels
    """
    from wheelstats.imports import piwheels, piwheels_dump, piwheels_postgres
    from wheelstats.store import privacy, settings

    if (dsn is None) == (dump is None):
        raise fail("Give either --dsn URL or --dump DIR (one of them).")
    if ip not in privacy.IP_MODES:
        raise fail(str(privacy.InvalidIpMode(ip)))
    countries = countries_wanted(country)
    path = db_path(db)
    try:
        if dump is not None:
            piwheels_dump.open_dump(dump)  # its files checked before a new store is made for it
        con = store.connect(path)
        try:
            key = privacy.client_key(path, ip, con=con)
            if dump is not None:
                summary = piwheels.import_dump(con, dump, ip_mode=ip, key=key, countries=countries)
            else:
                summary = piwheels_postgres.import_postgres(con, dsn, ip_mode=ip, key=key, countries=countries)
            interrupts.done(f"the import was committed ({summary.describe().rstrip('.')})")
            settings.remember(con, settings.SITE_NAME, "piwheels")
        finally:
            con.close()
    except (store.StoreError, piwheels_dump.DumpError, piwheels_postgres.PiwheelsDatabaseError) as error:
        raise fail(str(error)) from None
    console.print(summary.describe(), highlight=False, soft_wrap=True)


@app.command("export")
def export(
    lake: Annotated[Path, typer.Option(
        "--lake", help="The lake's folder (made if new): Parquet that DuckDB, Spark and Ibis read.",
        show_default=False)],
    db: DbOption = None,
) -> None:
    """Add to a lake what the store holds and the lake does not: new hits, and the other tables where changed.

    Example: wheelstats export --db stats.duckdb --lake /data/wheelstats-lake
    """
    from wheelstats.lake import Lake, LakeError, export_store

    try:
        target = Lake.at(lake)
        exported = export_store(db_path(db), target)
        interrupts.done(f"the export into {lake} was committed")
    except (LakeError, store.StoreError) as error:
        raise fail(str(error)) from None
    except OSError as error:
        raise fail(f"Cannot write the lake {str(lake)!r}: {error.strerror}. Choose a writable folder.") from None
    console.print(exported.describe(target), highlight=False, soft_wrap=True)


@app.command("report")
def report(
    period: Annotated[str, typer.Option(
        "--period", help="A quarter (2020-Q1), month (2020-03), year (2020) or range "
        "(2020-01-01..2020-03-31).", show_default=False)],
    out: Annotated[Path, typer.Option(
        "--out", help="The folder to write report.md, report.html, report.json and charts/ into.",
        show_default=False)],
    site: Annotated[Optional[str], typer.Option(
        "--site", help="The site's name, as the report calls it; the first one given is remembered by the store. "
        "Default: the store's (piwheels after `import piwheels`), else \"this index\".", show_default=False)] = None,
    time_saved_method: Annotated[Optional[str], typer.Option(
        "--time-saved-method", help="How build time saved is counted (piwheels|native|duration). Default: "
        "piwheels for builds of piwheels' platforms, native for builds of others.", show_default=False)] = None,
    session_gap: Annotated[int, typer.Option(
        "--session-gap", help="Minutes: the longest pause within one client's session, when finding what "
        "caused a spike.", min=1)] = 10,
    db: DbOption = None,
    lake: LakeOption = None,
    engine: EngineOption = "duckdb",
    spark_master: SparkMasterOption = None,
    spark_conf: SparkConfOption = None,
) -> None:
    """Write the report of a period: Markdown, HTML, JSON and PNG charts.

    Example: wheelstats report --period 2020-Q1 --db stats.duckdb --out report-2020q1/
    """
    from wheelstats import stats, timesaved
    from wheelstats.lake import LakeError
    from wheelstats.period import InvalidPeriod, parse_period
    from wheelstats.report import DEFAULT_SITE, EmptyPeriod, ReportFolderError, remembered_site, write_report

    session = on_spark(db, lake, engine, spark_master, spark_conf)
    try:
        parsed = parse_period(period)
        if time_saved_method is not None:
            timesaved.get_method(time_saved_method)
        if lake is None:
            path = db_path(db)
            site_name, name = remembered_site(path, site), str(path)
            tables = stats.open_tables(path)
        else:
            tables, stored_site = lake_tables(db, lake, session)
            site_name, name = site or stored_site or DEFAULT_SITE, str(lake)
        files = write_report(
            tables, parsed, out, site=site_name, time_saved_method=time_saved_method, store_name=name,
            session_gap=timedelta(minutes=session_gap),
        )
        interrupts.done(f"the report was written to {files.folder}")
    except (InvalidPeriod, timesaved.UnknownTimeSavedMethod, store.StoreError, LakeError,
            stats.EmptyStore, EmptyPeriod, ReportFolderError) as error:
        raise fail(str(error)) from None
    console.print(f"Report written to {files.markdown} (also report.html, report.json, "
                  f"{len(files.charts)} charts in {files.folder / 'charts'}).", highlight=False, soft_wrap=True)


@app.command("sample-log")
def sample_log(
    out: Annotated[Path, typer.Option(
        "--out", help="The log file to write (gzip if it ends in .gz).", show_default=False)],
    lines: Annotated[int, typer.Option("--lines", help="How many lines to write.", min=1)] = 100_000,
    seed: Annotated[int, typer.Option("--seed", help="The random seed: the same seed writes the same log.")] = 0,
) -> None:
    """Write a realistic Apache combined access log of a package index.

    Example: wheelstats sample-log --lines 200000 --out access.log.gz
    """
    from wheelstats.simulate import sample_log as write_sample_log

    try:
        counts = write_sample_log(out, lines, seed)
    except OSError as error:
        raise fail(f"Cannot write {str(out)!r}: {error.strerror}. Choose a writable path.") from None
    kinds = ", ".join(f"{count:,} {kind}" for kind, count in counts.items())
    console.print(f"Wrote {lines:,} lines to {out} ({kinds}).", highlight=False, soft_wrap=True)


@app.command("serve")
def serve(
    wheels: Annotated[Path, typer.Option(
        "--wheels", help="The folder of wheels and sdists (flat, or one subfolder per project).",
        show_default=False)],
    db: DbOption = None,
    host: Annotated[str, typer.Option("--host", help="The address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="The port to listen on.", min=1, max=65535)] = 8000,
    access_log: Annotated[Optional[Path], typer.Option(
        "--access-log", help="The combined access log the server writes and ingests. "
        "Default: beside the store, <db stem>.access.log.", show_default=False)] = None,
    yanked: Annotated[Optional[Path], typer.Option(
        "--yanked", help="The yanked list (PEP 592). Default: <wheels>/yanked.txt.", show_default=False)] = None,
    ip: Annotated[str, typer.Option(
        "--ip", help="Store client IPs as a keyed hash, raw, or not at all (hash|raw|none).")] = "hash",
    record: Annotated[bool, typer.Option(
        "--record/--no-record", help="Log every request and count it in the store.")] = True,
    feed_every: Annotated[float, typer.Option(
        "--feed-every", help="Seconds between batches from the access log into the store (each holds the "
        "store for a moment; other commands use it in between).", min=0.1)] = 5.0,
    lake: Annotated[Optional[Path], typer.Option(
        "--lake", help="Show the figures of this lake (its rollups, as they were at the start) on the pages, "
        "the dashboard and the API; the downloads served are still counted in --db (the store the lake was "
        "exported from).", show_default=False)] = None,
) -> None:
    """Serve the wheels as a PEP 503/691 index that counts its own downloads.

    Example: wheelstats serve --wheels /srv/wheels --db stats.duckdb --port 8000

    With --lake, a deployment whose history lives in a lake answers from it, and
    `wheelstats export --db STORE --lake DIR` moves what was counted since into it.
    """
    from dataclasses import replace

    from wheelstats.server.app import ServeConfig, default_access_log
    from wheelstats.store import privacy

    if ip not in privacy.IP_MODES:
        raise fail(str(privacy.InvalidIpMode(ip)))
    if not wheels.is_dir():
        raise fail(f"The wheels folder {str(wheels)!r} does not exist. Create it or pass --wheels.")
    path = db_path(db)
    log_path = (access_log or default_access_log(path)) if record else None
    config = ServeConfig(wheels=wheels, db=path, access_log=log_path, yanked=yanked, ip_mode=ip,
                         feed_interval=feed_every)
    if lake is None:
        serve_with(config, host, port)
        return
    with lake_figures(lake) as figures:
        serve_with(replace(config, figures=figures), host, port, figures_from=f"figures of the lake {lake}; ")


def serve_with(config, host: str, port: int, *, figures_from: str = "") -> None:
    """Start `serve`'s server (config: server.app.ServeConfig) and run it until a signal stops it;
    `figures_from` says where its figures come from when not from its store."""
    from wheelstats.server.app import create_app, run

    # Ctrl-C and SIGTERM: uvicorn stops gracefully (the feeder child, which ignores both, finishes when the
    # server closes its pipe), then the guard says what was kept and exits 130 or 143.
    try:
        app_ = create_app(config)
    except OSError as error:
        raise fail(f"Cannot start: {error}") from None
    if config.figures is None and config.db.exists():  # the reader only reads: the rollups are brought up to date here, once
        from wheelstats.rollups import RefreshFailed, refresh_store

        try:
            refresh_store(config.db)
        except RefreshFailed as error:
            errors.print(f"Warning: {error}. Serving the figures the store holds.", highlight=False, soft_wrap=True)
    snapshot = app_.catalogue.current
    recording = f"access log {config.access_log}, store {config.db}" if config.access_log else "not recording"
    projects, files = len(snapshot.projects), len(snapshot.files)
    console.print(
        f"Serving {projects:,} project{'s' * (projects != 1)} ({files:,} file{'s' * (files != 1)}) from "
        f"{config.wheels} at http://{host}:{port}/simple/ ({figures_from}{recording}).",
        highlight=False, soft_wrap=True,
    )
    run(app_, host=host, port=port)


@app.command("simulate")
def simulate(
    out: Annotated[Path, typer.Option(
        "--out", help="The folder to write logs/, piwheels/ and manifest.json into.", show_default=False)],
    scenario: Annotated[str, typer.Option(
        "--scenario", help="The scenario to simulate (piwheels-2020q1, or its spike made by a mirror: "
        "mirror-resync, or by a CI loop: ci-loop).")] = "piwheels-2020q1",
    scale: Annotated[float, typer.Option(
        "--scale", help="Counts are the scenario's times this (1.0: the seed's exact figures).")] = 1.0,
    seed: Annotated[int, typer.Option("--seed", help="The random seed: the same seed writes the same files.")] = 0,
) -> None:
    """Write a realistic synthetic package index: raw logs, a piwheels dump and a manifest.

    Example: wheelstats simulate --scenario piwheels-2020q1 --scale 0.01 --out sim/
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from wheelstats.simulate import InvalidScale, UnknownScenario, check_scale, get_scenario, run_simulation

    try:
        get_scenario(scenario), check_scale(scale)
    except (UnknownScenario, InvalidScale) as error:
        raise fail(str(error)) from None
    stages = {"plan": "Planning downloads", "write": "Writing dump and logs"}
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=errors, transient=True, disable=not errors.is_terminal) as progress:
        tasks: dict[str, int] = {}

        def report(stage: str, advance: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(stages.get(stage, stage), total=total)
            progress.advance(tasks[stage], advance)

        try:
            manifest = run_simulation(scenario, out, scale=scale, seed=seed, progress=report)
        except OSError as error:
            raise fail(f"Cannot write into {str(out)!r}: {error.strerror}. Choose a writable folder.") from None
    lines = manifest["lines"]
    console.print(
        f"Wrote {out}: {manifest['downloads_in_period']:,} downloads in the period "
        f"({lines['total']:,} log lines in {out / 'logs'}), {manifest['downloads_before_period']:,} before it "
        f"(in {out / 'piwheels'}), figures in {out / 'manifest.json'}.", highlight=False, soft_wrap=True)


@app.command("dashboard")
def dashboard(
    db: DbOption = None,
    lake: LakeOption = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.", min=1, max=65535)] = 8050,
) -> None:
    """Serve the stats dashboard, JSON API and badges for a store (or a lake).

    Example: wheelstats dashboard --db wheelstats.duckdb --port 8050

    Then open http://127.0.0.1:8050/stats/ in a browser. With --lake, the lake's
    rollups are made first when jobs have added hits since they were last made.
    """
    from wheelstats.dashboard.routes import run
    from wheelstats.rollups import RefreshFailed, refresh_store

    if lake is not None:
        one_of_store_or_lake(db, lake)
        dashboard_of_lake(lake, host, port)
        return
    path = db_path(db)
    if not path.exists():
        raise fail(f"No store at {str(path)!r}. Run `wheelstats ingest LOGS --db {path}` first, or pass --db.")
    # Ctrl-C and SIGTERM: uvicorn stops gracefully, then the guard says so and exits 130 or 143.
    try:
        refresh_store(path)  # the reader only reads: the rollups are brought up to date here, once
    except RefreshFailed as error:
        errors.print(f"Warning: {error}. Serving the figures the store holds.", highlight=False, soft_wrap=True)
    console.print(f"Dashboard of {path} on http://{host}:{port}/stats/ (API: /api/openapi.json)", highlight=False)
    run(path, host=host, port=port)


def dashboard_of_lake(folder: Path, host: str, port: int) -> None:
    """The dashboard of a lake, read through a store of views (lake_figures)."""
    from wheelstats.dashboard.routes import run

    with lake_figures(folder) as path:
        console.print(f"Dashboard of the lake {folder} on http://{host}:{port}/stats/ (API: /api/openapi.json)",
                      highlight=False)
        run(path, host=host, port=port)


@contextmanager
def lake_figures(folder: Path) -> Iterator[Path]:
    """A store whose hits and rollups are views of the lake's files, for as long as a server runs; the
    lake's rollups are made first if jobs have committed since they were."""
    import tempfile

    from wheelstats.lake import Lake, LakeError
    from wheelstats.lake.rollups import reader_store, roll_up

    lake = Lake.at(folder)
    try:
        downloads = roll_up(lake)
        if downloads is not None:
            console.print(f"Rolled up {downloads:,} downloads of the lake {folder}.", highlight=False)
        with tempfile.TemporaryDirectory(prefix="wheelstats-lake-") as views:
            yield reader_store(lake, Path(views))
    except LakeError as error:
        raise fail(str(error)) from None


@app.command("build")
def build(
    specs: Annotated[Optional[list[str]], typer.Argument(
        help="NAME or NAME==VERSION to build; none: the whole queue (every release not yet attempted).",
        show_default=False)] = None,
    source: Annotated[str, typer.Option(
        "--source", help="A PEP 503/691 index URL (PyPI, a mirror, a `wheelstats serve`) or a folder of sdists.",
        show_default=False)] = ...,
    wheels: Annotated[Path, typer.Option(
        "--wheels", help="The folder to publish the wheels into (what `wheelstats serve --wheels` serves).",
        show_default=False)] = ...,
    db: DbOption = None,
    jobs: Annotated[int, typer.Option("--jobs", help="How many builds run at once.", min=1)] = 1,
    timeout: Annotated[str, typer.Option(
        "--timeout", help="A build running longer is killed, with everything it started (90s, 30m, 2h).")] = "30m",
    memory: Annotated[str, typer.Option(
        "--memory", help="The address space each build process may use (512MiB, 2GiB).")] = "2GiB",
    cpu_time: Annotated[Optional[str], typer.Option(
        "--cpu-time", help="The CPU time a build may use, all its processes together. Default: the timeout.",
        show_default=False)] = None,
    retry_failed: Annotated[bool, typer.Option(
        "--retry-failed", help="Build again what failed before (a new Python or pip retries by itself).")] = False,
    watch: Annotated[bool, typer.Option(
        "--watch", help="Keep polling the source and build new releases as they appear, until SIGTERM.")] = False,
    every: Annotated[str, typer.Option("--every", help="With --watch: how long between polls.")] = "5m",
) -> None:
    """Build wheels of the source's sdists, record how long each took, and publish them.

    Each build runs `pip wheel --no-deps --no-binary NAME NAME==VERSION` in a fresh folder, in a process group of its own, within the limits. See docs/build.md.

    Example: wheelstats build --source http://127.0.0.1:8000/simple/ --wheels wheels/ --db stats.duckdb

    Example: wheelstats build --source sdists/ --wheels wheels/ --timeout 10m tinyproject==1.0
    """
    from wheelstats.builder import limits as build_limits, messages
    from wheelstats.builder.identity import PipMissing, this_builder
    from wheelstats.rollups.builds import logs_folder
    from wheelstats.builder.queue import InvalidSpec, parse_spec
    from wheelstats.builder.runner import Builder, BuildSettings
    from wheelstats.builder.sources import NotInSource, SourceError, open_source
    from wheelstats.builder.watch import watch as watch_source

    try:
        parsed_specs = [parse_spec(spec) for spec in specs or ()]
        timeout_s = build_limits.parse_duration(timeout, "--timeout")
        limits = build_limits.BuildLimits(
            timeout_s, build_limits.parse_size(memory, "--memory"),
            build_limits.parse_duration(cpu_time, "--cpu-time") if cpu_time else timeout_s)
        every_s = build_limits.parse_duration(every, "--every")
        identity = this_builder()
        origin = open_source(source)
        wheels.mkdir(parents=True, exist_ok=True)
    except (InvalidSpec, build_limits.InvalidDuration, build_limits.InvalidSize, PipMissing, SourceError) as error:
        raise fail(str(error)) from None
    except OSError as error:
        raise fail(f"Cannot create the wheels folder {str(wheels)!r}: {error.strerror}. Pass a writable --wheels.")
    path = db_path(db)
    recorded: list = []

    def on_recorded(build) -> None:  # in the recording thread, as each build is recorded
        recorded.append(build)
        console.print(messages.recorded_line(build, limits), highlight=False, soft_wrap=True)
        interrupts.done(messages.kept_when_stopped(recorded))

    builder = Builder(BuildSettings(path, wheels, limits, jobs, retry_failed), origin, identity, on_recorded)
    interrupts.done(messages.kept_when_stopped(recorded))
    try:
        settled = messages.settled_line(builder.settle())
        if settled:
            console.print(settled, highlight=False, soft_wrap=True)
        if watch:  # until a signal stops it (the guard says what was kept)
            console.print(f"Watching {origin.location} every {build_limits.describe_seconds(every_s)} for "
                          f"{identity.describe()} ({limits.describe()}, {jobs} at a time).",
                          highlight=False, soft_wrap=True)

            def on_unreadable(error) -> None:
                errors.print(f"Warning: {error} Trying again in {build_limits.describe_seconds(every_s)}.",
                             highlight=False, soft_wrap=True)

            watch_source(builder, parsed_specs, every_s, on_unreadable=on_unreadable)
        else:
            plan = builder.plan(parsed_specs)
            for held in plan.held_back:
                console.print(messages.held_back_line(held), highlight=False, soft_wrap=True)
            console.print(messages.plan_line(plan, origin.location, identity, jobs, limits),
                          highlight=False, soft_wrap=True)
            builder.build_all(plan.pending)
            if recorded:
                builder.refresh_live_figures()
    except (SourceError, NotInSource) as error:
        raise fail(str(error)) from None
    except OSError as error:  # the disk: full, or a folder not writable
        raise fail(f"Cannot write {error.filename or 'a build'!s}: {error.strerror or error}. Make room or fix the "
                   "permissions, then run again: what was not recorded is built again.") from None
    finally:
        builder.close()
    if recorded:
        console.print(messages.totals_line(recorded, wheels, logs_folder(path)), highlight=False, soft_wrap=True)


builds_app = typer.Typer()
app.add_typer(builds_app, name="builds")


@builds_app.callback(invoke_without_command=True)
def builds(
    context: typer.Context,
    db: DbOption = None,
    failed: Annotated[bool, typer.Option("--failed", help="Only the builds that failed.")] = False,
    project: Annotated[Optional[str], typer.Option("--project", help="Only this project's builds.",
                                                   show_default=False)] = None,
    limit: Annotated[int, typer.Option("--limit", help="How many builds at most, newest first.", min=1)] = 50,
    as_json: JsonOption = False,
) -> None:
    """List the builds the store holds, newest first: status, why a failure failed, duration, files, log.

    Example: wheelstats builds --failed --db stats.duckdb

    Example: wheelstats builds log 449823021503250437
    """
    if context.invoked_subcommand is not None:
        return
    import json

    from wheelstats.builder.messages import record_line
    from wheelstats.rollups.builds import read_builds

    with opened_store(db_path(db), read_only=True) as con:
        found = read_builds(con, failed=failed, project=project, limit=limit)
    if as_json:
        console.print_json(json.dumps([record.as_json() for record in found]))
        return
    if not found:
        console.print("No builds." if not (failed or project) else "No builds match.")
        return
    for record in found:
        console.print(record_line(record), highlight=False, soft_wrap=True)


@builds_app.command("log")
def builds_log(
    build_id: Annotated[int, typer.Argument(help="The build's id (see `wheelstats builds`).", show_default=False)],
    db: DbOption = None,
) -> None:
    """Print a build's log: pip's output and the builder's account of the build.

    Example: wheelstats builds log 449823021503250437 --db stats.duckdb
    """
    from wheelstats.rollups.builds import LogUnreadable, NoSuchBuild, read_build, read_log

    path = db_path(db)
    with opened_store(path, read_only=True) as con:
        try:
            record = read_build(con, build_id)
        except NoSuchBuild as error:
            raise fail(str(error)) from None
    if record.log_path is None:
        raise fail(f"Build {build_id} has no log in the store (it was imported, not built here).")
    try:
        for chunk in read_log(path, build_id, record.log_path):
            sys.stdout.buffer.write(chunk)
    except LogUnreadable as error:
        raise fail(str(error)) from None
    sys.stdout.buffer.flush()


@builds_app.command("merge")
def builds_merge(
    other: Annotated[Path, typer.Argument(help="Another builder's store.", show_default=False)],
    db: DbOption = None,
) -> None:
    """Add another builder's builds, files and logs to this store (several builders, one report).

    Builds this store has already are left as they are: merging the same store again adds nothing. The logs are copied beside this store.

    Example: wheelstats builds merge armv7.duckdb --db stats.duckdb
    """
    from wheelstats.builder.messages import plural
    from wheelstats.builder.records import merge_store
    from wheelstats.rollups import refresh_rollups

    path = db_path(db)
    if not other.is_file():
        raise fail(f"No store at {str(other)!r}. Give the path of another builder's store.")
    if other.resolve() == path.resolve():
        raise fail(f"{str(other)!r} is this store. Give another builder's store.")
    try:
        store.connect(other, read_only=True).close()  # a wheelstats store, migrated to this version
        con = store.connect(path)
    except store.StoreError as error:
        raise fail(str(error)) from None
    try:
        merged = merge_store(con, path, other)
        refresh_rollups(con)  # time saved depends on the builds: the live figures are re-priced
    finally:
        con.close()
    console.print(f"Merged {plural(merged.builds, 'build')} with {plural(merged.files, 'file')} and "
                  f"{plural(merged.logs, 'log')} from {other}.", highlight=False, soft_wrap=True)


SpecArgument = Annotated[str, typer.Argument(help="PROJECT, or PROJECT==VERSION for one version.",
                                             show_default=False)]


@app.command("skip")
def skip(
    spec: SpecArgument,
    reason: Annotated[str, typer.Option("--reason", help="Why it is not built (shown when it is held back).",
                                        show_default=False)],
    db: DbOption = None,
) -> None:
    """Never build a project, or one version of it (piwheels' skip lists).

    Example: wheelstats skip tensorflow --reason "too big to build here"

    Example: wheelstats skip numpy==1.0 --reason "does not build on Python 3"
    """
    from wheelstats.builder.queue import InvalidSpec, parse_spec
    from wheelstats.builder.records import skip as skip_release

    try:
        parsed = parse_spec(spec)
    except InvalidSpec as error:
        raise fail(str(error)) from None
    if not reason.strip():
        raise fail("Give a reason with --reason: it is shown whenever the skip holds a build back.")
    with opened_store(db_path(db)) as con:
        skip_release(con, parsed.project, parsed.version, reason.strip())
    what = f"{parsed.project} {parsed.version}" if parsed.version else f"{parsed.project} (every version)"
    console.print(f"Skipping {what}: {reason.strip()}.", highlight=False, soft_wrap=True)


@app.command("unskip")
def unskip(spec: SpecArgument, db: DbOption = None) -> None:
    """Build a skipped project, or version, again.

    Example: wheelstats unskip tensorflow
    """
    from wheelstats.builder.queue import InvalidSpec, parse_spec
    from wheelstats.builder.records import unskip as unskip_release

    try:
        parsed = parse_spec(spec)
    except InvalidSpec as error:
        raise fail(str(error)) from None
    with opened_store(db_path(db)) as con:
        was = unskip_release(con, parsed.project, parsed.version)
    what = f"{parsed.project} {parsed.version}" if parsed.version else parsed.project
    if was is None:
        console.print(f"{what} was not skipped.", highlight=False, soft_wrap=True)
    else:
        console.print(f"{what} is built again (it was skipped: {was}).", highlight=False, soft_wrap=True)


# What a command stopped by a signal has kept, told in its one line (ingest's is read from the store).
KEPT_WHEN_STOPPED = {
    "summary": "nothing was changed",
    "rejects": "nothing was changed",
    "forget": "nothing was forgotten (one transaction, rolled back)",
    "import_builds": "nothing was imported (the import is one transaction, rolled back)",
    "import_piwheels": "nothing was imported (the import is one transaction, rolled back)",
    "report": "no report was written (the --out folder is as it was)",
    "sample_log": "the log {out} is incomplete: run the command again to write it whole",
    "simulate": "the files in {out} are incomplete: run the command again to write them whole",
    "serve": "every request served is in the access log, and the store holds what was fed to it "
             "(the rest is read at the next start)",
    "dashboard": "nothing was changed",
    "builds": "nothing was changed",
    "builds_log": "nothing was changed",
    "builds_merge": "nothing was merged (the merge is one transaction, rolled back)",
    "skip": "nothing was changed",
    "unskip": "nothing was changed",
}
NAMES_SHOWN = 3


def _kept_by_ingest(db: Path, since: datetime) -> str:
    """The sources the stopped ingest committed lines of, and up to which line, as the store says."""
    nothing = "nothing was committed yet; run the same command again to read the logs"
    try:
        con = store.connect(db, read_only=True, wait_seconds=2)
    except store.NoStore:
        return nothing
    except store.StoreError:
        return "the blocks committed before it are kept; run the same command again to read the rest"
    try:
        rows = con.execute(
            "SELECT name, lines FROM sources WHERE updated_at >= ? AND lines > 0 ORDER BY source_id", [since]
        ).fetchall()
    finally:
        con.close()
    if not rows:
        return nothing
    shown = [f"{name} to line {lines:,}" for name, lines in rows[:NAMES_SHOWN]]
    more = f" and {len(rows) - NAMES_SHOWN} more source{'s' * (len(rows) - NAMES_SHOWN != 1)}" \
        if len(rows) > NAMES_SHOWN else ""
    return f"kept what was committed ({', '.join(shown)}{more}); run the same command again to read the rest"


def kept_when_stopped(command: str, options: dict, since: datetime) -> str:
    if command == "ingest":
        return _kept_by_ingest(db_path(options.get("db")), since)
    return KEPT_WHEN_STOPPED.get(command, "nothing more was done").format(out=options.get("out"))


def _check_serve_clients(options: dict) -> None:
    """Refuse to serve, in one line, into a store whose IP mode or key differ (the feeder would refuse each batch).

    A store busy with another writer is left for the feeder to check when it gets it.
    """
    from wheelstats.store import privacy

    if options["record"] and options["ip"] in privacy.IP_MODES and options["wheels"].is_dir():
        try:
            privacy.client_key(db_path(options["db"]), options["ip"])
        except store.StoreInUse:
            pass


# Checks a command's guard runs before the command, so that a refusal is one line.
CHECKS_BEFORE = {"serve": _check_serve_clients}


def guarded(command: Callable) -> Callable:
    """`command`, stopping cleanly on SIGINT and SIGTERM and failing in one line on a store's errors.

    The one place for every command: a signal at any moment rolls back the open
    transaction (see wheelstats.interrupts), prints one line saying what was
    kept, and exits 130 (SIGINT) or 143 (SIGTERM); a StoreError, or a DuckDB
    error that means a damaged store or a full disk, prints its one line and exits 1.
    """
    import duckdb

    from wheelstats.store.errors import from_duckdb

    @functools.wraps(command)
    def run(*args, **options):
        since = datetime.now(timezone.utc).replace(tzinfo=None)
        with interrupts.catching_signals() as signals:
            signals.started = True
            try:
                check = CHECKS_BEFORE.get(command.__name__)
                if check is not None:
                    check(options)
                result = command(*args, **options)
                if signals.first is not None:  # a library (uvicorn) stopped gracefully on it and returned
                    raise interrupts.Stopped(signals.first)
                return result
            except typer.Exit:
                raise
            except store.StoreError as error:
                raise fail(str(error)) from None
            except (KeyboardInterrupt, duckdb.Error, RuntimeError) as error:
                signum = interrupts.stopping_signal(error, signals)
                if signum is None:
                    explained = from_duckdb(error, db_path(options["db"])) if (
                        isinstance(error, duckdb.Error) and "db" in options) else None
                    if explained is None:
                        raise
                    raise fail(str(explained)) from None
            finally:
                signals.ended = True
            # Stopped. The error is gone, and with it the frames that held the command's connections.
            gc.collect()
            kept = signals.done or kept_when_stopped(command.__name__, options, since)
            errors.print(f"Stopped by {signal.Signals(signum).name}: {kept}.", highlight=False, soft_wrap=True)
            raise typer.Exit(interrupts.EXIT_CODES[signum])

    return run


for _command in (*app.registered_commands, *import_app.registered_commands, *builds_app.registered_commands):
    _command.callback = guarded(_command.callback)
builds_app.registered_callback.callback = guarded(builds_app.registered_callback.callback)
