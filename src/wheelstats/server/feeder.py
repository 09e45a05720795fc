"""Feeding the store from the server's access log, in batches, from a child process.

The child runs `python -m wheelstats.server.feeder` at a lower CPU priority,
so ingesting never takes the server's interpreter lock or its CPU when the
machine is busy: the log simply waits on disk. Each round ingests what the log
holds beyond the checkpoint the store keeps for it, through the same parse and
classify path as `wheelstats ingest`, committing rows and checkpoint together.
The store file is held only while a batch is written (open, ingest, close), so
other `wheelstats` commands can use it in between. When another process holds
it, the batch waits for the next round. The child's standard input is a pipe
from the server: when it closes (the server shutting down after its last
flush, or dying), the child does a last round and exits; whatever it could not
write is ingested at the next start. It runs in a process group of its own, so
a terminal's Ctrl-C reaches the server alone, and it ignores SIGTERM and SIGINT
from its first instruction (before any import), as a service manager may send
SIGTERM to every process of the service at once: the server decides when it ends.
"""

from __future__ import annotations

import argparse
import logging
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from wheelstats import store
from wheelstats.store import privacy
from wheelstats.ingest import ingest_paths
from wheelstats.rollups import refresh_rollups
from wheelstats.server.recorder import same_file

log = logging.getLogger("wheelstats.serve")

NICENESS = 10  # serving comes first, yet a batch (which holds the store) must end soon
FINAL_ATTEMPTS = 40  # rounds of 0.25 s waiting for a busy store at shutdown
BUSY_WAIT_SECONDS = 0.5  # a busy store is tried again next round rather than waited for


class Feeder:
    """One log into one store, a batch per call to `feed_once`."""

    def __init__(self, db_path: str | Path, log_path: str | Path, ip_mode: str = "hash"):
        self.db_path = Path(db_path)
        self.log_path = Path(log_path)
        self.ip_mode = ip_mode
        self.key: bytes | None = None
        self._clients_checked = False  # the store's IP mode and key, checked once the store is in hand
        self._ingested_size = -1
        self.busy_rounds = 0
        self.hits = 0
        self._previous_fd: int | None = None  # the log file last seen under log_path

    def _log_size(self) -> int:
        try:
            return os.stat(self.log_path).st_size
        except FileNotFoundError:
            return 0

    def _open_log(self) -> int | None:
        try:
            return os.open(self.log_path, os.O_RDONLY)
        except FileNotFoundError:
            return None

    def feed_once(self) -> bool:
        """Ingest what the log holds beyond the checkpoint; False if the store was busy.

        The file last ingested stays open: if the log was rotated since, that
        file (renamed, whatever its new name) is read to its end first.
        """
        rotated = self._previous_fd is not None and not same_file(self._previous_fd, self.log_path)
        size = self._log_size()
        if size == self._ingested_size and not rotated:
            return True
        paths = [f"/proc/self/fd/{self._previous_fd}"] if rotated else []
        current_fd = self._open_log()  # before reading: a rotation from now on is caught next round
        try:
            con = store.connect(self.db_path, wait_seconds=BUSY_WAIT_SECONDS)
        except store.StoreError as error:
            if current_fd is not None:
                os.close(current_fd)
            self.busy_rounds += 1
            if self.busy_rounds == 1 or self.busy_rounds % 60 == 0:
                log.warning("the store is busy; the access log waits for the next round: %s", error)
            return False
        try:
            if not self._clients_checked:  # refuses a mode or key that would split the store's clients
                try:
                    self.key = privacy.client_key(self.db_path, self.ip_mode, con=con)
                except store.StoreError:
                    if current_fd is not None:
                        os.close(current_fd)
                    raise
                self._clients_checked = True
            con.execute("SET threads = 1")  # small batches: one core is plenty, and leaves one to serve
            if current_fd is not None:
                paths.append(str(self.log_path))
            reports = ingest_paths(con, paths, log_format="combined", ip_mode=self.ip_mode, key=self.key)
            if any(report.hits for report in reports):
                refresh_rollups(con)  # the dashboard answers from these
        finally:
            con.close()
        if self._previous_fd is not None:
            os.close(self._previous_fd)
        self._previous_fd = current_fd
        self.hits += sum(sum(report.hits.values()) for report in reports)
        self._ingested_size = size
        return True

    def final_round(self) -> bool:
        for _ in range(FINAL_ATTEMPTS):
            if self.feed_once():
                return True
            time.sleep(0.25)
        log.warning("the store stayed busy: the rest of the access log is ingested at the next start")
        return False


def _server_gone(timeout: float) -> bool:
    """Wait up to `timeout` seconds; True once standard input (the server's pipe) has closed."""
    readable, _, _ = select.select([sys.stdin], [], [], timeout)
    return bool(readable) and not os.read(sys.stdin.fileno(), 4096)


def run_child(db: str, log_path: str, ip_mode: str, interval: float) -> int:
    """The child's loop: a round every `interval` seconds until the server's pipe closes."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.nice(NICENESS)
    feeder = Feeder(db, log_path, ip_mode)
    wait = 0.0  # the first round at once: it catches up after a crash and makes the store
    while not _server_gone(wait):
        wait = interval
        try:
            feeder.feed_once()
        except (duckdb.Error, store.StoreError) as error:  # keep going: the log keeps every line
            log.error("feeding the store failed, retrying next round: %s", error)
    try:
        return 0 if feeder.final_round() else 3
    except (duckdb.Error, store.StoreError) as error:
        log.error("feeding the store failed: %s", error)
        return 2


# The child's first lines: ignore both signals before importing anything, then run this module
# as `python -m wheelstats.server.feeder` would.
CHILD_BOOTSTRAP = (
    "import signal; signal.signal(signal.SIGINT, signal.SIG_IGN); signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "import runpy; runpy.run_module('wheelstats.server.feeder', run_name='__main__', alter_sys=True)"
)


class FeederProcess:
    """The server's handle on its feeder child."""

    def __init__(self, db_path: Path, log_path: Path, ip_mode: str = "hash", interval: float = 5.0):
        self.command = [
            sys.executable, "-c", CHILD_BOOTSTRAP, "--db", str(db_path), "--log", str(log_path),
            "--ip", ip_mode, "--interval", str(interval),
        ]
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(self.command, stdin=subprocess.PIPE, process_group=0)

    def drain(self, timeout: float = 120) -> None:
        """Ask for a last round (call after the log's last flush) and wait for it."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.stdin.close()
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            log.warning("the feeder did not finish in %.0f s; the next start resumes from the checkpoint", timeout)
            self.process.kill()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Feed a wheelstats store from a growing access log.")
    parser.add_argument("--db", required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--ip", default="hash", choices=privacy.IP_MODES)
    parser.add_argument("--interval", type=float, default=5.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="wheelstats feeder: %(message)s")
    return run_child(args.db, args.log, args.ip, args.interval)


if __name__ == "__main__":
    sys.exit(main())
