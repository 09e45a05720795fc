"""The history as a piwheels dump: CSV files exactly as docs/piwheels-dump.md says.

Like PostgreSQL's ``COPY ... WITH (FORMAT csv, HEADER)``: a header row, booleans ``t``/``f``,
NULL as an empty unquoted field, an empty string as ``""``, fields quoted only when
they hold a comma, quote or newline, timestamps ``YYYY-MM-DD HH:MM:SS`` in UTC and
intervals in PostgreSQL's text form.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from packaging.utils import canonicalize_name

from wheelstats.simulate.agents import ClientProfile
from wheelstats.simulate.catalogue import Catalogue
from wheelstats.simulate.causes import Upgrade
from wheelstats.simulate.durations import interval_text
from wheelstats.simulate.logwrite import lines_buffer
from wheelstats.simulate.traffic import day_date

HEADERS = {
    "packages": "package,skip",
    "versions": "package,version,released,skip",
    "builds": "build_id,package,version,built_by,built_at,duration,status,abi_tag",
    "files": "filename,build_id,filesize,filehash,package_tag,package_version_tag,py_version_tag,abi_tag,"
             "platform_tag,requires_python",
    "downloads": "filename,accessed_by,accessed_at,arch,distro_name,distro_version,os_name,os_version,py_name,"
                 "py_version,installer_name,installer_version,setuptools_version",
    "searches": "package,accessed_by,accessed_at,arch,distro_name,distro_version,os_name,os_version,py_name,"
                "py_version,installer_name,installer_version,setuptools_version",
    "project_page_hits": "package,accessed_by,accessed_at,user_agent",
    "project_json_downloads": "package,accessed_by,accessed_at,user_agent",
    "web_page_hits": "page,accessed_by,accessed_at,user_agent",
    "dependencies": "filename,tool,dependency",
}
_CLOCK = pa.array([f" {s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86400)])


def csv_field(value: object) -> str:
    """One field as PostgreSQL's CSV COPY writes it (None is NULL)."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if text == "" or any(c in text for c in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


def csv_row(*values: object) -> str:
    return ",".join(csv_field(v) for v in values) + "\n"


def _timestamp(day: int, second: int) -> str:
    return datetime.fromtimestamp(day * 86400 + second, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def write_catalogue(folder: Path, catalogue: Catalogue, durations_ds: np.ndarray,
                    upgrade: Upgrade | None = None) -> dict[str, int]:
    """packages, versions, builds, files and dependencies; returns rows written per table.

    An upgraded application (the spike's cause) is a package piwheels built too: its
    rows follow the catalogue's, and its wheel's dependencies are the only ones listed
    (piwheels' dependencies table: pip requirements as canonical names).
    """
    folder.mkdir(parents=True, exist_ok=True)
    rows = {}
    build_id = len(catalogue.build_abi) + 1  # the application's build, after the catalogue's
    with open(folder / "packages.csv", "w", newline="") as out:
        out.write(HEADERS["packages"] + "\n")
        for name in catalogue.names:
            out.write(csv_row(name, ""))
        if upgrade is not None:
            out.write(csv_row(upgrade.name, ""))
        rows["packages"] = len(catalogue.names) + (upgrade is not None)
    with open(folder / "versions.csv", "w", newline="") as out:
        out.write(HEADERS["versions"] + "\n")
        count = 0
        for p, versions in enumerate(catalogue.versions):
            for v, version in enumerate(versions):
                out.write(csv_row(catalogue.names[p], version, _timestamp(int(catalogue.release_day[p, v]), 43200 + p % 3600), ""))
                count += 1
        if upgrade is not None:
            out.write(csv_row(upgrade.name, upgrade.version, f"{upgrade.released} 14:20:00", ""))
        rows["versions"] = count + (upgrade is not None)
    with open(folder / "builds.csv", "w", newline="") as out:
        out.write(HEADERS["builds"] + "\n")
        for b in range(len(catalogue.build_abi)):
            p = int(catalogue.build_project[b])
            out.write(csv_row(
                b + 1, catalogue.names[p], catalogue.versions[p][catalogue.build_version[b]], 1 + b % 14,
                _timestamp(int(catalogue.build_day[b]), int(catalogue.build_second[b])),
                interval_text(int(durations_ds[b])), "t" if catalogue.build_ok[b] else "f", catalogue.build_abi[b]))
        if upgrade is not None:
            out.write(csv_row(build_id, upgrade.name, upgrade.version, 1, f"{upgrade.released} 15:02:41",
                              "00:00:41.3", "t", "cp35m"))
        rows["builds"] = len(catalogue.build_abi) + (upgrade is not None)
    with open(folder / "files.csv", "w", newline="") as out:
        out.write(HEADERS["files"] + "\n")
        for f, filename in enumerate(catalogue.file_name):
            package_tag, version_tag = filename.split("-")[:2]
            py_tag, abi, platform = catalogue.file_tags[f]
            requires = ">=3.5" if py_tag == "py3" else None
            out.write(csv_row(filename, int(catalogue.file_build[f]) + 1, int(catalogue.file_size[f]),
                              catalogue.file_hash[f], package_tag, version_tag, py_tag, abi, platform, requires))
        if upgrade is not None:
            wheel = upgrade.wheel
            out.write(csv_row(wheel, build_id, 3_270_881, hashlib.sha256(wheel.encode()).hexdigest(),
                              wheel.split("-")[0], upgrade.version, "py2.py3", "none", "any", ">=2.7"))
        rows["files"] = len(catalogue.file_name) + (upgrade is not None)
    with open(folder / "dependencies.csv", "w", newline="") as out:
        out.write(HEADERS["dependencies"] + "\n")
        requires = [canonicalize_name(name) for name in upgrade.requires] if upgrade is not None else []
        for dependency in requires:
            out.write(csv_row(upgrade.wheel, "pip", dependency))
        rows["dependencies"] = len(requires)
    return rows


def agent_columns(profiles: tuple[ClientProfile | None, ...]) -> pa.Array:
    """Per agent id: the CSV text of arch .. setuptools_version (downloads, searches)."""
    texts = []
    for profile in profiles:
        if profile is None:
            texts.append(",,,,,,,,,")
            continue
        texts.append(",".join(csv_field(v) for v in (
            profile.cpu or None, profile.distro_name, profile.distro_version, "Linux", profile.kernel, "CPython",
            profile.python, profile.installer, profile.installer_version, profile.setuptools)))
    return pa.array(texts)


def quoted_agents(agents: tuple[str, ...]) -> pa.Array:
    return pa.array([csv_field(agent) for agent in agents])


def access_rows(first: pa.Array, clients: pa.Array, epoch: np.ndarray, tail: pa.Array) -> pa.Array:
    """``first,accessed_by,accessed_at,tail`` rows, newline-terminated."""
    days = epoch // 86400
    unique_days, day_index = np.unique(days, return_inverse=True)
    day_text = pa.array([day_date(int(d)).isoformat() for d in unique_days]).take(pa.array(day_index))
    stamp = pc.binary_join_element_wise(day_text, _CLOCK.take(pa.array(epoch % 86400)), "")
    return pc.binary_join_element_wise(first, ",", clients, ",", stamp, ",", tail, "\n", "")


class TableWriter:
    """An open dump table: header written on open, rows appended as Arrow text."""

    def __init__(self, folder: Path, table: str) -> None:
        self.out: BinaryIO = open(folder / f"{table}.csv", "wb")
        self.out.write((HEADERS[table] + "\n").encode())
        self.rows = 0

    def write(self, rows: pa.Array) -> None:
        if len(rows):
            self.out.write(lines_buffer(rows))
            self.rows += len(rows)

    def close(self) -> None:
        self.out.close()
