"""Recording every request: an Apache combined access log, then the store, in batches.

The log is the write-ahead record. Each response appends one combined-format
line to an in-memory queue (no I/O on the request path); a thread writes the
queue to the log every `flush_interval` seconds and on shutdown. Another
thread feeds the store from the log through the same parse and classify path
as `wheelstats ingest`, resuming from the checkpoint the store keeps for the
log and committing rows and checkpoint together. It holds the store file only
while it writes a batch, so other `wheelstats` commands can use the store in
between; when another process holds it, the batch waits for the next round
and nothing is lost. After a SIGKILL the next start ingests from the checkpoint.
"""

from __future__ import annotations

import collections
import logging
import os
import re
import threading
import time
from pathlib import Path

import duckdb

from wheelstats import store
from wheelstats.ingest import ingest_paths

log = logging.getLogger("wheelstats.serve")

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MAX_LOGGED_FIELD = 8192  # bytes of a request target, referrer or agent written to the log

# Apache's ap_escape_logitem: quotes, backslashes, control and non-ASCII bytes.
_NEEDS_ESCAPE = re.compile(rb'[^\x20-\x7e]|["\\]')
_ESCAPES = [chr(b) if 0x20 <= b <= 0x7E else f"\\x{b:02x}" for b in range(256)]
for _byte, _text in ((8, "\\b"), (9, "\\t"), (10, "\\n"), (11, "\\v"), (13, "\\r"), (34, '\\"'), (92, "\\\\")):
    _ESCAPES[_byte] = _text


def escape_field(value: bytes) -> str:
    """A request line, referrer or agent as Apache writes it inside quotes."""
    value = value[:MAX_LOGGED_FIELD]
    if not _NEEDS_ESCAPE.search(value):
        return value.decode("ascii")
    return "".join([_ESCAPES[b] for b in value])


class ClfClock:
    """`[25/Nov/2026:14:55:53 +0000]`, formatted once per second."""

    __slots__ = ("_second", "_text")

    def __init__(self):
        self._second = -1
        self._text = ""

    def now(self) -> str:
        second = int(time.time())
        if second != self._second:
            moment = time.gmtime(second)
            self._text = (
                f"[{moment.tm_mday:02d}/{MONTHS[moment.tm_mon - 1]}/{moment.tm_year}:"
                f"{moment.tm_hour:02d}:{moment.tm_min:02d}:{moment.tm_sec:02d} +0000]"
            )
            self._second = second
        return self._text


def request_line(scope) -> bytes:
    target = scope.get("raw_path") or scope["path"].encode("utf-8", "surrogateescape")
    query = scope.get("query_string") or b""
    if query:
        target = target + b"?" + query
    target = target[:MAX_LOGGED_FIELD]
    return b"%s %s HTTP/%s" % (scope["method"].encode("ascii"), target, scope["http_version"].encode("ascii"))


def combined_line(scope, clock_text: str, status: int, sent: int) -> str:
    """One Apache combined log line (with its newline) for a finished request."""
    referrer = agent = b"-"
    for name, value in scope["headers"]:
        if name == b"user-agent":
            agent = value
        elif name == b"referer":
            referrer = value
    client = scope.get("client")
    host = client[0] if client else "-"
    return (
        f'{host} - - {clock_text} "{escape_field(request_line(scope))}" {status} '
        f'{sent if sent else "-"} "{escape_field(referrer)}" "{escape_field(agent)}"\n'
    )


class AccessLog:
    """Appends lines to the log file from a queue, every `flush_interval` seconds."""

    def __init__(self, path: str | Path, flush_interval: float = 0.2):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        self._queue: collections.deque[str] = collections.deque()
        self.record = self._queue.append  # thread-safe, and the cheapest call there is
        self._write_lock = threading.Lock()
        self._stop = threading.Event()
        self._interval = flush_interval
        self._thread = threading.Thread(target=self._run, name="wheelstats-access-log", daemon=True)
        self.lines_written = 0

    def start(self) -> None:
        self._thread.start()

    def flush(self) -> None:
        with self._write_lock:
            lines = []
            take = self._queue.popleft
            try:
                while True:
                    lines.append(take())
            except IndexError:
                pass
            if not lines:
                return
            data = memoryview("".join(lines).encode("ascii"))
            while data:
                written = os.write(self._fd, data)
                data = data[written:]
            self.lines_written += len(lines)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.flush()

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self.flush()
        os.fsync(self._fd)
        os.close(self._fd)


class RecordingMiddleware:
    """Pure ASGI middleware: one combined log line per HTTP request."""

    def __init__(self, app, access_log: AccessLog):
        self.app = app
        self.record = access_log.record
        self.clock = ClfClock()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        clock_text = self.clock.now()
        state = [500, 0]  # status, body bytes sent

        async def recording_send(message):
            if message["type"] == "http.response.body":
                state[1] += len(message.get("body", b""))
            elif message["type"] == "http.response.start":
                state[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            sent = 0 if scope["method"] == "HEAD" else state[1]
            self.record(combined_line(scope, clock_text, state[0], sent))


class StoreFeeder:
    """Ingests the access log into the store in batches, from a thread.

    `store_lock` is shared with the in-process readers of the store (DuckDB
    allows one configuration per file within a process).
    """

    def __init__(
        self,
        db_path: str | Path,
        access_log: AccessLog,
        *,
        store_lock: threading.Lock,
        ip_mode: str = "hash",
        interval: float = 1.0,
    ):
        self.db_path = Path(db_path)
        self.access_log = access_log
        self.store_lock = store_lock
        self.ip_mode = ip_mode
        self.interval = interval
        self.key = None
        if ip_mode == "hash":
            from wheelstats.privacy import load_key

            self.key = load_key(self.db_path)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wheelstats-store-feeder", daemon=True)
        self._ingested_size = -1
        self.batches = 0
        self.busy_rounds = 0
        self.hits = 0

    def start(self) -> None:
        self._thread.start()

    def _log_size(self) -> int:
        try:
            return os.stat(self.access_log.path).st_size
        except FileNotFoundError:
            return 0

    def feed_once(self) -> bool:
        """Ingest what the log holds beyond the checkpoint; False if the store was busy."""
        size = self._log_size()
        if size == self._ingested_size:
            return True
        with self.store_lock:
            try:
                con = store.connect(self.db_path)
            except store.StoreError as error:
                self.busy_rounds += 1
                if self.busy_rounds == 1 or self.busy_rounds % 60 == 0:
                    log.warning("the store is busy, the log waits for the next round: %s", error)
                return False
            try:
                reports = ingest_paths(
                    con, [str(self.access_log.path)], log_format="combined", ip_mode=self.ip_mode, key=self.key
                )
            finally:
                con.close()
        self.batches += 1
        self.hits += sum(sum(report.hits.values()) for report in reports)
        self._ingested_size = size
        return True

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.feed_once()
            except duckdb.Error as error:  # keep serving; the log keeps every line
                log.error("feeding the store failed, retrying next round: %s", error)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=60)

    def final_round(self, *, attempts: int = 20) -> None:
        """Ingest what is left (after the log's last flush), retrying a busy store a little while."""
        for _ in range(attempts):
            try:
                if self.feed_once():
                    return
            except duckdb.Error as error:
                log.error("feeding the store failed: %s", error)
                break
            time.sleep(0.25)
        log.warning("the rest of the access log is ingested at the next start")
