"""What to build: the releases of the source that this builder's ABI still needs, newest first.

A release (project, version) is pending when the source has an sdist of it and

    - no wheel in the source installs on this builder already,
    - neither the project nor the version is skipped (`wheelstats skip`),
    - no build of it succeeded with a pure wheel (abi `none`: it serves every ABI),
    - and this ABI has not attempted it: a success counts for good; a failure counts
      while the same Python and pip would build it again, so a new Python or pip
      retries it, and so does --retry-failed (piwheels never retries).

That is piwheels' `builds_pending`, ordered like it: newest release first (the
sdist's upload time, then the version). SPECs narrow the queue to projects
(`name`) or single releases (`name==version`); what they name but the queue holds
back is said, with why.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import duckdb
from packaging.utils import InvalidName, canonicalize_name
from packaging.version import InvalidVersion, Version

from wheelstats.builder.identity import BuilderIdentity
from wheelstats.builder.sources import Release


class InvalidSpec(ValueError):
    def __init__(self, text: str, why: str) -> None:
        super().__init__(f"Invalid build spec {text!r}: {why}. Give NAME or NAME==VERSION, e.g. numpy==2.1.0.")


@dataclass(frozen=True, slots=True)
class Spec:
    project: str  # canonical
    version: str | None  # normalised; None: every version

    def selects(self, release: Release) -> bool:
        return release.project == self.project and (self.version is None or release.version == self.version)

    def __str__(self) -> str:
        return self.project if self.version is None else f"{self.project}=={self.version}"


def parse_spec(text: str) -> Spec:
    name, separator, version = text.strip().partition("==")
    if not name.strip():
        raise InvalidSpec(text, "no project name")
    try:
        project = canonicalize_name(name.strip(), validate=True)
    except InvalidName:
        raise InvalidSpec(text, f"{name.strip()!r} is not a project name") from None
    if not separator:
        return Spec(project, None)
    try:
        return Spec(project, str(Version(version.strip())))
    except InvalidVersion:
        raise InvalidSpec(text, f"{version.strip()!r} is not a version") from None


@dataclass(frozen=True, slots=True)
class Attempt:
    """A build of a release by this builder's ABI, as the store has it."""

    build_id: int
    succeeded: bool
    python_version: str | None
    pip_version: str | None


@dataclass(frozen=True, slots=True)
class History:
    """What the store says about releases: attempts by this ABI, pure wheels built, skips."""

    attempts: dict[tuple[str, str], list[Attempt]]
    pure: frozenset[tuple[str, str]]  # releases with a pure wheel built (by any ABI)
    skipped_projects: dict[str, str]  # project -> reason
    skipped_versions: dict[tuple[str, str], str]  # (project, version) -> reason


def read_history(con: duckdb.DuckDBPyConnection, abi_tag: str) -> History:
    attempts: dict[tuple[str, str], list[Attempt]] = {}
    for project, version, build_id, status, python, pip in con.execute(
        "SELECT project, version, build_id, coalesce(status, false), python_version, pip_version "
        "FROM builds WHERE abi_tag = ? ORDER BY built_at", [abi_tag]
    ).fetchall():
        attempts.setdefault((project, version), []).append(Attempt(build_id, status, python, pip))
    pure = frozenset(con.execute(
        "SELECT DISTINCT b.project, b.version FROM builds b JOIN files f ON f.build_id = b.build_id "
        "WHERE b.status AND f.abi_tag = 'none'"
    ).fetchall())
    projects = dict(con.execute("SELECT project, skip FROM projects WHERE skip IS NOT NULL").fetchall())
    versions = {(p, v): why for p, v, why in con.execute(
        "SELECT project, version, skip FROM project_versions WHERE skip IS NOT NULL").fetchall()}
    return History(attempts, pure, projects, versions)


@dataclass(frozen=True, slots=True)
class HeldBack:
    release: Release
    why: str  # a sentence's end: "was built already (build 12)"


@dataclass(frozen=True, slots=True)
class Plan:
    pending: tuple[Release, ...]  # newest first
    held_back: tuple[HeldBack, ...]  # releases the specs named that are not pending


def _why_not(release: Release, history: History, builder: BuilderIdentity, retry_failed: bool) -> str | None:
    key = (release.project, release.version)
    if release.project in history.skipped_projects:
        return f"is skipped: the project ({history.skipped_projects[release.project]})"
    if key in history.skipped_versions:
        return f"is skipped ({history.skipped_versions[key]})"
    if builder.installs(release.wheel_tags):
        return "has a wheel in the source that installs here"
    for attempt in history.attempts.get(key, ()):
        if attempt.succeeded:
            return f"was built already (build {attempt.build_id})"
    if key in history.pure:
        return "has a pure-Python wheel built already (for every ABI)"
    if retry_failed:
        return None
    for attempt in history.attempts.get(key, ()):
        if (attempt.python_version, attempt.pip_version) in (
                (builder.python_version, builder.pip_version), (None, None)):
            return f"failed before (build {attempt.build_id}); pass --retry-failed to build it again"
    return None


def _newest_first(release: Release) -> tuple:
    return (release.uploaded or datetime.min, Version(release.version), release.project)


def plan(releases: Iterable[Release], history: History, builder: BuilderIdentity, specs: Sequence[Spec] = (),
         retry_failed: bool = False) -> Plan:
    """The pending releases among `releases`, newest first, and why the ones the specs name are not."""
    pending, held_back = [], []
    for release in releases:
        if specs and not any(spec.selects(release) for spec in specs):
            continue
        why = _why_not(release, history, builder, retry_failed)
        if why is None:
            pending.append(release)
        elif specs:
            held_back.append(HeldBack(release, why))
    pending.sort(key=_newest_first, reverse=True)
    held_back.sort(key=lambda held: _newest_first(held.release), reverse=True)
    return Plan(tuple(pending), tuple(held_back))
