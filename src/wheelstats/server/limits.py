"""Refusing oversized requests before any routing: 414 for a long target, 431 for big headers.

The HTTP parser answers malformed requests itself (400); these limits keep a
100 KB URL or header from reaching the application.
"""

from __future__ import annotations

MAX_TARGET_BYTES = 8 * 1024
MAX_HEADER_BYTES = 32 * 1024


async def _refuse(send, status: int, reason: bytes) -> None:
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(reason)).encode()),
                    (b"connection", b"close")],
    })
    await send({"type": "http.response.body", "body": reason})


class RequestLimits:
    """Pure ASGI middleware enforcing MAX_TARGET_BYTES and MAX_HEADER_BYTES."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            if len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"") > MAX_TARGET_BYTES:
                return await _refuse(send, 414, b"URI Too Long")
            if sum(len(name) + len(value) for name, value in scope["headers"]) > MAX_HEADER_BYTES:
                return await _refuse(send, 431, b"Request Header Fields Too Large")
        await self.app(scope, receive, send)
