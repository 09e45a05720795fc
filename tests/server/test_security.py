"""Security: no path leads out of the wheels folder, names and agents are escaped, bad requests are refused."""

from __future__ import annotations

from urllib.parse import quote

import httpx
import pytest

from kit.processes import wait_until
from kit.servers import make_sdist, make_wheel, raw_get, raw_request, serving

SECRET = b"TOP-SECRET-8c1f"
HOSTILE = "<img src=x onerror=alert(1)>"  # a project name an sdist filename can carry
HOSTILE_AGENT = '<script>alert("agent")</script>/1.0'


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("security")
    wheels, outside = tmp / "wheels", tmp / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(SECRET)
    evil = make_wheel(outside, "evil", "1.0")
    evil.write_bytes(evil.read_bytes() + SECRET)
    make_wheel(wheels, "alpha", "1.0")
    (wheels / "evil-1.0-py3-none-any.whl").symlink_to(evil)
    (wheels / "linked").symlink_to(outside, target_is_directory=True)
    (wheels / "secret.txt").symlink_to(outside / "secret.txt")
    make_sdist(wheels, HOSTILE, "1.0")
    with serving(wheels, tmp) as running:
        yield running


TRAVERSALS = [
    b"/simple/../outside/secret.txt",
    b"/simple/../../outside/secret.txt",
    b"/../outside/secret.txt",
    b"/simple/%2e%2e/outside/secret.txt",
    b"/simple/%2E%2E/%2E%2E/outside/secret.txt",
    b"/simple/.%2e/.%2e/outside/secret.txt",
    b"/simple/..%2foutside%2fsecret.txt",
    b"/simple/alpha/..%2f..%2foutside%2fsecret.txt",
    b"/simple/alpha/%2e%2e%2f%2e%2e%2foutside%2fevil-1.0-py3-none-any.whl",
    b"/simple/alpha/%252e%252e%252f%252e%252e%252foutside%252fsecret.txt",
    b"/simple/alpha/..%5c..%5coutside%5csecret.txt",
    b"/simple/alpha/..\\..\\outside\\secret.txt",
    b"/simple/alpha/%c0%ae%c0%ae%c0%afoutside%c0%afsecret.txt",
    b"/simple//etc/passwd",
    b"//etc/passwd",
    b"/etc/passwd",
    b"/simple/alpha/%2fetc%2fpasswd",
    b"/simple/alpha//etc/passwd",
    b"/simple/evil/evil-1.0-py3-none-any.whl",
    b"/simple/evil/",
    b"/simple/linked/evil-1.0-py3-none-any.whl",
    b"/simple/alpha/secret.txt",
    b"/simple/secret/secret.txt",
    b"/simple/alpha/evil-1.0-py3-none-any.whl",
    b"/project/../outside/secret.txt",
    b"http://127.0.0.1/simple/../outside/secret.txt",
    b"/simple/alpha/alpha-1.0-py3-none-any.whl%00.txt",
]


@pytest.mark.parametrize("target", TRAVERSALS, ids=[t.decode() for t in TRAVERSALS])
def test_traversal_is_404_and_reveals_nothing(server, target):
    status, answer = raw_get(server.port, target)
    assert status == 404
    assert SECRET not in answer
    assert b"root:" not in answer


def test_the_index_never_lists_files_outside(server):
    root = httpx.get(server.url + "/simple/").text
    assert "evil" not in root and "secret" not in root
    assert httpx.get(server.url + "/simple/alpha/alpha-1.0-py3-none-any.whl").status_code == 200


def _pages(server) -> dict[str, httpx.Response]:
    quoted = quote(HOSTILE, safe="")
    paths = ["/", "/simple/", f"/simple/{quoted}/", f"/project/{quoted}/", "/packages.json"]
    pages = {path: httpx.get(server.url + path) for path in paths}
    pages["json"] = httpx.get(server.url + f"/simple/{quoted}/", headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    pages["404"] = httpx.get(server.url + f"/simple/{quote('<script>x</script>', safe='')}/")
    return pages


def test_a_hostile_project_name_is_escaped_on_every_page(server):
    pages = _pages(server)
    for path, response in pages.items():
        assert HOSTILE not in response.text, path
        assert "<script>" not in response.text, path
    for path in ("/", "/simple/", f"/simple/{quote(HOSTILE, safe='')}/", f"/project/{quote(HOSTILE, safe='')}/"):
        assert pages[path].status_code == 200
        assert "&lt;img src=x onerror=alert(1)&gt;" in pages[path].text, path
    assert [HOSTILE, 0, 0] in pages["/packages.json"].json()
    assert pages["json"].json()["name"] == HOSTILE
    assert pages["404"].status_code == 404
    # The core metadata is served byte for byte (its hash is published), as data, never as a page.
    metadata = httpx.get(server.url + f"/simple/{quote(HOSTILE, safe='')}/{quote(HOSTILE + '-1.0.tar.gz', safe='')}.metadata")
    assert metadata.headers["content-type"] == "application/octet-stream"
    assert metadata.headers["x-content-type-options"] == "nosniff"


def test_a_hostile_agent_is_escaped_on_the_project_page(server):
    file_url = f"{server.url}/simple/alpha/alpha-1.0-py3-none-any.whl"
    assert httpx.get(file_url, headers={"User-Agent": HOSTILE_AGENT}).status_code == 200
    def page_with_the_agent() -> str | None:  # the feeder ingests every round; answers are cached
        page = httpx.get(server.url + "/project/alpha/").text
        return page if "&lt;script&gt;" in page else None  # the agent's product, in the installers table
    page = wait_until(page_with_the_agent, timeout=30, what="the agent on the project page")
    assert "<script>" not in page
    assert b' "<script>alert(\\"agent\\")</script>/1.0"\n' in server.access_log.read_bytes()


@pytest.mark.parametrize(("request_bytes", "expected"), [
    (b"GET /" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: t\r\n\r\n", range(400, 500)),
    (b"GET /" + b"a" * 9_000 + b" HTTP/1.1\r\nHost: t\r\n\r\n", [414]),
    (b"GET /simple/ HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n", [431]),
    (b"GET /simple/ HTTP/1.1\r\nHost: t\r\nUser-Agent: " + b"a" * 100_000 + b"\r\n\r\n", [431]),
    (b"GARBAGE\r\n\r\n", [400]),
    (b"GET /simple/ HTTP/9.9\r\n\r\n", range(400, 600)),
    (b"GET /simple/ HTTP/1.1\r\nBad Header Line\r\n\r\n", [400]),
    (b"\x00\x01\x02\xff\r\n\r\n", [400]),
    (b"GET /simple/ HTTP/1.1\r\nHost: t\r\nContent-Length: -5\r\n\r\n", [400]),
])
def test_oversized_and_malformed_requests_are_refused_and_the_server_goes_on(server, request_bytes, expected):
    answer = raw_request(server.port, request_bytes)
    status = int(answer.split(b" ", 2)[1])
    assert status in expected
    assert httpx.get(server.url + "/simple/alpha/").status_code == 200
    assert server.process.poll() is None
