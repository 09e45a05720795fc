"""The Starlette application of `wheelstats serve`, and running it under uvicorn.

Routes:
    /simple/                      root index (PEP 503 HTML or PEP 691 JSON)
    /simple/<project>/            project index; other spellings redirect (301)
    /simple/<project>/<file>      a wheel or sdist; <file>.metadata its core metadata
    /project/<project>/           downloads, files and builds of a project
    /project/<project>/builds/<id>/log  a build's log (escaped text)
    /packages.json                [name, downloads last 30 days, downloads all time]
    /                             the list of projects
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from packaging.utils import canonicalize_name
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from wheelstats.dashboard.derived import DerivedCache
from wheelstats.dashboard.routes import dashboard_routes
from wheelstats.rollups.reader import CachedReader, StoreDamaged
from wheelstats.server.catalogue import Catalogue, CatalogueWatcher
from wheelstats.server.feeder import FeederProcess
from wheelstats.server.files import file_response, metadata_response, not_found
from wheelstats.server.index import index_page, json_bytes, negotiate_cached
from wheelstats.server.limits import RequestLimits
from wheelstats.server.recorder import AccessLog, RecordingMiddleware
from wheelstats.server.site import (
    IndexFigures, render_build_log, render_error_page, render_home_page, render_packages_json, render_project_page,
)
from wheelstats.web.conditional import not_modified

INDEX_CACHE_CONTROL = "max-age=60"
PAGE_CACHE_CONTROL = "max-age=10"
PAGE_CACHE_ENTRIES = 1024  # project pages, one per project


@dataclass(frozen=True, slots=True)
class ServeConfig:
    wheels: Path
    db: Path
    access_log: Path | None  # None: do not record
    yanked: Path | None = None  # default: <wheels>/yanked.txt
    facts_cache: Path | None = None  # default: beside the store
    ip_mode: str = "hash"
    scan_interval: float = 1.0
    feed_interval: float = 5.0  # seconds between batches; each holds the store for a moment
    figures: Path | None = None  # the store the figures are read from, if not db (a lake's: cli.lake_figures)


def default_access_log(db: Path) -> Path:
    return db.with_name(db.stem + ".access.log")


def default_facts_cache(db: Path) -> Path:
    return db.with_name(db.stem + ".files-cache.sqlite")


def _redirect(path: str, request: Request) -> Response:
    query = request.url.query
    return RedirectResponse(path + ("?" + query if query else ""), status_code=301)


class Handlers:
    def __init__(self, catalogue: Catalogue, figures: IndexFigures):
        self.catalogue = catalogue
        self.figures = figures
        self.rendered: DerivedCache[bytes] = DerivedCache(PAGE_CACHE_ENTRIES)  # pages, per snapshot and answer

    def _index(self, request: Request, name: str) -> Response:
        # PEP 691's optional ?format=<media type> stands in for the Accept header.
        requested = request.query_params.get("format") if request.scope["query_string"] else None
        if requested:
            requested = requested.replace(" ", "+")  # an unencoded "+" (as PEP 691 writes it) reads as a space
        media_type = negotiate_cached(requested or request.headers.get("accept"))
        if media_type is None:
            return PlainTextResponse("Not Acceptable: this index serves PEP 691 JSON and PEP 503 HTML", status_code=406)
        try:
            page = index_page(self.catalogue.current, name, media_type)
        except KeyError:
            return not_found()
        headers = {"etag": page.etag, "vary": "Accept", "cache-control": INDEX_CACHE_CONTROL}
        if not_modified(request.headers, page.etag, None):
            return Response(status_code=304, headers=headers)
        headers["content-type"] = page.content_type
        return Response(page.body, headers=headers)

    async def simple_root(self, request: Request) -> Response:
        return self._index(request, "")

    async def simple_project(self, request: Request) -> Response:
        given = request.path_params["project"]
        name = canonicalize_name(given)
        if name != given:
            return _redirect(f"/simple/{quote(name, safe='')}/", request)
        return self._index(request, name)

    async def simple_file(self, request: Request) -> Response:
        given, filename = request.path_params["project"], request.path_params["filename"]
        name = canonicalize_name(given)
        snapshot = self.catalogue.current
        is_metadata = filename.endswith(".metadata")
        dist = snapshot.files.get((name, filename.removesuffix(".metadata") if is_metadata else filename))
        if dist is None:
            return not_found()
        if name != given:
            return _redirect(f"/simple/{quote(name, safe='')}/{quote(filename, safe='')}", request)
        if is_metadata:
            return await metadata_response(dist, request.headers)
        return file_response(dist, request.method, request.headers)

    async def project_page(self, request: Request) -> Response:
        given = request.path_params["project"]
        name = canonicalize_name(given)
        project = self.catalogue.current.projects.get(name)
        if project is None:
            return not_found()
        if name != given:
            return _redirect(f"/project/{quote(name, safe='')}/", request)
        try:
            figures = await run_in_threadpool(self.figures.project, name)
        except StoreDamaged as error:
            return Response(render_error_page(error.status, str(error)), status_code=error.status, media_type="text/html")
        body = self.rendered.get(("project", name), (project, figures.value, figures.stale),
                                 lambda: render_project_page(project, figures))
        return Response(body, media_type="text/html", headers={"cache-control": PAGE_CACHE_CONTROL})

    async def build_log(self, request: Request) -> Response:
        project = self.catalogue.current.projects.get(request.path_params["project"])
        if project is None:
            return not_found()
        page = await run_in_threadpool(render_build_log, self.figures.reader, project, request.path_params["build_id"])
        return Response(page.body, status_code=page.status, media_type="text/html",
                        headers={"cache-control": PAGE_CACHE_CONTROL})

    async def packages_json(self, request: Request) -> Response:
        try:
            figures = await run_in_threadpool(self.figures.package_counts)
        except StoreDamaged as error:
            return Response(json_bytes({"error": str(error), "status": error.status}), status_code=error.status,
                            media_type="application/json")
        snapshot = self.catalogue.current
        body = self.rendered.get("packages", (snapshot, figures.value), lambda: render_packages_json(snapshot, figures))
        return Response(body, media_type="application/json", headers={"cache-control": PAGE_CACHE_CONTROL})

    async def home(self, request: Request) -> Response:
        snapshot = self.catalogue.current
        body = snapshot.pages.get(("", "home"))
        if body is None:
            body = snapshot.pages[("", "home")] = render_home_page(snapshot)
        return Response(body, media_type="text/html", headers={"cache-control": PAGE_CACHE_CONTROL})

    async def add_slash(self, request: Request) -> Response:
        return _redirect(request.url.path + "/", request)


class ServerApp:
    """The ASGI entry point: recording, then request limits, then the routes."""

    def __init__(self, asgi, catalogue: Catalogue, access_log: AccessLog | None):
        self.asgi = asgi
        self.catalogue = catalogue
        self.access_log = access_log

    async def __call__(self, scope, receive, send):
        await self.asgi(scope, receive, send)


def create_app(config: ServeConfig) -> ServerApp:
    """The application: routes, request limits and (unless disabled) recording."""
    catalogue = Catalogue(config.wheels, config.yanked, config.facts_cache or default_facts_cache(config.db))
    reader = CachedReader(config.figures or config.db)  # one cache of figures for the index's pages and the dashboard
    handlers = Handlers(catalogue, IndexFigures(reader))
    access_log = AccessLog(config.access_log) if config.access_log is not None else None

    @contextlib.asynccontextmanager
    async def lifespan(app):
        watcher = CatalogueWatcher(catalogue, config.scan_interval)
        watcher.start()
        feeder = None
        if access_log is not None:
            access_log.start()
            feeder = FeederProcess(config.db, access_log.path, config.ip_mode, config.feed_interval)
            feeder.start()
        try:
            yield
        finally:
            watcher.stop()
            if access_log is not None:
                access_log.close()  # SIGTERM lands here: every line reaches the log,
                await run_in_threadpool(feeder.drain)  # then the store

    routes = [  # the busiest first: routes are tried in order
        Route("/simple/{project}/{filename}", handlers.simple_file),
        Route("/simple/{project}/", handlers.simple_project),
        Route("/", handlers.home),
        Route("/simple/", handlers.simple_root),
        Route("/simple", handlers.add_slash),
        Route("/simple/{project}", handlers.add_slash),
        Route("/project/{project}/", handlers.project_page),
        Route("/project/{project}", handlers.add_slash),
        Route("/project/{project}/builds/{build_id:int}/log", handlers.build_log),
        Route("/packages.json", handlers.packages_json),
        # /stats/, /api/, /badge/: the dashboard (wheelstats.dashboard); a served project is known before its first download
        *dashboard_routes(reader, served=lambda name: name in catalogue.current.projects),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.router.redirect_slashes = False  # the routes above redirect what should be redirected
    guarded = RequestLimits(app)
    recorded = RecordingMiddleware(guarded, access_log) if access_log is not None else guarded
    return ServerApp(recorded, catalogue, access_log)


def run(app: ServerApp, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve until a signal stops it (Ctrl-C: KeyboardInterrupt, after the graceful stop: log flushed, feeder drained)."""
    from wheelstats.web.running import run_until_stopped

    run_until_stopped(
        app,
        host=host,
        port=port,
        http="httptools",
        loop="uvloop",
        lifespan="on",
        access_log=False,
        log_level="warning",
        server_header=False,
        backlog=2048,
        timeout_graceful_shutdown=10,
    )
