"""A lake's layout: a folder with a manifest, one folder per table, a ledger of committed jobs.

    LAKE/_lake.json                          the manifest: what this folder is, its schema version
    LAKE/_ledger/00000001.json ...           one entry per committed job, in order (ledger.py)
    LAKE/_staging/<job>/                     a job's files before they are published
    LAKE/hits/date=YYYY-MM-DD/<job>-N.parquet    hits, partitioned by their UTC day (appended)
    LAKE/<table>/<job>-N.parquet             every other table: the last job that wrote it holds it whole
    LAKE/rollup_*/<job>-N.parquet            the dashboard's rollups, made from the hits (rollups.py)

Hits carry PyPI's field names (`file_downloads`) where the two overlap:
timestamp, url, project, file{filename, project, version, type} and
details{installer, python, implementation, distro, system, cpu, ...}, beside
the store's own (kind, client, agent_id, bytes, referrer, source_id, line_no).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from wheelstats.rollups import refresh

# What each version of the layout added. A lake of an earlier version is read as it is, and the next job that
# writes it brings its manifest to this version; no file is rewritten: a column a version added to the hits is
# read as null from the files written before it (lake_hits_sql).
LAKE_VERSIONS = {
    1: "hits, the small tables, the ledger",
    2: "hits carry country_code; the dashboard's rollup_* tables",
}
LAKE_VERSION = max(LAKE_VERSIONS)
MANIFEST = "_lake.json"
LEDGER = "_ledger"
STAGING = "_staging"
LAKE_FORMAT = "wheelstats-lake"
# A URI's scheme (s3a://, hdfs://), also as a path spells it: Path("s3a://bucket") is s3a:/bucket.
URI_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:/")

HITS = "hits"
# The tables a job rewrites whole, small beside the hits: dimensions, catalogue, the account, settings.
SNAPSHOT_TABLES = (
    "agents", "files", "builds", "file_requirements", "sources", "settings",
    "ignored", "rejected", "already_ingested", "reject_samples",
)
# The dashboard's rollups (rollups.refresh), made from the lake's hits by a job of their own (lake/rollups.py),
# and the number of ledger entries they were made from.
ROLLUP_BASIS = "rollup_basis"
ROLLUP_TABLES = (*refresh.ROLLUP_TABLES, "rollup_saved", ROLLUP_BASIS)
TABLES = (HITS, *SNAPSHOT_TABLES, *ROLLUP_TABLES)


class LakeError(ValueError):
    """A folder that cannot be used as a lake, said with why and what to do."""


@dataclass(frozen=True, slots=True)
class Lake:
    """A lake at a local folder."""

    root: Path

    @classmethod
    def at(cls, uri: str | os.PathLike) -> Lake:
        text = os.fspath(uri)
        if text.startswith("file:/"):
            text = "/" + text[len("file:"):].lstrip("/")
        elif URI_SCHEME.match(text):
            scheme, rest = text.split(":", 1)
            raise LakeError(f"{scheme}://{rest.lstrip('/')} is not a folder, and a lake is one (a path or file://; "
                            f"on a cluster, mounted at the same path on every machine): {scheme}:// is not read "
                            "yet. Mount it and give its folder.")
        return cls(Path(text))

    def uri(self, relative: str | os.PathLike = "") -> str:
        """A file or folder of the lake (relative to it) as a file: URI for Spark, the same on every machine of a
        cluster: a bare path would be read from the cluster's default file system (HDFS on YARN)."""
        return "file://" + str((self.root / relative).absolute())

    @property
    def manifest(self) -> Path:
        return self.root / MANIFEST

    @property
    def ledger(self) -> Path:
        return self.root / LEDGER

    @property
    def staging(self) -> Path:
        return self.root / STAGING

    def exists(self) -> bool:
        return self.manifest.is_file()

    def create(self) -> None:
        """Make the folder a lake (an empty folder, or none yet); an existing lake is left as it is."""
        if self.exists():
            self.check()
            return
        if self.root.exists() and not self.root.is_dir():
            raise LakeError(f"{str(self.root)!r} is a file, not a folder. Give a folder for the lake.")
        if self.root.is_dir() and any(self.root.iterdir()):
            raise LakeError(f"{str(self.root)!r} is a folder with other files in it, not a lake. "
                            "Give an empty or new folder.")
        self.ledger.mkdir(parents=True, exist_ok=True)
        write_atomically(self.manifest, {"format": LAKE_FORMAT, "version": LAKE_VERSION})

    def check(self) -> int:
        """The lake's layout version; LakeError unless the folder is a lake this wheelstats reads."""
        if not self.exists():
            raise LakeError(f"{str(self.root)!r} is not a lake (it has no {MANIFEST}). "
                            "Make one with `wheelstats export --db STORE --lake FOLDER`.")
        try:
            manifest = json.loads(self.manifest.read_text())
        except (OSError, ValueError) as error:
            raise LakeError(f"{str(self.manifest)!r} cannot be read ({error}); the lake is damaged.") from None
        if manifest.get("format") != LAKE_FORMAT:
            raise LakeError(f"{str(self.root)!r} is not a wheelstats lake ({MANIFEST} says otherwise).")
        version = manifest.get("version")
        if version not in LAKE_VERSIONS:
            raise LakeError(f"{str(self.root)!r} is a lake of version {version}; this wheelstats reads versions "
                            f"up to {LAKE_VERSION}. Use the wheelstats that wrote it, or a newer one.")
        return version

    def upgrade(self) -> None:
        """Bring a lake of an earlier version to this one (a writing job does, holding the lake's lock)."""
        if self.check() < LAKE_VERSION:
            write_atomically(self.manifest, {"format": LAKE_FORMAT, "version": LAKE_VERSION})


def write_atomically(path: Path, data: dict) -> None:
    """Write `data` as JSON at `path` all at once: a reader sees the old file or the whole new one."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(temporary, "w") as file:
        json.dump(data, file, indent=1, sort_keys=True)
        file.flush()
        os.fsync(file.fileno())
    os.rename(temporary, path)
