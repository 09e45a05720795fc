"""Collect hits of every kind as columns, then sort and render them as log lines."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from wheelstats.simulate.logwrite import LogBatch, format_lines

# What each written line is, by the classification rules of DESIGN.md.
DOWNLOAD, SEARCH, PROJECT_PAGE, JSON, PAGE, IGNORED, BROKEN = range(7)
KIND_NAMES = ("downloads", "searches", "project_pages", "json", "pages", "ignored", "broken")
METHODS = pa.array(["GET", "HEAD", "POST"])
GET, HEAD, POST = 0, 1, 2
REFERRERS = pa.array([
    "-", "https://www.piwheels.org/", "https://www.piwheels.org/packages.html",
    "https://www.google.com/", "https://www.raspberrypi.org/forums/viewtopic.php?t=260113",
    "https://github.com/", "https://blog.piwheels.org/",
])


@dataclass
class LineBuilder:
    """Columns of lines added kind by kind, in any order."""

    parts: list[dict] = field(default_factory=list)

    def add(self, kind: int, client: np.ndarray, epoch: np.ndarray, method: int | np.ndarray,
            path: pa.Array, status: int | np.ndarray, size: int | np.ndarray,
            agent: np.ndarray, referrer: int | np.ndarray = 0) -> None:
        count = len(epoch)
        if count == 0:
            return

        def full(value: int | np.ndarray) -> np.ndarray:
            return np.broadcast_to(np.asarray(value, dtype=np.int64), (count,))

        self.parts.append(dict(kind=full(kind), client=full(client), epoch=full(epoch), method=full(method),
                               path=path, status=full(status), size=full(size), agent=full(agent),
                               referrer=full(referrer)))

    def render(self, clients: pa.Array, agents: pa.Array, offset_minutes, rng: np.random.Generator
               ) -> tuple[pa.Array, np.ndarray, np.ndarray]:
        """Lines sorted by time, with each line's kind and position order.

        ``offset_minutes(epoch) -> ndarray`` gives the server's UTC offset per line.
        Lines of kind BROKEN are written cut short inside the request, so no parser
        can take them for a hit.
        """
        columns = {key: np.concatenate([part[key] for part in self.parts]) for key in self.parts[0] if key != "path"}
        path = pa.chunked_array([part["path"] for part in self.parts]).combine_chunks()
        order = np.argsort(columns["epoch"], kind="stable")
        columns = {key: value[order] for key, value in columns.items()}
        take = pa.array(order)
        request = pc.binary_join_element_wise(METHODS.take(pa.array(columns["method"])), " ",
                                              path.take(take), " HTTP/1.1", "")
        batch = LogBatch(
            client=clients.take(pa.array(columns["client"])), epoch=columns["epoch"],
            offset_minutes=offset_minutes(columns["epoch"]), request=request,
            status=columns["status"], size=columns["size"],
            referrer=REFERRERS.take(pa.array(columns["referrer"])), agent=agents.take(pa.array(columns["agent"])),
        )
        lines = format_lines(batch)
        broken = np.flatnonzero(columns["kind"] == BROKEN)
        if len(broken):
            cut = []
            for i, line in zip(broken, lines.take(pa.array(broken)).to_pylist()):
                quote = line.index('"')
                cut.append(line[: quote + 1 + int(rng.integers(3, 24))].rstrip() + "\n")
            mask = np.zeros(len(lines), dtype=bool)
            mask[broken] = True
            lines = pc.replace_with_mask(lines, pa.array(mask), pa.array(cut))
        return lines, columns["kind"], columns
