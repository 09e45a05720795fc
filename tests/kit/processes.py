"""Child processes and ports: free loopback ports, waiting on a condition with a deadline, stopping children."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

WHEELSTATS = str(Path(sys.executable).with_name("wheelstats"))
POLL_SECONDS = 0.05

T = TypeVar("T")


def ctrl_c_restored() -> None:
    """A child's preexec_fn: Ctrl-C (SIGINT) as the default, since the tests may run with it ignored (a background
    job) and a child inherits that; a command that keeps an inherited ignore is right to."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(condition: Callable[[], T], *, timeout: float = 60.0, what: str = "the condition") -> T:
    """Poll `condition` until it returns something true, and return that; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(POLL_SECONDS)


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int | None:
    """Signal a child (SIGTERM by default: SIGINT may be ignored when the tests run in the background)
    and wait for it; kill it if it does not stop in time. Returns its exit status."""
    if process.poll() is None:
        process.send_signal(sig)
        try:
            return process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode
