"""Serving distribution files and their core metadata, streamed, with HTTP caching.

A file is only ever looked up in the catalogue by (project, filename), never
built from the URL, and at request time it must still be the very file (same
device and inode) the scan found inside the folder, so a symlink swapped in
after the scan cannot lead out of the wheels directory.
Range (single and multiple), If-Range and HEAD come from Starlette's
FileResponse, which streams in chunks (a file of at most one chunk is read in
one call, without the worker-thread round trips); ETag and Last-Modified are
set here, and If-None-Match / If-Modified-Since answer 304.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tarfile
import zipfile
from email.utils import formatdate

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.responses import FileResponse, PlainTextResponse, Response

from wheelstats.server.catalogue import DistFile, read_metadata_member
from wheelstats.web.conditional import not_modified, not_modified_response

MEDIA_TYPES = {".whl": "application/octet-stream", ".zip": "application/zip", ".tar.gz": "application/gzip"}
FILE_CACHE_CONTROL = "public, max-age=31536000, immutable"  # a released file never changes
ONE_CHUNK = FileResponse.chunk_size  # files up to this size are sent in one piece, like one chunk of a stream


def not_found() -> Response:
    return PlainTextResponse("Not Found", status_code=404)


def media_type_of(filename: str) -> str:
    for suffix, media_type in MEDIA_TYPES.items():
        if filename.endswith(suffix):
            return media_type
    return "application/octet-stream"


def file_etag(dist: DistFile, status: os.stat_result) -> str:
    if (status.st_size, status.st_mtime_ns) == (dist.size, dist.mtime_ns):
        return f'"{dist.facts.sha256}"'
    return f'"{status.st_size:x}-{status.st_mtime_ns:x}"'  # changed since the last scan


def _open_scanned(dist: DistFile) -> tuple[int, os.stat_result] | None:
    """Open the file the scan vetted, or None if that name now leads elsewhere.

    The scan resolved the real path inside the folder and noted its (device,
    inode). Opening the same path without following a final symlink and
    finding the same inode proves no link was swapped in since, at the cost
    of one open and one fstat instead of resolving every component again.
    """
    try:
        descriptor = os.open(dist.path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    status = os.fstat(descriptor)
    if (status.st_dev, status.st_ino) != dist.identity or not stat.S_ISREG(status.st_mode):
        os.close(descriptor)
        return None
    return descriptor, status


def file_response(dist: DistFile, method: str, request_headers: Headers) -> Response:
    opened = _open_scanned(dist)
    if opened is None:
        return not_found()
    descriptor, status = opened
    try:
        etag = file_etag(dist, status)
        last_modified = formatdate(status.st_mtime, usegmt=True)
        if not_modified(request_headers, etag, last_modified):
            return not_modified_response(etag, last_modified, FILE_CACHE_CONTROL)
        headers = {"etag": etag, "last-modified": last_modified, "cache-control": FILE_CACHE_CONTROL,
                   "x-content-type-options": "nosniff"}
        media_type = media_type_of(dist.filename)
        if method == "GET" and status.st_size <= ONE_CHUNK and "range" not in request_headers:
            body = os.read(descriptor, status.st_size + 1)
            if len(body) == status.st_size:  # else it changed under us: let the streaming path answer
                headers["accept-ranges"] = "bytes"
                return Response(body, headers=headers, media_type=media_type)
    finally:
        os.close(descriptor)
    return FileResponse(dist.path, headers=headers, media_type=media_type, stat_result=status)


async def metadata_response(dist: DistFile, request_headers: Headers) -> Response:
    if dist.facts.metadata_sha256 is None:
        return not_found()
    etag = f'"{dist.facts.metadata_sha256}"'
    if not_modified(request_headers, etag, None):
        return not_modified_response(etag, None, FILE_CACHE_CONTROL)
    try:
        body = await run_in_threadpool(read_metadata_member, dist)
    except (OSError, LookupError, zipfile.BadZipFile, tarfile.TarError, EOFError):
        return not_found()
    if hashlib.sha256(body).hexdigest() != dist.facts.metadata_sha256:
        return not_found()  # the file changed since the last scan; the next one lists it anew
    # Served byte for byte (its hash is published), never as a page: nosniff.
    headers = {"etag": etag, "cache-control": FILE_CACHE_CONTROL, "x-content-type-options": "nosniff"}
    return Response(body, headers=headers, media_type="application/octet-stream")
