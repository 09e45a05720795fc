"""Interrupts (Ctrl-C, SIGTERM) that never fall between a commit and its account.

An interrupt may come at any moment. Inside a block's transaction it rolls
the block back, which is always safe. Between the COMMIT and the line that
adds the block to its source's account it would leave the account one block
short of the store: `deferred()` holds SIGINT and SIGTERM for those few
statements and delivers them right after, to whatever handlers were set.

DuckDB turns an interrupt that arrives while it runs a query into
`RuntimeError('Query interrupted')` (or duckdb.InterruptException):
`is_interrupt` tells those from real errors.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb

SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM until the block ends, then deliver them (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = {signum: signal.getsignal(signum) for signum in SIGNALS}
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


def is_interrupt(error: BaseException) -> bool:
    """Whether `error` is an interrupt, as Python or DuckDB raises it."""
    if isinstance(error, (KeyboardInterrupt, duckdb.InterruptException)):
        return True
    return isinstance(error, RuntimeError) and str(error) == "Query interrupted"
