"""The OpenAPI 3.1 description of the JSON API, served at /api/openapi.json."""

from __future__ import annotations

from wheelstats.dashboard.api import CATEGORY_ENDPOINTS
from wheelstats.dashboard.params import ALL_TIME, COUNTRY_DIMENSION, FORMATS, LAST_30_DAYS, MAX_GAP_MINUTES, MAX_TOP
from wheelstats.rollups.queries import GRANULARITIES
from wheelstats.facets import DIMENSIONS
from wheelstats.timesaved import METHODS

PERIOD_PATTERN = (
    rf"^({ALL_TIME}|{LAST_30_DAYS}|\d{{4}}-?[Qq][1-4]|\d{{4}}-\d{{2}}|\d{{4}}|\d{{4}}-\d{{2}}-\d{{2}}\.\.\d{{4}}-\d{{2}}-\d{{2}})$"
)


def _query(name: str, description: str, schema: dict) -> dict:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


def _path(name: str, description: str) -> dict:
    return {"name": name, "in": "path", "required": True, "description": description, "schema": {"type": "string", "minLength": 1}}


BOOLEAN = {"type": "string", "enum": ["true", "false"]}
SELECTION = [
    _query("period", f"{ALL_TIME} (default), {LAST_30_DAYS}, a quarter (2020-Q1), a month (2020-03), a year (2020) "
           "or a range (2020-01-01..2020-03-31).", {"type": "string", "pattern": PERIOD_PATTERN}),
    _query("start", "First day (with end, instead of period).", {"type": "string", "format": "date"}),
    _query("end", "Last day (with start).", {"type": "string", "format": "date"}),
    _query("exclude_ci", "Leave out downloads from CI.", BOOLEAN),
    _query("exclude_bots", "Leave out mirrors (bandersnatch...) and crawlers.", BOOLEAN),
    _query("unique", "Count distinct clients instead of downloads.", BOOLEAN),
    _query("country", "Only the downloads from one country: ISO 3166-1 alpha-2 (GB), XL for local addresses, "
           "ZZ for addresses no registry places.", {"type": "string", "pattern": "^[A-Za-z]{2}$"}),
    _query("format", "json (default) or csv (the answer's series).", {"type": "string", "enum": list(FORMATS)}),
]
GRANULARITY = _query("granularity", "day, week or month (default: day up to 92 days, else month).",
                     {"type": "string", "enum": list(GRANULARITIES)})
METHOD = _query("method", "Time-saved method (default: piwheels for piwheels builds, native for builds of wheelstats' "
                 "builder on other platforms).", {"type": "string", "enum": sorted(METHODS)})
NAME = _path("name", "Project name (any spelling; PEP 503 normalised).")
LIMIT = _query("limit", f"How many (1 to {MAX_TOP}, default 10).", {"type": "string", "pattern": r"^\d+$"})

ERROR = {
    "type": "object", "required": ["error", "status"],
    "properties": {"error": {"type": "string"}, "status": {"type": "integer"}},
}
SERIES_ROW = {"type": "object", "required": ["date", "category", "downloads"], "properties": {
    "date": {"type": "string", "format": "date"}, "category": {"type": "string"}, "downloads": {"type": "integer"}}}
PYPISTATS_SERIES = {"type": "object", "required": ["data", "package", "type"], "properties": {
    "data": {"type": "array", "items": SERIES_ROW}, "package": {"type": "string"}, "type": {"type": "string"}}}
RECENT = {"type": "object", "required": ["data", "package", "type"], "properties": {
    "data": {"type": "object", "additionalProperties": {"type": "integer"}},
    "package": {"type": "string"}, "type": {"type": "string", "const": "recent_downloads"}}}
OBJECT = {"type": "object"}


def _responses(schema: dict, not_found: bool = False) -> dict:
    responses = {
        "200": {"description": "The figures (JSON), or the series as CSV with format=csv.",
                "content": {"application/json": {"schema": schema}, "text/csv": {"schema": {"type": "string"}}}},
        "400": {"description": "A parameter is invalid; the message says which and what to send.",
                "content": {"application/json": {"schema": ERROR}}},
        "503": {"description": "The store is busy (another process is writing); try again.",
                "content": {"application/json": {"schema": ERROR}}},
    }
    if not_found:
        responses["404"] = {"description": "No such project.", "content": {"application/json": {"schema": ERROR}}}
    return responses


def _get(summary: str, parameters: list[dict], schema: dict = OBJECT, *, not_found: bool = False) -> dict:
    return {"get": {"summary": summary, "parameters": parameters, "responses": _responses(schema, not_found)}}


def openapi_schema() -> dict:
    paths = {
        "/api/overview": _get("Every figure of the home page.", [*SELECTION, METHOD]),
        "/api/downloads": _get("Downloads per day, week or month.", [*SELECTION, GRANULARITY]),
        "/api/top": _get("The most downloaded projects.", [*SELECTION, LIMIT]),
        "/api/shares/{dimension}": _get("Downloads by one agent dimension, or by country, with shares.", [
            {"name": "dimension", "in": "path", "required": True, "schema": {"type": "string", "enum": [*DIMENSIONS, COUNTRY_DIMENSION]}},
            *SELECTION]),
        "/api/compare": _get("Two to five projects' downloads over time.", [
            {"name": "projects", "in": "query", "required": True, "description": "Comma-separated project names.",
             "schema": {"type": "string"}}, *SELECTION, GRANULARITY], not_found=True),
        "/api/projects/{name}": _get("Every figure of a project page.", [NAME, *SELECTION, METHOD], not_found=True),
        "/api/projects/{name}/files": _get("A project's files, downloads and build durations.", [NAME, *SELECTION], not_found=True),
        "/api/projects/{name}/versions": _get(
            "A project's downloads by version over time (version adoption), and stable against pre-release.",
            [NAME, *SELECTION], not_found=True),
        "/api/spikes": _get("The period's download spikes: days, packages, cause, what each left behind.", [
            *SELECTION, _query("limit", f"How many of the largest spikes (1 to {MAX_TOP}, default 10).",
                               {"type": "string", "pattern": r"^\d+$"}), _query("gap", f"The longest pause in one client's session, in minutes (1 to {MAX_GAP_MINUTES}, "
                               "default 10).", {"type": "string", "pattern": r"^\d+$"})]),
        "/api/trends": _get("Projects rising fastest against the previous period, and new projects.", [
            *SELECTION, LIMIT, _query("floor", "The fewest downloads in the previous period to be ranked as rising "
                                      "(default 100).", {"type": "string", "pattern": r"^\d+$"})]),
        "/api/packages/{name}/recent": _get("pypistats.org-compatible: downloads in the last day, week and month.", [
            NAME, _query("period", "day, week or month (default: all three).", {"type": "string", "enum": ["day", "week", "month"]}),
            *SELECTION[3:]], RECENT, not_found=True),
        "/api/packages/{name}/overall": _get("pypistats.org-compatible: daily downloads with and without mirrors.", [
            NAME, _query("mirrors", "true: with mirrors only; false: without.", BOOLEAN), *SELECTION],
            PYPISTATS_SERIES, not_found=True),
    }
    for endpoint in CATEGORY_ENDPOINTS:
        selected = {parameter["name"] for parameter in SELECTION}  # country= is both a category and the filter
        category = [] if endpoint.argument in selected else [
            _query(endpoint.argument, "Only this category.", {"type": "string"})]
        paths[f"/api/packages/{{name}}/{endpoint.series}"] = _get(
            f"pypistats.org-compatible: daily downloads by {endpoint.describes}.",
            [NAME, *category, *SELECTION], PYPISTATS_SERIES, not_found=True,
        )
    return {
        "openapi": "3.1.0",
        "info": {"title": "wheelstats API", "version": "1",
                 "description": "Download statistics of a Python package repository, from the store's rollups."},
        "paths": paths,
    }
