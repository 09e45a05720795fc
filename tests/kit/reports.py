"""A small store of known rows for the report tests, with the rows kept for plain-Python checks.

Normal days have 8-12 downloads rotating over files and agents; 4 and 5 March
2020 add a spike of the pure wheel `qux`; searches and project pages are mixed
in (never downloads), and April 2020 lies after the Q1 period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from wheelstats import store

from kit.hits import add_hits

WEEK = 7 * 24 * 3600

# agent_id: (installer, python, distro, os, cpu)
AGENTS = {
    1: ("pip", "3.7", "Raspbian GNU/Linux", "Linux", "armv7l"),
    2: ("pip", "2.7", "Raspbian GNU/Linux", "Linux", "armv6l"),
    3: ("pip", "3.10", "Ubuntu", "Linux", "x86_64"),
    4: ("Browser", None, None, "Windows", None),
    5: ("pip", "3.9", "Raspbian GNU/Linux", "Linux", "armv7l"),
}
# build_id: duration in seconds
BUILDS = {1: 106.7, 2: 56.7, 3: 1_000_000.0, 4: 20.0, 5: 30.0, 6: 3.0}
# filename: (project, abi, platform, build_id)
FILES = {
    "Foo_Bar-1.0-cp37-cp37m-linux_armv7l.whl": ("foo-bar", "cp37m", "linux_armv7l", 1),
    "Foo_Bar-1.0-cp27-cp27mu-linux_armv6l.whl": ("foo-bar", "cp27mu", "linux_armv6l", 2),
    "baz-2.0-cp37-cp37m-linux_armv7l.whl": ("baz", "cp37m", "linux_armv7l", 3),
    "qux-1.0-py2.py3-none-any.whl": ("qux", "none", "any", 4),
    "baz-2.0-cp310-cp310-manylinux_2_17_x86_64.whl": ("baz", "cp310", "manylinux_2_17_x86_64", 5),
    "tiny-0.1-cp37-cp37m-linux_armv7l.whl": ("tiny", "cp37m", "linux_armv7l", 6),
    "nobuild-1.0.tar.gz": ("nobuild", None, None, None),
}
FILE_NAMES = list(FILES)
FIRST_DAY, LAST_DAY = date(2019, 11, 1), date(2020, 4, 10)
SPIKE = {date(2020, 3, 4): 40, date(2020, 3, 5): 45}


@dataclass(frozen=True, slots=True)
class Hit:
    ts: datetime
    kind: str
    project: str | None
    filename: str | None
    agent_id: int | None
    client: str


def make_hits() -> list[Hit]:
    hits: list[Hit] = []
    day, index = FIRST_DAY, 0
    while day <= LAST_DAY:
        normal = 8 + day.toordinal() % 5
        for n in range(normal):
            filename = FILE_NAMES[index % len(FILE_NAMES)]
            agent = [1, 1, 1, 2, 3, 4, 5, None][index % 8]
            ts = datetime.combine(day, datetime.min.time()) + timedelta(minutes=37 * n + 5)
            hits.append(Hit(ts, "download", FILES[filename][0], filename, agent, f"c{index % 23}"))
            if n % 3 == 0:
                hits.append(Hit(ts, "search", FILES[filename][0], None, agent, f"c{index % 23}"))
            index += 1
        for n in range(SPIKE.get(day, 0)):
            ts = datetime.combine(day, datetime.min.time()) + timedelta(minutes=20 * n + 1)
            agent = 2 if n % 4 == 0 else 1
            hits.append(Hit(ts, "download", "qux", "qux-1.0-py2.py3-none-any.whl", agent, f"s{n}"))
        hits.append(Hit(datetime.combine(day, datetime.min.time()) + timedelta(hours=23, minutes=59, seconds=59),
                        "project_page", "foo-bar", None, 4, "web"))
        day += timedelta(days=1)
    return hits


def build_store(path: Path, hits: list[Hit] | None = None) -> list[Hit]:
    """Create a store at `path` holding the known rows; return the hits inserted."""
    hits = make_hits() if hits is None else hits
    con = store.connect(path)
    for agent_id, (installer, python, distro, os_name, cpu) in AGENTS.items():
        con.execute(
            "INSERT INTO agents (agent_id, agent, is_installer, is_bot, installer_name, python_version,"
            " distro_name, os_name, cpu) VALUES (?, ?, ?, false, ?, ?, ?, ?, ?)",
            [agent_id, f"agent-{agent_id}", installer == "pip", installer, python, distro, os_name, cpu],
        )
    for build_id, duration in BUILDS.items():
        con.execute(
            "INSERT INTO builds (build_id, project, version, duration_s, status) VALUES (?, 'p', '1', ?, true)",
            [build_id, duration],
        )
    for filename, (project, abi, platform, build_id) in FILES.items():
        con.execute(
            "INSERT INTO files (filename, project, abi_tag, platform_tag, valid, build_id)"
            " VALUES (?, ?, ?, ?, true, ?)",
            [filename, project, abi, platform, build_id],
        )
    add_hits(
        con, ("ts", "kind", "project", "filename", "path", "client", "agent_id", "source_id", "line_no"),
        [[h.ts, h.kind, h.project, h.filename, "/x", h.client, h.agent_id, 1, i] for i, h in enumerate(hits, 1)],
    )
    con.close()
    return hits


# Independent plain-Python versions of the figures, over the inserted rows.

def piwheels_saved(filename: str | None) -> float:
    if filename not in FILES:
        return 0.0
    _project, abi, platform, build_id = FILES[filename]
    if abi is None or abi == "none" or build_id is None:
        return 0.0
    duration = BUILDS[build_id]
    if duration > WEEK:
        return 0.0
    factor = {"linux_armv7l": 1, "linux_armv6l": 6}.get(platform, 0)
    return max(duration - 6.7, 0.0) * factor


def watts(filename: str | None) -> float:
    platform = FILES.get(filename, (None, None, None, None))[2]
    return {"linux_armv7l": 5 * 0.22, "linux_armv6l": 5 * 0.08}.get(platform, 0.0)


def downloads(hits: list[Hit], start: datetime | None, end: datetime) -> list[Hit]:
    return [h for h in hits if h.kind == "download" and (start is None or h.ts >= start) and h.ts < end]
