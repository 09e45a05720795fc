"""Serving files over HTTP: whole, HEAD, Range, ETag, Last-Modified and conditional requests."""

from __future__ import annotations

import email.utils
import hashlib
import os
import time

import httpx
import pytest

from kit.processes import wait_until
from kit.servers import make_wheel, serving


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("files")
    wheels = tmp / "wheels"
    wheel = make_wheel(wheels, "alpha", "1.0")
    big = wheels / "big-1.0-py3-none-any.whl"
    big.write_bytes(os.urandom(3 * 1024 * 1024 + 17))  # served as bytes; never parsed for serving
    with serving(wheels, tmp) as running:
        running.wheel, running.big = wheel, big
        yield running


def url(server, path) -> str:
    project = path.name.split("-")[0]
    return f"{server.url}/simple/{project}/{path.name}"


def test_whole_file_with_validators(server):
    response = httpx.get(url(server, server.wheel))
    data = server.wheel.read_bytes()
    assert response.status_code == 200 and response.content == data
    assert response.headers["content-length"] == str(len(data))
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["etag"] == f'"{hashlib.sha256(data).hexdigest()}"'
    assert response.headers["last-modified"] == email.utils.formatdate(server.wheel.stat().st_mtime, usegmt=True)
    assert response.headers["content-type"] == "application/octet-stream"


def test_a_big_file_streams_intact(server):
    with httpx.stream("GET", url(server, server.big)) as response:
        chunks = list(response.iter_raw())
    assert b"".join(chunks) == server.big.read_bytes()
    assert len(chunks) > 1


def test_head_sends_headers_only(server):
    response = httpx.head(url(server, server.big))
    assert response.status_code == 200 and response.content == b""
    assert response.headers["content-length"] == str(server.big.stat().st_size)


@pytest.mark.parametrize(("header", "start", "end"), [
    ("bytes=0-99", 0, 100),
    ("bytes=1000-", 1000, None),
    ("bytes=-500", -500, None),
    ("bytes=3145000-9999999", 3145000, None),
])
def test_single_range(server, header, start, end):
    data = server.big.read_bytes()
    response = httpx.get(url(server, server.big), headers={"Range": header})
    expected = data[start:end]
    assert response.status_code == 206
    assert response.content == expected
    first = start if start >= 0 else len(data) + start
    assert response.headers["content-range"] == f"bytes {first}-{first + len(expected) - 1}/{len(data)}"


def test_multiple_ranges(server):
    data = server.big.read_bytes()
    response = httpx.get(url(server, server.big), headers={"Range": "bytes=0-9, 100-109"})
    assert response.status_code == 206
    assert response.headers["content-type"].startswith("multipart/byteranges; boundary=")
    assert data[0:10] in response.content and data[100:110] in response.content


def test_unsatisfiable_range_is_416(server):
    size = server.big.stat().st_size
    response = httpx.get(url(server, server.big), headers={"Range": f"bytes={size + 10}-"})
    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{size}"


def test_if_range_with_a_stale_validator_sends_everything(server):
    response = httpx.get(url(server, server.wheel), headers={"Range": "bytes=0-9", "If-Range": '"stale"'})
    assert response.status_code == 200 and response.content == server.wheel.read_bytes()
    etag = httpx.head(url(server, server.wheel)).headers["etag"]
    response = httpx.get(url(server, server.wheel), headers={"Range": "bytes=0-9", "If-Range": etag})
    assert response.status_code == 206 and len(response.content) == 10


def test_conditional_requests_answer_304(server):
    first = httpx.get(url(server, server.wheel))
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    by_etag = httpx.get(url(server, server.wheel), headers={"If-None-Match": f'"other", {etag}'})
    assert by_etag.status_code == 304 and by_etag.content == b"" and by_etag.headers["etag"] == etag
    weak = httpx.get(url(server, server.wheel), headers={"If-None-Match": "W/" + etag})
    assert weak.status_code == 304
    by_date = httpx.get(url(server, server.wheel), headers={"If-Modified-Since": modified})
    assert by_date.status_code == 304
    older = email.utils.formatdate(server.wheel.stat().st_mtime - 3600, usegmt=True)
    assert httpx.get(url(server, server.wheel), headers={"If-Modified-Since": older}).status_code == 200
    # If-None-Match decides when both are present.
    both = httpx.get(url(server, server.wheel), headers={"If-None-Match": '"other"', "If-Modified-Since": modified})
    assert both.status_code == 200
    assert httpx.get(url(server, server.wheel), headers={"If-Modified-Since": "garbage"}).status_code == 200


def test_metadata_is_conditional_too(server):
    first = httpx.get(url(server, server.wheel) + ".metadata")
    assert first.headers["etag"] == f'"{hashlib.sha256(first.content).hexdigest()}"'
    again = httpx.get(url(server, server.wheel) + ".metadata", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304


def test_a_file_removed_after_the_scan_is_404(server):
    doomed = make_wheel(server.wheel.parent, "doomed", "1.0")
    wait_until(lambda: httpx.head(url(server, doomed)).status_code == 200, timeout=10, what="the scan to list it")
    doomed.unlink()  # before the next scan notices
    assert httpx.get(url(server, doomed)).status_code == 404


def test_post_is_not_allowed(server):
    assert httpx.post(url(server, server.wheel)).status_code == 405


def timed_get(server, path, range_header: str) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = httpx.get(url(server, path), headers={"Range": range_header}, timeout=120)
    return response, time.monotonic() - started


def test_thousands_of_ranges_are_answered_at_once_and_the_server_goes_on(server):
    """CVE-2025-62727: Starlette before 0.49.1 parsed and merged a request's ranges in quadratic time,
    and a header within the 32 KB limit holds thousands of them. The answer must come at once (the
    whole file, its ranges, or a 400), and the next request too."""
    ranges = ",".join(f"{start}-{start}" for start in range(6000, 0, -2))  # 3,000 valid ranges, last first
    assert ranges.count(",") + 1 == 3000 and len(ranges) < 30_000
    response, elapsed = timed_get(server, server.big, f"bytes={ranges}")
    assert elapsed < 2.0, f"{elapsed:.1f} s for one request"
    if response.status_code == 200:  # over 100 ranges: the whole file instead (Starlette >= 1.5.1)
        assert response.content == server.big.read_bytes()
    else:
        assert response.status_code == 206
        assert response.content.count(b"Content-Range: bytes ") == 3000
    # The advisory's own input: one run of 30,000 digits, which the old pattern scanned in quadratic time.
    response, elapsed = timed_get(server, server.big, "bytes=" + "1" * 30_000)
    assert elapsed < 2.0, f"{elapsed:.1f} s for one request"
    assert response.status_code in (200, 400, 416)
    assert httpx.get(url(server, server.wheel)).status_code == 200
    assert server.process.poll() is None
