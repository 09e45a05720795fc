"""A run of the builder: settle what a killed run left, plan, build N at a time, record, publish.

For each release, in a worker thread (--jobs N of them):

    1. build it (wheelstats.builder.build), in a fresh folder, in the sandbox;
    2. stage its wheels with their .metadata files under <wheels>/.staging/ and its
       gzipped log under the logs folder's .staging/ (wheelstats.builder.staging);
    3. record the build and its files in one transaction (wheelstats.builder.records);
    4. rename the staged files into place: <wheels>/<project>/ and the logs folder.

Steps 2 to 4 run in one recording thread, in the order builds finish, while the
next builds run.

Killed at any moment (SIGKILL), a run leaves no half-written file where it is
served and no build row without its files; the next run first settles the
stages of dead runs (published if recorded, deleted if not), kills the build
processes they left, and removes their work folders, then builds exactly what
was not recorded. Asked to stop (`stop` set, or a signal raising in the main
thread: wheelstats.interrupts), it records the builds that finished, kills those
in progress without recording them, and returns (or lets the signal through).

The store is kept open only while builds are being recorded, and let go two seconds
after the last, so that a running `wheelstats serve` (whose feeder writes to the
same store) takes turns with it: between builds, and while one builds.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from pathlib import Path

from wheelstats import store
from wheelstats.builder import logs, records, staging
from wheelstats.builder.build import WORK_PREFIX, BuildOutcome, BuildStopped, build_release, discard_work
from wheelstats.builder.identity import BuilderIdentity
from wheelstats.builder.limits import BuildLimits
from wheelstats.builder.queue import Plan, Spec, plan, read_history
from wheelstats.builder.sources import NotInSource, Release, Source
from wheelstats.builder.supervise import gone, kill_marked, orphaned_builds
from wheelstats.rollups.builds import logs_folder

STORE_WAIT_S = 120.0  # a build is not lost because another process held the store for a while
STORE_IDLE_S = 2.0  # the store is let go this long after its last use, for other processes to take it


@dataclass(frozen=True, slots=True)
class BuildSettings:
    db: Path
    wheels: Path
    limits: BuildLimits
    jobs: int = 1
    retry_failed: bool = False
    work_root: Path | None = None  # where fresh build folders are made; None: the system's temporary folder


@dataclass(frozen=True, slots=True)
class Recorded:
    """A build recorded in the store, its files published."""

    outcome: BuildOutcome
    log_path: str  # relative to the store's folder
    published: tuple[Path, ...]  # the wheels, where they are served from
    conflict: str | None = None  # why its wheels were not recorded, when another build made them


@dataclass(frozen=True, slots=True)
class Settled:
    """What a run found of the runs killed before it."""

    published: int  # stages of recorded builds, now published
    discarded: int  # stages of unrecorded builds, deleted
    builds_killed: int  # builds left running, now killed (with every process they started)
    work_folders: int  # their fresh folders, now removed


@dataclass
class RunTotals:
    recorded: list[Recorded] = field(default_factory=list)


class Builder:
    def __init__(self, settings: BuildSettings, source: Source, identity: BuilderIdentity,
                 on_recorded: Callable[[Recorded], None] = lambda recorded: None) -> None:
        self.settings = settings
        self.source = source
        self.identity = identity
        self.on_recorded = on_recorded
        self.stop = threading.Event()
        self._store_lock = threading.Lock()
        self._con = None  # the store, while in use (see _with_store)
        self._used = 0.0
        self._idle_timer: threading.Timer | None = None
        self._totals_lock = threading.Lock()
        self.logs_root = logs_folder(settings.db)

    # the store, briefly ---------------------------------------------------------------------------

    def _with_store(self, work):
        """Run `work(con)` on the store, opened if it is not: kept open while builds are being recorded,
        let go once it has not been used for STORE_IDLE_S (or by `close`)."""
        with self._store_lock:
            if self._con is None:
                self._con = store.connect(self.settings.db, wait_seconds=STORE_WAIT_S)
            try:
                return work(self._con)
            except BaseException:
                self._close_store()  # start afresh after a failure
                raise
            finally:
                self._used = time.monotonic()
                if self._idle_timer is None and self._con is not None:
                    self._idle_timer = threading.Timer(STORE_IDLE_S, self._close_when_idle)
                    self._idle_timer.daemon = True
                    self._idle_timer.start()

    def _close_when_idle(self) -> None:
        with self._store_lock:
            self._idle_timer = None
            idle = time.monotonic() - self._used
            if idle >= STORE_IDLE_S:
                self._close_store()
                return
            self._idle_timer = threading.Timer(STORE_IDLE_S - idle, self._close_when_idle)
            self._idle_timer.daemon = True
            self._idle_timer.start()

    def _close_store(self) -> None:
        if self._con is not None:
            con, self._con = self._con, None
            con.close()

    def close(self) -> None:
        """Let go of the store now (the end of a run)."""
        with self._store_lock:
            if self._idle_timer is not None:
                self._idle_timer.cancel()
                self._idle_timer = None
            self._close_store()

    # settling a killed run ------------------------------------------------------------------------

    def settle(self) -> Settled:
        """Publish or delete the stages dead runs left, kill their builds, remove their work folders."""
        stages = [*staging.abandoned(self.settings.wheels), *staging.abandoned(self.logs_root)]
        projects = self._with_store(lambda con: records.recorded_projects(con, [s.build_id for s in stages]))
        for stage in stages:
            if stage.build_id in projects:
                stage.publish(projects[stage.build_id], order=_metadata_first)
            else:
                stage.discard()
        published = len({stage.build_id for stage in stages if stage.build_id in projects})
        discarded = len({stage.build_id for stage in stages if stage.build_id not in projects})
        orphans = orphaned_builds()
        for marker in orphans:
            kill_marked(marker)
        folders = 0
        work_root = Path(self.settings.work_root or tempfile.gettempdir())
        for folder in work_root.glob(f"{WORK_PREFIX}*"):
            owner = folder.name.removeprefix(WORK_PREFIX).split("-")[0]
            if owner.isdigit() and int(owner) != os.getpid() and gone(int(owner)):
                shutil.rmtree(folder, ignore_errors=True)
                folders += 1
        return Settled(published, discarded, len(orphans), folders)

    # planning -------------------------------------------------------------------------------------

    def releases(self, specs: Sequence[Spec]) -> list[Release]:
        """The source's releases: of the projects the specs name, or of every project."""
        names = list(dict.fromkeys(spec.project for spec in specs)) or self.source.projects()
        found = []
        for name in names:
            try:
                found += self.source.releases(name)
            except NotInSource:
                if specs:
                    raise
        return found

    def plan(self, specs: Sequence[Spec] = ()) -> Plan:
        releases = self.releases(specs)
        history = self._with_store(lambda con: read_history(con, self.identity.abi_tag))
        return plan(releases, history, self.identity, specs, self.settings.retry_failed)

    # building -------------------------------------------------------------------------------------

    def build_all(self, releases: Sequence[Release]) -> RunTotals:
        """Build, record and publish each release, N at a time; stop early when `stop` is set.

        One thread records and publishes the builds in the order they finish, while the next
        builds run: the store and the disk never hold up a build.
        """
        totals = RunTotals()
        if not releases:
            return totals
        recordings: list[Future] = []
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="wheelstats-record") as recorder, \
                ThreadPoolExecutor(max_workers=self.settings.jobs, thread_name_prefix="wheelstats-build") as pool:
            def build_one(release: Release) -> None:
                outcome = self._build(release)
                if outcome is not None:
                    recordings.append(recorder.submit(self._record_one, outcome, totals))
            builds = [pool.submit(build_one, release) for release in releases]
            try:
                wait(builds)
                wait(list(recordings))
            except BaseException:  # a signal (wheelstats.interrupts): the builds in progress are killed
                self.stop.set()
                raise
        failed = [future.exception() for future in [*recordings, *builds] if future.exception() is not None]
        if failed:  # the store or the disk failed
            raise failed[0]
        return totals

    def _build(self, release: Release) -> BuildOutcome | None:
        if self.stop.is_set():
            return None
        try:
            return build_release(release, self.source, self.identity, self.settings.limits,
                                 work_root=self.settings.work_root, stop=self.stop)
        except BuildStopped:
            return None

    def _record_one(self, outcome: BuildOutcome, totals: RunTotals) -> None:
        try:
            recorded = self._record_and_publish(outcome)
        except BaseException:
            self.stop.set()  # nothing more can be recorded: the builds in progress are stopped
            raise
        finally:
            discard_work(outcome.log)
        with self._totals_lock:
            totals.recorded.append(recorded)
        self.on_recorded(recorded)

    def _stage(self, outcome: BuildOutcome) -> tuple[staging.Stage | None, staging.Stage]:
        """Stage the wheels (if any) with their metadata, and the gzipped log."""
        wheels = staging.Stage.new(self.settings.wheels, outcome.build_id) if outcome.wheels else None
        for wheel in outcome.wheels:
            wheels.write(wheel.filename + ".metadata", wheel.metadata)
            wheels.copy_in(outcome.wheel_folder / wheel.filename)
        log = staging.Stage.new(self.logs_root, outcome.build_id)
        logs.stage_log(log, outcome.log)
        return wheels, log

    def _record(self, outcome: BuildOutcome, log_path: str) -> tuple[BuildOutcome, staging.Stage | None,
                                                                      staging.Stage, str | None]:
        """Stage, then record; a wheel another build made turns this build into a failure that made nothing."""
        wheel_stage, log_stage = self._stage(outcome)
        try:
            self._with_store(lambda con: records.record_build(con, outcome, self.identity, log_path))
            return outcome, wheel_stage, log_stage, None
        except records.FileConflict as error:
            conflict = str(error)
            for stage in (wheel_stage, log_stage):
                if stage is not None:
                    stage.discard()
        with open(outcome.log, "a", encoding="utf-8") as out:
            out.write(f"wheelstats: not published: {conflict}.\n")
        failed = replace(outcome, succeeded=False, reason="error", wheels=())
        wheel_stage, log_stage = self._stage(failed)
        self._with_store(lambda con: records.record_build(con, failed, self.identity, log_path))
        return failed, wheel_stage, log_stage, conflict

    def _record_and_publish(self, outcome: BuildOutcome) -> Recorded:
        project = outcome.release.project
        log_path = logs.recorded_path(self.settings.db, project, outcome.build_id)
        outcome, wheel_stage, log_stage, conflict = self._record(outcome, log_path)
        published = wheel_stage.publish(project, order=_metadata_first) if wheel_stage else []
        log_stage.publish(project)
        return Recorded(outcome, log_path, tuple(p for p in published if p.name.endswith(".whl")), conflict)

    def refresh_live_figures(self) -> None:
        """Re-price time saved in the live figures, now that builds changed (once per run, not per build)."""
        from wheelstats.rollups import refresh_rollups

        self._with_store(refresh_rollups)


def _metadata_first(name: str) -> int:
    return 0 if name.endswith(".metadata") else 1
