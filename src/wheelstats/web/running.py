"""Running an ASGI application under uvicorn until a signal stops it, with the exit a shell expects.

uvicorn shuts down gracefully on SIGINT and SIGTERM (the application's lifespan
ends: the access log is flushed, the feeder drains), then raises the signal
again with the handler the process had before: the command's guard
(wheelstats.interrupts), which says what was kept and exits 130 or 143.
`uvicorn.run` would swallow the interrupt and exit 0; here it reaches the guard.
"""

from __future__ import annotations

import sys

import uvicorn

STARTUP_FAILURE = 3  # as uvicorn.run exits when the server cannot start (e.g. the port is taken)


def run_until_stopped(app, **options) -> None:
    """Serve `app` with uvicorn.Config(**options); KeyboardInterrupt after a graceful stop on Ctrl-C."""
    server = uvicorn.Server(uvicorn.Config(app, **options))
    server.run()
    if not server.started:
        sys.exit(STARTUP_FAILURE)
