"""The store's schema: its tables, versioned, and the migrations between versions.

Times are stored as naive TIMESTAMP values in UTC (every connection sets the
session time zone to UTC, see connection.py).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb

from wheelstats.store.errors import NewerStore

HIT_KINDS = ("download", "search", "project_page", "json", "page")
# Line hashes are DuckDB's hash(): fingerprints made by a DuckDB whose hash differs are not comparable.
LINE_HASH_PROBE = "INSERT INTO meta SELECT 'line_hash_probe', hash('wheelstats line hash probe'::BLOB)::VARCHAR;"

SCHEMA_V1 = f"""
CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR);

CREATE TYPE hit_kind AS ENUM {HIT_KINDS!r};

-- One row per log source (file, stream, server, import), identified by the
-- hash of its first bytes; "offset" and "lines" are the checkpoint: how much
-- of the decompressed content has been consumed, committed with its rows.
CREATE SEQUENCE source_ids START 1;
CREATE TABLE sources (
    source_id   INTEGER PRIMARY KEY DEFAULT nextval('source_ids'),
    name        VARCHAR NOT NULL,
    head_hash   VARCHAR NOT NULL,
    head_len    BIGINT NOT NULL,
    log_format  VARCHAR NOT NULL,
    "offset"    BIGINT NOT NULL DEFAULT 0,
    lines       BIGINT NOT NULL DEFAULT 0,
    created_at  TIMESTAMP NOT NULL DEFAULT current_timestamp,
    updated_at  TIMESTAMP NOT NULL DEFAULT current_timestamp
);

-- One row per distinct user agent string, parsed once.
CREATE TABLE agents (
    agent_id              INTEGER PRIMARY KEY,
    agent                 VARCHAR NOT NULL UNIQUE,
    logged_agent          VARCHAR,   -- as written in an access log (quotes escaped): the join key
    product               VARCHAR,   -- first product token (pip, uv, Mozilla, Googlebot...)
    is_installer          BOOLEAN NOT NULL,
    is_bot                BOOLEAN NOT NULL,
    parse_error           VARCHAR,   -- why linehaul could not parse it, if it could not
    installer_name        VARCHAR,
    installer_version     VARCHAR,
    installer_subcommand  VARCHAR,
    python_version        VARCHAR,   -- major.minor, e.g. 3.10
    python_full           VARCHAR,
    implementation_name   VARCHAR,
    implementation_version VARCHAR,
    distro_name           VARCHAR,
    distro_version        VARCHAR,
    distro_id             VARCHAR,
    libc_lib              VARCHAR,
    libc_version          VARCHAR,
    os_name               VARCHAR,
    os_release            VARCHAR,
    cpu                   VARCHAR,   -- normalised: x86_64, aarch64, armv7l, armv6l, ...
    cpu_raw               VARCHAR,
    openssl_version       VARCHAR,
    setuptools_version    VARCHAR,
    rustc_version         VARCHAR,
    ci                    BOOLEAN
);

-- The catalogue of distribution files. Ingest adds every downloaded filename
-- (tags parsed from the name); imports add sizes, hashes and the build.
CREATE TABLE files (
    filename        VARCHAR PRIMARY KEY,
    project         VARCHAR,   -- canonical (PEP 503)
    version         VARCHAR,
    package_type    VARCHAR,   -- bdist_wheel, sdist, bdist_egg, or NULL if unparseable
    python_tag      VARCHAR,
    abi_tag         VARCHAR,
    platform_tag    VARCHAR,
    valid           BOOLEAN NOT NULL,
    size            BIGINT,
    sha256          VARCHAR,
    requires_python VARCHAR,
    build_id        BIGINT
);

CREATE TABLE builds (
    build_id    BIGINT PRIMARY KEY,
    project     VARCHAR NOT NULL,
    version     VARCHAR NOT NULL,
    abi_tag     VARCHAR,
    built_by    VARCHAR,
    built_at    TIMESTAMP,
    duration_s  DOUBLE,
    status      BOOLEAN
);

-- Every counted hit: GET, status 200, one of the five kinds.
CREATE TABLE hits (
    ts         TIMESTAMP NOT NULL,   -- UTC
    kind       hit_kind NOT NULL,
    project    VARCHAR,              -- canonical (PEP 503)
    filename   VARCHAR,              -- downloads only
    path       VARCHAR NOT NULL,
    client     VARCHAR,              -- keyed hash of the IP, the raw IP, or NULL (--ip)
    agent_id   INTEGER,
    bytes      BIGINT,
    referrer   VARCHAR,
    source_id  INTEGER NOT NULL,
    line_no    BIGINT                -- 1-based line in the source
);

-- Lines that were read but are not hits, counted per source and reason.
CREATE TABLE ignored (
    source_id INTEGER NOT NULL,
    reason    VARCHAR NOT NULL,
    lines     BIGINT NOT NULL
);

-- Lines that could not be parsed: counted per reason, the first few kept.
CREATE TABLE rejected (
    source_id INTEGER NOT NULL,
    reason    VARCHAR NOT NULL,
    lines     BIGINT NOT NULL
);
CREATE TABLE reject_samples (
    source_id INTEGER NOT NULL,
    reason    VARCHAR NOT NULL,
    line_no   BIGINT NOT NULL,
    line      VARCHAR NOT NULL    -- the line, cut to 1,000 characters, invalid bytes replaced
);
"""

# Each migration takes the store from version N-1 to N. MIGRATIONS[0] creates
# version 1 on an empty file. Append new steps; never edit a released one.
# Version 2: rollups of downloads kept current from a watermark (wheelstats.rollups).
SCHEMA_V2_ROLLUPS = """
CREATE TABLE rollup_state (
    name        VARCHAR PRIMARY KEY,
    hits_rowid  BIGINT NOT NULL,     -- the highest hits rowid rolled up
    hits_rows   BIGINT NOT NULL,     -- how many hits rows had rowid <= hits_rowid then
    refreshed_at TIMESTAMP NOT NULL,
    catalogue   VARCHAR              -- checksum of files and builds when rollup_saved was computed
);
-- Build time and energy saved per day, by each time-saved method.
CREATE TABLE rollup_saved (
    day DATE NOT NULL, ci BOOLEAN NOT NULL, bot BOOLEAN NOT NULL, method VARCHAR NOT NULL,
    seconds DOUBLE NOT NULL, joules DOUBLE NOT NULL
);
-- Downloads per day and agent facets ("unknown" when the agent is unknown).
CREATE TABLE rollup_totals (
    day DATE NOT NULL, python VARCHAR NOT NULL, cpu VARCHAR NOT NULL, distro VARCHAR NOT NULL,
    os VARCHAR NOT NULL, installer VARCHAR NOT NULL, ci BOOLEAN NOT NULL, bot BOOLEAN NOT NULL,
    downloads BIGINT NOT NULL
);
-- The same per project (written sorted by project, so one project's rows are few row groups).
CREATE TABLE rollup_projects (
    day DATE NOT NULL, project VARCHAR NOT NULL, python VARCHAR NOT NULL, cpu VARCHAR NOT NULL,
    distro VARCHAR NOT NULL, os VARCHAR NOT NULL, installer VARCHAR NOT NULL,
    ci BOOLEAN NOT NULL, bot BOOLEAN NOT NULL, downloads BIGINT NOT NULL
);
-- Downloads per month (its first day) and project, for long periods.
CREATE TABLE rollup_project_months (
    month DATE NOT NULL, project VARCHAR NOT NULL, ci BOOLEAN NOT NULL, bot BOOLEAN NOT NULL,
    downloads BIGINT NOT NULL
);
-- Downloads per day and file (versions, files, time saved), and per month.
CREATE TABLE rollup_files (
    day DATE NOT NULL, project VARCHAR, filename VARCHAR NOT NULL, ci BOOLEAN NOT NULL,
    bot BOOLEAN NOT NULL, downloads BIGINT NOT NULL
);
CREATE TABLE rollup_file_months (
    month DATE NOT NULL, project VARCHAR, filename VARCHAR NOT NULL, ci BOOLEAN NOT NULL,
    bot BOOLEAN NOT NULL, downloads BIGINT NOT NULL
);
-- Downloads per hour (today, this hour).
CREATE TABLE rollup_hours (
    hour TIMESTAMP NOT NULL, ci BOOLEAN NOT NULL, bot BOOLEAN NOT NULL, downloads BIGINT NOT NULL
);
-- Distinct downloading clients per day, project and facets (unique-client counts).
CREATE TABLE rollup_clients (
    day DATE NOT NULL, client UBIGINT NOT NULL, project VARCHAR, python VARCHAR NOT NULL,
    cpu VARCHAR NOT NULL, distro VARCHAR NOT NULL, os VARCHAR NOT NULL, installer VARCHAR NOT NULL,
    ci BOOLEAN NOT NULL, bot BOOLEAN NOT NULL
);
"""

# Version 3: projects and versions known to the index, with or without downloads
# (filled by `wheelstats import piwheels` from piwheels' packages and versions tables).
SCHEMA_V3_PROJECTS = """
CREATE TABLE projects (
    project     VARCHAR PRIMARY KEY,  -- canonical (PEP 503)
    name        VARCHAR,              -- as the index spelled it
    skip        VARCHAR,              -- why the project is not built; NULL if it is
    description VARCHAR
);
CREATE TABLE project_versions (
    project  VARCHAR NOT NULL,        -- canonical (PEP 503)
    version  VARCHAR NOT NULL,
    released TIMESTAMP,
    skip     VARCHAR,                 -- why the version is not built; NULL if it is
    yanked   BOOLEAN,
    PRIMARY KEY (project, version)
);
"""

# Version 4: what the store remembers about itself, each set once (wheelstats.store.settings):
# how client IPs were stored (ip_mode), the fingerprint of the IP key that hashed them, the site's name.
SCHEMA_V4_SETTINGS = """
CREATE TABLE settings (
    name    VARCHAR PRIMARY KEY,
    value   VARCHAR NOT NULL,
    set_at  TIMESTAMP NOT NULL DEFAULT current_timestamp
);
"""

# Version 5: content already ingested (wheelstats.ingest.chunks): each source's lines cut into
# chunks where the content says, each chunk's fingerprint kept, so that the same lines
# under another name or head (a concatenation, a copy) are recognised and not counted twice.
SCHEMA_V5_CHUNKS = """
CREATE TABLE chunks (
    source_id   INTEGER NOT NULL,
    first_line  BIGINT NOT NULL,    -- its first line's number in the source (1-based)
    lines       INTEGER NOT NULL,
    fingerprint UBIGINT NOT NULL,   -- over the hashes of its lines, in order
    starts      VARCHAR NOT NULL,   -- 'boundary' (a natural end before it), 'source_start' or 'cut'
    ends        VARCHAR NOT NULL,   -- 'boundary' (natural), 'source_end' (the end read so far) or 'cut'
    kept        INTEGER NOT NULL    -- how many of its lines this source holds (the rest were held already)
);
-- The chunk each source goes on with when more of it is read: it starts at
-- start_offset, and its lines up to the source's checkpoint are counted already.
CREATE TABLE open_chunks (
    source_id    INTEGER NOT NULL,
    first_line   BIGINT NOT NULL,
    start_offset BIGINT NOT NULL,
    starts       VARCHAR NOT NULL,
    quiet_before INTEGER NOT NULL,  -- lines since the last candidate end before it (capped)
    kept         INTEGER NOT NULL   -- of its lines counted already, how many this source holds
);
-- Lines read but not counted again: the store held them already, in source held_by.
CREATE TABLE already_ingested (
    source_id INTEGER NOT NULL,
    held_by   INTEGER NOT NULL,
    lines     BIGINT NOT NULL
);
""" + LINE_HASH_PROBE

# Version 6: narrow hits. Each hit is a row of numbers (hit_rows): the project, file, path,
# referrer and client as ids into dictionary tables. A client is its 64-bit keyed hash (with
# --ip raw, a hash of the address, which is kept beside it). The path is kept only where the
# hit's kind, project and file do not make it. `hits` becomes a view with the old columns.
SCHEMA_V6_HITS = """
CREATE TABLE hit_projects (project_id INTEGER PRIMARY KEY, project VARCHAR NOT NULL UNIQUE);  -- canonical
CREATE TABLE hit_files (file_id INTEGER PRIMARY KEY, filename VARCHAR NOT NULL UNIQUE);
CREATE TABLE hit_paths (path_id INTEGER PRIMARY KEY, path VARCHAR NOT NULL UNIQUE);
CREATE TABLE hit_referrers (referrer_id INTEGER PRIMARY KEY, referrer VARCHAR NOT NULL UNIQUE);
-- Clients: the keyed hash of the IP (store.privacy), and with --ip raw the address itself.
CREATE TABLE hit_clients (client_id INTEGER PRIMARY KEY, client UBIGINT NOT NULL UNIQUE, address VARCHAR);
-- Every counted hit: GET, status 200, one of the five kinds (appended only; rollups read it by rowid).
CREATE TABLE hit_rows (
    ts          TIMESTAMP NOT NULL,   -- UTC
    kind        hit_kind NOT NULL,
    project_id  INTEGER,              -- hit_projects
    file_id     INTEGER,              -- hit_files, downloads only
    path_id     INTEGER,              -- hit_paths; NULL when the path is the one implied_path_sql gives
    client_id   INTEGER,              -- hit_clients; NULL with --ip none
    agent_id    INTEGER,
    bytes       BIGINT,
    referrer_id INTEGER,              -- hit_referrers
    source_id   INTEGER NOT NULL,
    line_no     BIGINT                -- 1-based line in the source
);
"""


def client_text_sql(number: str) -> str:
    """SQL for a client number as the hits have always shown a keyed hash: 16 hex digits."""
    return f"format('{{:016x}}', {number})"


def implied_path_sql(kind: str, project: str, filename: str) -> str:
    """SQL for the path a hit of each kind has unless its row says otherwise (NULL for a page)."""
    return f"""CASE {kind}::VARCHAR
    WHEN 'download' THEN '/simple/' || {project} || '/' || {filename}
    WHEN 'search' THEN '/simple/' || {project} || '/'
    WHEN 'project_page' THEN '/project/' || {project} || '/'
    WHEN 'json' THEN '/project/' || {project} || '/json/' END"""


# The hits as they were before version 6, column for column.
HITS_VIEW = f"""
CREATE VIEW hits AS
SELECT h.ts, h.kind, p.project, f.filename,
       coalesce(pa.path, {implied_path_sql("h.kind", "p.project", "f.filename")}) AS path,
       coalesce(c.address, {client_text_sql('c.client')}) AS client,
       h.agent_id, h.bytes, r.referrer, h.source_id, h.line_no
FROM hit_rows h
LEFT JOIN hit_projects p ON p.project_id = h.project_id
LEFT JOIN hit_files f ON f.file_id = h.file_id
LEFT JOIN hit_paths pa ON pa.path_id = h.path_id
LEFT JOIN hit_referrers r ON r.referrer_id = h.referrer_id
LEFT JOIN hit_clients c ON c.client_id = h.client_id
"""


def empty_rollups(con: duckdb.DuckDBPyConnection) -> None:
    """Empty every rollup table and the rollups' state (a migration that changes them): the next refresh
    builds them again."""
    for (table,) in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
        "AND starts_with(table_name, 'rollup_')"
    ).fetchall():
        con.execute(f"DELETE FROM {table}")


def narrow_hits(con: duckdb.DuckDBPyConnection) -> None:
    """Version 6: the wide hits table becomes hit_rows and its dictionaries, and `hits` a view.

    The rollups are emptied: their client numbers were hashes of the old text, and hit_rows'
    rowids are new; the next refresh builds them again from the hits.
    """
    from wheelstats.store import dimensions  # it needs this module's tables, not the other way round

    ip_mode = (con.execute("SELECT value FROM settings WHERE name = 'ip_mode'").fetchall() or [None])[0]
    con.execute(SCHEMA_V6_HITS)
    con.execute("ALTER TABLE hits RENAME TO wide_hits")
    dimensions.add_wide_hits(con, "SELECT * FROM wide_hits ORDER BY rowid", ip_mode=ip_mode[0] if ip_mode else None)
    con.execute("DROP TABLE wide_hits")
    con.execute(HITS_VIEW)
    empty_rollups(con)


# Version 7: what the wheel builder (wheelstats.builder) records of each build, beside what
# imports give: builds keep their builder's platform and versions, why a failure failed, and
# where the log is; each wheel's Requires-Dist, one row per requirement.
SCHEMA_V7_BUILDER = """
ALTER TABLE builds ADD COLUMN platform_tag VARCHAR;    -- the builder's platform, e.g. linux_x86_64
ALTER TABLE builds ADD COLUMN python_version VARCHAR;  -- the Python that built it, e.g. 3.11.7
ALTER TABLE builds ADD COLUMN pip_version VARCHAR;     -- the pip that built it
ALTER TABLE builds ADD COLUMN reason VARCHAR;          -- a failure's cause: timeout, memory, cpu or error
ALTER TABLE builds ADD COLUMN exit_code INTEGER;       -- pip's exit status; negative: the signal that ended it
ALTER TABLE builds ADD COLUMN log_path VARCHAR;        -- the gzipped log, relative to the store's folder
CREATE TABLE file_requirements (
    filename    VARCHAR NOT NULL,  -- a wheel in files
    requirement VARCHAR NOT NULL,  -- one Requires-Dist value of its METADATA, as written
    project     VARCHAR NOT NULL,  -- the project it requires, canonical (PEP 503)
    marker      VARCHAR,           -- its environment marker, if any (extra == "test" for an extra's)
    PRIMARY KEY (filename, requirement)
);
"""

# Version 8: a country for every hit (wheelstats.parsing.countries), looked up at ingest before the
# address is hashed: two characters, an ISO 3166-1 alpha-2 code, XL (a local address) or ZZ (no
# country known); NULL for hits stored before (or with --country off). So that every page can be
# filtered by country, the rollups that pages filter by project or file gain the country as a key,
# and the small ones that unfiltered pages read most (totals, hours, months) each get a twin keyed by
# country too, read only for a country (they stay small: a country multiplies their rows). The
# rollups are emptied, and the next refresh builds them again from the hits.
ROLLUPS_WITH_COUNTRY = ("rollup_projects", "rollup_files", "rollup_clients", "rollup_saved")
COUNTRY_TWINS = {
    "rollup_totals": "rollup_country_totals",
    "rollup_hours": "rollup_country_hours",
    "rollup_project_months": "rollup_country_project_months",
    "rollup_file_months": "rollup_country_file_months",
}


# The hits with their country (version 8 on).
HITS_VIEW_WITH_COUNTRY = HITS_VIEW.replace("CREATE VIEW hits", "CREATE OR REPLACE VIEW hits").replace(
    "h.source_id, h.line_no\n", "h.source_id, h.line_no, h.country\n")


def add_countries(con: duckdb.DuckDBPyConnection) -> None:
    """Version 8: hit_rows.country (NULL for the hits already stored), shown by the `hits` view; rollups
    keyed on it."""
    con.execute("ALTER TABLE hit_rows ADD COLUMN country VARCHAR")  # alpha-2, XL or ZZ; NULL: not looked up
    con.execute(HITS_VIEW_WITH_COUNTRY)
    for table in ROLLUPS_WITH_COUNTRY:
        con.execute(f"ALTER TABLE {table} ADD COLUMN country VARCHAR")
    for table, twin in COUNTRY_TWINS.items():
        con.execute(f"CREATE TABLE {twin} AS SELECT *, NULL::VARCHAR AS country FROM {table} LIMIT 0")
    empty_rollups(con)


# Version 9: the big daily rollups lose the country again. Keyed by country, rollup_projects and rollup_files
# grew by ten times and more (every project-day is downloaded from many countries), and writing their rows
# was most of what countries cost ingest. Unfiltered pages read them as before; a figure of one country
# (or by country) that needs a project-day or file-day reads the country twins where their months suffice,
# and the period's hits for the rest (rollups.filters.table_of). rollup_saved, made from rollup_files, loses
# it too: one country's time saved is priced from its files' downloads. rollup_clients keeps it (a client
# is in one country: the key adds no rows). The rollups are emptied, and the next refresh builds them again.
ROLLUPS_WITHOUT_COUNTRY = ("rollup_projects", "rollup_files", "rollup_saved")
# What those figures read in their place: the downloads among the hits, each with its time and day, project,
# file, client (its number: distinct numbers are distinct clients), country and agent. The day is computed on
# hit_rows itself, before the joins, so that a period's condition on it is applied as the rows are scanned
# (through the `hits` view it is applied after its five joins: ten times slower). A lake's reader store defines
# the same view over the lake's hits (lake.rollups.reader_store). (Version 11 added the time and the client.)
HIT_DOWNLOADS_VIEW = """
CREATE OR REPLACE VIEW hit_downloads AS
SELECT h.ts, h.day, p.project, f.filename, h.client, h.country, h.agent_id
FROM (SELECT ts, ts::DATE AS day, project_id, file_id, client_id AS client, country, agent_id
      FROM hit_rows WHERE kind = 'download') h
LEFT JOIN hit_projects p ON p.project_id = h.project_id LEFT JOIN hit_files f ON f.file_id = h.file_id
"""


def drop_big_rollups_country(con: duckdb.DuckDBPyConnection) -> None:
    """Version 9: rollup_projects, rollup_files and rollup_saved without their country (emptied, to be rebuilt);
    the view hit_downloads that figures by country read instead."""
    empty_rollups(con)
    for table in ROLLUPS_WITHOUT_COUNTRY:
        con.execute(f"ALTER TABLE {table} DROP COLUMN country")
    con.execute(HIT_DOWNLOADS_VIEW)


# Version 10: for each rollup kept in another order than its time's, the first day merged into it since it
# was last written in order: its rows from that day on are out of order (rollups.refresh compacts it).
SCHEMA_V10_ROLLUP_ORDER = """
CREATE TABLE rollup_order (
    rollup        VARCHAR PRIMARY KEY,
    touched_since DATE NOT NULL
);
"""


# Version 11: the clients of each day, and of each month by facet, country and project, as sets
# (rollups.client_sets), so that distinct clients are a union of bitmaps instead of a count over every
# client-day row. The rollups are emptied, and the next refresh builds them again, the sets with them.
SCHEMA_V11_CLIENT_SETS = """
CREATE TABLE rollup_client_sets (
    grain     VARCHAR NOT NULL,   -- 'day' or 'month'
    start     DATE NOT NULL,      -- the day, or the month's first day
    ci        BOOLEAN NOT NULL,
    bot       BOOLEAN NOT NULL,
    dimension VARCHAR NOT NULL,   -- 'total', a facet (python, cpu, distro, os, installer), 'country' or 'project'
    value     VARCHAR,            -- its value ('' for total; NULL: a country never looked up, no project)
    -- A roaring bitmap (portable format) of the clients' numbers. Kept uncompressed: bitmaps hardly compress,
    -- and DuckDB's ZSTD for long blobs made a figure's read of its few sets three times slower.
    clients   BLOB NOT NULL USING COMPRESSION uncompressed
);
"""


def add_client_sets(con: duckdb.DuckDBPyConnection) -> None:
    """Version 11: rollup_client_sets, built with the other rollups by the next refresh; hit_downloads with the
    time and client of each download (this hour's clients are counted from it)."""
    con.execute(SCHEMA_V11_CLIENT_SETS)
    con.execute(HIT_DOWNLOADS_VIEW)
    empty_rollups(con)


# Version 12: narrower hits (a third fewer bytes for the hits ingest writes, see docs/ingest.md).
# - A hit's time is kept to the second (TIMESTAMP_S: access logs write whole seconds, and the figures count days
#   and hours), so that consecutive times bit-pack to a bit or two instead of the microseconds' twenty.
# - A file has a size (hit_files.size): the bytes its downloads sent most often in the ingest block (or import) it
#   first turns up in. A download keeps its bytes as the difference from it (0: the whole file), a column that
#   compresses to nothing where every download of a file sends it whole.
# - Ingest writes each block's hits grouped by kind, in line order within a kind: runs of one kind leave its
#   columns constant or empty (a download's bytes and path, a page's file).
# The views show the hits as before (the time as a TIMESTAMP, the bytes as sent); row ids and rollups stay.
# (A download's project could have been its file's too, but a figure of one project over the hits then joins
# every download with its file before it can filter: two times slower.)
HITS_VIEW_V12 = HITS_VIEW_WITH_COUNTRY.replace("SELECT h.ts, h.kind,", "SELECT h.ts::TIMESTAMP AS ts, h.kind,").replace(
    "h.agent_id, h.bytes,", "h.agent_id, h.bytes + coalesce(f.size, 0) AS bytes,")
HIT_DOWNLOADS_VIEW_V12 = HIT_DOWNLOADS_VIEW.replace("FROM (SELECT ts, ts::DATE AS day,",
                                                    "FROM (SELECT ts::TIMESTAMP AS ts, ts::DATE AS day,")


def to_the_second_sql(ts: str) -> str:
    """SQL for a time cut to its whole second, as hit_rows keeps it (a plain cast to TIMESTAMP_S would round
    23:59:59.7 into the next day)."""
    return f"date_trunc('second', {ts}::TIMESTAMP)::TIMESTAMP_S"


def narrower_hits(con: duckdb.DuckDBPyConnection) -> None:
    """Version 12: hit_rows.ts to the second (a fraction of a second, from a log that writes one, is dropped);
    hit_files.size, and downloads' bytes as the difference from it; the views as before."""
    con.execute(f"ALTER TABLE hit_rows ALTER ts SET DATA TYPE TIMESTAMP_S USING {to_the_second_sql('ts')}")
    con.execute("ALTER TABLE hit_files ADD COLUMN size BIGINT")
    con.execute("""UPDATE hit_files SET size = d.size
        FROM (SELECT file_id, mode(bytes) AS size FROM hit_rows WHERE file_id IS NOT NULL GROUP BY file_id) d
        WHERE hit_files.file_id = d.file_id""")
    con.execute("""UPDATE hit_rows SET bytes = hit_rows.bytes - f.size FROM hit_files f
        WHERE hit_rows.file_id = f.file_id AND f.size IS NOT NULL""")
    con.execute(HITS_VIEW_V12)
    con.execute(HIT_DOWNLOADS_VIEW_V12)


# Version 13: each day's distinct clients under each state of the toggles, counted from its sets when they change
# (rollups.client_sets.write_day_counts): a series of clients by day reads them instead of every day's sets. A store's
# next refresh counts the days of the sets it already holds.
SCHEMA_V13_CLIENT_DAY_COUNTS = """
CREATE TABLE rollup_client_day_counts (
    day       DATE NOT NULL,
    with_ci   BOOLEAN NOT NULL,   -- CI's downloads counted
    with_bots BOOLEAN NOT NULL,   -- bots' and mirrors' downloads counted
    clients   BIGINT NOT NULL
);
"""


# Version 14: downloads per day and project alone (no facets), written in day order: a figure over a window of days
# across every project (spikes' rising projects, trends' previous period, top projects and the catalogue's counts
# for the days at either end of a period) reads the row groups of those days, where rollup_projects, sorted by
# project for one project's pages, is read whole (7 million rows on the dashboard's benchmark). Made from
# rollup_projects, which holds the same downloads by facet, so the rollups stay current.
SCHEMA_V14_PROJECT_DAYS = """
CREATE TABLE rollup_project_days (
    day DATE NOT NULL, project VARCHAR NOT NULL, ci BOOLEAN NOT NULL, bot BOOLEAN NOT NULL, downloads BIGINT NOT NULL
);
INSERT INTO rollup_project_days
    SELECT day, project, ci, bot, sum(downloads)::BIGINT FROM rollup_projects GROUP BY ALL ORDER BY day;
"""


# Version 15: the distinct clients' rollup keeps an agent's facets as one number (rollup_facets: each combination
# of them once) instead of seven columns: an ingest's refresh finds the new downloads' distinct rows on five
# columns instead of eleven, and writes them, in less than half the time (5 million lines). `rollup_clients` is
# now the view of its rows with their facets, as the figures read it. Made from the table it was, so the rollups
# stay current.
FACETS = ("python", "cpu", "distro", "os", "installer")  # an agent's facets, as the rollups name them
FACET_COLUMNS = ", ".join((*FACETS, "ci", "bot"))  # with its CI and bot flags: one rollup_facets row
SCHEMA_V15_CLIENT_FACETS = f"""
CREATE TABLE rollup_facets (
    facet_id INTEGER PRIMARY KEY, python VARCHAR NOT NULL, cpu VARCHAR NOT NULL, distro VARCHAR NOT NULL,
    os VARCHAR NOT NULL, installer VARCHAR NOT NULL, ci BOOLEAN NOT NULL, bot BOOLEAN NOT NULL
);
CREATE TABLE rollup_client_rows (
    day DATE NOT NULL, client UBIGINT NOT NULL, project VARCHAR, facet_id INTEGER NOT NULL, country VARCHAR
);
INSERT INTO rollup_facets
    SELECT row_number() OVER (ORDER BY {FACET_COLUMNS})::INTEGER, *
    FROM (SELECT DISTINCT {FACET_COLUMNS} FROM rollup_clients);
INSERT INTO rollup_client_rows
    SELECT r.day, r.client, r.project, f.facet_id, r.country
    FROM rollup_clients r JOIN rollup_facets f USING ({FACET_COLUMNS}) ORDER BY r.day;
DROP TABLE rollup_clients;
CREATE VIEW rollup_clients AS
    SELECT r.day, r.client, r.project, f.python, f.cpu, f.distro, f.os, f.installer, f.ci, f.bot, r.country
    FROM rollup_client_rows r JOIN rollup_facets f USING (facet_id);
"""

# Version 16: the clients' dictionary without indexes. Its primary key and unique number were each an ART index
# in DuckDB, and an index's nodes are read into memory as keys are looked up or added: a batch of new clients,
# their numbers random, reads nearly all of it. Forty million many-clients lines (8.5 million clients) held
# 292-307 MiB of indexes at 4.3 million, within the ingest's 384 MB, and the run peaked over 1 GiB (946 MiB
# without them, in 326 s against 416). Each number is still there once: the one process that writes a store looks
# its clients up (a join built on them) and adds only those it does not hold (store.dimensions.client_ids).
SCHEMA_V16_CLIENTS_UNINDEXED = """
CREATE TABLE hit_clients_unindexed (client_id INTEGER NOT NULL, client UBIGINT NOT NULL, address VARCHAR);
INSERT INTO hit_clients_unindexed SELECT client_id, client, address FROM hit_clients ORDER BY client_id;
DROP TABLE hit_clients;
ALTER TABLE hit_clients_unindexed RENAME TO hit_clients;
"""


MIGRATIONS: list[str | Callable[[duckdb.DuckDBPyConnection], None]] = [
    SCHEMA_V1, SCHEMA_V2_ROLLUPS, SCHEMA_V3_PROJECTS, SCHEMA_V4_SETTINGS, SCHEMA_V5_CHUNKS, narrow_hits,
    SCHEMA_V7_BUILDER, add_countries, drop_big_rollups_country, SCHEMA_V10_ROLLUP_ORDER, add_client_sets,
    narrower_hits, SCHEMA_V13_CLIENT_DAY_COUNTS, SCHEMA_V14_PROJECT_DAYS, SCHEMA_V15_CLIENT_FACETS,
    SCHEMA_V16_CLIENTS_UNINDEXED,
]
# The table that holds the hits, and the view that shows them with their old columns.
HITS_TABLE = "hit_rows"
ROW_GROUP_ROWS = 122_880  # DuckDB's rows in a row group (its default), the unit it compresses and skips by
SCHEMA_VERSION = len(MIGRATIONS)

# A new store is made in one script, the schema its migrations lead to (fifteen steps took 0.15 s of every
# new store, the script 0.03 s). scripts/schema-sql writes it from a database migrated step by step;
# tests/store/test_store.py checks that the two make the same store.
NEW_STORE_SQL_PATH = Path(__file__).with_name("schema.sql")


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'meta'"
    ).fetchall()[0][0]
    if not exists:
        return 0
    rows = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()
    return int(rows[0][0]) if rows else 0


def migrate(con: duckdb.DuckDBPyConnection) -> int:
    """Bring the schema up to SCHEMA_VERSION: a new store at once, an older one a transaction per step."""
    current = schema_version(con)
    if current > SCHEMA_VERSION:
        raise NewerStore(current, SCHEMA_VERSION)
    if current == 0:
        con.execute("BEGIN")
        con.execute(NEW_STORE_SQL_PATH.read_text())
        con.execute(LINE_HASH_PROBE)
        _set_version(con, SCHEMA_VERSION)
        con.execute("COMMIT")
        return SCHEMA_VERSION
    for version in range(current + 1, SCHEMA_VERSION + 1):
        con.execute("BEGIN")
        step = MIGRATIONS[version - 1]
        step(con) if callable(step) else con.execute(step)
        _set_version(con, version)
        con.execute("COMMIT")
    return SCHEMA_VERSION


def _set_version(con: duckdb.DuckDBPyConnection, version: int) -> None:
    con.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(version)])


def catalog_sql(con: duckdb.DuckDBPyConnection) -> str:
    """The statements that make the database's types, sequences, tables, indexes and views, one a line."""
    def statements(catalog: str, where: str = "true") -> list[str]:
        return [sql for (sql,) in con.execute(
            f"SELECT sql FROM {catalog}() WHERE {where} AND database_name = current_database() ORDER BY 1").fetchall()]

    def type_sql(name: str, logical_type: str) -> str:
        if logical_type != "ENUM":
            raise ValueError(f"catalog_sql writes ENUM types only, not {name}'s {logical_type}")
        [(values,)] = con.execute(f"SELECT enum_range(NULL::{name})").fetchall()
        return f"CREATE TYPE {name} AS ENUM ({', '.join(_sql_text(value) for value in values)});"

    types = [type_sql(*row) for row in con.execute(
        "SELECT type_name, logical_type FROM duckdb_types() WHERE NOT internal "
        "AND database_name = current_database() ORDER BY 1").fetchall()]
    return "\n".join([
        *types,
        *statements("duckdb_sequences"),
        *statements("duckdb_tables", "NOT internal"),
        *statements("duckdb_indexes", "sql IS NOT NULL"),
        *statements("duckdb_views", "NOT internal"),
    ]) + "\n"


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
