"""Stopping a command cleanly on SIGINT and SIGTERM.

While `catching_signals()` is active, SIGTERM (and SIGINT, unless the process
was started with it ignored, as a background job is) raises `Stopped` in the
main thread: the same KeyboardInterrupt that Ctrl-C raises, so every `finally`
and every open transaction's rollback runs on the way out. Only the first
signal raises; later ones are noted and ignored, so that cleanup is not cut
short, and so is any signal once the command has ended (its exit status
stands). A signal that lands while DuckDB runs a query interrupts the query,
which then raises duckdb's own error ("Query interrupted"); `stopping_signal`
tells that apart from other errors by the signal noted.

The `wheelstats` entry point starts catching before it loads the CLI, and a
command's guard (wheelstats.cli) shares that one catcher: `started` and `ended`
tell them whether a signal stopped the command or came before it.

Library code that must not be cut between two statements (a COMMIT and the
account that counts it) holds the signals with `deferred()`; code that runs
DuckDB queries turns an interrupted query back into the KeyboardInterrupt it is
with `queries_interrupted_as_keyboard_interrupt()`.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

EXIT_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}  # 128 + the signal's number, as shells report it
QUERY_INTERRUPTED = "Query interrupted"


class Stopped(KeyboardInterrupt):
    """A signal asked the command to stop."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@dataclass(slots=True)
class Signals:
    """The signals received while catching them; the first one stops the command, unless it has ended."""

    received: list[int] = field(default_factory=list)
    started: bool = False  # a command is running (or ran)
    done: str | None = None  # what the command has committed, once it has (see `done`)
    ended: bool = False    # the command has ended: its exit status stands

    def handle(self, signum: int, frame) -> None:
        self.received.append(signum)
        if len(self.received) == 1 and not self.ended:
            raise Stopped(signum)

    @property
    def first(self) -> int | None:
        return self.received[0] if self.received else None


_catching: Signals | None = None  # the active catcher, shared by nested callers


@contextmanager
def catching_signals() -> Iterator[Signals]:
    """Turn SIGTERM and SIGINT into `Stopped` while inside; the previous handlers are restored after.

    Inside another `catching_signals()`, it shares that one. Outside the main
    thread (where Python cannot set handlers) it catches nothing.
    """
    global _catching
    if _catching is not None:
        yield _catching
        return
    signals = Signals()
    if threading.current_thread() is not threading.main_thread():
        yield signals
        return
    previous = {}
    for signum in EXIT_CODES:
        current = signal.getsignal(signum)
        if signum == signal.SIGINT and current == signal.SIG_IGN:
            continue  # started ignoring Ctrl-C (a background job): keep ignoring it
        previous[signum] = current
        signal.signal(signum, signals.handle)
    _catching = signals
    try:
        yield signals
    finally:
        _catching = None
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def done(what: str) -> None:
    """Note what the running command has committed, for the line that tells what a signal stopped it keeping."""
    if _catching is not None:
        _catching.done = what


def stopping_signal(error: BaseException, signals: Signals) -> int | None:
    """The signal that `error` is the way out of, or None if it is an error of its own."""
    if isinstance(error, Stopped):
        return error.signum
    if isinstance(error, KeyboardInterrupt):  # raised by Python's own SIGINT handler
        return signals.first or signal.SIGINT
    duckdb = sys.modules.get("duckdb")  # not imported: the error cannot be one of its own
    if is_interrupted_query(error) or (signals.first is not None and duckdb is not None and isinstance(error, duckdb.Error)):
        return signals.first or signal.SIGINT
    return None


def is_interrupted_query(error: BaseException) -> bool:
    """Whether `error` is DuckDB's way of saying a signal interrupted its query."""
    duckdb = sys.modules.get("duckdb")  # not imported: the error cannot be one of its own
    return (duckdb is not None and isinstance(error, duckdb.InterruptException)) or (
        isinstance(error, RuntimeError) and str(error) == QUERY_INTERRUPTED
    )


def is_interrupt(error: BaseException) -> bool:
    """Whether `error` is an interrupt, as Python or DuckDB raises it."""
    return isinstance(error, KeyboardInterrupt) or is_interrupted_query(error)


@contextmanager
def queries_interrupted_as_keyboard_interrupt() -> Iterator[None]:
    """Raise an interrupted DuckDB query as the KeyboardInterrupt it is, so callers stop on one exception."""
    try:
        yield
    except BaseException as error:
        if is_interrupted_query(error):
            raise KeyboardInterrupt from None
        raise


@contextmanager
def deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM until the block ends, then deliver them (main thread only).

    For the few statements between a COMMIT and the account that counts it: an
    interrupt there would leave the account one block short of the store.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = {signum: signal.getsignal(signum) for signum in EXIT_CODES}
    for signum, handler in previous.items():
        if handler not in (signal.SIG_IGN, None):
            signal.signal(signum, lambda number, _frame: received.append(number))
    try:
        yield
    finally:
        for signum, handler in previous.items():
            if handler is not None:
                signal.signal(signum, handler)
        for signum in received:
            signal.raise_signal(signum)
