"""The yanked list (PEP 592): a small text file the repository owner edits.

One entry a line; a line starting with `#` is a comment; blank lines are skipped. An entry is
either a filename (that file is yanked) or `project==version` (every file of
that release is yanked), optionally followed by the reason:

    # yanked.txt
    foo-1.0-py3-none-any.whl   broken on Python 3.12
    bar==2.0                   security issue, use 2.0.1
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

log = logging.getLogger("wheelstats.serve")


@dataclass(frozen=True, slots=True)
class YankedEntries:
    by_filename: dict[str, str]
    by_release: dict[tuple[str, Version], str]

    def reason_for(self, filename: str, project: str, version: Version) -> str | None:
        """None if not yanked, else the reason ("" when none was given)."""
        reason = self.by_filename.get(filename)
        if reason is not None:
            return reason
        return self.by_release.get((project, version))


def parse_yanked(text: str) -> YankedEntries:
    by_filename: dict[str, str] = {}
    by_release: dict[tuple[str, Version], str] = {}
    for line_no, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        entry, _, reason = line.partition(" ")
        entry, reason = entry.strip(), reason.strip()
        if "==" in entry:
            name, _, version_text = entry.partition("==")
            try:
                by_release[(canonicalize_name(name), Version(version_text))] = reason
            except InvalidVersion:
                log.warning("yanked list line %d: invalid version in %r", line_no, entry)
        else:
            by_filename[entry] = reason
    return YankedEntries(by_filename, by_release)


class YankedList:
    def __init__(self, path: str | os.PathLike[str]):
        self.path = os.fspath(path)

    def signature(self) -> tuple[int, int] | None:
        try:
            status = os.stat(self.path)
        except FileNotFoundError:
            return None
        return (status.st_size, status.st_mtime_ns)

    def load(self) -> YankedEntries:
        try:
            with open(self.path, encoding="utf-8", errors="replace") as stream:
                return parse_yanked(stream.read())
        except FileNotFoundError:
            return YankedEntries({}, {})
