"""Access logs of installer sessions made in the test: everyday installs, and spikes made on purpose.

A session is one client with one agent: the lookup of what was asked for (if
any), then for each package a lookup and its download, two seconds apart, as
pip does. Everyday traffic is `EVERYDAY_SESSIONS` sessions a day, each
installing one of the everyday projects; a test adds the sessions of its own
spike and knows who asked for what.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

EVERYDAY_PROJECTS = ("alpha", "beta", "gamma", "delta", "epsilon")
EVERYDAY_SESSIONS = 40
FIRST_DAY, LAST_DAY = date(2020, 2, 1), date(2020, 3, 31)


def pip_agent(python: str, *, ci: bool | None = None) -> str:
    """pip 20.0.2's agent on a Raspberry Pi with this Python (or a CI runner's, ci=True)."""
    data = {
        "ci": ci, "cpu": "x86_64" if ci else "armv7l", "implementation": {"name": "CPython", "version": python},
        "installer": {"name": "pip", "version": "20.0.2"}, "python": python,
        "system": {"name": "Linux", "release": "5.0.0-1032-azure" if ci else "4.19.97-v7+"},
    }
    return "pip/20.0.2 " + json.dumps(data, separators=(",", ":"), sort_keys=True)


MIRROR_AGENT = "bandersnatch/4.2.0 (cpython 3.8.1-final0, Linux x86_64)"
EVERYDAY_AGENTS = (pip_agent("3.7.3"), pip_agent("3.5.3"), pip_agent("2.7.16"))


def wheel(project: str, version: str = "1.0") -> str:
    return f"{project.replace('-', '_')}-{version}-py2.py3-none-any.whl"


@dataclass(frozen=True, slots=True)
class Session:
    client: str
    agent: str
    start: datetime
    asks: str | None  # the project looked up first; None: the session starts with its first package
    packages: tuple[str, ...]  # looked up and downloaded, in order (the project asked for among them, if served)


def session_lines(session: Session) -> list[tuple[datetime, str]]:
    """The session's log lines, each with its time."""
    lines = []
    if session.asks is not None:
        lines.append((session.start, f"/simple/{session.asks}/"))
    for step, project in enumerate(session.packages, 1):
        when = session.start + timedelta(seconds=2 * step)
        lines.append((when, f"/simple/{project}/"))
        lines.append((when, f"/simple/{project}/{wheel(project)}"))
    return lines


def everyday(first: date = FIRST_DAY, last: date = LAST_DAY, per_day: int = EVERYDAY_SESSIONS) -> list[Session]:
    """`per_day` sessions a day, 36 minutes apart, each installing one everyday project."""
    sessions = []
    day = first
    while day <= last:
        for n in range(per_day):
            start = datetime.combine(day, datetime.min.time()) + timedelta(minutes=36 * n, seconds=7)
            project = EVERYDAY_PROJECTS[(n + day.toordinal()) % len(EVERYDAY_PROJECTS)]
            sessions.append(Session(f"10.1.{n}.{day.toordinal() % 250}", EVERYDAY_AGENTS[n % 3], start, project,
                                    (project,)))
        day += timedelta(days=1)
    return sessions


def log_text(sessions: list[Session], extra: list[tuple[datetime, str, str, str]] = ()) -> str:
    """Apache combined lines of the sessions (and of `extra` downloads: time, client, agent, path), in time order."""
    entries = [(when, session.client, session.agent, path) for session in sessions
               for when, path in session_lines(session)]
    entries += list(extra)
    entries.sort(key=lambda e: (e[0], e[3].endswith(".whl")))
    return "".join(
        f'{client} - - [{when.strftime("%d/%b/%Y:%H:%M:%S")} +0000] "GET {path} HTTP/1.1" 200 2048 "-" '
        f'"{agent.replace(chr(34), chr(92) + chr(34))}"\n'
        for when, client, agent, path in entries
    )


def write_log(path: Path, sessions: list[Session], extra=()) -> Path:
    path.write_text(log_text(sessions, extra))
    return path


def daily_downloads(sessions: list[Session], extra=()) -> dict[date, int]:
    """Downloads per day of the sessions and the extra downloads."""
    counts: dict[date, int] = {}
    for session in sessions:
        counts[session.start.date()] = counts.get(session.start.date(), 0) + len(session.packages)
    for when, *_ in extra:
        counts[when.date()] = counts.get(when.date(), 0) + 1
    return counts
