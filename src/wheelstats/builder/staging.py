"""Files written before their build is recorded, and moved into place after.

A build's wheels, their .metadata files and its compressed log are first
written, complete and synced, into a staging folder on the same file system as
their destination: `<wheels>/.staging/<stage>/` and `<logs>/.staging/<stage>/`,
where <stage> is `<host>-<builder pid>-<build id>`. The store then records the
build in one transaction, and only then is each file renamed into place (the
metadata before its wheel), so a reader of the folder sees a whole file or
none, and a served wheel always has its row.

A builder killed on the way leaves its stages behind; the next run on the same
host settles every stage whose builder is gone: published if its build was
recorded, deleted if not (it is built again). Dot-folders are never served.
"""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from wheelstats.builder.supervise import gone

STAGING = ".staging"


@dataclass(frozen=True, slots=True)
class Stage:
    """One build's staged files under one destination folder."""

    folder: Path  # <root>/.staging/<host>-<pid>-<build id>
    root: Path  # where its files go: <root>/<subfolder>/<name>
    build_id: int

    @classmethod
    def new(cls, root: Path, build_id: int) -> Stage:
        folder = root / STAGING / f"{socket.gethostname()}-{os.getpid()}-{build_id}"
        folder.mkdir(parents=True, exist_ok=True)
        return cls(folder, root, build_id)

    def path(self, name: str) -> Path:
        return self.folder / name

    def write(self, name: str, data: bytes) -> Path:
        """Stage a small file whole, synced."""
        path = self.folder / name
        with open(path, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        return path

    def copy_in(self, source: Path) -> Path:
        """Stage a copy of `source` under its own name, synced (streamed: a wheel may be large)."""
        path = self.folder / source.name
        shutil.copyfile(source, path)
        sync_file(path)
        return path

    def publish(self, subfolder: str, order: Callable[[str], int] = lambda name: 0) -> list[Path]:
        """Rename every staged file into <root>/<subfolder>/ (in `order`), then remove the stage."""
        target = self.root / subfolder
        target.mkdir(parents=True, exist_ok=True)
        published = []
        for name in sorted(os.listdir(self.folder), key=lambda name: (order(name), name)):
            os.replace(self.folder / name, target / name)
            published.append(target / name)
        _sync_folder(target)
        self.discard()
        return published

    def discard(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def sync_file(path: Path) -> None:
    with open(path, "rb") as stream:
        os.fsync(stream.fileno())


def _sync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def abandoned(root: Path) -> Iterator[Stage]:
    """The stages under `root` that a builder on this host left behind when it died."""
    staging = root / STAGING
    if not staging.is_dir():
        return
    host = socket.gethostname()
    for folder in sorted(staging.iterdir()):
        parts = folder.name.rsplit("-", 2)
        if len(parts) != 3 or not parts[1].isdigit() or not parts[2].isdigit():
            continue
        stage_host, pid, build_id = parts[0], int(parts[1]), int(parts[2])
        if stage_host == host and pid != os.getpid() and gone(pid):
            yield Stage(folder, root, build_id)
