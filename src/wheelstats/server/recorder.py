"""Recording every request as an Apache combined access log line.

The log is the write-ahead record of the store (see feeder.py, which ingests
it). Each response appends one combined-format line to an in-memory queue (no
I/O on the request path); a thread writes the queue to the log every
`flush_interval` seconds and on shutdown.
"""

from __future__ import annotations

import collections
import os
import re
import threading
import time
from collections.abc import Callable, Hashable
from pathlib import Path


MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MAX_LOGGED_FIELD = 8192  # bytes of a request target, referrer or agent written to the log

# Apache's ap_escape_logitem: quotes, backslashes, control and non-ASCII bytes.
_NEEDS_ESCAPE = re.compile(rb'[^\x20-\x7e]|["\\]')
_ESCAPES = [chr(b) if 0x20 <= b <= 0x7E else f"\\x{b:02x}" for b in range(256)]
for _byte, _text in ((8, "\\b"), (9, "\\t"), (10, "\\n"), (11, "\\v"), (13, "\\r"), (34, '\\"'), (92, "\\\\")):
    _ESCAPES[_byte] = _text


_ESCAPE_BYTES = [text.encode("ascii") for text in _ESCAPES]


def _escape_match(match: re.Match) -> bytes:
    return _ESCAPE_BYTES[match.group()[0]]


def escape_field(value: bytes) -> str:
    """A request line, referrer or agent as Apache writes it inside quotes."""
    value = value[:MAX_LOGGED_FIELD]
    return _NEEDS_ESCAPE.sub(_escape_match, value).decode("ascii")


class Remembered:
    """A function of one argument, its answers remembered (all forgotten at once when there are MAX_ENTRIES): a
    server sees few distinct agents, and its popular pages and files again and again."""

    __slots__ = ("_known", "_answer")
    MAX_ENTRIES = 4096

    def __init__(self, answer: Callable[[Hashable], str]):
        self._known: dict[Hashable, str] = {}
        self._answer = answer

    def __call__(self, argument: Hashable) -> str:
        try:
            return self._known[argument]
        except KeyError:
            answer = self._answer(argument)
            if len(self._known) >= self.MAX_ENTRIES:
                self._known.clear()
            self._known[argument] = answer
            return answer


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


def escaped_request_line(parts: tuple) -> str:
    """The escaped request line of a scope's (method, raw_path, path, query_string, http_version)."""
    method, raw_path, path, query, version = parts
    target = raw_path or path.encode("utf-8", "surrogateescape")
    if query:
        target = target + b"?" + query
    target = target[:MAX_LOGGED_FIELD]
    return escape_field(b"%s %s HTTP/%s" % (method.encode("ascii"), target, version.encode("ascii")))


_escape_header = Remembered(escape_field)
# Remembered by the scope's parts, before they are put together: most request lines are known.
_request_line = Remembered(escaped_request_line)


def combined_line(scope, clock_text: str, status: int, sent: int) -> str:
    """One Apache combined log line (with its newline) for a finished request."""
    request = _request_line((scope["method"], scope.get("raw_path"), scope["path"], scope.get("query_string"),
                             scope["http_version"]))
    referrer = agent = b"-"
    for name, value in scope["headers"]:
        if name == b"user-agent":
            agent = value
        elif name == b"referer":
            referrer = value
    client = scope.get("client")
    host = client[0] if client else "-"
    return (
        f'{host} - - {clock_text} "{request}" {status} '
        f'{sent if sent else "-"} "{_escape_header(referrer)}" "{_escape_header(agent)}"\n'
    )


def same_file(fd: int, path: str | Path) -> bool:
    """Whether `path` still names the file open as `fd` (False once it was rotated away)."""
    try:
        named = os.stat(path)
    except FileNotFoundError:
        return False
    opened = os.fstat(fd)
    return (named.st_dev, named.st_ino) == (opened.st_dev, opened.st_ino)


class AccessLog:
    """Appends lines to the log file from a queue, every `flush_interval` seconds.

    When the file is renamed away (logrotate's default `create` mode), the
    next flush opens a new file under the same name.
    """

    def __init__(self, path: str | Path, flush_interval: float = 0.2):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = self._open()
        self._queue: collections.deque[str] = collections.deque()
        self.record = self._queue.append  # thread-safe, and the cheapest call there is
        self._write_lock = threading.Lock()
        self._stop = threading.Event()
        self._interval = flush_interval
        self._thread = threading.Thread(target=self._run, name="wheelstats-access-log", daemon=True)
        self.lines_written = 0

    def _open(self) -> int:
        return os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)

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
            if not same_file(self._fd, self.path):
                os.close(self._fd)
                self._fd = self._open()
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

        def recording_send(message):  # hands back send's awaitable: no coroutine of its own a message
            if message["type"] == "http.response.body":
                state[1] += len(message.get("body", b""))
            elif message["type"] == "http.response.start":
                state[0] = message["status"]
            return send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            sent = 0 if scope["method"] == "HEAD" else state[1]
            self.record(combined_line(scope, clock_text, state[0], sent))
