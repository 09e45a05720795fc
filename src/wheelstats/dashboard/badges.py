"""SVG badges in the shields.io flat style: "downloads | 1.2k/month", for a project's README."""

from __future__ import annotations

from html import escape

from packaging.utils import canonicalize_name
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from wheelstats.dashboard.params import BadParameter
from wheelstats.dashboard.api import Api
from wheelstats.rollups.reader import StoreUnavailable
from wheelstats.rollups import queries
from wheelstats.rollups.filters import Filters

WINDOWS = {"day": ("last_day", "/day"), "week": ("last_week", "/week"), "month": ("last_month", "/month"), "total": (None, "")}
LABEL = "downloads"
LABEL_COLOUR, VALUE_COLOUR, MISSING_COLOUR = "#555", "#007ec6", "#9f9f9f"
CHAR_WIDTH, PADDING = 6.5, 10  # Verdana 11px averages ~6.5 px a character


UNITS = ((1_000, "k"), (1_000_000, "M"), (1_000_000_000, "G"))


def _digits(value: float) -> str:
    return (f"{value:.1f}" if value < 10 else f"{value:.0f}").removesuffix(".0")


def compact(count: int) -> str:
    """1234 -> "1.2k", 5_600_000 -> "5.6M", as shields.io writes counts. The count is
    rounded first and the unit chosen after, so 999_950 is "1M", never "1000k"."""
    if count < 1000:
        return str(count)
    for limit, suffix in UNITS[:-1]:
        text = _digits(count / limit)
        if float(text) < 1000:
            return text + suffix
    limit, suffix = UNITS[-1]
    return _digits(count / limit) + suffix


def _width(text: str) -> int:
    return round(len(text) * CHAR_WIDTH + PADDING)


def render(label: str, value: str, colour: str = VALUE_COLOUR) -> str:
    left, right = _width(label), _width(value)
    total = left + right
    label_x, value_x = left / 2, left + right / 2
    title = escape(f"{label}: {value}")
    label, value = escape(label), escape(value)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="20" role="img" aria-label="{title}">'
        f"<title>{title}</title>"
        '<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/>'
        '<stop offset="1" stop-opacity=".1"/></linearGradient>'
        f'<clipPath id="r"><rect width="{total}" height="20" rx="3" fill="#fff"/></clipPath>'
        f'<g clip-path="url(#r)"><rect width="{left}" height="20" fill="{LABEL_COLOUR}"/>'
        f'<rect x="{left}" width="{right}" height="20" fill="{colour}"/>'
        f'<rect width="{total}" height="20" fill="url(#s)"/></g>'
        '<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11">'
        f'<text x="{label_x}" y="15" fill="#010101" fill-opacity=".3">{label}</text>'
        f'<text x="{label_x}" y="14">{label}</text>'
        f'<text x="{value_x}" y="15" fill="#010101" fill-opacity=".3">{value}</text>'
        f'<text x="{value_x}" y="14">{value}</text></g></svg>'
    )


def svg_response(body: str, status: int = 200) -> Response:
    return Response(body, status_code=status, media_type="image/svg+xml",
                    headers={"cache-control": "max-age=300"})


class Badges:
    def __init__(self, api: Api):
        self.api = api
        self.reader = api.reader

    def value(self, name: str, window: str) -> str | None:
        key, suffix = WINDOWS[window]

        def question(con, now):
            if key is None:
                return queries.headline(con, now, Filters(), name).all_time
            return queries.recent(con, now.date(), Filters(), name)[key]
        with self.reader.session():
            if not self.api.knows(name):
                return None
            count = self.reader.answer(("badge", name, window), question)
        return compact(count) + suffix

    async def badge(self, request: Request) -> Response:
        given, window = request.path_params["name"], request.path_params["window"]
        if window not in WINDOWS:
            error = BadParameter("badge window", window, f"Use /badge/<name>/<{'|'.join(WINDOWS)}>.svg.")
            return svg_response(render(LABEL, "invalid window"), error.status)
        try:
            text = await run_in_threadpool(self.value, canonicalize_name(given), window)
        except StoreUnavailable:
            return svg_response(render(LABEL, "unavailable", MISSING_COLOUR), 503)
        if text is None:
            return svg_response(render(LABEL, "no such project", MISSING_COLOUR), 404)
        return svg_response(render(LABEL, text))
