"""The JSON API: figures by period and toggles, pypistats.org-compatible endpoints, CSV of any series.

Every answer is computed from the rollups through wheelstats.rollups.queries and
cached by the CachedReader until the store changes. Bad parameters get a 400 and a
JSON body {"error": message, "status": 400}; unknown projects a 404 (a project the
index serves, or the store lists, downloaded or not, is known: its figures are zeros
until it is downloaded); a busy or damaged store a 503.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from collections.abc import Callable
from dataclasses import dataclass

from packaging.utils import canonicalize_name
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from wheelstats.dashboard import figures, insights, params
from wheelstats.dashboard.figures import selection_fields
from wheelstats.dashboard.params import BadParameter, NotFound, Selection
from wheelstats.rollups import builds, queries
from wheelstats.rollups.reader import CachedReader, StoreUnavailable
from wheelstats.timesaved import default_method_for

MAX_COMPARE = 5
CACHE_CONTROL = "max-age=10"


@dataclass(frozen=True, slots=True)
class CategoryEndpoint:
    """A pypistats.org-compatible series endpoint, /api/packages/<name>/<series>."""

    series: str  # one of queries.CATEGORY_SERIES, also the endpoint's last path segment
    type_name: str  # the answer's "type"
    argument: str  # the query parameter that keeps one category
    describes: str  # what the categories are, for the OpenAPI description


CATEGORY_ENDPOINTS = (
    CategoryEndpoint("python_major", "python_major_downloads", "version", "Python major version"),
    CategoryEndpoint("python_minor", "python_minor_downloads", "version", "Python minor version"),
    CategoryEndpoint("system", "system_downloads", "os", "operating system (Linux, Darwin, Windows, other)"),
    CategoryEndpoint("architecture", "architecture_downloads", "arch", "CPU architecture"),
    CategoryEndpoint("installer", "installer_downloads", "installer", "installer"),
    CategoryEndpoint("country", "country_downloads", "country",
                     "country (ISO 3166-1 alpha-2; XL local addresses, ZZ unplaced, null not looked up)"),
)
assert {endpoint.series for endpoint in CATEGORY_ENDPOINTS} == set(queries.CATEGORY_SERIES)


def error_response(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message, "status": status}, status_code=status)


def csv_response(rows: list[dict], name: str) -> Response:
    out = io.StringIO()
    if rows:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"content-disposition": f'attachment; filename="{name}.csv"', "cache-control": CACHE_CONTROL})


def json_response(value) -> Response:
    body = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return Response(body, media_type="application/json", headers={"cache-control": CACHE_CONTROL})


def spike_row(spike: dict) -> dict:
    """A spike as one CSV row: its days, size and cause."""
    cause = spike["cause"]
    return {
        "start": spike["start"], "end": spike["end"], "peak_date": spike["peak_date"],
        "peak_downloads": spike["peak_downloads"], "ratio": spike["ratio"], "excess": spike["excess"],
        "projects": " ".join(p["project"] for p in spike["projects"]), "cause": cause["kind"],
        "cause_project": cause["project"] or "", "clients": cause["clients"],
        "share_of_clients": "" if cause["share_of_clients"] is None else cause["share_of_clients"],
    }


TREND_COLUMNS = ("trend", "project", "downloads", "previous", "growth", "first_day")


def trend_rows(trends: dict) -> list[dict]:
    """Rising and new projects as CSV rows of the same columns (a column a trend has not is left empty)."""
    return [{column: row.get(column, "") for column in TREND_COLUMNS} | {"trend": trend}
            for trend in ("rising", "new") for row in trends[trend]]


def serves_nothing(name: str) -> bool:
    return False


class Api:
    def __init__(self, reader: CachedReader, served: Callable[[str], bool] = serves_nothing):
        self.reader = reader
        self.served = served  # whether the index in the same process serves a project (canonical name)

    # -- plumbing ---------------------------------------------------------
    def data_span(self) -> queries.DataSpan | None:
        return self.reader.answer(("span",), lambda con, now: queries.data_span(con))

    def default_method(self) -> str:
        """The time-saved method the store's builds call for (wheelstats.timesaved.default_method_for)."""
        return self.reader.answer(("default-method",),
                                  lambda con, now: default_method_for(builds.builder_platforms(con)))

    def selection(self, request: Request) -> Selection:
        return params.selection_from(request.query_params, self.reader.clock().date(), self.data_span())

    def knows(self, name: str) -> bool:
        """Whether `name` (canonical) is a project: served by the index, or in the store (downloaded,
        catalogued or listed), downloaded or not."""
        return self.served(name) or self.reader.answer(("exists", name), lambda con, now: queries.project_exists(con, name))

    def project_name(self, request: Request) -> str:
        given = request.path_params["name"]
        name = canonicalize_name(given)
        if not self.knows(name):
            raise NotFound(f"No project {given!r} in the store. Check the name, or see /api/top for the projects it holds.")
        return name

    async def respond(self, request: Request, produce: Callable[[Request], object], rows_of=None, name: str = "data") -> Response:
        """Run `produce` off the event loop; answer JSON, or CSV of `rows_of(value)` with ?format=csv."""
        try:
            output = params.output_format(request.query_params)
            value = await run_in_threadpool(self.within_session, produce, request)
        except (BadParameter, NotFound, StoreUnavailable) as error:
            return error_response(error.status, str(error))
        if output == "csv":
            return csv_response(rows_of(value) if rows_of else value, name)
        return json_response(value)

    def within_session(self, produce: Callable[[Request], object], request: Request):
        with self.reader.session():
            return produce(request)

    # -- dashboard endpoints ---------------------------------------------
    def overview_value(self, request: Request) -> dict:
        selection, method = self.selection(request), params.method(request.query_params, self.default_method())
        return self.reader.answer(("home", selection, method), lambda con, now: figures.home(con, now, selection, method))

    async def overview(self, request: Request) -> Response:
        return await self.respond(request, self.overview_value, lambda v: v["by_day"], "overview")

    async def downloads(self, request: Request) -> Response:
        def produce(request):
            selection = self.selection(request)
            unit = params.granularity(request.query_params, selection.period)
            return self.reader.answer(("series", selection, unit), lambda con, now: {
                **selection_fields(selection), "granularity": unit,
                "data": queries.series(con, selection.period, selection.filters, unit)})
        return await self.respond(request, produce, lambda v: v["data"], "downloads")

    async def top(self, request: Request) -> Response:
        def produce(request):
            selection, n = self.selection(request), params.limit(request.query_params)
            return self.reader.answer(("top", selection, n), lambda con, now: {
                **selection_fields(selection), "data": queries.top_projects(con, selection.period, selection.filters, n)})
        return await self.respond(request, produce, lambda v: v["data"], "top")

    async def shares(self, request: Request) -> Response:
        def produce(request):
            dimension = params.dimension(request.path_params["dimension"])
            selection = self.selection(request)
            by = queries.countries if dimension == params.COUNTRY_DIMENSION else \
                lambda con, period, filters: queries.shares(con, period, filters, dimension)
            return self.reader.answer(("shares", selection, dimension), lambda con, now: {
                **selection_fields(selection), "dimension": dimension,
                "data": by(con, selection.period, selection.filters)})
        return await self.respond(request, produce, lambda v: v["data"], "shares")

    def project_value(self, request: Request) -> dict:
        name = self.project_name(request)
        selection, method = self.selection(request), params.method(request.query_params, self.default_method())
        return self.reader.answer(("project", name, selection, method),
                                  lambda con, now: figures.project(con, now, selection, name, method))

    async def project(self, request: Request) -> Response:
        return await self.respond(request, self.project_value, lambda v: v["series"], "project")

    async def project_files(self, request: Request) -> Response:
        def produce(request):
            name, selection = self.project_name(request), self.selection(request)
            return self.reader.answer(("files", name, selection), lambda con, now: {
                **selection_fields(selection), "project": name,
                "data": queries.project_files(con, selection.period, selection.filters, name)})
        return await self.respond(request, produce, lambda v: v["data"], "files")

    def compare_value(self, request: Request) -> dict:
        raw = request.query_params.get("projects", "")
        given = [part.strip() for part in raw.split(",") if part.strip()]
        if not 2 <= len(given) <= MAX_COMPARE:
            raise BadParameter("projects", raw, f"Give 2 to {MAX_COMPARE} project names separated by commas.")
        names = tuple(dict.fromkeys(canonicalize_name(g) for g in given))
        for name in names:
            if not self.knows(name):
                raise NotFound(f"No project {name!r} in the store. Check the name.")
        selection = self.selection(request)
        unit = params.granularity(request.query_params, selection.period)
        return self.reader.answer(("compare", names, selection, unit),
                                  lambda con, now: figures.compare(con, now, selection, names, unit))

    async def compare(self, request: Request) -> Response:
        return await self.respond(request, self.compare_value, lambda v: v["series"], "compare")

    # -- stories: spikes, trends, versions ---------------------------------
    def spikes_value(self, request: Request) -> dict:
        selection, gap = self.selection(request), params.session_gap(request.query_params)
        most = params.limit(request.query_params, insights.SPIKES_SHOWN)
        return self.reader.answer(("spikes", selection, gap, most), lambda con, now: {
            **selection_fields(selection), "session_gap_minutes": gap.total_seconds() / 60,
            "data": insights.spikes(con, selection, gap, most)})

    async def spikes(self, request: Request) -> Response:
        return await self.respond(request, self.spikes_value, lambda v: [spike_row(s) for s in v["data"]], "spikes")

    async def trends(self, request: Request) -> Response:
        def produce(request):
            selection, n = self.selection(request), params.limit(request.query_params)
            floor = params.floor(request.query_params, insights.RISING_FLOOR)
            return self.reader.answer(("trends", selection, n, floor), lambda con, now: {
                **selection_fields(selection), **insights.trends(con, selection, n, floor)})
        return await self.respond(request, produce, trend_rows, "trends")

    async def project_versions(self, request: Request) -> Response:
        def produce(request):
            name, selection = self.project_name(request), self.selection(request)
            return self.reader.answer(("versions", name, selection), lambda con, now: {
                **selection_fields(selection), "project": name, **insights.versions(con, selection, name)})
        return await self.respond(request, produce, lambda v: v["over_time"], "versions")

    # -- pypistats.org-compatible endpoints ------------------------------
    async def recent(self, request: Request) -> Response:
        def produce(request):
            name = self.project_name(request)
            period = request.query_params.get("period")
            if period is not None and period not in queries.RECENT_WINDOWS:
                raise BadParameter("period", period, "Choose one of: day, week, month.")
            filters = params.filters_from(request.query_params)
            data = self.reader.answer(("recent", name, filters), lambda con, now: queries.recent(con, now.date(), filters, name))
            if period is not None:
                data = {f"last_{period}": data[f"last_{period}"]}
            return {"data": data, "package": name, "type": "recent_downloads"}
        return await self.respond(request, produce, lambda v: [v["data"]], "recent")

    async def overall(self, request: Request) -> Response:
        def produce(request):
            name = self.project_name(request)
            mirrors = request.query_params.get("mirrors")
            if mirrors not in (None, "true", "false"):
                raise BadParameter("mirrors", mirrors, "Use true or false.")
            selection = self.selection(request)
            wanted = {"true": ("with_mirrors",), "false": ("without_mirrors",)}.get(mirrors, ("with_mirrors", "without_mirrors"))

            def question(con, now):
                data = []
                for category in wanted:
                    filters = selection.filters if category == "with_mirrors" else \
                        dataclasses.replace(selection.filters, exclude_bots=True)
                    data += [{"category": category, **row}
                             for row in queries.series(con, selection.period, filters, "day", (name,))]
                return [{"date": r["date"], "category": r["category"], "downloads": r["downloads"]} for r in data]
            data = self.reader.answer(("overall", name, selection, wanted), question)
            return {"data": data, "package": name, "type": "overall_downloads"}
        return await self.respond(request, produce, lambda v: v["data"], "overall")

    def category_endpoint(self, endpoint: CategoryEndpoint):
        async def handler(request: Request) -> Response:
            def produce(request):
                name = self.project_name(request)
                selection = self.selection(request)
                data = self.reader.answer((endpoint.series, name, selection), lambda con, now: queries.category_series(
                    con, selection.period, selection.filters, endpoint.series, name))
                wanted = request.query_params.get(endpoint.argument)
                if endpoint.argument == "country":  # the country filter (selection) has kept its downloads already
                    wanted = None
                if wanted is not None:
                    data = [row for row in data if row["category"] == wanted]
                return {"data": data, "package": name, "type": endpoint.type_name}
            return await self.respond(request, produce, lambda v: v["data"], endpoint.series)
        return handler
