"""The distribution files in the wheels directory, as the index serves them.

The directory holds wheels and sdists either flat or in one subfolder per
project. Each file's project and version come from its name; its sha256, its
Requires-Python and its core metadata (PEP 658) from its contents, computed
once per (path, size, mtime) and kept across restarts in a small cache file. A file whose real path leaves the directory
(a symlink pointing out) is never listed, so it can never be served.

`Catalogue.refresh()` is cheap when nothing changed (one stat per folder);
`CatalogueWatcher` calls it in a thread so that files dropped into the folder
appear without a restart while the request path only reads `current`.
"""

from __future__ import annotations

import email.parser
import email.policy
import hashlib
import logging
import os
import tarfile
import threading
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from packaging.version import Version

from wheelstats.parsing import filenames
from wheelstats.server.factscache import FactsCache, FileFacts
from wheelstats.server.yanked import YankedList

log = logging.getLogger("wheelstats.serve")

MAX_METADATA_BYTES = 4 * 1024 * 1024
# PEP 643: core metadata of an sdist can be trusted when its version is 2.2 or
# later and it marks none of the fields that decide an install as dynamic.
RESOLUTION_FIELDS = {"name", "version", "requires-dist", "requires-python", "provides-extra"}


class NotADistribution(ValueError):
    def __init__(self, filename: str, why: str):
        super().__init__(f"Not a distribution file: {filename!r} ({why})")


@dataclass(frozen=True, slots=True)
class DistFile:
    filename: str
    project: str  # PEP 503 canonical
    version: Version
    package_type: str  # "bdist_wheel" or "sdist"
    path: str  # real path, inside the wheels directory
    size: int
    mtime_ns: int
    identity: tuple[int, int]  # (st_dev, st_ino) of the real file the scan found inside the folder
    facts: FileFacts
    yanked: str | None  # None: not yanked; "" yanked without a reason

    @property
    def metadata_filename(self) -> str:
        return self.filename + ".metadata"


@dataclass(frozen=True, slots=True)
class Project:
    name: str  # canonical
    files: tuple[DistFile, ...]  # oldest version first

    @property
    def versions(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for dist in self.files:
            seen.setdefault(str(dist.version), None)
        return tuple(seen)


@dataclass(slots=True)
class Snapshot:
    """One consistent view of the directory; replaced whole, never changed."""

    projects: dict[str, Project]
    files: dict[tuple[str, str], DistFile]  # (project, filename)
    generation: int
    # Rendered pages, filled lazily by the index: (project or "", format) -> bytes.
    pages: dict[tuple[str, str], object] = field(default_factory=dict)


def parse_filename(filename: str) -> tuple[str, Version, str]:
    """(canonical project, version, package type) of a distribution file the index serves."""
    if not filename.endswith((".whl", ".tar.gz", ".zip")):
        raise NotADistribution(filename, "not a wheel or an sdist")
    dist = filenames.parse_filename(filename)
    if not dist.valid:
        raise NotADistribution(filename, "its name does not parse as a wheel's or an sdist's")
    return dist.project, Version(dist.version), dist.package_type


def _metadata_member_of_wheel(archive: zipfile.ZipFile, filename: str) -> str | None:
    candidates = [
        name for name in archive.namelist()
        if name.count("/") == 1 and name.endswith(".dist-info/METADATA")
    ]
    if len(candidates) <= 1:
        return candidates[0] if candidates else None
    # Prefer the .dist-info folder named after the file itself.
    stem = "-".join(filename.split("-")[:2]).lower()
    for name in candidates:
        if name.lower().startswith(stem + ".dist-info/"):
            return name
    return None


def _read_wheel_metadata(path: str, filename: str) -> tuple[str | None, bytes | None]:
    with zipfile.ZipFile(path) as archive:
        member = _metadata_member_of_wheel(archive, filename)
        if member is None or archive.getinfo(member).file_size > MAX_METADATA_BYTES:
            return None, None
        return member, archive.read(member)


def _read_sdist_metadata(path: str) -> tuple[str | None, bytes | None]:
    if path.endswith(".zip"):
        with zipfile.ZipFile(path) as archive:
            for name in archive.namelist():
                if name.count("/") == 1 and name.endswith("/PKG-INFO"):
                    if archive.getinfo(name).file_size > MAX_METADATA_BYTES:
                        return None, None
                    return name, archive.read(name)
        return None, None
    with tarfile.open(path, "r:gz") as archive:
        for member in archive:  # streams: stops at PKG-INFO
            if member.isfile() and member.name.count("/") == 1 and member.name.endswith("/PKG-INFO"):
                if member.size > MAX_METADATA_BYTES:
                    return None, None
                extracted = archive.extractfile(member)
                return member.name, extracted.read() if extracted else None
    return None, None


def read_metadata_member(dist: DistFile) -> bytes:
    """The core metadata bytes of `dist`, read from its archive."""
    member = dist.facts.metadata_member
    if member is None:
        raise LookupError(f"{dist.filename!r} has no served metadata")
    if dist.path.endswith((".whl", ".zip")):
        with zipfile.ZipFile(dist.path) as archive:
            return archive.read(member)
    with tarfile.open(dist.path, "r:gz") as archive:
        extracted = archive.extractfile(member)
        if extracted is None:
            raise LookupError(f"{dist.filename!r} has no served metadata")
        return extracted.read()


def _sdist_metadata_is_static(headers) -> bool:
    try:
        version = Version(str(headers.get("Metadata-Version", "0")).strip())
    except ValueError:
        return False
    dynamic = {str(value).strip().lower() for value in headers.get_all("Dynamic") or ()}
    return version >= Version("2.2") and not (dynamic & RESOLUTION_FIELDS)


def read_facts(path: str, filename: str, package_type: str) -> FileFacts:
    """Hash the file and read its core metadata (an unreadable archive has none)."""
    with open(path, "rb") as stream:
        sha256 = hashlib.file_digest(stream, "sha256").hexdigest()
    try:
        if package_type == "bdist_wheel":
            member, metadata = _read_wheel_metadata(path, filename)
        else:
            member, metadata = _read_sdist_metadata(path)
    except (OSError, zipfile.BadZipFile, tarfile.TarError, EOFError) as error:
        log.warning("cannot read the metadata of %s: %s", path, error)
        return FileFacts(sha256, None, None, None)
    if metadata is None:
        return FileFacts(sha256, None, None, None)
    headers = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(metadata)
    requires_python = " ".join(str(headers.get("Requires-Python") or "").split()) or None
    served = package_type == "bdist_wheel" or _sdist_metadata_is_static(headers)
    if not served:
        return FileFacts(sha256, requires_python, None, None)
    return FileFacts(sha256, requires_python, member, hashlib.sha256(metadata).hexdigest())


def _inside(root: str, path: str) -> bool:
    return path == root or path.startswith(root + os.sep)


class Catalogue:
    """Scans the wheels directory; `current` is the latest consistent snapshot."""

    def __init__(self, root: str | Path, yanked_path: str | Path | None = None,
                 facts_cache: str | Path | None = None):
        self.root = os.path.realpath(root)
        if not os.path.isdir(self.root):
            raise NotADirectoryError(f"The wheels directory {str(root)!r} does not exist or is not a folder.")
        default_yanked = os.path.join(self.root, "yanked.txt")
        self.yanked = YankedList(yanked_path if yanked_path is not None else default_yanked)
        self._cache = FactsCache(facts_cache) if facts_cache is not None else None
        self._facts: dict[tuple[str, int, int], FileFacts] = self._cache.load() if self._cache else {}
        self._signature: tuple | None = None
        self._last_full_scan = 0.0
        self._generation = 0
        self._lock = threading.Lock()
        self.current = Snapshot({}, {}, 0)
        self.refresh(force=True)

    def _folders(self) -> list[str]:
        folders = [self.root]
        with os.scandir(self.root) as entries:
            for entry in entries:
                if entry.is_dir() and not entry.name.startswith("."):
                    folders.append(entry.path)
        return folders

    def _directory_signature(self) -> tuple:
        parts = []
        for folder in self._folders():
            try:
                parts.append((folder, os.stat(folder).st_mtime_ns))
            except FileNotFoundError:
                continue
        parts.append(("yanked", self.yanked.signature()))
        return tuple(parts)

    def refresh(self, *, force: bool = False, full_scan_every: float = 60.0) -> bool:
        """Rescan if a folder or the yanked list changed; True if the snapshot changed.

        A full stat of every file also runs every `full_scan_every` seconds to
        catch files rewritten in place (which do not change their folder).
        """
        with self._lock:
            signature = self._directory_signature()
            due = time.monotonic() - self._last_full_scan >= full_scan_every
            if not force and not due and signature == self._signature:
                return False
            self._signature = signature
            self._last_full_scan = time.monotonic()
            return self._scan()

    def _candidate_paths(self):
        for folder in self._folders():
            try:
                with os.scandir(folder) as entries:
                    for entry in entries:
                        if not entry.name.startswith(".") and entry.name.endswith((".whl", ".tar.gz", ".zip")):
                            yield entry
            except (FileNotFoundError, NotADirectoryError):
                continue

    def _scan(self) -> bool:
        yanked = self.yanked.load()
        files: dict[tuple[str, str], DistFile] = {}
        facts_seen: dict[tuple[str, int, int], FileFacts] = {}
        for entry in sorted(self._candidate_paths(), key=lambda e: e.path):
            try:
                project, version, package_type = parse_filename(entry.name)
            except NotADistribution as error:
                log.warning("skipping %s: %s", entry.path, error)
                continue
            real = os.path.realpath(entry.path)
            if not _inside(self.root, real):
                log.warning("skipping %s: it points outside %s", entry.path, self.root)
                continue
            try:
                status = os.stat(real)
            except FileNotFoundError:
                continue
            if not os.path.isfile(real):
                continue
            key = (real, status.st_size, status.st_mtime_ns)
            facts = self._facts.get(key)
            if facts is None:
                try:
                    facts = read_facts(real, entry.name, package_type)
                except OSError as error:
                    log.warning("skipping %s: %s", entry.path, error)
                    continue
            facts_seen[key] = facts
            if (project, entry.name) in files:
                log.warning("skipping %s: %s is already served from another folder", entry.path, entry.name)
                continue
            files[(project, entry.name)] = DistFile(
                filename=entry.name,
                project=project,
                version=version,
                package_type=package_type,
                path=real,
                size=status.st_size,
                mtime_ns=status.st_mtime_ns,
                identity=(status.st_dev, status.st_ino),
                facts=facts,
                yanked=yanked.reason_for(entry.name, project, version),
            )
        if self._cache is not None:
            self._cache.update({k: v for k, v in facts_seen.items() if k not in self._facts},
                               [k for k in self._facts if k not in facts_seen])
        self._facts = facts_seen  # forget files that are gone
        by_project: dict[str, list[DistFile]] = {}
        for dist in files.values():
            by_project.setdefault(dist.project, []).append(dist)
        projects = {
            name: Project(name, tuple(sorted(dists, key=lambda d: (d.version, d.filename))))
            for name, dists in sorted(by_project.items())
        }
        previous = self.current
        if projects == previous.projects and self._generation:
            return False
        self._generation += 1
        snapshot = Snapshot(projects, files, self._generation)
        # Keep rendered pages of projects that did not change.
        for (name, page_format), page in previous.pages.items():
            if name and previous.projects.get(name) == projects.get(name):
                snapshot.pages[(name, page_format)] = page
        self.current = snapshot
        return True


class CatalogueWatcher:
    """Refreshes a catalogue every `interval` seconds in a daemon thread."""

    def __init__(self, catalogue: Catalogue, interval: float = 1.0):
        self.catalogue = catalogue
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wheelstats-catalogue", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.catalogue.refresh()
            except OSError as error:  # the folder vanished or became unreadable
                log.warning("cannot scan %s: %s", self.catalogue.root, error)
