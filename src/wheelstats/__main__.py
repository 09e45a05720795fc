"""The `wheelstats` command (and `python -m wheelstats`): the CLI, stopping cleanly on a signal at any moment.

Signals are caught from before the CLI is loaded (DuckDB, Typer and Rich take
a moment): one that comes before a command runs says so in one line; while a
command runs, wheelstats.cli's guard tells what it kept; once it has ended,
its exit status stands.
"""

from __future__ import annotations

import os
import signal
import sys

# No command needs BLAS on more than one thread (simulate solves a 2x2 system), and OpenBLAS (loaded with numpy)
# starts a thread for each core but one, which spins for a while first: CPU taken from the command's own threads.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from wheelstats.interrupts import EXIT_CODES, catching_signals, stopping_signal


def _stopped_before_the_command(signum: int) -> int:
    print(f"Stopped by {signal.Signals(signum).name}: nothing was done.", file=sys.stderr)
    return EXIT_CODES[signum]


def main() -> int:
    try:
        with catching_signals() as signals:
            try:
                from wheelstats.cli import app

                return app(prog_name="wheelstats")
            except KeyboardInterrupt as error:  # while the CLI was loading
                return _stopped_before_the_command(stopping_signal(error, signals) or signal.SIGINT)
            except SystemExit:
                if signals.first is not None and not signals.started:  # Typer turned it into an exit
                    return _stopped_before_the_command(signals.first)
                raise
            finally:
                signals.ended = True
    finally:  # from here on a signal would only cut the interpreter's exit short
        for signum in EXIT_CODES:
            signal.signal(signum, signal.SIG_IGN)


if __name__ == "__main__":
    sys.exit(main())
