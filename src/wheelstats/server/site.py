"""Human pages and piwheels' packages.json, with figures read from the store.

Figures come through short-lived read-only connections and are cached for a
few seconds. When the store is held by a writer (this server's own recorder or
another process), the last figures are served, marked as such.
"""

from __future__ import annotations

import collections
import threading
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from html import escape
from pathlib import Path
from urllib.parse import quote

import duckdb

from wheelstats import store
from wheelstats.server.catalogue import Project, Snapshot
from wheelstats.server.index import file_url, json_bytes, project_url

RECENT_DAYS = 30
CACHE_SECONDS = 5.0
CACHE_ENTRIES = 4096


@dataclass(frozen=True, slots=True)
class ProjectFigures:
    all_time: int
    last_30_days: int
    by_day: tuple[tuple[date, int], ...]  # the last 30 days, oldest first, zeros included
    by_file: dict[str, int]
    clients: tuple[tuple[str, int], ...]  # installer (or agent product) and downloads, most first
    as_of: datetime  # UTC


@dataclass(frozen=True, slots=True)
class Figures:
    """What a page shows, and whether it is older than it should be."""

    value: object
    stale: bool


def _first_recent_day(today: date) -> date:
    return today - timedelta(days=RECENT_DAYS - 1)


def query_project(con: duckdb.DuckDBPyConnection, name: str, now: datetime) -> ProjectFigures:
    first_day = _first_recent_day(now.date())
    since = datetime.combine(first_day, datetime.min.time())
    where = "kind = 'download' AND project = ?"
    all_time, recent = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE ts >= ?) FROM hits WHERE {where}", [since, name]
    ).fetchone()
    daily = dict(
        con.execute(
            f"SELECT ts::DATE, count(*) FROM hits WHERE {where} AND ts >= ? GROUP BY 1", [name, since]
        ).fetchall()
    )
    by_day = tuple((first_day + timedelta(days=i), daily.get(first_day + timedelta(days=i), 0)) for i in range(RECENT_DAYS))
    by_file = dict(con.execute(f"SELECT filename, count(*) FROM hits WHERE {where} GROUP BY 1", [name]).fetchall())
    clients = con.execute(
        """SELECT coalesce(a.installer_name, a.product, 'unknown') AS client, count(*) AS n
            FROM hits h LEFT JOIN agents a USING (agent_id) WHERE h.kind = 'download' AND h.project = ?
            GROUP BY 1 ORDER BY n DESC, client LIMIT 10""",
        [name],
    ).fetchall()
    return ProjectFigures(all_time, recent, by_day, by_file, tuple(clients), now)


def query_package_counts(con: duckdb.DuckDBPyConnection, now: datetime) -> dict[str, tuple[int, int]]:
    since = datetime.combine(_first_recent_day(now.date()), datetime.min.time())
    rows = con.execute(
        """SELECT project, count(*) FILTER (WHERE ts >= ?), count(*)
           FROM hits WHERE kind = 'download' AND project IS NOT NULL GROUP BY project""",
        [since],
    ).fetchall()
    return {name: (recent, total) for name, recent, total in rows}


class StoreReader:
    """Cached figures from the store, never waiting for a writer."""

    def __init__(self, db_path: str | Path, ttl: float = CACHE_SECONDS):
        self.db_path = Path(db_path)
        self.ttl = ttl
        self._read_lock = threading.Lock()  # one reading connection at a time; others use the cache
        self._cache: collections.OrderedDict[tuple, tuple[float, object]] = collections.OrderedDict()
        self._cache_lock = threading.Lock()

    def _cached(self, key: tuple) -> tuple[float, object] | None:
        with self._cache_lock:
            return self._cache.get(key)

    def _remember(self, key: tuple, value: object) -> None:
        with self._cache_lock:
            self._cache[key] = (time.monotonic(), value)
            self._cache.move_to_end(key)
            while len(self._cache) > CACHE_ENTRIES:
                self._cache.popitem(last=False)

    def _read(self, key: tuple, query, empty) -> Figures:
        cached = self._cached(key)
        if cached is not None and time.monotonic() - cached[0] < self.ttl:
            return Figures(cached[1], False)
        if not self.db_path.exists():
            return Figures(empty, False)
        stale = Figures(cached[1] if cached else None, True)
        if not self._read_lock.acquire(timeout=2):
            return stale
        try:
            try:
                con = store.connect(self.db_path, read_only=True)
            except store.StoreError:  # a writer holds the file, or it needs a migration
                return stale
            try:
                value = query(con, datetime.now(timezone.utc).replace(tzinfo=None))
            finally:
                con.close()
        finally:
            self._read_lock.release()
        self._remember(key, value)
        return Figures(value, False)

    def project(self, name: str) -> Figures:
        empty = ProjectFigures(0, 0, (), {}, (), datetime.now(timezone.utc).replace(tzinfo=None))
        return self._read(("project", name), lambda con, now: query_project(con, name, now), empty)

    def package_counts(self) -> Figures:
        return self._read(("packages",), query_package_counts, {})


STYLE = """body{font:15px/1.45 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse}td,th{padding:.2rem .6rem;border-bottom:1px solid #ddd;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}.note{color:#a40}svg rect{fill:#3a7}
figure{margin:1rem 0}figcaption{color:#555;font-size:13px}"""


def _document(title: str, body: list[str]) -> bytes:
    head = (
        f'<!DOCTYPE html>\n<html lang="en">\n<head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{STYLE}</style></head>\n<body>\n"
    )
    return (head + "\n".join(body) + "\n</body>\n</html>\n").encode("utf-8")


def _bar_chart(by_day: tuple[tuple[date, int], ...]) -> str:
    if not by_day:
        return ""
    peak = max(count for _, count in by_day) or 1
    width, height = 12, 80
    bars = []
    for i, (day, count) in enumerate(by_day):
        bar = round(height * count / peak)
        bars.append(
            f'<rect x="{i * width}" y="{height - bar}" width="{width - 2}" height="{bar}">'
            f"<title>{day.isoformat()}: {count}</title></rect>"
        )
    total_width = len(by_day) * width
    return (
        f'<figure><svg role="img" aria-label="downloads by day" width="{total_width}" height="{height + 1}">'
        + "".join(bars)
        + f'<line x1="0" y1="{height + 0.5}" x2="{total_width}" y2="{height + 0.5}" stroke="#999"/></svg>'
        f"<figcaption>Downloads a day, {by_day[0][0].isoformat()} to {by_day[-1][0].isoformat()} "
        f"(peak {peak:,})</figcaption></figure>"
    )


def render_project_page(project: Project, figures: Figures) -> bytes:
    data: ProjectFigures | None = figures.value  # type: ignore[assignment]
    name = escape(project.name)
    body = [f"<h1>{name}</h1>", f'<p>Index: <a href="{escape(project_url(project.name))}">{escape(project_url(project.name))}</a></p>']
    if data is None:
        body.append('<p class="note">Download figures are not available right now (the store is busy); try again shortly.</p>')
        data = ProjectFigures(0, 0, (), {}, (), datetime.now(timezone.utc))
    elif figures.stale:
        body.append(f'<p class="note">Figures as of {escape(data.as_of.strftime("%Y-%m-%d %H:%M:%S"))} UTC (the store is busy).</p>')
    body += [
        "<h2>Downloads</h2>",
        "<table>",
        f'<tr><th>All time</th><td class="n" id="downloads-all-time">{data.all_time:,}</td></tr>',
        f'<tr><th>Last {RECENT_DAYS} days</th><td class="n" id="downloads-last-30-days">{data.last_30_days:,}</td></tr>',
        "</table>",
        _bar_chart(data.by_day),
        "<details><summary>By day</summary><table><tr><th>Day</th><th>Downloads</th></tr>",
        *(f'<tr><td>{day.isoformat()}</td><td class="n">{count:,}</td></tr>' for day, count in reversed(data.by_day)),
        "</table></details>",
    ]
    if data.clients:
        body += ["<h2>Installers</h2>", "<table><tr><th>Client</th><th>Downloads</th></tr>"]
        body += [f'<tr><td>{escape(client)}</td><td class="n">{count:,}</td></tr>' for client, count in data.clients]
        body.append("</table>")
    body += [
        "<h2>Versions</h2>",
        "<p>" + ", ".join(escape(v) for v in reversed(project.versions)) + "</p>",
        "<h2>Files</h2>",
        "<table><tr><th>File</th><th>Size</th><th>Requires Python</th><th>Downloads</th></tr>",
    ]
    for dist in reversed(project.files):
        yanked = f' <span class="note">yanked{": " + escape(dist.yanked) if dist.yanked else ""}</span>' if dist.yanked is not None else ""
        body.append(
            f'<tr><td><a href="{escape(file_url(dist))}#sha256={dist.facts.sha256}">{escape(dist.filename)}</a>{yanked}</td>'
            f'<td class="n">{dist.size:,}</td><td>{escape(dist.facts.requires_python or "")}</td>'
            f'<td class="n">{data.by_file.get(dist.filename, 0):,}</td></tr>'
        )
    body.append("</table>")
    return _document(f"{project.name} downloads", body)


def render_packages_json(snapshot: Snapshot, figures: Figures) -> bytes:
    counts: dict[str, tuple[int, int]] = figures.value or {}  # type: ignore[assignment]
    rows = [[name, *counts.get(name, (0, 0))] for name in snapshot.projects]
    return json_bytes(rows)


def render_home_page(snapshot: Snapshot) -> bytes:
    body = [
        "<h1>Package index</h1>",
        f'<p>{len(snapshot.projects):,} projects. Installers use the simple index: '
        f'<code>pip install --index-url &lt;this server&gt;/simple/ NAME</code>. '
        f'Download counts: <a href="/packages.json">/packages.json</a>.</p>',
        "<ul>",
        *(f'<li><a href="/project/{escape(quote(name, safe=""))}/">{escape(name)}</a></li>' for name in snapshot.projects),
        "</ul>",
    ]
    return _document("Package index", body)
