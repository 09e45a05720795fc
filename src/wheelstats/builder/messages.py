"""The sentences `wheelstats build` prints: one a build as it is recorded, and the run's account."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from wheelstats.builder.identity import BuilderIdentity
from wheelstats.builder.limits import BuildLimits, describe_seconds, describe_size
from wheelstats.builder.queue import HeldBack, Plan
from wheelstats.builder.runner import Recorded, Settled
from wheelstats.rollups.builds import BuildRecord


def plural(count: int, word: str, words: str | None = None) -> str:
    return f"{count:,} {word if count == 1 else words or word + 's'}"


def seconds(value: float) -> str:
    return f"{value:.1f} s"


def why_failed(recorded: Recorded, limits: BuildLimits) -> str:
    outcome = recorded.outcome
    if recorded.conflict:
        return recorded.conflict
    if outcome.reason == "timeout":
        return f"killed at the timeout ({describe_seconds(limits.timeout_s)})"
    if outcome.reason == "cpu":
        return f"killed at the CPU time limit ({describe_seconds(limits.cpu_s)})"
    if outcome.reason == "memory":
        return f"out of memory (limit {describe_size(limits.memory_bytes or 0)})"
    return f"pip exited with {outcome.exit_code}"


def recorded_line(recorded: Recorded, limits: BuildLimits) -> str:
    outcome = recorded.outcome
    name = f"{outcome.release.project} {outcome.release.version}"
    if outcome.succeeded:
        files = ", ".join(wheel.filename for wheel in outcome.wheels)
        return f"Built {name} in {seconds(outcome.duration_s)}: {files} (build {outcome.build_id})."
    return (f"Failed {name} after {seconds(outcome.duration_s)}: {why_failed(recorded, limits)} "
            f"(build {outcome.build_id}; its log: wheelstats builds log {outcome.build_id}).")


def held_back_line(held: HeldBack) -> str:
    return f"Not building {held.release.project} {held.release.version}: it {held.why}."


def plan_line(plan: Plan, source: str, builder: BuilderIdentity, jobs: int, limits: BuildLimits) -> str:
    if not plan.pending:
        return f"Nothing to build from {source}."
    return (f"Building {plural(len(plan.pending), 'release')} from {source} for {builder.describe()}, "
            f"{jobs} at a time ({limits.describe()}).")


def settled_line(settled: Settled) -> str | None:
    """What a run settled of the runs killed before it, if anything."""
    parts = []
    if settled.published:
        parts.append(f"published the files of {plural(settled.published, 'recorded build')}")
    if settled.discarded:
        parts.append(f"deleted the files of {plural(settled.discarded, 'unrecorded build')} (to build again)")
    if settled.builds_killed:
        parts.append(f"killed {plural(settled.builds_killed, 'build')} left running")
    if settled.work_folders:
        parts.append(f"removed {plural(settled.work_folders, 'work folder')}")
    if not parts:
        return None
    return "A run was interrupted before this one: " + "; ".join(parts) + "."


def totals_line(recorded: Sequence[Recorded], wheels: Path, logs: Path) -> str:
    return f"Recorded {_account(recorded)}. Wheels in {wheels}, logs in {logs}."


def kept_when_stopped(recorded: Sequence[Recorded]) -> str:
    """What a run stopped by a signal has kept (the guard's line: "Stopped by SIGTERM: ...")."""
    return (f"recorded {_account(recorded)}; any build in progress is killed and not recorded "
            "(the next run builds it)")


def _account(recorded: Sequence[Recorded]) -> str:
    """"3 builds: 2 succeeded, 1 failed (1 error)"."""
    succeeded = sum(r.outcome.succeeded for r in recorded)
    reasons = Counter(r.outcome.reason for r in recorded if not r.outcome.succeeded)
    failed = sum(reasons.values())
    text = f"{plural(len(recorded), 'build')}: {succeeded:,} succeeded, {failed:,} failed"
    if failed:
        text += " (" + ", ".join(f"{count:,} {reason}" for reason, count in sorted(reasons.items())) + ")"
    return text


def record_line(record: BuildRecord) -> str:
    """One build as `wheelstats builds` lists it."""
    started = record.built_at.isoformat(sep=" ", timespec="seconds") + " UTC" if record.built_at else "unknown start"
    took = seconds(record.duration_s) if record.duration_s is not None else "an unknown time"
    if record.succeeded:
        ending = f"built in {took}: " + (", ".join(f.filename for f in record.files) or "no files recorded")
    elif record.succeeded is False:
        reason = record.reason or "unknown reason"
        if record.exit_code is not None:
            reason += f", exit code {record.exit_code}"
        ending = f"failed after {took} ({reason})"
    else:
        ending = f"took {took}, status unknown"
    log = f"  log: {record.log_path}" if record.log_path else ""
    return (f"{record.build_id}  {started}  {record.project} {record.version} ({record.abi_tag or 'any ABI'})  "
            f"{ending}{log}")
