"""Load a piwheels deployment's history into the store, in one transaction.

The rows come from a dump folder (`piwheels_dump`), written either by a
maintainer with psql or by `piwheels_postgres` from a live database, so both
routes run this same code and give identical stores. DuckDB reads and
converts the CSV files; no Python runs per row.
"""

from __future__ import annotations

import dataclasses
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from wheelstats import store
from wheelstats.store import dimensions, privacy
from wheelstats.parsing.agents import Agent, normalise_cpu, parse_agent, python_major_minor
from wheelstats.parsing.classify import canonical_sql
from wheelstats.parsing.countries import countries_of
from wheelstats.rollups import refresh_rollups
from wheelstats.imports.piwheels_dump import (
    AGENT_COLUMNS,
    Dump,
    DumpError,
    TableFile,
    bad_value_sql,
    explain_bad_value,
    explain_csv_error,
    explain_read_error,
    open_dump,
)

LOG_FORMAT = "piwheels"
IMPORT_MEMORY_LIMIT = "2GB"
# Synthetic agents (one per combination of a download's agent columns) have
# this prefix before their JSON: no real User-Agent starts with "[".
SYNTHETIC_AGENT_PREFIX = "[piwheels-import] "


@dataclass(frozen=True, slots=True)
class ImportSummary:
    source_id: int
    source_name: str
    already_imported: bool
    hits: dict[str, int] = field(default_factory=dict)  # per kind
    builds: int = 0
    files: int = 0
    projects: int = 0

    def describe(self) -> str:
        if self.already_imported:
            what = "database, unchanged," if self.source_name.startswith("piwheels-db:") else "dump"
            return (
                f"This {what} was already imported (source {self.source_id}, {self.source_name!r}); "
                "nothing changed."
            )
        kinds = ", ".join(f"{count:,} {kind}" for kind, count in self.hits.items())
        return (
            f"Imported {self.source_name}: {self.projects:,} projects, {self.builds:,} builds, {self.files:,} files, "
            f"{sum(self.hits.values()):,} hits ({kinds})."
        )


def import_dump(
    con: duckdb.DuckDBPyConnection,
    folder: str | Path,
    *,
    ip_mode: str = "hash",
    key: bytes | None = None,
    source_name: str | None = None,
    countries: bool = True,
) -> ImportSummary:
    """Import the piwheels CSV dump in `folder`; a repeat of the same dump changes nothing.
    Each hit's country is looked up from its address (accessed_by) unless `countries` is False."""
    dump = open_dump(folder)
    name = source_name or f"piwheels-dump:{dump.folder.resolve()}"
    client = privacy.client_sql("accessed_by", ip_mode, key)
    known = con.execute(
        "SELECT source_id, name FROM sources WHERE log_format = ? AND head_hash = ?",
        [LOG_FORMAT, dump.fingerprint],
    ).fetchall()
    if known:
        return ImportSummary(known[0][0], known[0][1], already_imported=True)
    earlier = con.execute(
        "SELECT source_id FROM sources WHERE log_format = ? AND name = ?", [LOG_FORMAT, name]
    ).fetchall()
    if earlier:
        raise DumpError(
            f"The store already holds an earlier import of {name} (source {earlier[0][0]}) with other "
            "contents: importing this one too would count the hits they share twice. "
            "Import it into a new store (--db)."
        )
    with _bulk_settings(con), store.transaction(con):
        try:
            summary = _load(con, dump, name, client, countries)
        except duckdb.InvalidInputException as error:
            explained = explain_bad_value(dump, str(error)) or explain_csv_error(str(error))
            if explained is None:
                raise
            raise explained from None
        except duckdb.IOException as error:
            explained = explain_read_error(dump, str(error))
            if explained is None:
                raise
            raise explained from None
    refresh_rollups(con)  # the live figures count the imported downloads
    return summary


@contextmanager
def _bulk_settings(con: duckdb.DuckDBPyConnection):
    """Unordered appends (hits need no order; faster) and a memory cap, restored after.

    Without the cap DuckDB keeps written blocks cached up to 80% of RAM (5 GB for a
    14.7-million-download dump); capped, it evicts them at no cost in speed.
    """
    keep_order, limit = con.execute(
        "SELECT current_setting('preserve_insertion_order'), current_setting('memory_limit')").fetchall()[0]
    con.execute("SET preserve_insertion_order = false")
    if _size_bytes(limit) > _size_bytes(IMPORT_MEMORY_LIMIT):
        con.execute(f"SET memory_limit = '{IMPORT_MEMORY_LIMIT}'")
    try:
        yield
    finally:
        con.execute(f"SET preserve_insertion_order = {'true' if keep_order else 'false'}")
        con.execute(f"SET memory_limit = '{limit}'")


def _size_bytes(text: str) -> float:
    """DuckDB's '18.8 GiB' or '2GB' as bytes."""
    match = re.fullmatch(r"\s*([\d.]+)\s*([KMGT]?i?B|bytes)?\s*", text, re.IGNORECASE)
    if not match:
        return float("inf")
    unit = (match[2] or "B").upper().replace("BYTES", "B")
    base = 1024 if "I" in unit else 1000
    return float(match[1]) * base ** "BKMGT".index(unit[0]) if unit != "B" else float(match[1])


def _load(con: duckdb.DuckDBPyConnection, dump: Dump, name: str, client: str, countries: bool) -> ImportSummary:
    source_id = con.execute(
        "INSERT INTO sources (name, head_hash, head_len, log_format, \"offset\") "
        "VALUES (?, ?, ?, ?, ?) RETURNING source_id",
        [name, dump.fingerprint, dump.total_bytes, LOG_FORMAT, dump.total_bytes],
    ).fetchall()[0][0]
    tables = dump.tables
    builds = _load_builds(con, tables["builds"]) if "builds" in tables else 0
    files = _load_files(con, tables["files"]) if "files" in tables else 0
    if "dependencies" in tables:
        _load_requirements(con, tables["dependencies"])
    _add_synthetic_agents(con, [tables[t] for t in ("downloads", "searches") if t in tables])
    _add_user_agents(con, [tables[t] for t in ("project_page_hits", "project_json_downloads", "web_page_hits")
                           if t in tables])
    hits = {}
    for table, kind in (("downloads", "download"), ("searches", "search"), ("project_page_hits", "project_page"),
                        ("project_json_downloads", "json"), ("web_page_hits", "page")):
        if table in tables:
            hits[kind] = _load_hits(con, tables[table], kind, client, source_id, countries)
    con.execute("DROP TABLE synthetic_agent_ids")
    _add_unknown_files(con, source_id)
    projects = _load_projects(con, tables)
    con.execute("UPDATE sources SET lines = ?, updated_at = current_timestamp WHERE source_id = ?",
                [sum(hits.values()) + builds + files, source_id])
    return ImportSummary(source_id, name, False, hits, builds, files, projects)


def _checked(table: TableFile, column: str, cast: str, what: str, *, required: bool) -> str:
    """`cast` applied to `column`, or a marked error if the text does not convert."""
    raw = table.select(column)
    converted = cast.format(raw)
    failed = f"{converted} IS NULL" if required else f"{raw} IS NOT NULL AND {converted} IS NULL"
    return f"CASE WHEN {failed} THEN {bad_value_sql(table.spec.name, column, raw, what)} ELSE {converted} END"


def _timestamp(table: TableFile, column: str, *, required: bool = True) -> str:
    return _checked(table, column, "try_cast({} AS TIMESTAMP)", "a timestamp", required=required)


def _bigint(table: TableFile, column: str, *, required: bool = True) -> str:
    return _checked(table, column, "try_cast({} AS BIGINT)", "a whole number", required=required)


def _boolean(table: TableFile, column: str, *, required: bool = True) -> str:
    return _checked(table, column, "try_cast({} AS BOOLEAN)", "a boolean (t or f)", required=required)


def _load_builds(con: duckdb.DuckDBPyConnection, table: TableFile) -> int:
    duration = _checked(table, "duration", "epoch(try_cast({} AS INTERVAL))", "a PostgreSQL interval",
                        required=True)
    con.execute(f"""
        INSERT INTO builds (build_id, project, version, abi_tag, built_by, built_at, duration_s, status)
        SELECT {_bigint(table, 'build_id')}, {canonical_sql('package')}, version, {table.select('abi_tag')},
               {table.select('built_by')}, {_timestamp(table, 'built_at')}, {duration},
               {_boolean(table, 'status')}
        FROM {table.relation()}
        ON CONFLICT (build_id) DO UPDATE SET
            project = excluded.project, version = excluded.version, abi_tag = excluded.abi_tag,
            built_by = excluded.built_by, built_at = excluded.built_at,
            duration_s = excluded.duration_s, status = excluded.status
    """)
    return con.execute(f"SELECT count(*) FROM {table.relation()}").fetchall()[0][0]


def _load_files(con: duckdb.DuckDBPyConnection, table: TableFile) -> int:
    has_tags = all(c in table.header for c in ("package_tag", "package_version_tag", "py_version_tag",
                                               "abi_tag", "platform_tag"))
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE dump_files AS
        SELECT filename, {_bigint(table, 'build_id')} AS build_id,
               {_bigint(table, 'filesize', required=False)} AS size,
               {table.select('filehash')} AS sha256, {table.select('requires_python')} AS requires_python,
               {canonical_sql(table.select('package_tag'))} AS project,
               {table.select('package_version_tag')} AS version,
               {table.select('py_version_tag')} AS python_tag, {table.select('abi_tag')} AS abi_tag,
               {table.select('platform_tag')} AS platform_tag
        FROM {table.relation()}
    """)
    if not has_tags:
        names = [row[0] for row in con.execute("SELECT filename FROM dump_files").fetchall()]
        _register_parsed(con, names)
        con.execute("""
            UPDATE dump_files d SET project = p.project, version = p.version, python_tag = p.python_tag,
                abi_tag = p.abi_tag, platform_tag = p.platform_tag
            FROM parsed_files p WHERE p.filename = d.filename
        """)
    con.execute("""
        INSERT INTO files (filename, project, version, package_type, python_tag, abi_tag, platform_tag,
                           valid, size, sha256, requires_python, build_id)
        SELECT filename, project, version,
               CASE WHEN filename LIKE '%.whl' THEN 'bdist_wheel' WHEN filename LIKE '%.egg' THEN 'bdist_egg'
                    ELSE 'sdist' END,
               python_tag, abi_tag, platform_tag, project IS NOT NULL, size, sha256, requires_python, build_id
        FROM dump_files
        QUALIFY row_number() OVER (PARTITION BY filename ORDER BY build_id DESC) = 1
        ON CONFLICT (filename) DO UPDATE SET
            project = excluded.project, version = excluded.version, package_type = excluded.package_type,
            python_tag = excluded.python_tag, abi_tag = excluded.abi_tag, platform_tag = excluded.platform_tag,
            valid = excluded.valid, size = excluded.size, sha256 = excluded.sha256,
            requires_python = excluded.requires_python, build_id = excluded.build_id
    """)
    count = con.execute("SELECT count(*) FROM dump_files").fetchall()[0][0]
    con.execute("DROP TABLE dump_files")
    return count


def _load_requirements(con: duckdb.DuckDBPyConnection, table: TableFile) -> None:
    """piwheels' pip dependencies of each wheel (read from its Requires-Dist, without markers) as
    file_requirements rows, as the builder records them; its apt dependencies are not Python's."""
    con.execute(f"""
        INSERT INTO file_requirements (filename, requirement, project, marker)
        SELECT DISTINCT filename, dependency, {canonical_sql("regexp_extract(dependency, '^[A-Za-z0-9._-]+')")}, NULL
        FROM {table.relation()}
        WHERE tool = 'pip' AND regexp_matches(dependency, '^[A-Za-z0-9]')
        ON CONFLICT DO NOTHING
    """)


def _register_parsed(con: duckdb.DuckDBPyConnection, names: list[str]) -> None:
    """A temp table `parsed_files` with the tags of each name (one parse per distinct name)."""
    con.register("parsed_arrow", dimensions.parsed_files(names))
    con.execute("CREATE OR REPLACE TEMP TABLE parsed_files AS SELECT * FROM parsed_arrow")
    con.unregister("parsed_arrow")


def _add_unknown_files(con: duckdb.DuckDBPyConnection, source_id: int) -> None:
    """Downloaded filenames the catalogue lacks join it with their parsed tags, as ingest does.

    Run after the hits are in: their downloads of such files got no project, and get
    it now (one pass over the few affected hits instead of one more over the dump).
    """
    names = [row[0] for row in con.execute("""
        SELECT DISTINCT n.filename FROM hit_rows h JOIN hit_files n USING (file_id)
        WHERE h.source_id = ? AND h.kind = 'download' AND h.project_id IS NULL
          AND n.filename NOT IN (SELECT filename FROM files)
    """, [source_id]).fetchall()]
    if not names:
        return
    dimensions.add_files(con, names)
    dimensions.add_to_dictionary(con, dimensions.PROJECTS, "SELECT project FROM files WHERE filename IN (SELECT unnest(?))",
                                 [names])
    # Their path becomes the one the kind, project and file make: kept no more.
    con.execute("""
        UPDATE hit_rows SET project_id = p.project_id, path_id = NULL
        FROM hit_files n JOIN files f USING (filename) JOIN hit_projects p ON p.project = f.project
        WHERE hit_rows.source_id = ? AND hit_rows.kind = 'download' AND hit_rows.project_id IS NULL
          AND hit_rows.file_id = n.file_id
    """, [source_id])


def synthetic_agent_sql(table: TableFile | None = None) -> str:
    """The deterministic agent key of a row: a marked JSON object of its agent columns.

    Over `table`'s columns (NULL for those it lacks), or plain column names if None.
    """
    values = [table.select(c) if table else f'"{c}"' for c in AGENT_COLUMNS]
    pairs = ", ".join(f"'{c}', {v}" for c, v in zip(AGENT_COLUMNS, values))
    key = f"'{SYNTHETIC_AGENT_PREFIX}' || json_object({pairs})"
    return f"CASE WHEN coalesce({', '.join(values)}) IS NOT NULL THEN {key} END"


def _agent_hash_sql(table: TableFile | None = None) -> str:
    """A 64-bit hash of the agent columns: joins rows to their synthetic agent faster than the key."""
    return f"hash({', '.join(table.select(c) if table else chr(34) + c + chr(34) for c in AGENT_COLUMNS)})"


def _add_synthetic_agents(con: duckdb.DuckDBPyConnection, tables: list[TableFile]) -> None:
    """One agents row per distinct combination of the agent columns (few; parsed in Python).

    Leaves the temp table `synthetic_agent_ids` (hash of the columns -> agent_id).
    """
    combos = " UNION ".join(
        f"SELECT DISTINCT {', '.join(f'{t.select(c)} AS {c}' for c in AGENT_COLUMNS)} FROM {t.relation()}"
        for t in tables
    ) or f"SELECT {', '.join(f'NULL::VARCHAR AS {c}' for c in AGENT_COLUMNS)} WHERE false"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE dump_agent_combos AS
        SELECT {synthetic_agent_sql()} AS agent, {_agent_hash_sql()} AS agent_hash, * FROM ({combos})
    """)
    rows = con.execute(f"""
        SELECT agent, {', '.join(AGENT_COLUMNS)} FROM dump_agent_combos
        WHERE agent IS NOT NULL AND agent NOT IN (SELECT agent FROM agents)
    """).fetchall()
    new = []
    for key, *values in rows:
        fields = dict(zip(AGENT_COLUMNS, values))
        new.append(Agent(
            agent=key, product=None, is_installer=fields["installer_name"] is not None, is_bot=False,
            installer_name=fields["installer_name"], installer_version=fields["installer_version"],
            python_version=python_major_minor(fields["py_version"]), python_full=fields["py_version"],
            implementation_name=fields["py_name"], distro_name=fields["distro_name"],
            distro_version=fields["distro_version"], os_name=fields["os_name"], os_release=fields["os_version"],
            cpu=normalise_cpu(fields["arch"]), cpu_raw=fields["arch"],
            setuptools_version=fields["setuptools_version"],
        ))
    dimensions.add_agents(con, [dimensions.AgentRow(agent) for agent in new])
    con.execute("""
        CREATE OR REPLACE TEMP TABLE synthetic_agent_ids AS
        SELECT c.agent_hash, a.agent_id FROM dump_agent_combos c JOIN agents a ON a.agent = c.agent
    """)
    distinct, total = con.execute(
        "SELECT count(DISTINCT agent_hash), count(*) FROM synthetic_agent_ids").fetchall()[0]
    if distinct != total:  # two combinations with one 64-bit hash: not expected in practice
        raise RuntimeError("Two agent combinations share a hash; cannot import this dump's agents.")
    con.execute("DROP TABLE dump_agent_combos")


def _add_user_agents(con: duckdb.DuckDBPyConnection, tables: list[TableFile]) -> None:
    """Real User-Agent strings of page hits, parsed once each as ingest parses them."""
    tables = [t for t in tables if "user_agent" in t.header]
    if not tables:
        return
    strings = " UNION ALL ".join(
        f"SELECT user_agent AS agent, coalesce(try_cast({t.select('bot')} AS BOOLEAN), false) AS bot "
        f"FROM {t.relation()} WHERE user_agent IS NOT NULL"
        for t in tables
    )
    rows = con.execute(f"""
        SELECT agent, bool_or(bot) FROM ({strings})
        WHERE agent NOT IN (SELECT agent FROM agents) GROUP BY agent
    """).fetchall()
    new = []
    for text, bot in rows:
        agent = parse_agent(text)
        agent = dataclasses.replace(agent, is_bot=True) if bot and not agent.is_bot else agent
        # With its logged form, ingest finds it when the same agent turns up in an access log.
        new.append(dimensions.AgentRow(agent, logged_form(agent.agent)))
    dimensions.add_agents(con, new)


def logged_form(agent: str) -> str:
    """The agent as an Apache log writes it (quotes and backslashes escaped): ingest's join key."""
    return agent.replace("\\", "\\\\").replace('"', '\\"')


def _register_countries(con: duckdb.DuckDBPyConnection, table: TableFile) -> None:
    """import_countries: the country (parsing/countries) of each distinct address of the table's hits."""
    addresses = [address for (address,) in con.execute(
        f"SELECT DISTINCT {table.select('accessed_by')} AS a FROM {table.relation()} WHERE a IS NOT NULL"
    ).fetchall()]
    con.register("import_country_rows", pa.table({
        "address": pa.array(addresses, pa.string()), "country": pa.array(countries_of(addresses), pa.string())}))
    con.execute("CREATE OR REPLACE TEMP TABLE import_countries AS SELECT * FROM import_country_rows")
    con.unregister("import_country_rows")


def _load_hits(con: duckdb.DuckDBPyConnection, table: TableFile, kind: str, client: str, source_id: int,
               countries: bool) -> int:
    ts = _timestamp(table, "accessed_at")
    if kind in ("download", "search"):
        agent, join = _agent_hash_sql(table), "LEFT JOIN synthetic_agent_ids a ON a.agent_hash = h.agent"
    else:
        agent, join = table.select("user_agent"), "LEFT JOIN agents a ON a.agent = h.agent"
    if kind == "download":
        sql = f"""
            SELECT {ts} AS ts, f.project, d.filename,
                   '/simple/' || coalesce(f.project, '_') || '/' || d.filename AS path,
                   {client} AS client, {table.select('accessed_by')} AS address, {agent} AS agent
            FROM {table.relation()} d LEFT JOIN files f ON f.filename = d.filename
        """
    else:
        project = canonical_sql(table.select("package")) if kind != "page" else "NULL::VARCHAR"
        path = {
            "search": f"'/simple/' || {project} || '/'",
            "project_page": f"'/project/' || {project} || '/'",
            "json": f"'/project/' || {project} || '/json/'",
            "page": "CASE WHEN starts_with(page, '/') THEN page ELSE '/' || page END",
        }[kind]
        sql = f"""
            SELECT {ts} AS ts, {project} AS project, NULL::VARCHAR AS filename, {path} AS path,
                   {client} AS client, {table.select('accessed_by')} AS address, {agent} AS agent
            FROM {table.relation()}
        """
    country, join_country = "", ""
    if countries:
        _register_countries(con, table)
        country, join_country = ", c.country", "LEFT JOIN import_countries c ON c.address = h.address"
    added = dimensions.add_wide_hits(con, f"""
        SELECT h.ts, '{kind}' AS kind, h.project, h.filename, h.path, h.client, a.agent_id, {source_id} AS source_id
               {country}
        FROM ({sql}) AS h {join} {join_country}
    """)
    if countries:
        con.execute("DROP TABLE import_countries")
    return added


def _skip_sql(table: TableFile) -> str:
    """piwheels' skip: a reason (schema 0.10+; '' when built) or a boolean (older)."""
    skip = table.select("skip")
    return (f"CASE WHEN {skip} IN ('', 'f', 'false') THEN NULL WHEN {skip} IN ('t', 'true') THEN 'skipped' "
            f"ELSE {skip} END")


def _load_projects(con: duckdb.DuckDBPyConnection, tables: dict[str, TableFile]) -> int:
    """Known projects and versions (packages.csv, versions.csv), with or without downloads."""
    if "versions" in tables:
        versions = tables["versions"]
        con.execute(f"""
            INSERT INTO project_versions (project, version, released, skip, yanked)
            SELECT {canonical_sql('package')}, version, {_timestamp(versions, 'released', required=False)},
                   {_skip_sql(versions)}, {_boolean(versions, 'yanked', required=False)}
            FROM {versions.relation()}
            QUALIFY row_number() OVER (PARTITION BY {canonical_sql('package')}, version) = 1
            ON CONFLICT (project, version) DO UPDATE SET
                released = excluded.released, skip = excluded.skip, yanked = excluded.yanked
        """)
    if "packages" in tables:
        packages = tables["packages"]
        con.execute(f"""
            INSERT INTO projects (project, name, skip, description)
            SELECT {canonical_sql('package')}, package, {_skip_sql(packages)},
                   nullif({packages.select('description')}, '')
            FROM {packages.relation()}
            QUALIFY row_number() OVER (PARTITION BY {canonical_sql('package')} ORDER BY package) = 1
            ON CONFLICT (project) DO UPDATE SET
                name = excluded.name, skip = excluded.skip, description = excluded.description
        """)
    con.execute("""
        INSERT INTO projects (project)
        SELECT DISTINCT project FROM project_versions
        WHERE project NOT IN (SELECT project FROM projects)
    """)
    parts = [f"SELECT {canonical_sql('package')} AS project FROM {tables[t].relation()}"
             for t in ("packages", "versions") if t in tables]
    if not parts:
        return 0
    return con.execute(f"SELECT count(DISTINCT project) FROM ({' UNION ALL '.join(parts)})").fetchall()[0][0]
