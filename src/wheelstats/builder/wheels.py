"""What a built wheel is: its name, size, sha256 and tags, and from its METADATA its
Requires-Python and Requires-Dist, and the metadata itself (served as PEP 658's .metadata file).

The hash and the metadata are read the way `wheelstats serve` reads them
(wheelstats.server.catalogue), so the builder records what the index will serve.
"""

from __future__ import annotations

import email.parser
import email.policy
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from wheelstats.parsing.filenames import parse_filename
from wheelstats.server.catalogue import read_facts

PROJECT_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?")


class UnreadableWheel(ValueError):
    def __init__(self, filename: str, why: str) -> None:
        super().__init__(f"The built wheel {filename!r} cannot be read: {why}")


@dataclass(frozen=True, slots=True)
class Requires:
    """One Requires-Dist value."""

    requirement: str  # as written
    project: str  # the project required, canonical
    marker: str | None  # its environment marker, if any


@dataclass(frozen=True, slots=True)
class WheelFacts:
    filename: str
    project: str  # canonical
    version: str
    python_tag: str
    abi_tag: str
    platform_tag: str
    size: int
    sha256: str
    requires_python: str | None
    requires_dist: tuple[Requires, ...]
    metadata: bytes  # the METADATA file, for <wheel>.metadata


def _requires(value: str) -> Requires:
    text = " ".join(value.split())
    try:
        parsed = Requirement(text)
    except InvalidRequirement:  # kept as written, with the name it starts with
        name = PROJECT_NAME.match(text)
        return Requires(text, canonicalize_name(name[0]) if name else text, None)
    return Requires(text, canonicalize_name(parsed.name), str(parsed.marker) if parsed.marker else None)


def read_wheel(path: Path) -> WheelFacts:
    """The facts of the wheel at `path`."""
    parsed = parse_filename(path.name)
    if parsed.package_type != "bdist_wheel":
        raise UnreadableWheel(path.name, "not a wheel's name")
    facts = read_facts(str(path), path.name, "bdist_wheel")
    if facts.metadata_member is None:
        raise UnreadableWheel(path.name, "no .dist-info/METADATA in it")
    try:
        with zipfile.ZipFile(path) as archive:
            metadata = archive.read(facts.metadata_member)
    except (OSError, zipfile.BadZipFile, KeyError) as error:
        raise UnreadableWheel(path.name, str(error)) from None
    headers = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(metadata)
    return WheelFacts(
        filename=path.name, project=parsed.project, version=parsed.version, python_tag=parsed.python_tag,
        abi_tag=parsed.abi_tag, platform_tag=parsed.platform_tag, size=path.stat().st_size, sha256=facts.sha256,
        requires_python=facts.requires_python,
        requires_dist=tuple(dict.fromkeys(_requires(str(v)) for v in headers.get_all("Requires-Dist") or ())),
        metadata=metadata,
    )
