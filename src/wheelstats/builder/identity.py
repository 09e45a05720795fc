"""Who builds: the builder's ABI and platform tags, its Python and pip, its host.

A build is recorded with these, and the queue is per ABI: a builder takes the
releases its ABI has not attempted (piwheels' builders do the same). A failed
build is retried when the Python or the pip building it is not the one that
failed (see wheelstats.builder.queue).
"""

from __future__ import annotations

import importlib.metadata
import platform
import socket
import sys
from dataclasses import dataclass

from packaging.tags import Tag, sys_tags


class PipMissing(RuntimeError):
    """The Python running wheelstats has no pip to build with."""

    def __init__(self, python: str) -> None:
        super().__init__(f"pip is not installed for {python}, which builds the wheels. "
                         f"Install it: {python} -m ensurepip")


@dataclass(frozen=True, slots=True)
class BuilderIdentity:
    abi_tag: str  # e.g. cp311
    platform_tag: str  # e.g. linux_x86_64
    python_version: str  # e.g. 3.11.7
    pip_version: str
    host: str
    compatible_tags: frozenset[Tag]  # every tag this interpreter installs

    def installs(self, tags: frozenset[Tag]) -> bool:
        """Whether a wheel with these tags installs here (so there is nothing to build for it)."""
        return not tags.isdisjoint(self.compatible_tags)

    def describe(self) -> str:
        versions = f"Python {self.python_version}, pip {self.pip_version}"
        return f"{self.abi_tag} on {self.platform_tag} ({versions}, {self.host})"


def this_builder() -> BuilderIdentity:
    """The builder this process is: the interpreter running it builds, with its own pip."""
    try:
        pip_version = importlib.metadata.version("pip")
    except importlib.metadata.PackageNotFoundError:
        raise PipMissing(sys.executable) from None
    tags = list(sys_tags())
    most_specific = tags[0]
    return BuilderIdentity(
        abi_tag=most_specific.abi,
        platform_tag=most_specific.platform,
        python_version=platform.python_version(),
        pip_version=pip_version,
        host=socket.gethostname(),
        compatible_tags=frozenset(tags),
    )
