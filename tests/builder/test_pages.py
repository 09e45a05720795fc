"""The index's project pages show each version's builds (status, duration, start, files, log), and a
build's log is served as a page of escaped text, by a real `wheelstats serve` over the built wheels."""

from __future__ import annotations

import gzip
import html
import re

import httpx
import pytest

from kit.builds import builds, run_build, sha256
from kit.sdists import make_project
from kit.servers import serving

HOSTILE = '<script>alert("built")</script> & more'


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pages")
    sources, db, wheels = tmp / "sources", tmp / "stats.duckdb", tmp / "wheels"
    make_project(sources, "webby", "1.0", "fail", message=HOSTILE)
    make_project(sources, "webby", "2.0", "pure")
    make_project(sources, "other", "1.0", "pure")
    assert run_build(db, sources, wheels).returncode == 0
    rows = builds(db)  # read before the server's feeder holds the store
    with serving(wheels, tmp, "--no-record", db=db) as server:  # the pages read the store; nothing writes it
        yield {"url": server.url, "builds": rows, "wheels": wheels, "tmp": tmp}


def build_of(site, project: str, succeeded: bool) -> dict:
    (row,) = [row for row in site["builds"] if row["project"] == project and row["status"] is succeeded]
    return row


def test_a_project_page_lists_each_version_s_builds(site):
    page = httpx.get(site["url"] + "/project/webby/").text
    failed, built = build_of(site, "webby", False), build_of(site, "webby", True)
    wheel = site["wheels"] / "webby" / "webby-2.0-py3-none-any.whl"
    table = page.split('<table id="builds">', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r'<tr id="build-(\d+)">(.*?)</tr>', table)
    assert [int(build_id) for build_id, _ in rows] == [built["build_id"], failed["build_id"]]  # newest version first
    assert rows[0][1] == (
        f'<td rowspan="1">2.0</td><td class="n">{built["build_id"]}</td><td class="built">built</td>'
        f'<td class="n">{built["duration_s"]:,.1f} s</td>'
        f'<td>{built["built_at"].isoformat(sep=" ", timespec="seconds")}</td>'
        f'<td>{built["abi_tag"]} on {built["platform_tag"]}</td>'
        f'<td><a href="/simple/webby/{wheel.name}#sha256={sha256(wheel)}">{wheel.name}</a></td>'
        f'<td><a href="/project/webby/builds/{built["build_id"]}/log">log</a></td>')
    assert '<td class="failed">failed: error (exit code 1)</td>' in rows[1][1]
    assert f'<td class="n">{failed["duration_s"]:,.1f} s</td>' in rows[1][1]


def test_a_build_log_is_served_escaped(site):
    failed = build_of(site, "webby", False)
    answer = httpx.get(f"{site['url']}/project/webby/builds/{failed['build_id']}/log")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
    assert "<script>" not in answer.text
    log = gzip.decompress((site["tmp"] / failed["log_path"]).read_bytes()).decode()
    shown = answer.text.split('<pre id="log">', 1)[1].split("</pre>", 1)[0]
    assert html.unescape(shown) == log and HOSTILE in log
    assert "&lt;script&gt;alert(&#34;built&#34;)&lt;/script&gt; &amp; more" in shown


def test_a_log_is_only_found_under_its_own_project(site):
    other = build_of(site, "other", True)
    for path in (f"/project/webby/builds/{other['build_id']}/log", "/project/webby/builds/42/log",
                 f"/project/nothing/builds/{other['build_id']}/log"):
        assert httpx.get(site["url"] + path).status_code == 404
    assert httpx.get(f"{site['url']}/project/other/builds/{other['build_id']}/log").status_code == 200
