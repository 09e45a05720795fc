"""Where the sources come from: a PEP 503/691 index URL, or a folder of sdists.

Either one lists its projects and, for each, its releases: a version with an
sdist, with the tags of the wheels the source already has for it (a release
whose wheel installs on the builder needs no build). It also tells pip where to
find the sdist: `--index-url URL`, or `--no-index --find-links DIR`.

An index is read as PEP 691 JSON when it speaks it, else as PEP 503 HTML, with
conditional requests: each page's ETag is kept and sent back (If-None-Match), so
polling an unchanged page costs a 304 (`wheelstats serve` answers them).
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from html.parser import HTMLParser
from pathlib import Path
from typing import Protocol

from packaging.tags import Tag
from packaging.utils import canonicalize_name, parse_wheel_filename

from wheelstats.parsing.filenames import parse_filename

JSON_V1 = "application/vnd.pypi.simple.v1+json"
ACCEPT = f"{JSON_V1}, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.1"
TIMEOUT_S = 30.0
USER_AGENT = "wheelstats-builder"


class SourceError(RuntimeError):
    """The source cannot be read: unreachable, not an index, or not a folder."""


class NotInSource(LookupError):
    def __init__(self, project: str, source: str) -> None:
        super().__init__(f"No project {project!r} in the source {source}. Check the name, or --source.")
        self.project = project


@dataclass(frozen=True, slots=True)
class Release:
    """A version of a project that the source has an sdist of."""

    project: str  # canonical (PEP 503)
    version: str  # normalised
    sdist: str  # its filename
    uploaded: datetime | None  # of the sdist, UTC; None when the source does not say
    wheel_tags: frozenset[Tag]  # every tag of the wheels the source has for this version
    folder: str | None = None  # a folder source's folder holding the sdist


class Source(Protocol):
    location: str  # as given on the command line

    def projects(self) -> list[str]: ...

    def releases(self, project: str) -> list[Release]: ...

    def pip_options(self, release: Release) -> list[str]: ...


@dataclass(frozen=True, slots=True)
class ListedFile:
    filename: str
    uploaded: datetime | None
    folder: str | None = None  # where a folder source keeps it


def releases_of(project: str, files: Iterable[ListedFile]) -> list[Release]:
    """The releases among a project's files: versions with an sdist, and their wheels' tags."""
    sdists: dict[str, ListedFile] = {}
    tags: dict[str, set[Tag]] = {}
    for listed in files:
        parsed = parse_filename(listed.filename)
        if parsed.project != project or parsed.version is None:
            continue
        if parsed.package_type == "sdist":
            sdists.setdefault(parsed.version, listed)
        elif parsed.package_type == "bdist_wheel":
            tags.setdefault(parsed.version, set()).update(parse_wheel_filename(listed.filename)[3])
    return [
        Release(project, version, sdist.filename, sdist.uploaded, frozenset(tags.get(version, ())), sdist.folder)
        for version, sdist in sdists.items()
    ]


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc).replace(tzinfo=None) if moment.tzinfo else moment


class _Anchors(HTMLParser):
    """The anchors of a PEP 503 page: (href, text)."""

    def __init__(self) -> None:
        super().__init__()
        self.anchors: list[tuple[str, str]] = []
        self._href: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self._href, self._text = dict(attrs).get("href") or "", []

    def handle_data(self, data):
        if self._href is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "a" and self._href is not None:
            self.anchors.append((self._href, "".join(self._text).strip()))
            self._href = None


@dataclass(frozen=True, slots=True)
class Page:
    """An index page as read: JSON (a dict) or the anchors of an HTML page."""

    document: dict | None
    anchors: tuple[tuple[str, str], ...]


class IndexSource:
    """A PEP 503/691 index, read with conditional requests."""

    def __init__(self, url: str) -> None:
        self.location = url
        self.url = url if url.endswith("/") else url + "/"
        self._pages: dict[str, tuple[str, Page]] = {}  # url -> (ETag, the page it named)
        self.requests = 0
        self.not_modified = 0  # answers 304: the page had not changed

    def _fetch(self, url: str) -> Page | None:
        """The page at `url` (None: 404), from the cache when the index answers 304."""
        headers = {"Accept": ACCEPT, "User-Agent": USER_AGENT}
        cached = self._pages.get(url)
        if cached:
            headers["If-None-Match"] = cached[0]
        request = urllib.request.Request(url, headers=headers)
        self.requests += 1
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as answer:
                body = answer.read()
                content_type = answer.headers.get("Content-Type", "")
                etag = answer.headers.get("ETag")
        except urllib.error.HTTPError as error:
            if error.code == 304 and cached:
                self.not_modified += 1
                return cached[1]
            if error.code == 404:
                return None
            raise SourceError(f"The index {self.location} answered {error.code} {error.reason} for {url}.") from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise SourceError(f"Cannot read the index {self.location}: {reason}. Check --source.") from None
        page = self._parse(url, body, content_type)
        if etag:
            self._pages[url] = (etag, page)
        return page

    def _parse(self, url: str, body: bytes, content_type: str) -> Page:
        if content_type.split(";")[0].strip() == JSON_V1:
            try:
                document = json.loads(body)
            except (json.JSONDecodeError, UnicodeDecodeError) as error:
                raise SourceError(f"The index {self.location} sent bad JSON for {url}: {error}.") from None
            if not isinstance(document, dict):
                raise SourceError(f"The index {self.location} sent JSON that is not a PEP 691 page for {url}.")
            return Page(document, ())
        parser = _Anchors()
        parser.feed(body.decode("utf-8", errors="replace"))
        return Page(None, tuple(parser.anchors))

    def projects(self) -> list[str]:
        page = self._fetch(self.url)
        if page is None:
            raise SourceError(f"The index {self.location} answered 404: not a simple index. Check --source.")
        if page.document is not None:
            names = [entry.get("name", "") for entry in page.document.get("projects", [])]
        else:
            names = [text for _href, text in page.anchors]
        return sorted({canonicalize_name(name) for name in names if name})

    def releases(self, project: str) -> list[Release]:
        url = self.url + urllib.parse.quote(project, safe="") + "/"
        page = self._fetch(url)
        if page is None:
            raise NotInSource(project, self.location)
        if page.document is not None:
            files = [ListedFile(entry.get("filename", ""), _uploaded(entry.get("upload-time")))
                     for entry in page.document.get("files", [])]
        else:
            files = [ListedFile(text, None) for _href, text in page.anchors]
        return releases_of(project, files)

    def pip_options(self, release: Release) -> list[str]:
        return ["--index-url", self.url]


def _uploaded(text: object) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        return _utc(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        return None


class FolderSource:
    """A folder of sdists (and wheels), flat or one subfolder per project, as `wheelstats serve` reads one."""

    def __init__(self, folder: str | Path) -> None:
        self.location = str(folder)
        self.folder = Path(folder).resolve()
        if not self.folder.is_dir():
            raise SourceError(f"The source folder {str(folder)!r} does not exist. Pass a folder or an index URL.")
        self.requests = self.not_modified = 0

    def _files(self) -> dict[str, list[ListedFile]]:
        by_project: dict[str, list[ListedFile]] = {}
        folders = [self.folder, *(p for p in self.folder.iterdir() if p.is_dir() and not p.name.startswith("."))]
        for folder in folders:
            with os.scandir(folder) as entries:
                for entry in entries:
                    if entry.name.startswith(".") or not entry.is_file():
                        continue
                    parsed = parse_filename(entry.name)
                    if parsed.project is None:
                        continue
                    uploaded = datetime.fromtimestamp(entry.stat().st_mtime, timezone.utc).replace(tzinfo=None)
                    by_project.setdefault(parsed.project, []).append(ListedFile(entry.name, uploaded, str(folder)))
        return by_project

    def projects(self) -> list[str]:
        return sorted(self._files())

    def releases(self, project: str) -> list[Release]:
        files = self._files().get(project)
        if not files:
            raise NotInSource(project, self.location)
        return releases_of(project, files)

    def pip_options(self, release: Release) -> list[str]:
        folders = dict.fromkeys([release.folder or str(self.folder), str(self.folder)])
        return ["--no-index", *(option for folder in folders for option in ("--find-links", folder))]


def open_source(location: str) -> Source:
    """The source a --source value names: an http(s) URL is an index, anything else a folder."""
    if urllib.parse.urlsplit(location).scheme in ("http", "https"):
        return IndexSource(location)
    return FolderSource(location)

