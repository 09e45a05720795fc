"""Access logs in tests: writing them, reading hit counts back, a strict combined-format matcher, and the account
`wheelstats ingest` prints of them."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

from wheelstats import store

PIP_AGENT = (
    'pip/20.0.2 {\\"ci\\":null,\\"cpu\\":\\"armv7l\\",\\"distro\\":{\\"id\\":\\"buster\\",\\"name\\":\\"Raspbian GNU/Linux\\",'
    '\\"version\\":\\"10\\"},\\"implementation\\":{\\"name\\":\\"CPython\\",\\"version\\":\\"3.7.3\\"},'
    '\\"installer\\":{\\"name\\":\\"pip\\",\\"version\\":\\"20.0.2\\"},\\"python\\":\\"3.7.3\\"}'
)


def log_line(n: int, kind: str = "download", status: int = 200) -> str:
    """A combined log line; `n` makes it unique (time and client)."""
    path = {
        "download": f"/simple/proj{n % 7}/proj{n % 7}-1.{n % 3}-cp37-cp37m-linux_armv7l.whl",
        "search": f"/simple/proj{n % 7}/",
        "project_page": f"/project/proj{n % 7}/",
        "other": "/favicon.ico",
    }[kind]
    return (
        f'10.0.{n % 256}.{n // 256 % 256} - - [05/Mar/2020:{n // 3600 % 24:02d}:{n // 60 % 60:02d}:{n % 60:02d} +0000] '
        f'"GET {path} HTTP/1.1" {status} 1234 "-" "{PIP_AGENT}"\n'
    )


def write_log(path: Path, lines: list[str], compress: bool = False) -> Path:
    data = "".join(lines).encode()
    if compress:
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)
    return path


def hit_counts(db: Path) -> dict[str, int]:
    con = store.connect(db, read_only=True)  # waits while a writer holds the store
    try:
        counts = dict(con.execute("SELECT kind::VARCHAR, count(*) FROM hits GROUP BY ALL").fetchall())
        counts["ignored"] = con.execute("SELECT coalesce(sum(lines), 0) FROM ignored").fetchall()[0][0]
        counts["rejected"] = con.execute("SELECT coalesce(sum(lines), 0) FROM rejected").fetchall()[0][0]
        counts["distinct_lines"] = con.execute(
            "SELECT count(DISTINCT (source_id, line_no)) FROM hits"
        ).fetchall()[0][0]
        return counts
    finally:
        con.close()


# A strict Apache combined-format matcher for the simulator's tests (independent of ingest).
QUOTED = r'"((?:[^"\\]|\\.)*)"'
COMBINED = re.compile(
    r"^(?P<client>[0-9]{1,3}(?:\.[0-9]{1,3}){3}|[0-9a-f:]+) - - "
    r"\[(?P<time>\d{2}/(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4})\] "
    r'"(?P<method>GET|HEAD|POST) (?P<path>/\S*) HTTP/1\.1" (?P<status>[1-5]\d\d) (?P<size>\d+|-) '
    + QUOTED.replace("(", "(?P<referrer>", 1) + " " + QUOTED.replace("(", "(?P<agent>", 1) + "$"
)


def unescape(field: str) -> str:
    return re.sub(r"\\(.)", r"\1", field)


def account_text(counts: dict[str, int]) -> str:
    """What `wheelstats ingest` prints for a run with these counts (lines, each hit kind, ignored, rejected)."""
    width = max(len(f"{n:,}") for n in counts.values())
    rows = [f"│ {name:<12} │ {n:>{width},} │" for name, n in counts.items()]
    hits = sum(n for name, n in counts.items() if name not in ("lines", "ignored", "rejected"))
    return "\n".join([
        "Ingested", "┌──────────────┬" + "─" * (width + 2) + "┐", *rows, "└──────────────┴" + "─" * (width + 2) + "┘",
        f"lines read = hits + ignored + rejected: {counts['lines']:,} = {hits:,} + {counts['ignored']:,} + "
        f"{counts['rejected']:,}",
    ]) + "\n"
