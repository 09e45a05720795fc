"""Running one build in its sandboxed child, and stopping it at its limits.

The child (wheelstats.builder.sandbox) starts a session of its own, so the
build is one process group whatever it forks; it has no standard input, and its
output goes to the log file. While it runs, a watchdog thread checks every
quarter second:

    the wall clock   past the timeout: the whole session is killed (SIGKILL)
    the CPU time     of every process of the session together, as /proc counts
                     it (a process's own time and its reaped children's): past
                     the limit, the whole session is killed (looked at once the
                     wall clock times the CPUs could have reached the limit)
    a stop request   (SIGTERM to `wheelstats build`): the session is killed

When pip exits, whatever it left running in the session is killed too, and so
is any process carrying the build's marker in its environment (one that left the
session with setsid). The duration is the wall clock from just before the child
starts to its exit: the time of `pip wheel` itself, as piwheels measures it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from wheelstats.builder.limits import BuildLimits

WATCH_EVERY_S = 0.25
MARKER = "WHEELSTATS_BUILD"  # environment variable: "<pid of wheelstats build> <build id>"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
CPUS = os.cpu_count() or 1


@dataclass(frozen=True, slots=True)
class Finished:
    """How a child ended."""

    exit_code: int  # negative: killed by that signal
    elapsed_s: float  # wall clock, from just before it started to its exit
    cpu_s: float  # CPU time of the child and the processes it reaped, or as the watchdog last saw it
    stopped_for: str | None  # "timeout", "cpu" or "shutdown" when the watchdog killed it; None otherwise


@dataclass(frozen=True, slots=True)
class ProcessTimes:
    pid: int
    session: int
    cpu_s: float  # its own CPU time and that of the children it has reaped


def _read_stat(pid: int) -> ProcessTimes | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    fields = text[text.rindex(")") + 2:].split()  # after "pid (comm) ": state is fields[0]
    utime, stime, cutime, cstime = (int(value) for value in fields[11:15])
    return ProcessTimes(pid, int(fields[3]), (utime + stime + cutime + cstime) / CLOCK_TICKS)


def _pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def session_members(session: int) -> list[ProcessTimes]:
    """The processes of a session, with their CPU times."""
    members = []
    for pid in _pids():
        times = _read_stat(pid)
        if times is not None and times.session == session:
            members.append(times)
    return members


def _marker_of(pid: int) -> str | None:
    """The build marker in a process's environment, if it has one."""
    try:
        environment = Path(f"/proc/{pid}/environ").read_bytes()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    prefix = f"{MARKER}=".encode()
    for entry in environment.split(b"\0"):
        if entry.startswith(prefix):
            return entry[len(prefix):].decode(errors="replace")
    return None


def marked_processes(marker: str) -> list[int]:
    """The processes whose environment carries this build's marker, wherever they went."""
    return [pid for pid in _pids() if _marker_of(pid) == marker]


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # another user's process
        return False
    return False


def orphaned_builds() -> set[str]:
    """The markers of build processes whose `wheelstats build` is gone (killed without cleaning up)."""
    orphaned = set()
    for pid in _pids():
        marker = _marker_of(pid)
        owner = marker.split(" ")[0] if marker else ""
        if owner.isdigit() and int(owner) != os.getpid() and gone(int(owner)):
            orphaned.add(marker)
    return orphaned


def _kill(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def kill_session(session: int) -> None:
    """SIGKILL every process of a session, again until none is left (one may fork meanwhile)."""
    try:
        os.killpg(session, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    for _ in range(10):
        left = [member.pid for member in session_members(session)]
        if not left:
            return
        _kill(left)


def kill_marked(marker: str) -> None:
    for _ in range(10):
        left = marked_processes(marker)
        if not left:
            return
        _kill(left)


class _Watchdog(threading.Thread):
    """Kills the child's session when it passes a limit or a stop is requested."""

    def __init__(self, session: int, started: float, limits: BuildLimits, stop: threading.Event) -> None:
        super().__init__(name=f"wheelstats-watchdog-{session}", daemon=True)
        self.session, self.started, self.limits, self.stop = session, started, limits, stop
        self.finished = threading.Event()
        self.stopped_for: str | None = None
        self.cpu_s = 0.0  # the most CPU time the session was seen to have used

    def _over(self) -> str | None:
        if self.stop.is_set():
            return "shutdown"
        elapsed = time.monotonic() - self.started
        if elapsed > self.limits.timeout_s:
            return "timeout"
        if elapsed * CPUS < self.limits.cpu_s:  # it cannot have used that much CPU yet: no need to look
            return None
        self.cpu_s = max(self.cpu_s, sum(member.cpu_s for member in session_members(self.session)))
        if self.cpu_s > self.limits.cpu_s:
            return "cpu"
        return None

    def run(self) -> None:
        while not self.finished.wait(WATCH_EVERY_S):
            reason = self._over()
            if reason is not None:
                self.stopped_for = reason
                kill_session(self.session)
                return


def run_sandboxed(pip_arguments: list[str], *, cwd: Path, log: Path, limits: BuildLimits, marker: str,
                  stop: threading.Event, environment: dict[str, str] | None = None) -> Finished:
    """Run `pip PIP_ARGUMENTS` in the sandbox, in `cwd`, its output to `log`, within `limits`."""
    command = [sys.executable, "-m", "wheelstats.builder.sandbox"]
    if limits.memory_bytes is not None:
        command += ["--memory", str(limits.memory_bytes)]
    command += ["--cpu", str(int(limits.cpu_s)), "--", *pip_arguments]
    env = {**(environment if environment is not None else os.environ), MARKER: marker}
    with open(log, "ab") as output:
        started = time.monotonic()
        child = subprocess.Popen(command, cwd=cwd, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                                 env=env, start_new_session=True)
    watchdog = _Watchdog(child.pid, started, limits, stop)
    watchdog.start()
    try:
        _pid, status, usage = os.wait4(child.pid, 0)
    finally:
        watchdog.finished.set()
    elapsed = time.monotonic() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    watchdog.join()
    kill_session(child.pid)  # what the build left running
    kill_marked(marker)
    # wait4 counts the processes pip reaped; the watchdog saw the ones killed with it too
    cpu_s = max(usage.ru_utime + usage.ru_stime, watchdog.cpu_s)
    return Finished(child.returncode, elapsed, cpu_s, watchdog.stopped_for)
