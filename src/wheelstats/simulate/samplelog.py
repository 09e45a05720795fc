"""``sample_log``: a realistic access log of a package index, of any length, fast.

One week of traffic at a Raspberry Pi package index: pip and uv installers (an index
lookup before each wheel download), old pip without a JSON agent, browsers, crawlers,
monitors and tools; project pages, JSON, web pages, 304s, 404s, HEAD and POST; IPv4 and
IPv6 clients; a server that writes some lines with a +0100 offset; a few broken lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from wheelstats.simulate.catalogue import Catalogue, build_catalogue
from wheelstats.simulate.linekinds import (
    LineDraw, LineKind, SiteText, add_broken, add_json, add_lookups, add_lookups_not_found, add_lookups_not_modified,
    add_mix, add_posts, add_project_pages, add_static_files, add_web_pages,
)
from wheelstats.simulate.lines import DOWNLOAD, GET, HEAD, IGNORED, SEARCH, LineBuilder
from wheelstats.simulate.logwrite import lines_buffer, open_output
from wheelstats.simulate.pools import build_agent_pool, client_addresses, zipf_weights

WEEK_START = int(datetime(2025, 11, 17, tzinfo=timezone.utc).timestamp())
WEEK_SECONDS = 7 * 86400
CHUNK_LINES = 200_000
PI_INDEX_2025 = SiteText(
    pages=pa.array(["/", "/packages.html", "/faq.html", "/stats.html", "/json.html", "/about.html"]),
    static=pa.array(["/favicon.ico", "/robots.txt", "/static/css/styles.css", "/static/js/site.js",
                     "/static/images/logo.png", "/simple/"]),
    unknown_projects=pa.array(["tensorflow-gpu", "torch", "nvidia-ml-py3", "mkl", "pywin32", "jaxlib", "triton"]),
    smallest_index_page=800,
)


def sample_log(path: Path | str, lines: int, seed: int = 0) -> dict[str, int]:
    """Write ``lines`` log lines to ``path`` (gzip if it ends in .gz); return counts by kind."""
    path = Path(path)
    rng = np.random.default_rng(seed)
    catalogue = build_catalogue(600, rng)
    agents = build_agent_pool()
    clients = client_addresses(20_000, rng)
    client_weights = zipf_weights(len(clients), 0.9)
    project_weights = zipf_weights(catalogue.project_count, 0.9)
    files_per_project = np.bincount(catalogue.file_project, minlength=catalogue.project_count)
    file_weights = project_weights[catalogue.file_project] / files_per_project[catalogue.file_project]
    file_weights /= file_weights.sum()
    installer_ids = np.concatenate([m for m in agents.group_members] + [agents.modern] * 3 + [agents.legacy])
    project_text = pa.array(catalogue.canonical)
    file_path = pc.binary_join_element_wise(
        "/simple/", project_text.take(pa.array(catalogue.file_project)), "/", pa.array(catalogue.file_name), "")
    counts = dict.fromkeys(("downloads", "searches", "project_pages", "json", "pages", "ignored", "broken"), 0)
    written = 0
    with open_output(path) as out:
        while written < lines:
            chunk = min(CHUNK_LINES, lines - written)
            start = WEEK_START + WEEK_SECONDS * written // lines
            span = max(WEEK_SECONDS * chunk // lines, 1)
            draw = SpanDraw(rng, agents, PI_INDEX_2025, project_text, file_path, start, span, client_weights,
                            installer_ids, file_weights, catalogue)
            text, kinds, _ = _chunk(chunk, draw).render(clients, agents.text, _offsets, rng)
            out.write(lines_buffer(text))
            for code, name in enumerate(counts):
                counts[name] += int((kinds == code).sum())
            written += chunk
    return counts


def _offsets(epoch: np.ndarray) -> np.ndarray:
    # One of the two front-end servers writes local time in summer time (+0100).
    return np.where(epoch % 20 == 0, 60, 0)


@dataclass(frozen=True, slots=True)
class SpanDraw(LineDraw):
    """Lines of one chunk: uniform over its span of the week, popular clients and files more often."""

    start: int  # UTC seconds
    span: int  # seconds
    client_weights: np.ndarray
    installer_ids: np.ndarray
    file_weights: np.ndarray
    catalogue: Catalogue

    def times(self, count: int) -> np.ndarray:
        return self.start + self.rng.integers(0, self.span, size=count)

    def clients(self, count: int) -> np.ndarray:
        return self.rng.choice(len(self.client_weights), size=count, p=self.client_weights)

    def installers(self, count: int) -> np.ndarray:
        return self.pick(self.installer_ids, count)

    def projects(self, count: int) -> np.ndarray:
        return self.rng.integers(0, len(self.project_text), size=count)

    def files(self, count: int) -> np.ndarray:
        """Files by their popularity."""
        return self.rng.choice(len(self.file_weights), size=count, p=self.file_weights)


def add_pages_not_found(builder: LineBuilder, draw: SpanDraw, count: int) -> None:
    """An old project page (404) from crawlers and browsers: ignored."""
    agents = draw.agents
    builder.add(IGNORED, draw.clients(count), draw.times(count), GET,
                draw.project_paths(count, "/project/", "/old-page"), 404, 209,
                draw.pick(np.concatenate([agents.crawlers, agents.browsers]), count))


def add_heads(builder: LineBuilder, draw: SpanDraw, count: int) -> None:
    """HEAD of a file, from tools: ignored."""
    files = draw.files(count)
    builder.add(IGNORED, draw.clients(count), draw.times(count), HEAD, draw.file_path.take(pa.array(files)), 200, -1,
                draw.pick(draw.agents.tools, count))


def add_browser_downloads(builder: LineBuilder, draw: SpanDraw, count: int) -> None:
    """A wheel fetched by a browser, curl or wget, or by old pip with a product-token agent
    (a download whatever the client; these agents are not parsed as installers)."""
    files = draw.files(count)
    agents = draw.agents
    fetchers = np.concatenate([agents.browsers, agents.tools[:2], agents.old_pip])
    builder.add(DOWNLOAD, draw.clients(count), draw.times(count), GET, draw.file_path.take(pa.array(files)), 200,
                draw.catalogue.file_size[files], draw.pick(fetchers, count), 2)


# Share of lines of each kind besides the download pairs (a download comes with its
# index lookup: two lines), in the order they are drawn.
MIX = (
    LineKind("lookup", 0.12, add_lookups),
    LineKind("lookup_304", 0.05, add_lookups_not_modified),
    LineKind("lookup_404", 0.03, add_lookups_not_found),
    LineKind("project_page", 0.05, add_project_pages),
    LineKind("json", 0.02, add_json),
    LineKind("page", 0.04, add_web_pages),
    LineKind("not_found", 0.02, add_pages_not_found),
    LineKind("head", 0.01, add_heads),
    LineKind("post", 0.005, add_posts),
    LineKind("static", 0.04, add_static_files),
    LineKind("browser_download", 0.004, add_browser_downloads),
    LineKind("broken", 0.001, add_broken),
)


def _chunk(count: int, draw: SpanDraw) -> LineBuilder:
    """``count`` lines: download pairs, and the other kinds by their shares."""
    singles = {kind.name: int(count * kind.rate) for kind in MIX}
    pairs = (count - sum(singles.values())) // 2
    singles["lookup"] += count - sum(singles.values()) - 2 * pairs
    builder = LineBuilder()
    files = draw.files(pairs)
    when, who, agent = draw.times(pairs), draw.clients(pairs), draw.installers(pairs)
    file_project = draw.catalogue.file_project[files]
    lookup = pc.binary_join_element_wise("/simple/", draw.project_text.take(pa.array(file_project)), "/", "")
    builder.add(SEARCH, who, when, GET, lookup, 200, draw.rng.integers(draw.site.smallest_index_page, 9000, size=pairs),
                agent)
    builder.add(DOWNLOAD, who, when + draw.rng.integers(0, 2, size=pairs), GET, draw.file_path.take(pa.array(files)),
                200, draw.catalogue.file_size[files], agent)
    add_mix(builder, draw, MIX, singles)
    return builder
