"""One build: `pip wheel` of one release in a fresh folder, in the sandbox, and what came of it.

    pip wheel --no-deps --no-binary <project> <project>==<version>
              --no-cache-dir --prefer-binary --no-input --wheel-dir <fresh folder>
              <the source: --index-url URL, or --no-index --find-links DIR>

as piwheels runs it: --no-deps builds this project alone (no dependency is
resolved or built, so the duration is this build's), --no-binary makes pip
build it from its sdist, and --no-cache-dir makes every build a real one (a
cached wheel would take no time). Build requirements (setuptools, ...) are
installed from the same source; pip's own settings (PIP_EXTRA_INDEX_URL, a
pip.conf) apply as for any pip.

The outcome says why a build failed:

    timeout  it ran past the wall-clock limit and was killed
    cpu      its processes used more CPU time than the limit, and it was killed
    memory   it failed, with the memory limit set, and its log tells of an
             allocation failure (MemoryError, "Cannot allocate memory", ...): with
             RLIMIT_AS an allocation fails rather than the process being killed
    error    anything else: pip's exit code is kept

and its log (pip's verbose output and the backend's) ends with wheelstats' own
account of the build. A build stopped because `wheelstats build` was asked to
stop is not an outcome: BuildStopped, and it is built again next time.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import tempfile
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from wheelstats.builder.identity import BuilderIdentity
from wheelstats.builder.limits import BuildLimits, describe_seconds, describe_size
from wheelstats.builder.sources import Release, Source
from wheelstats.builder.supervise import Finished, run_sandboxed
from wheelstats.builder.wheels import UnreadableWheel, WheelFacts, read_wheel

REASONS = ("timeout", "memory", "cpu", "error")
MEMORY_EVIDENCE = re.compile(
    rb"MemoryError|Cannot allocate memory|out of memory|memory exhausted|std::bad_alloc|"
    rb"memory allocation of \d+ bytes failed", re.IGNORECASE)
EVIDENCE_TAIL_BYTES = 256 * 1024  # where an allocation failure is told: the end of the log
WORK_PREFIX = "wheelstats-build-"


class BuildStopped(RuntimeError):
    """The build was killed because `wheelstats build` is stopping; nothing is recorded."""


@dataclass(frozen=True, slots=True)
class BuildOutcome:
    release: Release
    build_id: int
    started_at: datetime  # UTC
    duration_s: float
    succeeded: bool
    reason: str | None  # None when it succeeded; else one of REASONS
    exit_code: int | None  # pip's; negative: the signal that ended it; None if killed by the watchdog
    wheels: tuple[WheelFacts, ...]
    wheel_folder: Path  # where the wheels are, until published
    log: Path  # the plain log, until staged


def new_build_id(started_at: datetime) -> int:
    """Ids in the order builds started, unique across builders (a random low byte), 62 bits."""
    micros = int(started_at.replace(tzinfo=timezone.utc).timestamp() * 1_000_000)
    return (micros << 8) | secrets.randbits(8)


def pip_arguments(release: Release, source: Source, wheel_folder: Path) -> list[str]:
    return [
        "wheel", "--no-deps", "--no-binary", release.project, "--no-cache-dir", "--prefer-binary", "--no-input",
        "--disable-pip-version-check", "--progress-bar", "off", "--verbose", "--wheel-dir", str(wheel_folder),
        *source.pip_options(release), f"{release.project}=={release.version}",
    ]


def _memory_evidence(log: Path) -> bool:
    with open(log, "rb") as stream:
        stream.seek(max(0, log.stat().st_size - EVIDENCE_TAIL_BYTES))
        return MEMORY_EVIDENCE.search(stream.read()) is not None


def failure_reason(finished: Finished, limits: BuildLimits, log: Path) -> str | None:
    """Why the build failed (one of REASONS), or None if it did not."""
    if finished.stopped_for in ("timeout", "cpu"):
        return finished.stopped_for
    if finished.exit_code == 0:
        return None
    if finished.cpu_s >= limits.cpu_s:  # the per-process backstop (RLIMIT_CPU) ended it
        return "cpu"
    if limits.memory_bytes is not None and _memory_evidence(log):
        return "memory"
    return "error"


def _account(finished: Finished, reason: str | None, limits: BuildLimits, note: str) -> str:
    took = f"after {finished.elapsed_s:.2f} s (CPU {finished.cpu_s:.2f} s)"
    if reason == "timeout":
        return f"wheelstats: killed at the timeout ({describe_seconds(limits.timeout_s)}) {took}."
    if reason == "cpu":
        return f"wheelstats: stopped at the CPU time limit ({describe_seconds(limits.cpu_s)}) {took}."
    if reason == "memory":
        return (f"wheelstats: pip exited with {finished.exit_code} {took}: out of memory "
                f"(limit {describe_size(limits.memory_bytes or 0)}).")
    return f"wheelstats: pip exited with {finished.exit_code} {took}{note}."


def _append(log: Path, text: str) -> None:
    with open(log, "a", encoding="utf-8") as out:
        out.write("\n" + text + "\n")


def build_release(release: Release, source: Source, builder: BuilderIdentity, limits: BuildLimits, *,
                  work_root: Path | None, stop: threading.Event) -> BuildOutcome:
    """Build one release in a fresh folder (removed by `discard_work`), within `limits`."""
    work = Path(tempfile.mkdtemp(prefix=f"{WORK_PREFIX}{os.getpid()}-", dir=work_root))
    wheel_folder, tmp = work / "wheels", work / "tmp"
    wheel_folder.mkdir()
    tmp.mkdir()
    log = work / "build.log"
    started_at = datetime.now(timezone.utc).replace(tzinfo=None)
    build_id = new_build_id(started_at)
    arguments = pip_arguments(release, source, wheel_folder)
    log.write_text(
        f"wheelstats: build {build_id} of {release.project} {release.version} by {builder.describe()}, "
        f"started {started_at.isoformat(sep=' ', timespec='seconds')} UTC, {limits.describe()}\n"
        f"wheelstats: pip {' '.join(arguments)}\n\n", encoding="utf-8")
    environment = {**os.environ, "TMPDIR": str(tmp), "PIP_NO_INPUT": "1"}
    finished = run_sandboxed(arguments, cwd=work, log=log, limits=limits, stop=stop, environment=environment,
                             marker=f"{os.getpid()} {build_id}")
    if finished.stopped_for == "shutdown":
        discard_work(log)
        raise BuildStopped(f"{release.project} {release.version}")
    reason = failure_reason(finished, limits, log)
    wheels: list[WheelFacts] = []
    note = ""
    if reason is None:
        try:
            wheels = [read_wheel(path) for path in sorted(wheel_folder.glob("*.whl"))]
        except UnreadableWheel as error:
            reason, note = "error", f": {error}"
        if reason is None and not any(w.project == release.project and w.version == release.version for w in wheels):
            reason, note = "error", f": no wheel of {release.project} {release.version} was written"
            wheels = []
    _append(log, _account(finished, reason, limits, note) if reason else
            f"wheelstats: built {', '.join(w.filename for w in wheels)} in {finished.elapsed_s:.2f} s "
            f"(CPU {finished.cpu_s:.2f} s).")
    exit_code = None if finished.stopped_for else finished.exit_code
    return BuildOutcome(release, build_id, started_at, finished.elapsed_s, reason is None, reason, exit_code,
                        tuple(wheels) if reason is None else (), wheel_folder, log)


def discard_work(path_inside: Path) -> None:
    """Remove a build's fresh folder (given any path directly inside it)."""
    shutil.rmtree(path_inside.parent, ignore_errors=True)
