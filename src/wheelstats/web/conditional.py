"""Conditional requests (RFC 9110): whether a client's copy is current, and the 304 that says so."""

from __future__ import annotations

from email.utils import parsedate_to_datetime

from starlette.datastructures import Headers
from starlette.responses import Response


def not_modified(request_headers: Headers, etag: str, last_modified: str | None) -> bool:
    """RFC 9110 13.2.2: If-None-Match decides when present, else If-Modified-Since."""
    if_none_match = request_headers.get("if-none-match")
    if if_none_match is not None:
        if if_none_match.strip() == "*":
            return True
        return etag in (tag.strip().removeprefix("W/") for tag in if_none_match.split(","))
    if_modified_since = request_headers.get("if-modified-since")
    if if_modified_since and last_modified:
        try:
            return parsedate_to_datetime(if_modified_since) >= parsedate_to_datetime(last_modified)
        except (TypeError, ValueError):
            return False
    return False


def not_modified_response(etag: str, last_modified: str | None, cache_control: str) -> Response:
    headers = {"etag": etag, "cache-control": cache_control}
    if last_modified:
        headers["last-modified"] = last_modified
    return Response(status_code=304, headers=headers)
