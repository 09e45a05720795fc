"""The simple API over HTTP: PEP 503 HTML, PEP 691 JSON and negotiation, PEP 658/714, PEP 592, redirects."""

from __future__ import annotations

import hashlib
import html.parser

import httpx
import pytest

from kit.processes import wait_until
from kit.servers import make_sdist, make_wheel, platform_tag, serving
from wheelstats.server.index import HTML_V1, JSON_V1, TEXT_HTML, negotiate

PIP_ACCEPT = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01"


class Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.anchors: list[dict] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.anchors.append(dict(attrs))

    def handle_data(self, data):
        if self.anchors and "text" not in self.anchors[-1] and data.strip():
            self.anchors[-1]["text"] = data


def links(body: str) -> list[dict]:
    parser = Links()
    parser.feed(body)
    return parser.anchors


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("index")
    wheels = tmp / "wheels"
    make_wheel(wheels, "Tiny_Pure", "1.0", requires_python=">=3.8,<4")
    make_wheel(wheels / "tiny-pure", "Tiny_Pure", "1.1", requires_python=">=3.8")
    make_wheel(wheels, "tinyplat", "2.0", platform_tag(), requires=["tiny-pure>=1.0"])
    make_sdist(wheels, "tinysrc", "0.5", requires_python=">=3.9")
    (wheels / "yanked.txt").write_text("Tiny_Pure-1.0-py3-none-any.whl do not use <b>this</b>\n")
    with serving(wheels, tmp) as running:
        running.wheels = wheels
        yield running


@pytest.mark.parametrize(("accept", "expected"), [
    (None, TEXT_HTML),
    ("*/*", TEXT_HTML),
    ("text/html", TEXT_HTML),
    (PIP_ACCEPT, JSON_V1),
    ("application/vnd.pypi.simple.v1+html", HTML_V1),
    ("application/vnd.pypi.simple.latest+json", JSON_V1),
    ("application/vnd.pypi.simple.v1+json;q=0.2, text/html", TEXT_HTML),
    ("application/vnd.pypi.simple.v1+json;q=0", None),
    ("application/json", None),
    ("image/png, application/*;q=0.5", JSON_V1),
])
def test_negotiate(accept, expected):
    assert negotiate(accept) == expected


def test_project_page_html(server):
    response = httpx.get(server.url + "/simple/tiny-pure/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["vary"] == "Accept"
    assert '<meta name="pypi:repository-version" content="1.1">' in response.text
    anchors = links(response.text)
    assert [a["text"] for a in anchors] == ["Tiny_Pure-1.0-py3-none-any.whl", "Tiny_Pure-1.1-py3-none-any.whl"]
    old, new = anchors
    wheel = server.wheels / "Tiny_Pure-1.0-py3-none-any.whl"
    assert old["href"] == f"/simple/tiny-pure/{wheel.name}#sha256={hashlib.sha256(wheel.read_bytes()).hexdigest()}"
    # Attribute values come back unescaped from the parser: they were escaped in the page.
    assert old["data-requires-python"] == ">=3.8,<4"
    assert 'data-requires-python="&gt;=3.8,&lt;4"' in response.text
    assert old["data-yanked"] == "do not use <b>this</b>"
    assert "do not use &lt;b&gt;this&lt;/b&gt;" in response.text
    assert "data-yanked" not in new
    metadata = httpx.get(server.url + f"/simple/tiny-pure/{wheel.name}.metadata")
    assert metadata.status_code == 200
    expected = "sha256=" + hashlib.sha256(metadata.content).hexdigest()
    assert old["data-core-metadata"] == old["data-dist-info-metadata"] == expected
    assert metadata.content.startswith(b"Metadata-Version: 2.1\nName: Tiny_Pure\nVersion: 1.0\n")


def test_project_page_json(server):
    response = httpx.get(server.url + "/simple/tiny-pure/", headers={"Accept": PIP_ACCEPT})
    assert response.headers["content-type"] == JSON_V1
    document = response.json()
    assert document["meta"] == {"api-version": "1.1"}
    assert document["name"] == "tiny-pure"
    assert document["versions"] == ["1.0", "1.1"]
    old, new = document["files"]
    wheel = server.wheels / "Tiny_Pure-1.0-py3-none-any.whl"
    assert old["filename"] == wheel.name and old["url"] == f"/simple/tiny-pure/{wheel.name}"
    assert old["hashes"] == {"sha256": hashlib.sha256(wheel.read_bytes()).hexdigest()}
    assert old["requires-python"] == ">=3.8,<4"
    assert old["yanked"] == "do not use <b>this</b>" and new["yanked"] is False
    assert old["size"] == wheel.stat().st_size
    assert old["upload-time"].endswith("Z")
    metadata = httpx.get(server.url + old["url"] + ".metadata").content
    assert old["core-metadata"] == old["dist-info-metadata"] == {"sha256": hashlib.sha256(metadata).hexdigest()}


def test_sdist_with_static_metadata(server):
    document = httpx.get(server.url + "/simple/tinysrc/", headers={"Accept": JSON_V1}).json()
    (sdist,) = document["files"]
    assert sdist["requires-python"] == ">=3.9"
    metadata = httpx.get(server.url + sdist["url"] + ".metadata")
    assert metadata.content.startswith(b"Metadata-Version: 2.2\n")
    assert sdist["core-metadata"] == {"sha256": hashlib.sha256(metadata.content).hexdigest()}


def test_html_v1_is_served_as_asked(server):
    response = httpx.get(server.url + "/simple/tinyplat/", headers={"Accept": HTML_V1})
    assert response.headers["content-type"] == HTML_V1 + "; charset=utf-8"
    (anchor,) = links(response.text)
    assert "data-requires-python" not in anchor


def test_unacceptable_media_type_is_406(server):
    response = httpx.get(server.url + "/simple/tinyplat/", headers={"Accept": "application/json"})
    assert response.status_code == 406


def test_root_lists_projects_in_both_formats(server):
    page = httpx.get(server.url + "/simple/")
    assert [(a["href"], a["text"]) for a in links(page.text)] == [
        ("/simple/tiny-pure/", "tiny-pure"), ("/simple/tinyplat/", "tinyplat"), ("/simple/tinysrc/", "tinysrc")]
    document = httpx.get(server.url + "/simple/", headers={"Accept": JSON_V1}).json()
    assert document == {"meta": {"api-version": "1.1"},
                        "projects": [{"name": "tiny-pure"}, {"name": "tinyplat"}, {"name": "tinysrc"}]}


@pytest.mark.parametrize(("path", "location"), [
    ("/simple/Tiny_Pure/", "/simple/tiny-pure/"),
    ("/simple/TINY.pure/", "/simple/tiny-pure/"),
    ("/simple/tiny-pure", "/simple/tiny-pure/"),
    ("/simple", "/simple/"),
    ("/simple/Tiny_Pure/Tiny_Pure-1.1-py3-none-any.whl", "/simple/tiny-pure/Tiny_Pure-1.1-py3-none-any.whl"),
    ("/project/Tiny.Pure/", "/project/tiny-pure/"),
])
def test_names_redirect_to_the_canonical_url(server, path, location):
    response = httpx.get(server.url + path, headers={"Accept": JSON_V1})
    assert response.status_code == 301
    assert response.headers["location"] == location


def test_redirect_keeps_the_query(server):
    response = httpx.get(server.url + "/simple/Tiny_Pure/?x=1")
    assert response.headers["location"] == "/simple/tiny-pure/?x=1"


def test_unknown_project_and_file_are_404(server):
    assert httpx.get(server.url + "/simple/nothing-here/").status_code == 404
    assert httpx.get(server.url + "/simple/tinyplat/tinyplat-9.9-py3-none-any.whl").status_code == 404
    assert httpx.get(server.url + "/simple/tinyplat/tinyplat-9.9-py3-none-any.whl.metadata").status_code == 404


def test_index_etag_answers_304(server):
    first = httpx.get(server.url + "/simple/tinyplat/", headers={"Accept": JSON_V1})
    etag = first.headers["etag"]
    again = httpx.get(server.url + "/simple/tinyplat/", headers={"Accept": JSON_V1, "If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    html_page = httpx.get(server.url + "/simple/tinyplat/", headers={"If-None-Match": etag})
    assert html_page.status_code == 200 and html_page.headers["etag"] != etag


def test_head_of_an_index_page(server):
    head = httpx.head(server.url + "/simple/tinyplat/")
    get = httpx.get(server.url + "/simple/tinyplat/")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(get.content))


def test_files_dropped_in_appear_without_restart(server):
    make_wheel(server.wheels / "latecomer", "latecomer", "0.1")
    wait_until(lambda: httpx.get(server.url + "/simple/latecomer/").status_code == 200, timeout=10,
               what="the new file to appear")
    assert "latecomer-0.1-py3-none-any.whl" in httpx.get(server.url + "/simple/latecomer/").text
    assert "/simple/latecomer/" in httpx.get(server.url + "/simple/").text
    assert httpx.get(server.url + "/simple/latecomer/latecomer-0.1-py3-none-any.whl").status_code == 200


def test_format_parameter_chooses_the_media_type(server):
    as_json = httpx.get(server.url + "/simple/tinyplat/?format=" + JSON_V1, headers={"Accept": "text/html"})
    assert as_json.headers["content-type"] == JSON_V1 and as_json.json()["name"] == "tinyplat"
    as_html = httpx.get(server.url + "/simple/?format=" + HTML_V1, headers={"Accept": JSON_V1})
    assert as_html.headers["content-type"] == HTML_V1 + "; charset=utf-8"
    assert httpx.get(server.url + "/simple/?format=image/png").status_code == 406
