"""One day of the period as access-log lines: its downloads and everything around them.

Each download is preceded by the installer's index lookup (same client, same agent,
same second), and an upgrade's session by the lookup of its application; around them, lookups without a download, 304s, 404s, project pages,
JSON, web pages, static files, HEAD and POST, redirects and a few broken lines,
in proportion to the day's downloads (:data:`MIX`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from wheelstats.simulate.downloads import DayDownloads
from wheelstats.simulate.linekinds import (
    LineDraw, LineKind, SiteText, add_broken, add_json, add_lookups, add_lookups_not_found, add_lookups_not_modified,
    add_mix, add_posts, add_project_pages, add_static_files, add_web_pages,
)
from wheelstats.simulate.lines import DOWNLOAD, GET, HEAD, IGNORED, SEARCH, LineBuilder
from wheelstats.simulate.pools import AgentPool
from wheelstats.simulate.traffic import seconds_of_day

PIWHEELS_2020 = SiteText(
    pages=pa.array(["/", "/packages.html", "/faq.html", "/stats.html", "/json.html", "/blog.html"]),
    static=pa.array(["/favicon.ico", "/robots.txt", "/styles.css", "/piwheels.js", "/piwheels-logo.png"]),
    unknown_projects=pa.array(["tensorflow-gpu", "torch", "nvidia-ml-py3", "mkl", "pywin32", "pyqt5",
                               "tensorflow-io"]),
    smallest_index_page=900,
)
LEGACY_PIP_SHARE = 0.02  # of installer requests around the downloads, from pip before 6
# The server writes local time: GMT, then BST from 01:00 UTC on 29 March 2020.
BST_START = int(datetime(2020, 3, 29, 1, tzinfo=timezone.utc).timestamp())


def server_offsets(epoch: np.ndarray) -> np.ndarray:
    return np.where(epoch >= BST_START, 60, 0)


@dataclass(frozen=True, slots=True)
class DayDraw(LineDraw):
    """Lines of one day: its hours' rhythm, the scenario's clients, the projects its downloads are of."""

    day: int
    downloads: DayDownloads
    download_projects: np.ndarray  # the project of each of the day's downloads
    client_cdf: np.ndarray

    def times(self, count: int) -> np.ndarray:
        return self.day * 86400 + seconds_of_day(count, self.rng)

    def clients(self, count: int) -> np.ndarray:
        return np.minimum(np.searchsorted(self.client_cdf, self.rng.random(count), side="right"),
                          len(self.client_cdf) - 1)

    def installers(self, count: int) -> np.ndarray:
        """The day's downloading agents, and a few old pips."""
        agents = self.agents
        chosen = self.pick(self.downloads.agent if len(self.downloads.file) else agents.legacy, count)
        legacy = self.rng.random(count) < LEGACY_PIP_SHARE
        chosen[legacy] = self.pick(agents.legacy, int(legacy.sum()))
        return chosen

    def projects(self, count: int) -> np.ndarray:
        """Projects as popular as the day's downloads say (any project on a day without downloads)."""
        if len(self.download_projects):
            return self.download_projects[self.rng.integers(0, len(self.download_projects), size=count)]
        return self.rng.integers(0, len(self.project_text), size=count)

    def downloaded_files(self, count: int) -> np.ndarray:
        """Files among the day's downloads (file 0 on a day without downloads)."""
        files = self.downloads.file
        if len(files) == 0:
            return np.zeros(count, dtype=np.int64)
        return files[self.rng.integers(0, len(files), size=count)]


def add_wheels_not_found(builder: LineBuilder, draw: DayDraw, count: int) -> None:
    """A downloaded file's name misspelt (its first - as +): 404, ignored."""
    files = draw.downloads.file
    missing = files[draw.rng.integers(0, max(len(files), 1), size=count)] if len(files) else np.zeros(0, int)
    builder.add(IGNORED, draw.clients(count), draw.times(count), GET,
                pc.replace_substring(draw.file_path.take(pa.array(missing)), "-", "+", max_replacements=1), 404, 209,
                draw.installers(count))


def add_heads(builder: LineBuilder, draw: DayDraw, count: int) -> None:
    """HEAD of a file of the day's downloads, from tools: ignored."""
    builder.add(IGNORED, draw.clients(count), draw.times(count), HEAD,
                draw.file_path.take(pa.array(draw.downloaded_files(count))), 200, -1,
                draw.pick(draw.agents.tools, count))


def add_redirects(builder: LineBuilder, draw: DayDraw, count: int) -> None:
    """``/project/<project>`` without its slash, redirected (301): ignored."""
    agents = draw.agents
    builder.add(IGNORED, draw.clients(count), draw.times(count), GET, draw.project_paths(count, "/project/", ""), 301,
                0, draw.pick(np.concatenate([agents.browsers, agents.crawlers]), count))


# Lines of each other kind per download, in the order they are drawn.
MIX = (
    LineKind("lookup", 0.30, add_lookups),
    LineKind("lookup_304", 0.05, add_lookups_not_modified),
    LineKind("lookup_404", 0.04, add_lookups_not_found),
    LineKind("project_page", 0.03, add_project_pages),
    LineKind("json", 0.01, add_json),
    LineKind("page", 0.02, add_web_pages),
    LineKind("wheel_404", 0.005, add_wheels_not_found),
    LineKind("head", 0.005, add_heads),
    LineKind("post", 0.002, add_posts),
    LineKind("static", 0.03, add_static_files),
    LineKind("redirect", 0.01, add_redirects),
    LineKind("broken", 0.0003, add_broken),
)


def day_lines(day: int, downloads: DayDownloads, file_project: np.ndarray, file_path: pa.Array,
              project_text: pa.Array, file_size: np.ndarray, agents: AgentPool, client_cdf: np.ndarray,
              rng: np.random.Generator) -> LineBuilder:
    builder = LineBuilder()
    n_downloads = len(downloads.file)
    counts = {kind.name: int(round(kind.rate * n_downloads)) for kind in MIX}
    counts["broken"] = max(counts["broken"], 1 if n_downloads else 0)
    projects = file_project[downloads.file]
    lookups = pc.binary_join_element_wise("/simple/", project_text.take(pa.array(projects)), "/", "")
    builder.add(SEARCH, downloads.client, downloads.epoch, GET, lookups, 200, 1500 + 97 * (projects % 60),
                downloads.agent)
    builder.add(DOWNLOAD, downloads.client, downloads.epoch, GET, file_path.take(pa.array(downloads.file)), 200,
                file_size[downloads.file], downloads.agent)
    carried = downloads.carried
    if carried.lookup_project is not None:  # an upgrade's sessions open with the application's lookup
        count = len(carried.lookup_epoch)
        builder.add(SEARCH, carried.lookup_client, carried.lookup_epoch, GET,
                    pa.array([f"/simple/{carried.lookup_project}/"] * count, pa.string()), 200, 2741,
                    carried.lookup_agent)
    draw = DayDraw(rng, agents, PIWHEELS_2020, project_text, file_path, day, downloads, projects, client_cdf)
    add_mix(builder, draw, MIX, counts)
    return builder
