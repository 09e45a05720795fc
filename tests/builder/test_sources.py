"""Where sdists come from: a `wheelstats serve` read as PEP 691 JSON with conditional requests, a
static PEP 503 HTML index (Python's http.server), and a folder, flat or one subfolder per project."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from datetime import datetime, timezone

import httpx
import pytest
from packaging.tags import Tag

from kit.builds import by_project, run_build
from kit.processes import free_port, stop, wait_until
from kit.sdists import make_project
from kit.servers import make_wheel, serving
from wheelstats.builder.sources import FolderSource, IndexSource, NotInSource, SourceError


def test_an_index_is_read_as_json_and_asked_again_with_its_etag(tmp_path):
    sources = tmp_path / "sources"
    first = make_project(sources, "Tiny_Pure", "1.0")
    make_wheel(sources, "tiny_pure", "0.9")  # an older release with a wheel only: not a release to build
    make_project(sources, "other", "2.0")
    make_wheel(sources, "other", "2.0")  # this release has a pure wheel already
    with serving(sources, tmp_path, "--no-record", db=tmp_path / "source.duckdb") as server:
        source = IndexSource(server.url + "/simple")
        assert source.projects() == ["other", "tiny-pure"]
        (release,) = source.releases("tiny-pure")
        assert (release.project, release.version, release.sdist, release.wheel_tags) == (
            "tiny-pure", "1.0", first.name, frozenset())
        mtime = datetime.fromtimestamp(first.stat().st_mtime, timezone.utc).replace(tzinfo=None)
        assert abs((release.uploaded - mtime).total_seconds()) < 0.001
        (other,) = source.releases("other")
        assert other.wheel_tags == frozenset({Tag("py3", "none", "any")})
        assert (source.requests, source.not_modified) == (3, 0)
        assert source.projects() == ["other", "tiny-pure"] and len(source.releases("tiny-pure")) == 1
        assert (source.requests, source.not_modified) == (5, 2)  # unchanged pages: 304s
        make_project(sources, "Tiny_Pure", "1.1")
        wait_until(lambda: len(source.releases("tiny-pure")) == 2, timeout=30, what="the new sdist to be served")
        with pytest.raises(NotInSource) as error:
            source.releases("absent")
        assert str(error.value) == ("No project 'absent' in the source " + server.url + "/simple. "
                                    "Check the name, or --source.")
        assert source.pip_options(release) == ["--index-url", server.url + "/simple/"]


def test_a_static_html_index_is_read_and_built_from(tmp_path):
    root = tmp_path / "site"
    sdist = make_project(root / "packages", "htmlonly", "1.0")
    digest = hashlib.sha256(sdist.read_bytes()).hexdigest()
    (root / "simple" / "htmlonly").mkdir(parents=True)
    (root / "simple" / "index.html").write_text('<!DOCTYPE html><html><body><a href="htmlonly/">htmlonly</a></body></html>')
    (root / "simple" / "htmlonly" / "index.html").write_text(
        f'<!DOCTYPE html><html><body><a href="../../packages/{sdist.name}#sha256={digest}">{sdist.name}</a>'
        "</body></html>")
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port), "--directory",
                               str(root)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}/simple/"

        def answers() -> bool:
            try:
                return httpx.get(url, timeout=1).status_code == 200
            except httpx.TransportError:
                return False
        wait_until(answers, timeout=30, what="http.server to answer")
        source = IndexSource(url)
        assert source.projects() == ["htmlonly"]
        assert [(r.version, r.sdist, r.uploaded) for r in source.releases("htmlonly")] == [("1.0", sdist.name, None)]
        result = run_build(tmp_path / "stats.duckdb", url, tmp_path / "wheels")
        assert result.returncode == 0, result.stderr
        assert by_project(tmp_path / "stats.duckdb")["htmlonly"]["status"] is True
    finally:
        stop(server)


def test_a_folder_flat_or_by_project(tmp_path):
    make_project(tmp_path, "flat", "1.0")
    make_project(tmp_path / "nested", "nested", "2.0")
    make_wheel(tmp_path / "nested", "nested", "1.0")
    (tmp_path / ".staging").mkdir()
    make_project(tmp_path / ".staging", "hidden", "1.0")
    source = FolderSource(tmp_path)
    assert source.projects() == ["flat", "nested"]
    (nested,) = source.releases("nested")
    assert (nested.version, nested.folder) == ("2.0", str(tmp_path / "nested"))
    assert source.pip_options(nested) == ["--no-index", "--find-links", str(tmp_path / "nested"),
                                          "--find-links", str(tmp_path)]
    (flat,) = source.releases("flat")
    assert source.pip_options(flat) == ["--no-index", "--find-links", str(tmp_path)]
    with pytest.raises(SourceError):
        FolderSource(tmp_path / "absent")
