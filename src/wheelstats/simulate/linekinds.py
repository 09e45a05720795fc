"""The kinds of log line around the downloads, one function each, and how a simulator draws them.

Both simulators (a scenario's days in ``logday``, the sample log in ``samplelog``) add
index lookups, 304s and 404s, project pages, JSON, web pages, POSTs, static files and
broken lines the same way; they differ in when, from whom and of which projects the
lines come (a :class:`LineDraw` each), in the site's own text (a :class:`SiteText`
each), and in a few kinds of their own. A simulator's mix is an ordered tuple of
:class:`LineKind`: the order is the order of the random draws, so it is part of what a
seed writes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from wheelstats.simulate.lines import BROKEN, GET, IGNORED, JSON, PAGE, POST, PROJECT_PAGE, SEARCH, LineBuilder
from wheelstats.simulate.pools import AgentPool


@dataclass(frozen=True, slots=True)
class SiteText:
    """The text of one site that lines are drawn from."""

    pages: pa.Array  # web pages: / and /*.html
    static: pa.Array  # paths that are neither pages nor distribution files
    unknown_projects: pa.Array  # names installers look up and the index does not have (404)
    smallest_index_page: int  # bytes of the smallest /simple/<project>/ page


@dataclass(frozen=True, slots=True)
class LineDraw:
    """Where the columns of a batch of lines come from: the site, and a simulator's way of drawing.

    A simulator subclasses it with its own ``times``, ``clients``, ``installers`` and
    ``projects``; the kinds below call them in a fixed order.
    """

    rng: np.random.Generator
    agents: AgentPool
    site: SiteText
    project_text: pa.Array  # canonical name per project id
    file_path: pa.Array  # /simple/<project>/<file> per file id

    def times(self, count: int) -> np.ndarray:
        """UTC seconds of ``count`` lines."""
        raise NotImplementedError

    def clients(self, count: int) -> np.ndarray:
        """Client ids of ``count`` lines."""
        raise NotImplementedError

    def installers(self, count: int) -> np.ndarray:
        """Agent ids of ``count`` installer requests."""
        raise NotImplementedError

    def projects(self, count: int) -> np.ndarray:
        """Project ids of ``count`` lines about a project."""
        raise NotImplementedError

    def pick(self, pool: np.ndarray, count: int) -> np.ndarray:
        """``count`` values of ``pool``, uniformly."""
        return pool[self.rng.integers(0, len(pool), size=count)]

    def project_paths(self, count: int, before: str, after: str) -> pa.Array:
        """``before<project>after`` for ``count`` projects drawn by :meth:`projects`."""
        return pc.binary_join_element_wise(before, self.project_text.take(pa.array(self.projects(count))), after, "")


AddLines = Callable[[LineBuilder, LineDraw, int], None]


@dataclass(frozen=True, slots=True)
class LineKind:
    """One kind of line in a simulator's mix: its name, how many (the simulator's unit), and its writer."""

    name: str
    rate: float
    add: AddLines


def add_lookups(builder: LineBuilder, draw: LineDraw, count: int) -> None:
    """Index lookups without a download (``/simple/<project>/``, 200): searches."""
    builder.add(SEARCH, draw.clients(count), draw.times(count), GET, draw.project_paths(count, "/simple/", "/"), 200,
                draw.rng.integers(draw.site.smallest_index_page, 9000, size=count), draw.installers(count))


def add_lookups_not_modified(builder: LineBuilder, draw: LineDraw, count: int) -> None:
    """Index lookups answered 304 (the installer's cache is fresh): ignored."""
    builder.add(IGNORED, draw.clients(count), draw.times(count), GET, draw.project_paths(count, "/simple/", "/"),
                304, -1, draw.installers(count))


def add_lookups_not_found(builder: LineBuilder, draw: LineDraw, count: int) -> None:
    """Index lookups of projects the index does not have (404): ignored."""
    unknown = draw.site.unknown_projects
    names = unknown.take(pa.array(draw.rng.integers(0, len(unknown), size=count)))
    builder.add(IGNORED, draw.clients(count), draw.times(count), GET,
                pc.binary_join_element_wise("/simple/", names, "/", ""), 404, 209, draw.installers(count))


def add_project_pages(builder: LineBuilder, draw: LineDraw, count: int) -> None:
    """``/project/<project>/`` from browsers (60%) and crawlers, some with a referrer."""
    agents = draw.agents
    visitors = np.where(draw.rng.random(count) < 0.6, draw.pick(agents.browsers, count),
                        draw.pick(agents.crawlers, count))
    builder.add(PROJECT_PAGE, draw.clients(count), draw.times(count), GET,
                draw.project_paths(count, "/project/", "/"), 200, draw.rng.integers(9000, 40000, size=count),
                visitors, draw.rng.integers(0, 7, size=count))


def add_json(builder: LineBuilder, draw: LineDraw, count: int) -> None:
    """``/project/<project>/json/`` from tools and browsers."""
    agents = draw.agents
    builder.add(JSON, draw.clients(count), draw.times(count), GET, draw.project_paths(count, "/project/", "/json/"),
                200, draw.rng.integers(2000, 60000, size=count),
                draw.pick(np.concatenate([agents.tools, agents.browsers]), count))


def add_web_pages(builder: LineBuilder, draw: LineDraw, count: int) -> None:
    """The site's web pages, from browsers (70%), monitors and crawlers."""
    agents, rng, pages = draw.agents, draw.rng, draw.site.pages
    visitors = np.where(rng.random(count) < 0.7, draw.pick(agents.browsers, count),
                        np.where(rng.random(count) < 0.5, draw.pick(agents.monitors, count),
                                 draw.pick(agents.crawlers, count)))
    builder.add(PAGE, draw.clients(count), draw.times(count), GET,
                pages.take(pa.array(rng.integers(0, len(pages), size=count))), 200,
                rng.integers(3000, 30000, size=count), visitors, rng.integers(0, 7, size=count))


def add_posts(builder: LineBuilder, draw: LineDraw, count: int) -> None:
    """POST / from tools (405): ignored."""
    builder.add(IGNORED, draw.clients(count), draw.times(count), POST, pa.array(["/"] * count, pa.string()), 405, 166,
                draw.pick(draw.agents.tools, count))


def add_static_files(builder: LineBuilder, draw: LineDraw, count: int) -> None:
    """The site's static files, from browsers and crawlers: ignored."""
    agents, static = draw.agents, draw.site.static
    builder.add(IGNORED, draw.clients(count), draw.times(count), GET,
                static.take(pa.array(draw.rng.integers(0, len(static), size=count))), 200,
                draw.rng.integers(200, 20000, size=count),
                draw.pick(np.concatenate([agents.browsers, agents.crawlers]), count))


def add_broken(builder: LineBuilder, draw: LineDraw, count: int) -> None:
    """Index lookups that the writer cuts short inside the request: rejected by any parser."""
    builder.add(BROKEN, draw.clients(count), draw.times(count), GET, draw.project_paths(count, "/simple/", "/"), 200,
                1234, draw.installers(count))


def add_mix(builder: LineBuilder, draw: LineDraw, mix: tuple[LineKind, ...], counts: dict[str, int]) -> None:
    """Add ``counts[kind.name]`` lines of each kind of ``mix``, in the mix's order."""
    for kind in mix:
        kind.add(builder, draw, counts[kind.name])
