"""One day of the period as access-log lines: its downloads and everything around them.

Each download is preceded by the installer's index lookup (same client, same agent,
same second); around them, lookups without a download, 304s, 404s, project pages,
JSON, web pages, static files, HEAD and POST, redirects and a few broken lines,
in proportion to the day's downloads.
"""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from wheelstats.simulate.downloads import DayDownloads, seconds_of_day
from wheelstats.simulate.lines import (
    BROKEN, DOWNLOAD, GET, HEAD, IGNORED, JSON, PAGE, POST, PROJECT_PAGE, SEARCH, LineBuilder,
)
from wheelstats.simulate.pools import AgentPool

# Lines of each other kind per download.
RATES = {
    "lookup": 0.30, "lookup_304": 0.05, "lookup_404": 0.04, "project_page": 0.03, "json": 0.01,
    "page": 0.02, "wheel_404": 0.005, "head": 0.005, "post": 0.002, "static": 0.03, "redirect": 0.01,
    "broken": 0.0003,
}
PAGES = pa.array(["/", "/packages.html", "/faq.html", "/stats.html", "/json.html", "/blog.html"])
STATIC = pa.array(["/favicon.ico", "/robots.txt", "/styles.css", "/piwheels.js", "/piwheels-logo.png"])
NOT_HERE = pa.array(["tensorflow-gpu", "torch", "nvidia-ml-py3", "mkl", "pywin32", "pyqt5", "tensorflow-io"])
# The server writes local time: GMT, then BST from 01:00 UTC on 29 March 2020.
BST_START = int(datetime(2020, 3, 29, 1, tzinfo=timezone.utc).timestamp())


def server_offsets(epoch: np.ndarray) -> np.ndarray:
    return np.where(epoch >= BST_START, 60, 0)


def day_lines(day: int, downloads: DayDownloads, file_project: np.ndarray, file_path: pa.Array,
              project_text: pa.Array, file_size: np.ndarray, agents: AgentPool, client_cdf: np.ndarray,
              rng: np.random.Generator) -> LineBuilder:
    builder = LineBuilder()
    n_downloads = len(downloads.file)
    counts = {kind: int(round(rate * n_downloads)) for kind, rate in RATES.items()}
    counts["broken"] = max(counts["broken"], 1 if n_downloads else 0)
    projects = file_project[downloads.file]
    lookups = pc.binary_join_element_wise("/simple/", project_text.take(pa.array(projects)), "/", "")
    builder.add(SEARCH, downloads.client, downloads.epoch, GET, lookups, 200, 1500 + 97 * (projects % 60),
                downloads.agent)
    builder.add(DOWNLOAD, downloads.client, downloads.epoch, GET, file_path.take(pa.array(downloads.file)), 200,
                file_size[downloads.file], downloads.agent)
    installer_ids = downloads.agent if n_downloads else agents.legacy

    def times(n: int) -> np.ndarray:
        return day * 86400 + seconds_of_day(n, rng)

    def clients(n: int) -> np.ndarray:
        return np.minimum(np.searchsorted(client_cdf, rng.random(n), side="right"), len(client_cdf) - 1)

    def pick(pool: np.ndarray, n: int) -> np.ndarray:
        return pool[rng.integers(0, len(pool), size=n)]

    def some_projects(n: int) -> np.ndarray:
        return projects[rng.integers(0, n_downloads, size=n)] if n_downloads else rng.integers(0, len(project_text), n)

    def paths(n: int, before: str, after: str) -> pa.Array:
        return pc.binary_join_element_wise(before, project_text.take(pa.array(some_projects(n))), after, "")

    def installers(n: int) -> np.ndarray:
        agents_ = pick(installer_ids, n)
        legacy = rng.random(n) < 0.02
        agents_[legacy] = pick(agents.legacy, int(legacy.sum()))
        return agents_

    n = counts["lookup"]
    builder.add(SEARCH, clients(n), times(n), GET, paths(n, "/simple/", "/"), 200,
                rng.integers(900, 9000, size=n), installers(n))
    n = counts["lookup_304"]
    builder.add(IGNORED, clients(n), times(n), GET, paths(n, "/simple/", "/"), 304, -1, installers(n))
    n = counts["lookup_404"]
    unknown = NOT_HERE.take(pa.array(rng.integers(0, len(NOT_HERE), size=n)))
    builder.add(IGNORED, clients(n), times(n), GET, pc.binary_join_element_wise("/simple/", unknown, "/", ""),
                404, 209, installers(n))
    n = counts["project_page"]
    visitors = np.where(rng.random(n) < 0.6, pick(agents.browsers, n), pick(agents.crawlers, n))
    builder.add(PROJECT_PAGE, clients(n), times(n), GET, paths(n, "/project/", "/"), 200,
                rng.integers(9000, 40000, size=n), visitors, rng.integers(0, 7, size=n))
    n = counts["json"]
    builder.add(JSON, clients(n), times(n), GET, paths(n, "/project/", "/json/"), 200,
                rng.integers(2000, 60000, size=n), pick(np.concatenate([agents.tools, agents.browsers]), n))
    n = counts["page"]
    visitors = np.where(rng.random(n) < 0.7, pick(agents.browsers, n),
                        np.where(rng.random(n) < 0.5, pick(agents.monitors, n), pick(agents.crawlers, n)))
    builder.add(PAGE, clients(n), times(n), GET, PAGES.take(pa.array(rng.integers(0, len(PAGES), size=n))), 200,
                rng.integers(3000, 30000, size=n), visitors, rng.integers(0, 7, size=n))
    n = counts["wheel_404"]
    missing = downloads.file[rng.integers(0, max(n_downloads, 1), size=n)] if n_downloads else np.zeros(0, int)
    builder.add(IGNORED, clients(n), times(n), GET,
                pc.replace_substring(file_path.take(pa.array(missing)), "-", "+", max_replacements=1), 404, 209,
                installers(n))
    n = counts["head"]
    builder.add(IGNORED, clients(n), times(n), HEAD, file_path.take(pa.array(some_files(downloads, rng, n))), 200,
                -1, pick(agents.tools, n))
    n = counts["post"]
    builder.add(IGNORED, clients(n), times(n), POST, pa.array(["/"] * n, pa.string()), 405, 166, pick(agents.tools, n))
    n = counts["static"]
    builder.add(IGNORED, clients(n), times(n), GET, STATIC.take(pa.array(rng.integers(0, len(STATIC), size=n))), 200,
                rng.integers(200, 20000, size=n), pick(np.concatenate([agents.browsers, agents.crawlers]), n))
    n = counts["redirect"]
    builder.add(IGNORED, clients(n), times(n), GET, paths(n, "/project/", ""), 301, 0,
                pick(np.concatenate([agents.browsers, agents.crawlers]), n))
    n = counts["broken"]
    builder.add(BROKEN, clients(n), times(n), GET, paths(n, "/simple/", "/"), 200, 1234, installers(n))
    return builder


def some_files(downloads: DayDownloads, rng: np.random.Generator, n: int) -> np.ndarray:
    if len(downloads.file) == 0:
        return np.zeros(n, dtype=np.int64)
    return downloads.file[rng.integers(0, len(downloads.file), size=n)]
