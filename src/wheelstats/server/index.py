"""The simple repository API: PEP 503 HTML and PEP 691 JSON pages, and content negotiation.

Pages are rendered once per catalogue snapshot and kept as bytes with their
ETag, so serving one is a dictionary lookup. Links carry the sha256 in their
fragment, `data-requires-python` (HTML-escaped), PEP 714 `data-core-metadata`
(and the older `data-dist-info-metadata`) and PEP 592 `data-yanked`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from html import escape
from urllib.parse import quote

from wheelstats.server.catalogue import DistFile, Project, Snapshot

API_VERSION = "1.1"  # PEP 700: versions, size and upload-time in JSON
JSON_V1 = "application/vnd.pypi.simple.v1+json"
HTML_V1 = "application/vnd.pypi.simple.v1+html"
TEXT_HTML = "text/html"
# What each acceptable media type is served as (the `latest` aliases of PEP 691).
SERVED_AS = {
    JSON_V1: JSON_V1,
    "application/vnd.pypi.simple.latest+json": JSON_V1,
    HTML_V1: HTML_V1,
    "application/vnd.pypi.simple.latest+html": HTML_V1,
    TEXT_HTML: TEXT_HTML,
}
PREFERENCE = (JSON_V1, HTML_V1, TEXT_HTML)  # the server's order among equal q-values


@dataclass(frozen=True, slots=True)
class Page:
    body: bytes
    content_type: str  # the full header value
    etag: str


def project_url(name: str) -> str:
    return f"/simple/{quote(name, safe='')}/"


def file_url(dist: DistFile) -> str:
    return f"/simple/{quote(dist.project, safe='')}/{quote(dist.filename, safe='')}"


def _parse_accept(header: str) -> list[tuple[float, int, str]]:
    choices = []
    for position, item in enumerate(header.split(",")):
        media_type, *params = (part.strip() for part in item.split(";"))
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media_type:
            choices.append((quality, position, media_type.lower()))
    return choices


def negotiate(accept: str | None) -> str | None:
    """The media type to serve for an Accept header, or None (406)."""
    if not accept:
        return TEXT_HTML
    ranked = []
    for quality, position, media_type in _parse_accept(accept):
        if quality <= 0:
            continue
        if media_type == "*/*":
            candidates = [TEXT_HTML]
        elif media_type in ("text/*", "application/*"):
            candidates = [t for t in PREFERENCE if t.startswith(media_type[:-1])]
        else:
            candidates = [SERVED_AS[media_type]] if media_type in SERVED_AS else []
        # Highest q wins; ties go to the server's preference, then the client's order.
        ranked.extend((quality, -PREFERENCE.index(c), -position, c) for c in candidates)
    return max(ranked)[3] if ranked else None


_negotiated: dict[str, str | None] = {}


def negotiate_cached(accept: str | None) -> str | None:
    """`negotiate`, remembered per distinct header (clients send few distinct ones)."""
    key = accept or ""
    try:
        return _negotiated[key]
    except KeyError:
        result = negotiate(accept)
        if len(_negotiated) < 1024 and len(key) < 512:
            _negotiated[key] = result
        return result


def json_bytes(document) -> bytes:
    """Compact JSON with <, > and & as \\u escapes, so no browser can read markup into it."""
    text = json.dumps(document, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026").encode("utf-8")


def _page(body: bytes, media_type: str) -> Page:
    content_type = media_type + "; charset=utf-8" if "html" in media_type else media_type
    return Page(body, content_type, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')


def _html_document(title: str, body_lines: list[str]) -> bytes:
    lines = [
        "<!DOCTYPE html>",
        "<html>",
        "  <head>",
        f'    <meta name="pypi:repository-version" content="{API_VERSION}">',
        f"    <title>{escape(title)}</title>",
        "  </head>",
        "  <body>",
        *body_lines,
        "  </body>",
        "</html>",
        "",
    ]
    return "\n".join(lines).encode("utf-8")


def _link(dist: DistFile) -> str:
    href = f"{file_url(dist)}#sha256={dist.facts.sha256}"
    attributes = [f'href="{escape(href)}"']
    if dist.facts.requires_python:
        attributes.append(f'data-requires-python="{escape(dist.facts.requires_python)}"')
    if dist.facts.metadata_sha256:
        value = f"sha256={dist.facts.metadata_sha256}"
        attributes.append(f'data-dist-info-metadata="{value}"')
        attributes.append(f'data-core-metadata="{value}"')
    if dist.yanked is not None:
        attributes.append(f'data-yanked="{escape(dist.yanked)}"')
    return f"    <a {' '.join(attributes)}>{escape(dist.filename)}</a><br/>"


def render_project_html(project: Project) -> bytes:
    title = f"Links for {project.name}"
    return _html_document(title, [f"    <h1>{escape(title)}</h1>", *(_link(d) for d in project.files)])


def _upload_time(dist: DistFile) -> str:
    moment = datetime.fromtimestamp(dist.mtime_ns / 1e9, tz=timezone.utc)
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


def _file_json(dist: DistFile) -> dict:
    metadata = {"sha256": dist.facts.metadata_sha256} if dist.facts.metadata_sha256 else False
    entry = {
        "filename": dist.filename,
        "url": file_url(dist),
        "hashes": {"sha256": dist.facts.sha256},
        "requires-python": dist.facts.requires_python,
        "core-metadata": metadata,
        "dist-info-metadata": metadata,
        "size": dist.size,
        "upload-time": _upload_time(dist),
        "yanked": False if dist.yanked is None else (dist.yanked or True),
    }
    return entry


def render_project_json(project: Project) -> bytes:
    document = {
        "meta": {"api-version": API_VERSION},
        "name": project.name,
        "versions": list(project.versions),
        "files": [_file_json(d) for d in project.files],
    }
    return json_bytes(document)


def render_root_html(snapshot: Snapshot) -> bytes:
    links = [f'    <a href="{escape(project_url(n))}">{escape(n)}</a><br/>' for n in snapshot.projects]
    return _html_document("Simple index", links)


def render_root_json(snapshot: Snapshot) -> bytes:
    document = {
        "meta": {"api-version": API_VERSION},
        "projects": [{"name": name} for name in snapshot.projects],
    }
    return json_bytes(document)


def _render(snapshot: Snapshot, name: str, media_type: str) -> Page:
    wants_json = media_type == JSON_V1
    if name:
        project = snapshot.projects[name]
        body = render_project_json(project) if wants_json else render_project_html(project)
    else:
        body = render_root_json(snapshot) if wants_json else render_root_html(snapshot)
    return _page(body, media_type)


def index_page(snapshot: Snapshot, name: str, media_type: str) -> Page:
    """The page for project `name` ("" for the root) as `media_type`, cached in the snapshot.

    Raises KeyError if the project is not in the snapshot.
    """
    key = (name, media_type)
    page = snapshot.pages.get(key)
    if page is None:
        page = _render(snapshot, name, media_type)
        snapshot.pages[key] = page
    return page  # type: ignore[return-value]
