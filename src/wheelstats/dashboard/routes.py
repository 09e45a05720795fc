"""The dashboard's routes, for `wheelstats dashboard` alone or mounted into `wheelstats serve`.

    /stats/                         home: totals, series, top projects, shares
    /stats/project/<name>           one project
    /stats/compare?projects=a,b     two to five projects on one chart
    /stats/chart/<page>/<chart>.json  a chart's Vega-Lite spec (the report's specs)
    /stats/static/...               CSS, JS and the offline Vega bundle
    /api/...                        the JSON API (schema at /api/openapi.json): figures, spikes, trends
    /badge/<name>/<window>.svg      README badges
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from packaging.utils import canonicalize_name
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from wheelstats.dashboard import assets, chart_specs, figures, pages
from wheelstats.dashboard.api import CATEGORY_ENDPOINTS, Api, error_response, json_response, serves_nothing
from wheelstats.dashboard.badges import Badges
from wheelstats.dashboard.derived import DerivedCache
from wheelstats.dashboard.openapi import openapi_schema
from wheelstats.dashboard.params import BadParameter, NotFound
from wheelstats.rollups.reader import CachedReader, StoreUnavailable
from wheelstats.web.conditional import not_modified

SPEC_CACHE_ENTRIES = 512
PAGE_CACHE_ENTRIES = 256


class Pages:
    def __init__(self, api: Api):
        self.api = api
        # Built once per answer of the reader: chart specs (Altair, 3-20 ms) and pages (Jinja2, ~1 ms).
        self.specs: DerivedCache[dict] = DerivedCache(SPEC_CACHE_ENTRIES)
        self.rendered: DerivedCache[bytes] = DerivedCache(PAGE_CACHE_ENTRIES)

    async def _page(self, request: Request, render) -> Response:
        try:
            return pages.html_response(await run_in_threadpool(self.api.within_session, render, request))
        except (BadParameter, NotFound, StoreUnavailable) as error:
            return pages.error_page(error.status, str(error))

    async def home(self, request: Request) -> Response:
        def render(request):
            figures, selection = self.api.overview_value(request), self.api.selection(request)
            return self.rendered.get(("home", request.url.query), (figures,),
                                     lambda: pages.home_page(figures, selection))
        return await self._page(request, render)

    async def project(self, request: Request) -> Response:
        given = request.path_params["name"]
        if canonicalize_name(given) != given:
            query = request.url.query
            return RedirectResponse(f"{pages.BASE}/project/{canonicalize_name(given)}" + (f"?{query}" if query else ""), 301)

        def render(request):
            figures, selection = self.api.project_value(request), self.api.selection(request)
            return self.rendered.get(("project", figures["project"], request.url.query), (figures,),
                                     lambda: pages.project_page(figures, selection))
        return await self._page(request, render)

    async def compare(self, request: Request) -> Response:
        def render(request):
            selection = self.api.selection(request)
            options = figures.period_options(self.api.data_span())
            given = request.query_params.get("projects", "")
            if not given.strip():
                return pages.compare_page(None, selection, given, options)
            try:
                compared = self.api.compare_value(request)
            except (BadParameter, NotFound) as error:
                return pages.compare_page(None, selection, given, options, str(error))
            return self.rendered.get(("compare", request.url.query), (compared,),
                                     lambda: pages.compare_page(compared, selection, given, options))
        return await self._page(request, render)

    async def chart(self, request: Request) -> Response:
        page, name = request.path_params["page"], request.path_params["chart"]
        builders = {"home": chart_specs.HOME_CHARTS, "compare": chart_specs.COMPARE_CHARTS}.get(page)
        if page.startswith("project/"):
            builders = chart_specs.PROJECT_CHARTS
        if builders is None or name not in builders:
            return error_response(404, f"No chart {page}/{name}. See the dashboard pages for the charts they draw.")

        def produce(request):
            if page == "home":
                figures = self.api.overview_value(request)
            elif page == "compare":
                figures = self.api.compare_value(request)
            else:
                request.path_params["name"] = page.removeprefix("project/")
                figures = self.api.project_value(request)
            return self.specs.get((page, name, request.url.query), (figures,), lambda: builders[name](figures))
        return await self.api.respond(request, produce)


async def vega_script(request: Request) -> Response:
    body = await run_in_threadpool(assets.vega_bundle)
    tag = assets.etag(body)
    headers = {"etag": tag, "cache-control": "max-age=86400"}
    if not_modified(request.headers, tag, None):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="text/javascript; charset=utf-8", headers=headers)


def dashboard_routes(reader: CachedReader, served: Callable[[str], bool] = serves_nothing) -> list[BaseRoute]:
    """The dashboard's routes, answering through `reader` (see the module docstring); `served`
    tells whether the index in the same process serves a project (canonical name)."""
    api = Api(reader, served)
    badges = Badges(api)
    site = Pages(api)
    assets.warm_in_background()
    schema = openapi_schema()

    async def openapi(request: Request) -> Response:
        return json_response(schema)

    async def stats_redirect(request: Request) -> Response:
        return RedirectResponse(f"{pages.BASE}/", 301)

    routes: list[BaseRoute] = [
        Route(f"{pages.BASE}/", site.home),
        Route(pages.BASE, stats_redirect),
        Route(f"{pages.BASE}/project/{{name}}", site.project),
        Route(f"{pages.BASE}/compare", site.compare),
        Route(f"{pages.BASE}/chart/{{page:path}}/{{chart}}.json", site.chart),
        Route(f"{pages.STATIC}/vega.js", vega_script),
        Mount(pages.STATIC, app=StaticFiles(directory=assets.STATIC_DIR), name="dashboard-static"),
        Route("/api/openapi.json", openapi),
        Route("/api/overview", api.overview),
        Route("/api/downloads", api.downloads),
        Route("/api/top", api.top),
        Route("/api/shares/{dimension}", api.shares),
        Route("/api/compare", api.compare),
        Route("/api/projects/{name}", api.project),
        Route("/api/projects/{name}/files", api.project_files),
        Route("/api/projects/{name}/versions", api.project_versions),
        Route("/api/spikes", api.spikes),
        Route("/api/trends", api.trends),
        Route("/api/packages/{name}/recent", api.recent),
        Route("/api/packages/{name}/overall", api.overall),
        *(Route(f"/api/packages/{{name}}/{endpoint.series}", api.category_endpoint(endpoint))
          for endpoint in CATEGORY_ENDPOINTS),
        Route("/badge/{name}/{window}.svg", badges.badge),
    ]
    return routes


def create_dashboard_app(db_path: str | Path, *, reader: CachedReader | None = None) -> Starlette:
    """The dashboard alone (`wheelstats dashboard`): its routes, and / redirecting to the home page."""

    async def root(request: Request) -> Response:
        return RedirectResponse(f"{pages.BASE}/", 302)

    async def not_found(request: Request, exc) -> Response:
        if request.url.path.startswith("/api/"):
            return error_response(404, f"No API endpoint {request.url.path}. See /api/openapi.json.")
        return pages.error_page(404, f"No page {request.url.path}.")

    return Starlette(
        routes=[Route("/", root), *dashboard_routes(reader or CachedReader(db_path))],
        exception_handlers={404: not_found},
    )


def run(db_path: str | Path, host: str = "127.0.0.1", port: int = 8050) -> None:
    """Serve the dashboard until a signal stops it (Ctrl-C: KeyboardInterrupt, after a graceful stop)."""
    from wheelstats.web.running import run_until_stopped

    run_until_stopped(create_dashboard_app(db_path), host=host, port=port, log_level="warning", access_log=False,
                      server_header=False)
