"""The dashboard's offline Vega bundle: served from the server itself, with HTTP validators that caches can use."""

from __future__ import annotations

import httpx
import pytest


@pytest.fixture(scope="module")
def vega(dashboard_url) -> httpx.Response:
    response = httpx.get(f"{dashboard_url}/stats/static/vega.js", timeout=120)
    assert response.status_code == 200 and b"vegaEmbed" in response.content
    return response


@pytest.mark.parametrize("if_none_match", [
    "{etag}",
    "W/{etag}",  # a weak validator matches for GET (RFC 9110 13.1.2)
    '"older", {etag}',  # a list, as caches holding several copies send
    '"older",W/{etag}',
    "*",
])
def test_a_cached_copy_is_not_sent_again(dashboard_url, vega, if_none_match):
    header = if_none_match.format(etag=vega.headers["etag"])
    again = httpx.get(f"{dashboard_url}/stats/static/vega.js", headers={"If-None-Match": header}, timeout=60)
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == vega.headers["etag"]


def test_another_copy_gets_the_bundle(dashboard_url, vega):
    other = httpx.get(f"{dashboard_url}/stats/static/vega.js", headers={"If-None-Match": '"older"'}, timeout=60)
    assert other.status_code == 200 and other.content == vega.content
