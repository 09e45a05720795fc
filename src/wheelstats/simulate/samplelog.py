"""``sample_log``: a realistic access log of a package index, of any length, fast.

One week of traffic at a Raspberry Pi package index: pip and uv installers (an index
lookup before each wheel download), old pip without a JSON agent, browsers, crawlers,
monitors and tools; project pages, JSON, web pages, 304s, 404s, HEAD and POST; IPv4 and
IPv6 clients; a server that writes some lines with a +0100 offset; a few broken lines.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from wheelstats.simulate.catalogue import build_catalogue
from wheelstats.simulate.lines import (
    BROKEN, DOWNLOAD, GET, HEAD, IGNORED, JSON, PAGE, POST, PROJECT_PAGE, SEARCH, LineBuilder,
)
from wheelstats.simulate.logwrite import lines_buffer, open_output
from wheelstats.simulate.pools import build_agent_pool, client_addresses, zipf_weights

WEEK_START = int(datetime(2025, 11, 17, tzinfo=timezone.utc).timestamp())
WEEK_SECONDS = 7 * 86400
CHUNK_LINES = 200_000
# Share of lines by kind; a download comes with its index lookup (two lines).
_SINGLE_SHARES = {
    "lookup": 0.12, "lookup_304": 0.05, "lookup_404": 0.03, "project_page": 0.05, "json": 0.02,
    "page": 0.04, "not_found": 0.02, "head": 0.01, "post": 0.005, "static": 0.04,
    "browser_download": 0.004, "broken": 0.001,
}
_PAIR_SHARE = (1.0 - sum(_SINGLE_SHARES.values())) / 2
_PAGES = pa.array(["/", "/packages.html", "/faq.html", "/stats.html", "/json.html", "/about.html"])
_STATIC = pa.array(["/favicon.ico", "/robots.txt", "/static/css/styles.css", "/static/js/site.js",
                    "/static/images/logo.png", "/simple/"])
_UNKNOWN = pa.array(["tensorflow-gpu", "torch", "nvidia-ml-py3", "mkl", "pywin32", "jaxlib", "triton"])


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
            builder = _chunk(chunk, start, span, rng, catalogue, agents, installer_ids, client_weights,
                             file_weights, file_path, project_text)
            text, kinds, _ = builder.render(clients, agents.text, _offsets, rng)
            out.write(lines_buffer(text))
            for code, name in enumerate(counts):
                counts[name] += int((kinds == code).sum())
            written += chunk
    return counts


def _offsets(epoch: np.ndarray) -> np.ndarray:
    # One of the two front-end servers writes local time in summer time (+0100).
    return np.where(epoch % 20 == 0, 60, 0)


def _chunk(count, start, span, rng, catalogue, agents, installer_ids, client_weights, file_weights,
           file_path, project_text) -> LineBuilder:
    singles = {kind: int(count * share) for kind, share in _SINGLE_SHARES.items()}
    pairs = (count - sum(singles.values())) // 2
    singles["lookup"] += count - sum(singles.values()) - 2 * pairs
    builder = LineBuilder()

    def times(n: int) -> np.ndarray:
        return start + rng.integers(0, span, size=n)

    def clients(n: int) -> np.ndarray:
        return rng.choice(len(client_weights), size=n, p=client_weights)

    def installers(n: int) -> np.ndarray:
        return installer_ids[rng.integers(0, len(installer_ids), size=n)]

    def pick(pool: np.ndarray, n: int) -> np.ndarray:
        return pool[rng.integers(0, len(pool), size=n)]

    def project_paths(n: int, template: str) -> pa.Array:
        projects = pa.array(rng.integers(0, len(project_text), size=n))
        before, after = template.split("{}")
        return pc.binary_join_element_wise(before, project_text.take(projects), after, "")

    files = rng.choice(len(file_weights), size=pairs, p=file_weights)
    when, who, agent = times(pairs), clients(pairs), installers(pairs)
    lookup = pc.binary_join_element_wise("/simple/", project_text.take(pa.array(catalogue.file_project[files])), "/", "")
    builder.add(SEARCH, who, when, GET, lookup, 200, rng.integers(800, 9000, size=pairs), agent)
    builder.add(DOWNLOAD, who, when + rng.integers(0, 2, size=pairs), GET, file_path.take(pa.array(files)), 200,
                catalogue.file_size[files], agent)
    n = singles["lookup"]
    builder.add(SEARCH, clients(n), times(n), GET, project_paths(n, "/simple/{}/"), 200,
                rng.integers(800, 9000, size=n), installers(n))
    n = singles["lookup_304"]
    builder.add(IGNORED, clients(n), times(n), GET, project_paths(n, "/simple/{}/"), 304, -1, installers(n))
    n = singles["lookup_404"]
    unknown = _UNKNOWN.take(pa.array(rng.integers(0, len(_UNKNOWN), size=n)))
    builder.add(IGNORED, clients(n), times(n), GET, pc.binary_join_element_wise("/simple/", unknown, "/", ""),
                404, 209, installers(n))
    n = singles["project_page"]
    visitors = np.where(rng.random(n) < 0.6, pick(agents.browsers, n), pick(agents.crawlers, n))
    builder.add(PROJECT_PAGE, clients(n), times(n), GET, project_paths(n, "/project/{}/"), 200,
                rng.integers(9000, 40000, size=n), visitors, rng.integers(0, 7, size=n))
    n = singles["json"]
    builder.add(JSON, clients(n), times(n), GET, project_paths(n, "/project/{}/json/"), 200,
                rng.integers(2000, 60000, size=n), pick(np.concatenate([agents.tools, agents.browsers]), n))
    n = singles["page"]
    visitors = np.where(rng.random(n) < 0.7, pick(agents.browsers, n),
                        np.where(rng.random(n) < 0.5, pick(agents.monitors, n), pick(agents.crawlers, n)))
    builder.add(PAGE, clients(n), times(n), GET, _PAGES.take(pa.array(rng.integers(0, len(_PAGES), size=n))),
                200, rng.integers(3000, 30000, size=n), visitors, rng.integers(0, 7, size=n))
    n = singles["not_found"]
    builder.add(IGNORED, clients(n), times(n), GET, project_paths(n, "/project/{}/old-page"), 404, 209,
                pick(np.concatenate([agents.crawlers, agents.browsers]), n))
    n = singles["head"]
    files_head = rng.choice(len(file_weights), size=n, p=file_weights)
    builder.add(IGNORED, clients(n), times(n), HEAD, file_path.take(pa.array(files_head)), 200, -1,
                pick(agents.tools, n))
    n = singles["post"]
    builder.add(IGNORED, clients(n), times(n), POST, pa.array(["/"] * n), 405, 166, pick(agents.tools, n))
    n = singles["static"]
    builder.add(IGNORED, clients(n), times(n), GET, _STATIC.take(pa.array(rng.integers(0, len(_STATIC), size=n))),
                200, rng.integers(200, 20000, size=n), pick(np.concatenate([agents.browsers, agents.crawlers]), n))
    n = singles["browser_download"]
    files_b = rng.choice(len(file_weights), size=n, p=file_weights)
    # A wheel fetched by a browser, curl or wget, or by old pip with a product-token agent
    # (a download whatever the client; these agents are not parsed as installers).
    fetchers = np.concatenate([agents.browsers, agents.tools[:2], agents.old_pip])
    builder.add(DOWNLOAD, clients(n), times(n), GET, file_path.take(pa.array(files_b)), 200,
                catalogue.file_size[files_b], pick(fetchers, n), 2)
    n = singles["broken"]
    builder.add(BROKEN, clients(n), times(n), GET, project_paths(n, "/simple/{}/"), 200, 1234, installers(n))
    return builder
