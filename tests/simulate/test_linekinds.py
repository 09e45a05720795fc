"""Each kind of line the simulators share writes what it says, and both mixes are drawn from it.

A small draw of this module's own (one project, one file, fixed clients and times) feeds
each kind; the rendered lines are read back with the strict combined-format matcher.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pytest

from kit.logs import COMBINED, unescape
from wheelstats.simulate import logday, samplelog
from wheelstats.simulate.linekinds import (
    LineDraw, SiteText, add_broken, add_json, add_lookups, add_lookups_not_found, add_lookups_not_modified,
    add_mix, add_posts, add_project_pages, add_static_files, add_web_pages,
)
from wheelstats.simulate.lines import BROKEN, IGNORED, JSON, PAGE, PROJECT_PAGE, SEARCH, LineBuilder
from wheelstats.simulate.pools import build_agent_pool

AGENTS = build_agent_pool()
SITE = SiteText(pages=pa.array(["/only.html"]), static=pa.array(["/favicon.ico"]),
                unknown_projects=pa.array(["not-here"]), smallest_index_page=700)
START = 1_584_000_000  # 2020-03-12 08:00 UTC


@dataclass(frozen=True, slots=True)
class OneProjectDraw(LineDraw):
    """Every line about project 0 (`numpy`), from client 0, at one second, by pip agents only."""

    def times(self, count: int) -> np.ndarray:
        return np.full(count, START)

    def clients(self, count: int) -> np.ndarray:
        return np.zeros(count, dtype=np.int64)

    def installers(self, count: int) -> np.ndarray:
        return np.full(count, AGENTS.group_members[0][0])

    def projects(self, count: int) -> np.ndarray:
        return np.zeros(count, dtype=np.int64)


def lines_of(add, count: int = 40, seed: int = 1) -> tuple[list[str], np.ndarray]:
    draw = OneProjectDraw(np.random.default_rng(seed), AGENTS, SITE, pa.array(["numpy"]),
                          pa.array(["/simple/numpy/numpy-1.0-cp37-cp37m-linux_armv7l.whl"]))
    builder = LineBuilder()
    add(builder, draw, count)
    if not builder.parts:
        return [], np.zeros(0, dtype=np.int64)
    text, kinds, _ = builder.render(pa.array(["192.0.2.1"]), AGENTS.text, lambda epoch: np.zeros_like(epoch),
                                    np.random.default_rng(seed))
    return text.to_pylist(), kinds


def agent_set(pool: np.ndarray) -> set[str]:
    return {AGENTS.raw[i] for i in pool}


@pytest.mark.parametrize("add, kind, method, status, paths, agents", [
    (add_lookups, SEARCH, "GET", "200", {"/simple/numpy/"}, "installer"),
    (add_lookups_not_modified, IGNORED, "GET", "304", {"/simple/numpy/"}, "installer"),
    (add_lookups_not_found, IGNORED, "GET", "404", {"/simple/not-here/"}, "installer"),
    (add_project_pages, PROJECT_PAGE, "GET", "200", {"/project/numpy/"}, "browsers crawlers"),
    (add_json, JSON, "GET", "200", {"/project/numpy/json/"}, "tools browsers"),
    (add_web_pages, PAGE, "GET", "200", {"/only.html"}, "browsers monitors crawlers"),
    (add_posts, IGNORED, "POST", "405", {"/"}, "tools"),
    (add_static_files, IGNORED, "GET", "200", {"/favicon.ico"}, "browsers crawlers"),
])
def test_each_kind_writes_its_lines(add, kind, method, status, paths, agents):
    lines, kinds = lines_of(add)
    assert len(lines) == 40 and set(kinds) == {kind}
    matches = [COMBINED.match(line.rstrip("\n")) for line in lines]
    assert all(matches)
    assert {(m["client"], m["time"], m["method"], m["status"]) for m in matches} == {
        ("192.0.2.1", "12/Mar/2020:08:00:00 +0000", method, status)}
    assert {m["path"] for m in matches} == paths
    expected = agent_set(AGENTS.group_members[0][:1]) if agents == "installer" else set().union(
        *(agent_set(getattr(AGENTS, pool)) for pool in agents.split()))
    assert {unescape(m["agent"]) for m in matches} <= expected
    if kind == SEARCH:
        assert all(700 <= int(m["size"]) < 9000 for m in matches)


def test_broken_lines_are_cut_inside_the_request():
    lines, kinds = lines_of(add_broken, count=10)
    assert len(lines) == 10 and set(kinds) == {BROKEN}
    assert not any(COMBINED.match(line.rstrip("\n")) for line in lines)
    assert all(line.startswith('192.0.2.1 - - [12/Mar/2020:08:00:00 +0000] "') for line in lines)


def test_no_lines_for_a_count_of_zero():
    assert lines_of(add_lookups, count=0)[0] == []


def test_the_same_seed_draws_the_same_lines_and_another_does_not():
    assert lines_of(add_web_pages, seed=3)[0] == lines_of(add_web_pages, seed=3)[0]
    assert lines_of(add_web_pages, seed=3)[0] != lines_of(add_web_pages, seed=4)[0]


def test_add_mix_adds_each_kind_in_the_mix_s_order():
    mix = (logday.MIX[4], logday.MIX[0])  # json, then lookups
    draw = OneProjectDraw(np.random.default_rng(0), AGENTS, SITE, pa.array(["numpy"]), pa.array(["/simple/x.whl"]))
    builder = LineBuilder()
    add_mix(builder, draw, mix, {"json": 2, "lookup": 3})
    assert [int(part["kind"][0]) for part in builder.parts] == [JSON, SEARCH]
    assert [len(part["epoch"]) for part in builder.parts] == [2, 3]


@pytest.mark.parametrize("mix", [logday.MIX, samplelog.MIX], ids=["logday", "samplelog"])
def test_both_mixes_share_the_common_kinds_in_the_same_order(mix):
    shared = [add_lookups, add_lookups_not_modified, add_lookups_not_found, add_project_pages, add_json,
              add_web_pages, add_posts, add_static_files, add_broken]
    assert [kind.add for kind in mix if kind.add in shared] == shared
    assert len({kind.name for kind in mix}) == len(mix) == 12
    assert all(0 < kind.rate < 1 for kind in mix)
